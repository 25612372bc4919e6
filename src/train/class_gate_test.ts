/**
 * The open-set class gate: profiles and calibrated thresholds per attack
 * class (src/train/class_gate.ts), its ONNX output against the TypeScript
 * distances, and the whole path (trainBundle -> bundle -> inference worker ->
 * decide) turning a confident claim on a novel attack into "unknown".
 */
import assert from "node:assert/strict";
import {
  anomalyDetectorToOnnx,
  CLASS_DISTANCE_OUTPUT,
  classDistances,
  DEFAULT_TRAIN_OPTIONS,
  fitClassGate,
  fitRobustScaling,
  Random,
  selectRows,
  trainAnomalyDetector,
  trainBundle,
} from "./mod.ts";
import { rowsOfClass } from "./dataset.ts";
import { runOnnxModel } from "./onnx/mod.ts";
import { loadBundle, VERDICT_KNOWN, VERDICT_UNKNOWN } from "../inference/mod.ts";
import { scoreRows } from "../eval/mod.ts";
import { syntheticDataset } from "../../tests/support/train_synthetic_data.ts";

const COLS = 12;
const CLASSES = 4;

/**
 * Rows of a class the model never saw: attack1's signature (columns
 * c % 4 == 1 raised) plus columns c % 4 == 0 raised far beyond anything in
 * training, so a classifier keyed on the signature still claims attack1.
 */
function novelRows(rows: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const x = new Float32Array(rows * COLS);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < COLS; c++) {
      const shift = c % CLASSES === 1 ? 2.5 : c % CLASSES === 0 ? 7 : 0;
      x[i * COLS + c] = Math.exp(rng.normal() + shift) * (c + 1);
    }
  }
  return x;
}

Deno.test("class gate: genuine held-out rows pass, a novel cluster is far from every class", () => {
  const train = syntheticDataset(3000, COLS, CLASSES, 11);
  const benign = selectRows(train, rowsOfClass(train, 0));
  const scaling = fitRobustScaling(benign.x, benign.rows, COLS);
  const gate = fitClassGate(
    train.x,
    train.y,
    train.rows,
    COLS,
    train.classNames,
    0,
    scaling,
    new Random(3),
    { targetRejection: 0.01, thresholdMargin: 1 },
  );
  assert.deepEqual(gate.classNames, ["attack1", "attack2", "attack3"]);
  // Calibration: at most the target strictly above each threshold, on its own calibration rows.
  for (const r of gate.calibratedRejection) assert.ok(r <= 0.01, `calibrated rejection ${r}`);
  // Fresh rows of the same distribution: each class's own rows are rejected at about the target.
  const fresh = syntheticDataset(3000, COLS, CLASSES, 12);
  const d = classDistances(gate, scaling, fresh.x, fresh.rows);
  const rejected = [0, 0, 0];
  const total = [0, 0, 0];
  for (let r = 0; r < fresh.rows; r++) {
    const k = fresh.y[r] - 1;
    if (k < 0) continue;
    total[k]++;
    if (d[r * 3 + k] > gate.thresholds[k]) rejected[k]++;
  }
  for (let k = 0; k < 3; k++) {
    // About 1% expected; 5% leaves room for the calibration sample's own noise (~300 rows).
    assert.ok(rejected[k] / total[k] < 0.05, `${gate.classNames[k]}: ${rejected[k]}/${total[k]}`);
  }
  // The novel cluster is rejected by attack1's gate (the class it resembles).
  const novel = novelRows(200, 5);
  const dn = classDistances(gate, scaling, novel, 200);
  let novelRejected = 0;
  for (let r = 0; r < 200; r++) if (dn[r * 3] > gate.thresholds[0]) novelRejected++;
  assert.ok(
    novelRejected >= 198,
    `only ${novelRejected}/200 novel rows rejected by attack1's gate`,
  );
});

Deno.test("class gate: a constant feature gets the spread floor, distances stay finite", () => {
  const rows = 100;
  const x = new Float32Array(rows * 2);
  const y = new Int32Array(rows).fill(1);
  for (let r = 0; r < rows; r++) {
    x[r * 2] = 5; // constant within the class
    x[r * 2 + 1] = r;
  }
  const scaling = { logColumns: [1, 1], center: [0, 0], scale: [1, 1] };
  const gate = fitClassGate(x, y, rows, 2, ["BENIGN", "flat"], 0, scaling, new Random(1), {
    spreadFloor: 0.25,
    clip: 4,
  });
  assert.equal(gate.spread[0], Math.fround(0.25));
  assert.ok(gate.spread[1] > 0.25);
  const far = classDistances(gate, scaling, Float32Array.from([5e9, 50]), 1);
  // Clipped: the wild first feature contributes clip^2 / width at most.
  assert.ok(Number.isFinite(far[0]) && far[0] <= Math.sqrt((16 + 16) / 2) + 1e-6, `${far[0]}`);
});

