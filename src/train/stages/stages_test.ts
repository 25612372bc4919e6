/**
 * The training stages on their own: run by hand in trainBundle's order with
 * its seed they write the very same bundle; a fitted anomaly detector can be
 * recalibrated on other benign rows without refitting its models, and a
 * bundle can keep another run's classifier part (what `learn` does).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadBundle, writeBundle } from "../../inference/mod.ts";
import { rowsOfClass, selectRows, stratifiedSplit } from "../dataset.ts";
import { DEFAULT_TRAIN_OPTIONS, trainBundle } from "../pipeline.ts";
import { Random } from "../random.ts";
import { syntheticDataset } from "../../../tests/support/train_synthetic_data.ts";
import {
  anomalyModelPart,
  assembleBundleJson,
  calibrateAnomalyStage,
  fitAnomalyStage,
  fitClassProfilesStage,
  type StageContext,
  trainClassifierStage,
} from "./mod.ts";

const OPTIONS = {
  ...DEFAULT_TRAIN_OPTIONS,
  epochs: 2,
  featureSet: { name: "synthetic", version: 1 },
};

Deno.test("stages run by hand write the same bundle as trainBundle", async () => {
  const data = syntheticDataset(900, 6, 3, 11);
  const dir = await Deno.makeTempDir({ prefix: "stages_" });
  try {
    await trainBundle(data, { ...OPTIONS, outDir: join(dir, "whole"), dataSource: "synthetic" });

    const context: StageContext = { dataSource: "synthetic", date: "x", progress: () => {} };
    const rng = new Random(OPTIONS.seed);
    const split = stratifiedSplit(data.y, OPTIONS.evaluationFraction, rng);
    const train = selectRows(data, split.train);
    const evaluation = selectRows(data, split.heldOut);
    const classifier = await trainClassifierStage(train, evaluation, OPTIONS, context, rng);
    const benign = selectRows(train, rowsOfClass(train, train.benignClass));
    const detector = calibrateAnomalyStage(
      fitAnomalyStage(benign, OPTIONS),
      OPTIONS.targetFpr,
    );
    const gate = fitClassProfilesStage(train, detector.scaling, rng.fork());
    assert.ok(gate, "no class profiles fitted");
    const anomaly = await anomalyModelPart(detector, gate, evaluation, context, {
      benignRows: benign.rows,
      seconds: 0,
    });
    const json = assembleBundleJson(data, [classifier, anomaly], {
      featureSet: OPTIONS.featureSet,
      scaling: anomaly.scaling,
    }, context);
    await writeBundle(join(dir, "stages"), json, [classifier.onnx, anomaly.onnx]);

    const whole = await loadBundle(join(dir, "whole"));
    const staged = await loadBundle(join(dir, "stages"));
    assert.deepEqual(staged.onnx, whole.onnx);
    const thresholds = (b: typeof whole) =>
      b.json.models.map((m) => m.role === "anomaly" ? [m.threshold, m.strongThreshold] : []);
    assert.deepEqual(thresholds(staged), thresholds(whole));
    assert.deepEqual(staged.json.preprocessing, whole.json.preprocessing);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("calibration alone re-thresholds a fitted detector on other benign rows", () => {
  const data = syntheticDataset(1200, 6, 2, 5);
  const benign = selectRows(data, rowsOfClass(data, data.benignClass));
  const fitted = fitAnomalyStage(benign, OPTIONS);
  const first = calibrateAnomalyStage(fitted, 0.01);
  // A loose target moves both parts' thresholds down (the combined score is
  // relative to them, so its threshold stays near 1) and keeps the models.
  const loose = calibrateAnomalyStage(fitted, 0.2);
  assert.ok(loose.thresholds.isolationForest < first.thresholds.isolationForest);
  assert.ok(loose.thresholds.autoencoder < first.thresholds.autoencoder);
  assert.equal(loose.forest, first.forest);
  assert.equal(loose.autoencoder, first.autoencoder);
  assert.ok(Math.abs(loose.calibratedFpr - 0.2) <= 0.05, `calibrated ${loose.calibratedFpr}`);
  // The fitted detector itself is left as it was: calibration returns a copy.
  assert.deepEqual(fitted.detector.thresholds, { isolationForest: 1, autoencoder: 1, combined: 1 });
});
