import assert from "node:assert/strict";
import { CONN_STATES } from "../features/mod.ts";
import {
  countsTowardRate,
  isBulkTransfer,
  isStrongVote,
  isUdpExchange,
  type VoteEvidence,
  voteIsEnough,
  type VoteThresholds,
} from "./vote_rule.ts";

const RULE: VoteThresholds = {
  minFlows: 3,
  minPorts: 10,
  rateFlows: 20,
  ratePerSecond: 2,
  strongThreshold: 4.6,
  strongFlows: 2,
  rateThreshold: 2.3,
};
const ANOMALY_ONLY = { singleFlowClass: false, anomalyOnly: true };
const CLAIMED = { singleFlowClass: false, anomalyOnly: false };

/** A group of `flows` flows in `seconds`, `rateFlows` of them counting toward its rate, on one port. */
function group(flows: number, rateFlows: number, seconds: number): VoteEvidence {
  return { flows, ports: 1, firstMicros: 0, lastMicros: seconds * 1e6, strongFlows: 0, rateFlows };
}

/** Evidence as the sensor counts it, from one flagged flow per score. */
function counted(scores: number[], seconds: number, anomalyOnly: boolean): VoteEvidence {
  const rate = scores.filter((s) => countsTowardRate(s, anomalyOnly, RULE)).length;
  return group(scores.length, rate, seconds);
}

Deno.test("vote rule: 20 anomaly-only flows just past the alerting threshold within 10 s are a client's pace, not a rate", () => {
  const pageFetches = Array.from({ length: 23 }, (_, i) => 1.02 + i * 0.03); // 1.02 .. 1.68
  assert.equal(voteIsEnough(ANOMALY_ONLY, counted(pageFetches, 8.4, true), RULE), false);
});

Deno.test("vote rule: 20 anomaly-only flows at the bundle's strong threshold within 10 s are a rate", () => {
  const flood = Array.from({ length: 20 }, () => 4.16);
  assert.equal(voteIsEnough(ANOMALY_ONLY, counted(flood, 0.7, true), RULE), true);
  // 19 of them are not (the rate needs 20), however many weak flows come with them.
  const mixed = [
    ...Array.from({ length: 19 }, () => 2.5),
    ...Array.from({ length: 40 }, () => 1.2),
  ];
  assert.equal(voteIsEnough(ANOMALY_ONLY, counted(mixed, 5, true), RULE), false);
});

Deno.test("vote rule: every flow of a group with a claimed class counts toward its rate", () => {
  const claimed = Array.from({ length: 20 }, () => 1.1);
  assert.equal(voteIsEnough(CLAIMED, counted(claimed, 8, false), RULE), true);
});

Deno.test("vote rule: without a strong threshold every anomaly-only flow counts toward the rate", () => {
  const { strongThreshold: _s, rateThreshold: _r, ...bare } = RULE;
  assert.equal(countsTowardRate(1.1, true, bare), true);
  assert.equal(voteIsEnough(ANOMALY_ONLY, group(20, 20, 9), bare), true);
});

Deno.test("vote rule: fan-out needs no score; two strong answered flows suffice for an anomaly-only group", () => {
  assert.equal(voteIsEnough(ANOMALY_ONLY, { ...group(10, 0, 30), ports: 10 }, RULE), true);
  assert.equal(voteIsEnough(ANOMALY_ONLY, { ...group(2, 2, 30), strongFlows: 2 }, RULE), true);
  assert.equal(voteIsEnough(ANOMALY_ONLY, { ...group(2, 2, 30), strongFlows: 1 }, RULE), false);
});

Deno.test("vote rule: a bulk transfer is neither a strong anomaly nor part of an anomaly-only rate", () => {
  const SF = CONN_STATES.indexOf("SF"), S0 = CONN_STATES.indexOf("S0");
  const OTH = CONN_STATES.indexOf("OTH");
  // iperf3 -R as measured: 37 bytes of cookie one way, 1.6 GB the other.
  assert.equal(isBulkTransfer(6, CONN_STATES.indexOf("S1"), 1135164, 37, 1637674880), true);
  // A download picked up midway, both sides talking.
  assert.equal(isBulkTransfer(6, OTH, 200, 300, 4 << 20), true);
  // A keep-alive HTTP client asks for every answer (ab -k: 101 kB of requests, 279 kB of pages).
  assert.equal(isBulkTransfer(6, SF, 1004, 101000, 278995), false);
  assert.equal(isBulkTransfer(6, SF, 1004, 101000, 2 << 20), false);
  // Its requests for 20 MiB of large pages are under 1/64 of them: that is a transfer (a flood of
  // requests is named from their rate by the HTTP monitor instead).
  assert.equal(isBulkTransfer(6, SF, 1004, 101000, 20 << 20), true);
  // Too small, never answered, not TCP.
  assert.equal(isBulkTransfer(6, SF, 100, 0, (1 << 20) - 1), false);
  assert.equal(isBulkTransfer(6, S0, 0, 8 << 20, 0), false);
  assert.equal(isBulkTransfer(6, OTH, 0, 8 << 20, 0), false);
  assert.equal(isBulkTransfer(17, SF, 100, 8 << 20, 0), false);

  assert.equal(isStrongVote(8.4, 1135164, RULE), true);
  assert.equal(isStrongVote(8.4, 1135164, RULE, true), false);
  assert.equal(countsTowardRate(8.4, true, RULE, true), false);
  assert.equal(countsTowardRate(8.4, false, RULE, true), true);
});

Deno.test("vote rule: a UDP exchange is answered datagram for datagram, ten or more each way", () => {
  // An SNMP walk: 740 requests, 740 answers, in 60 ms; a TFTP transfer: 3,937 blocks and acks.
  assert.equal(isUdpExchange(17, 740, 740), true);
  assert.equal(isUdpExchange(17, 3937, 3937), true);
  assert.equal(isUdpExchange(17, 10, 20), true);
  assert.equal(isUdpExchange(17, 9, 9), false); // a lookup or a few: the bundle's world
  assert.equal(isUdpExchange(17, 1000, 12), false); // mostly one-way
  assert.equal(isUdpExchange(6, 740, 740), false); // TCP is not
});
