import assert from "node:assert/strict";
import {
  OneSidedPairs,
  oneSidedWarning,
  SEEN_BOTH,
  UNSEEN_HOST,
  UNSEEN_PAIR,
} from "./one_sided.ts";

/** An IPv4-mapped address `10.0.0.n` as the flow batch stores it. */
function ip(n: number): Uint8Array {
  return new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, n]);
}

function flow(
  pairs: OneSidedPairs,
  src: number,
  dst: number,
  kind: "proof" | "two-way" | "one-way",
  at: number,
  tcp = true,
): number {
  return pairs.observe(ip(src), 0, ip(dst), 0, tcp, kind === "proof", kind === "two-way", at);
}

Deno.test("one-sided pairs: a proof makes the direction seen one-way for its pair, not the reverse; a two-way flow ends it", () => {
  const pairs = new OneSidedPairs(64, 600e6);
  assert.equal(flow(pairs, 1, 2, "one-way", 0, false), SEEN_BOTH);
  assert.equal(flow(pairs, 1, 2, "proof", 1e6), UNSEEN_PAIR);
  assert.equal(flow(pairs, 1, 2, "one-way", 2e6, false), UNSEEN_PAIR);
  // The other direction of the pair was not proven (and one proof does not open host-level).
  assert.equal(flow(pairs, 2, 1, "one-way", 2e6, false), SEEN_BOTH);
  assert.equal(flow(pairs, 1, 2, "two-way", 3e6), SEEN_BOTH);
  assert.equal(flow(pairs, 1, 2, "one-way", 4e6, false), SEEN_BOTH);
  const s = pairs.stats();
  assert.equal(s.proofFlows, 1);
  assert.equal(s.twoWayTcpFlows, 1);
  assert.equal(s.pairsCleared, 1);
  assert.equal(s.pairs, 0);
});

Deno.test("one-sided pairs: a proof expires after the ttl", () => {
  const pairs = new OneSidedPairs(64, 10e6);
  flow(pairs, 1, 2, "proof", 0);
  assert.equal(flow(pairs, 1, 2, "one-way", 9e6, false), UNSEEN_PAIR);
  assert.equal(flow(pairs, 1, 2, "one-way", 21e6, false), SEEN_BOTH);
});

Deno.test("one-sided pairs: a host's proofs stand for its other peers only while the run is mostly one-sided", () => {
  const pairs = new OneSidedPairs(64, 600e6);
  // Server 10 seen talking to clients 21 and 22, their packets never seen.
  flow(pairs, 10, 21, "proof", 0);
  flow(pairs, 10, 22, "proof", 1e6);
  // Client 23's traffic with the server, before any proof of its own: the talker's, and the silent host's.
  assert.equal(flow(pairs, 10, 23, "one-way", 2e6, false), UNSEEN_HOST);
  assert.equal(flow(pairs, 23, 21, "one-way", 2e6, false), UNSEEN_HOST);
  assert.equal(flow(pairs, 23, 24, "one-way", 2e6, false), SEEN_BOTH);
  // Three connections seen both ways elsewhere: no longer mostly one-sided.
  for (let k = 0; k < 3; k++) flow(pairs, 30, 31 + k, "two-way", 3e6);
  assert.equal(flow(pairs, 10, 23, "one-way", 4e6, false), SEEN_BOTH);
  // The pairs' own proofs still stand.
  assert.equal(flow(pairs, 10, 21, "one-way", 4e6, false), UNSEEN_PAIR);
});

Deno.test("one-sided pairs: a full table evicts and counts; memory is fixed", () => {
  const pairs = new OneSidedPairs(16, 600e6);
  const bytes = pairs.bytes;
  for (let n = 1; n <= 200; n++) flow(pairs, 1, n + 1, "proof", n);
  assert.equal(pairs.bytes, bytes);
  assert.ok(pairs.stats().pairsEvicted > 0);
});

Deno.test("one-sided warning: only for a run mostly one-sided, with enough proofs", () => {
  assert.equal(oneSidedWarning({ proofFlows: 5, twoWayTcpFlows: 0 }), null);
  assert.equal(oneSidedWarning({ proofFlows: 20, twoWayTcpFlows: 100 }), null);
  assert.match(oneSidedWarning({ proofFlows: 30, twoWayTcpFlows: 10 })!, /^warning: 75% of TCP/);
});
