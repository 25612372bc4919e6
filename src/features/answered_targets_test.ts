import assert from "node:assert/strict";
import { AnsweredTargets } from "./answered_targets.ts";
import { mix32 } from "./mix32.ts";

const pair = (k: number): [number, number] => [mix32(k), mix32(k ^ 0x5bd1e995)];

Deno.test("answered targets: an answer counts for the span, for that pair only", () => {
  const m = new AnsweredTargets(64, 100);
  m.remember(...pair(1), 1000);
  assert.equal(m.answered(...pair(1), 1050), true);
  assert.equal(m.answered(...pair(1), 1100), true);
  assert.equal(m.answered(...pair(1), 1101), false);
  assert.equal(m.answered(...pair(2), 1050), false);
  // The same first hash with another fingerprint is another pair.
  assert.equal(m.answered(pair(1)[0], pair(2)[1], 1050), false);
  // A later answer renews it.
  m.remember(...pair(1), 1090);
  assert.equal(m.answered(...pair(1), 1150), true);
});

Deno.test("answered targets: the table is bounded; a full run gives up the pair answered longest ago", () => {
  const m = new AnsweredTargets(4, 1e9);
  for (let k = 0; k < 4; k++) m.remember(7, 100 + k, 10 + k);
  assert.equal(m.stats.remembered, 4);
  m.remember(7, 200, 20);
  assert.equal(m.stats.displaced, 1);
  assert.equal(m.answered(7, 100, 30), false); // the oldest went
  assert.equal(m.answered(7, 101, 30), true);
  assert.equal(m.answered(7, 200, 30), true);
  assert.equal(m.bytes, 4 * 12);
  assert.throws(() => new AnsweredTargets(6, 1), /power of two/);
});
