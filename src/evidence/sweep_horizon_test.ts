import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { SweepHorizon } from "./sweep_horizon.ts";

Deno.test("sweep horizon: 20 new targets a minute reach 25 in the second window; the same 20 every minute never do", () => {
  const h = new SweepHorizon(64);
  let distinct = 0;
  for (let t = 0; t < 20; t++) distinct = h.add(7, 1, t, 100);
  assertEquals(distinct, 20);
  for (let t = 20; t < 25; t++) distinct = h.add(7, 1, t, 101);
  assertEquals(distinct, 25);
  const poller = new SweepHorizon(64);
  for (let epoch = 100; epoch < 110; epoch++) {
    for (let t = 0; t < 20; t++) distinct = poller.add(9, 2, t, epoch);
  }
  assertEquals(distinct, 20);
});

Deno.test("sweep horizon: targets older than 5 windows drop out; a quiet gap longer than the horizon clears it", () => {
  const h = new SweepHorizon(64);
  for (let t = 0; t < 20; t++) h.add(7, 1, t, 100);
  // Window 105 is 5 windows on: window 100's targets are gone.
  assertEquals(h.add(7, 1, 1000, 105), 1);
  for (let t = 0; t < 20; t++) h.add(7, 1, t, 106);
  assertEquals(h.add(7, 1, 2000, 200), 1);
});

Deno.test("sweep horizon: sources are told apart by their check; a full table takes the stalest slot, counted", () => {
  const h = new SweepHorizon(4);
  for (let source = 0; source < 8; source++) h.add(0, source + 1, source, 100 + source);
  assertEquals(h.stats.sources, 8);
  assertEquals(h.stats.evicted, 4);
  assertEquals(h.add(0, 8, 99, 107), 2);
});

Deno.test("sweep horizon: a source forgotten (named) starts again from nothing", () => {
  const h = new SweepHorizon(64);
  for (let t = 0; t < 25; t++) h.add(7, 1, t, 100);
  h.forget(7, 1);
  assertEquals(h.add(7, 1, 99, 101), 1);
});

Deno.test("sweep horizon: a negative check (a signed hash) finds its own slot again", () => {
  const h = new SweepHorizon(64);
  for (let t = 0; t < 24; t++) h.add(-5, -123456789, t, 100);
  assertEquals(h.add(-5, -123456789, 24, 101), 25);
});
