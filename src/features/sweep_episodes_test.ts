import assert from "node:assert/strict";
import { distinctEstimate, SweepEpisodes } from "./sweep_episodes.ts";

Deno.test("sweep episodes: the threshold counts within the window, the episode over its whole length", () => {
  const sweeps = new SweepEpisodes(4, 25);
  const probe = (s: number, t: number, target: number) => {
    sweeps.clock[0] = t;
    return sweeps.probe(s, Math.imul(target, 0x9e3779b1) >>> 0, 60);
  };
  sweeps.clock[0] = 0;
  sweeps.start(1);
  // 24 targets in the first second, 24 others 11 s later: no window holds 25.
  for (let k = 0; k < 24; k++) assert.equal(probe(1, k * 1000, k), false);
  for (let k = 0; k < 24; k++) assert.equal(probe(1, 11e6 + k * 1000, 100 + k), false);
  assert.equal(sweeps.owesClosingLine(1), false, "no first line, no closing line");
  // The 25th distinct target of the current window makes the first line, once.
  assert.equal(probe(1, 11.5e6, 200), true);
  assert.equal(probe(1, 11.6e6, 201), false);
  assert.equal(sweeps.owesClosingLine(1), true, "a target past the first line");
  assert.equal(sweeps.probes(1), 50);
  assert.equal(sweeps.bytes(1), 50 * 60);
  assert.ok(Math.abs(sweeps.targets(1) - 50) <= 2, `${sweeps.targets(1)} of 50`);
  assert.equal(sweeps.firstProbe(1), 0);
  assert.equal(sweeps.latestProbe(1), 11.6e6);
  assert.equal(sweeps.quietAt(1, 11.6e6 + 30e6), false);
  assert.equal(sweeps.quietAt(1, 11.6e6 + 30e6 + 1), true);
  // A repeated target adds a probe, not a target; other slots are untouched.
  probe(1, 11.7e6, 201);
  assert.equal(sweeps.probes(1), 51);
  assert.equal(sweeps.probes(0) + sweeps.probes(2), 0);
});

Deno.test("distinctEstimate: exact for few set bits, saturating at the set's size", () => {
  assert.equal(distinctEstimate(0), 0);
  assert.equal(distinctEstimate(10), 10);
  assert.ok(distinctEstimate(600) > 600);
  assert.equal(distinctEstimate(1024), 1024);
});
