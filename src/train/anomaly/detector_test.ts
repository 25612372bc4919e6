import assert from "node:assert/strict";
import {
  anomalyDetectorToOnnx,
  anomalyScores,
  averagePathLength,
  STRONG_MAX_MARGIN,
  strongThresholdForFpr,
  thresholdForFpr,
  trainAnomalyDetector,
} from "./mod.ts";
import { rocAuc } from "../metrics.ts";
import { runOnnxModel } from "../onnx/mod.ts";
import { selectRows, stratifiedSplit } from "../dataset.ts";
import { Random } from "../random.ts";
import { syntheticDataset } from "../../../tests/support/train_synthetic_data.ts";

Deno.test("thresholdForFpr leaves at most the target fraction strictly above", () => {
  const scores = Float32Array.from({ length: 1000 }, (_, i) => i);
  const t = thresholdForFpr(scores, 0.01);
  assert.equal(scores.filter((s) => s > t).length, 10);
  assert.equal(averagePathLength(2), 1);
  assert.ok(Math.abs(averagePathLength(256) - 10.2448) < 1e-3);
});

Deno.test("strongThresholdForFpr: quantile at targetFpr/10 when the set is large enough, else max x margin", () => {
  const large = Float32Array.from({ length: 20_000 }, (_, i) => i / 1000);
  const q = strongThresholdForFpr(large, 0.01);
  assert.equal(q.method, "quantile");
  assert.equal(q.targetFpr, 0.001);
  assert.equal(large.filter((s) => s > q.threshold).length, 20);
  assert.ok(q.threshold > thresholdForFpr(large, 0.01));
  const small = Float32Array.from({ length: 500 }, (_, i) => 1 + i / 500);
  const m = strongThresholdForFpr(small, 0.01);
  assert.equal(m.method, "max-margin");
  assert.equal(m.margin, STRONG_MAX_MARGIN);
  assert.equal(m.maxScore, small[499]);
  assert.ok(Math.abs(m.threshold - small[499] * STRONG_MAX_MARGIN) < 1e-9);
  assert.equal(m.calibratedFpr, 0);
});

Deno.test("anomaly detector: benign-only training, calibrated FPR, attacks rank high, ONNX agrees", async () => {
  const d = syntheticDataset(4000, 10, 3, 11);
  const { train, heldOut } = stratifiedSplit(d.y, 0.3, new Random(2));
  const tr = selectRows(d, train);
  const te = selectRows(d, heldOut);
  const benignIdx = Uint32Array.from(
    Array.from({ length: tr.rows }, (_, i) => i).filter((i) => tr.y[i] === 0),
  );
  const benign = selectRows(tr, benignIdx);
  const det = trainAnomalyDetector(benign.x, benign.rows, benign.cols, {
    targetFpr: 0.05,
    autoencoder: { epochs: 8 },
    forest: { trees: 50 },
  });
  assert.ok(det.calibratedFpr <= 0.05, `calibration FPR ${det.calibratedFpr}`);
  assert.ok(det.strong.threshold > det.thresholds.combined, "strong threshold above the threshold");
  assert.equal(det.strong.rows, det.calibrationRows);
  const s = anomalyScores(det, te.x, te.rows);
  const attack = Array.from(te.y, (c) => c !== 0);
  assert.ok(rocAuc(s.score, attack) > 0.9, `combined AUC ${rocAuc(s.score, attack)}`);
  assert.ok(rocAuc(s.isolationForest, attack) > 0.8);
  assert.ok(rocAuc(s.autoencoder, attack) > 0.8);
  // Fresh benign rows (never seen in training or calibration) stay near the target rate.
  let benignRows = 0;
  let flagged = 0;
  for (let i = 0; i < te.rows; i++) {
    if (te.y[i] !== 0) continue;
    benignRows++;
    if (s.score[i] > det.thresholds.combined) flagged++;
  }
  assert.ok(flagged / benignRows < 0.12, `held-out benign FPR ${flagged / benignRows}`);
  const out = await runOnnxModel(anomalyDetectorToOnnx(det), "input", te.x, te.rows, te.cols);
  assert.deepEqual(out.score.dims, [te.rows]);
  assert.deepEqual(out.feature_errors.dims, [te.rows, te.cols]);
  for (
    const [name, ts] of [["score", s.score], ["if_score", s.isolationForest], [
      "ae_error",
      s.autoencoder,
    ]] as const
  ) {
    const onnx = out[name].data as Float32Array;
    for (let i = 0; i < te.rows; i++) {
      const tolerance = 1e-5 * Math.max(1, Math.abs(ts[i]));
      assert.ok(Math.abs(onnx[i] - ts[i]) <= tolerance, `${name} row ${i}: ${onnx[i]} vs ${ts[i]}`);
    }
  }
});