Deno.test("class gate: the anomaly graph's class_distance output matches the TypeScript distances", async () => {
  const data = syntheticDataset(1200, COLS, CLASSES, 21);
  const benign = selectRows(data, rowsOfClass(data, 0));
  const detector = trainAnomalyDetector(benign.x, benign.rows, COLS, {
    autoencoder: { epochs: 1 },
    seed: 2,
  });
  const gate = fitClassGate(
    data.x,
    data.y,
    data.rows,
    COLS,
    data.classNames,
    0,
    detector.scaling,
    new Random(4),
  );
  const onnx = anomalyDetectorToOnnx(detector, "input", gate);
  const probe = new Float32Array(data.x.subarray(0, 300 * COLS));
  probe.set(novelRows(20, 9), 0);
  probe[5] = -3e7; // negative values go through the signed log as well
  const out = await runOnnxModel(onnx, "input", probe, 300, COLS);
  const got = out[CLASS_DISTANCE_OUTPUT];
  assert.deepEqual(got.dims, [300, 3]);
  const expected = classDistances(gate, detector.scaling, probe, 300);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(
      worst,
      Math.abs((got.data as Float32Array)[i] - expected[i]) / (1 + expected[i]),
    );
  }
  assert.ok(worst < 1e-5, `ONNX vs TypeScript relative difference ${worst}`);
});

Deno.test("class gate end to end: a novel attack the classifier claims is reported unknown", async () => {
  const data = syntheticDataset(3000, COLS, CLASSES, 31);
  const dir = await Deno.makeTempDir({ prefix: "class_gate_bundle_" });
  try {
    const summary = await trainBundle(data, {
      ...DEFAULT_TRAIN_OPTIONS,
      outDir: dir,
      featureSet: { name: "synthetic", version: 1 },
      dataSource: "synthetic",
      epochs: 2,
      gbdt: { rounds: 15, maxDepth: 3 },
    });
    assert.ok(summary.classGate, "trainBundle fitted no class gate");
    assert.ok(summary.classGate.onnxMaxAbsDiff < 1e-4, `${summary.classGate.onnxMaxAbsDiff}`);
    const bundle = await loadBundle(dir);
    const anomaly = bundle.json.models.find((m) => m.role === "anomaly");
    assert.ok(anomaly?.role === "anomaly" && anomaly.classGate);
    assert.deepEqual(anomaly.classGate.classNames, ["attack1", "attack2", "attack3"]);

    const rows = 200;
    const x = novelRows(rows, 41);
    const ungated = await scoreRows(bundle, x, rows, { classGate: false });
    const gated = await scoreRows(bundle, x, rows);
    let claimed = 0;
    for (let r = 0; r < rows; r++) {
      if (ungated.decisions.verdict[r] !== VERDICT_KNOWN) continue;
      claimed++;
      // Through the worker: every claim of the novel rows becomes unknown, naming the claimed class.
      assert.equal(gated.decisions.verdict[r], VERDICT_UNKNOWN, `row ${r}`);
      assert.equal(gated.decisions.nearestClass![r], ungated.decisions.classIndex[r]);
    }
    assert.ok(claimed > rows / 2, `the classifier claimed only ${claimed}/${rows} novel rows`);

    // Genuine fresh attack rows stay known (the gate costs little known recall).
    const fresh = syntheticDataset(1000, COLS, CLASSES, 32);
    const freshScores = await scoreRows(bundle, fresh.x, fresh.rows);
    let attacks = 0;
    let knownRight = 0;
    for (let r = 0; r < fresh.rows; r++) {
      if (fresh.y[r] === 0) continue;
      attacks++;
      const d = freshScores.decisions;
      if (d.verdict[r] === VERDICT_KNOWN && d.classIndex[r] === fresh.y[r]) knownRight++;
    }
    assert.ok(knownRight / attacks > 0.9, `only ${knownRight}/${attacks} genuine attacks known`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
