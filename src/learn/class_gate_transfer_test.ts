import assert from "node:assert/strict";
import { classDistances, type ClassGate, fitRobustScaling, Random } from "../train/mod.ts";
import { rescaleClassGate } from "./class_gate_transfer.ts";

const COLS = 6;

function rows(rng: Random, n: number, shift: number, spread: number): Float32Array {
  const x = new Float32Array(n * COLS);
  for (let i = 0; i < x.length; i++) {
    x[i] = Math.max(0, shift * (1 + (i % COLS)) + spread * rng.next());
  }
  return x;
}

function gateIn(rng: Random): ClassGate {
  const classes = 2;
  const center = new Float32Array(classes * COLS);
  const spread = new Float32Array(classes * COLS);
  for (let i = 0; i < center.length; i++) {
    center[i] = 4 * (rng.next() - 0.5);
    spread[i] = 0.2 + rng.next();
  }
  return {
    classNames: ["scan", "flood"],
    cols: COLS,
    center,
    spread,
    clip: 8,
    spreadFloor: 0.1,
    thresholdMargin: 1,
    thresholds: Float32Array.from([2, 3]),
    calibratedQuantiles: Float32Array.from([2, 3]),
    targetRejection: 0.01,
    calibratedRejection: [0.01, 0.01],
    fitRows: [100, 100],
    calibrationRows: [20, 20],
  };
}

Deno.test("rescaleClassGate: every row keeps its distance to every class in the new scaling", () => {
  const rng = new Random(7);
  // Two networks: the base's benign rows and a quite different site's.
  const baseScaling = fitRobustScaling(rows(rng, 400, 10, 50), 400, COLS);
  const siteScaling = fitRobustScaling(rows(rng, 400, 300, 5000), 400, COLS);
  const gate = gateIn(rng);
  const moved = rescaleClassGate(gate, baseScaling, siteScaling);
  const probe = rows(rng, 200, 40, 2000);
  const before = classDistances(gate, baseScaling, probe, 200);
  const after = classDistances(moved, siteScaling, probe, 200);
  let worst = 0;
  for (let i = 0; i < before.length; i++) {
    worst = Math.max(worst, Math.abs(before[i] - after[i]) / Math.max(1e-3, before[i]));
  }
  assert.ok(worst < 1e-4, `largest relative change ${worst}`);
  // Thresholds and names are the base's: the gate's calibration still holds.
  assert.deepEqual(moved.thresholds, gate.thresholds);
  assert.deepEqual(moved.classNames, gate.classNames);
});

Deno.test("rescaleClassGate refuses scalings that differ in their log transform", () => {
  const rng = new Random(3);
  const a = fitRobustScaling(rows(rng, 50, 1, 10), 50, COLS);
  const b = { ...a, logColumns: Array.from(a.logColumns, (v, i) => i === 2 ? 1 - v : v) };
  assert.throws(() => rescaleClassGate(gateIn(rng), a, b), /column 2: .*log transform/);
});
