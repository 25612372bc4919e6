import assert from "node:assert/strict";
import { gbdtToOnnx, predictGbdt, trainGbdt } from "./gbdt.ts";
import { binMatrix, binOf } from "./histogram_bins.ts";
import { selectRows, stratifiedSplit } from "./dataset.ts";
import { argmaxRows, classificationReport } from "./metrics.ts";
import { runOnnxModel } from "./onnx/mod.ts";
import { Random } from "./random.ts";
import { syntheticDataset } from "../../tests/support/train_synthetic_data.ts";

Deno.test("bins: x <= edges[b] exactly when bin(x) <= b", () => {
  const rng = new Random(5);
  const rows = 3000;
  const x = Float32Array.from(
    { length: rows * 2 },
    (_, i) => i % 2 ? Math.round(rng.next() * 4) : Math.exp(rng.normal() * 4),
  );
  const binned = binMatrix(x, rows, 2, rng, 256, 500);
  assert.ok(binned.edges[0].length <= 255 && binned.edges[0].length > 100);
  assert.equal(binned.edges[1].length, 4, "5 distinct values give 4 split points");
  for (let c = 0; c < 2; c++) {
    const edges = binned.edges[c];
    for (let r = 0; r < rows; r++) {
      const v = x[r * 2 + c];
      const bin = binned.bins[r * 2 + c];
      assert.equal(bin, binOf(edges, v));
      for (let b = 0; b < edges.length; b++) assert.equal(v <= edges[b], bin <= b);
    }
  }
});

Deno.test("GBDT learns a multiclass table and onnxruntime-web gives the same probabilities", async () => {
  const d = syntheticDataset(3000, 12, 4);
  const { train, heldOut } = stratifiedSplit(d.y, 0.25, new Random(1));
  const tr = selectRows(d, train);
  const te = selectRows(d, heldOut);
  const model = trainGbdt(tr.x, tr.y, tr.rows, tr.cols, 4, { rounds: 15 });
  assert.equal(model.trees.length, 15 * 4);
  const p = predictGbdt(model, te.x, te.rows);
  const report = classificationReport(te.y, argmaxRows(p, te.rows, 4), d.classNames, 0);
  // Chance is about 0.5 (half the rows are benign); the shifted columns make classes separable.
  assert.ok(report.accuracy > 0.9, `held-out accuracy ${report.accuracy}`);
  const out = await runOnnxModel(gbdtToOnnx(model), "input", te.x, te.rows, te.cols);
  const onnxP = out.probabilities.data as Float32Array;
  assert.deepEqual(out.probabilities.dims, [te.rows, 4]);
  let maxDiff = 0;
  for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnxP[i] - p[i]));
  assert.ok(maxDiff < 1e-5, `max |onnx - ts| = ${maxDiff}`);
  const labels = out.label.data as BigInt64Array;
  const tsLabels = argmaxRows(p, te.rows, 4);
  let same = 0;
  for (let i = 0; i < te.rows; i++) if (Number(labels[i]) === tsLabels[i]) same++;
  assert.ok(same >= te.rows - 1, `labels agree on ${same}/${te.rows}`);
});

Deno.test("GBDT is reproducible with a seed and changes with another", () => {
  const d = syntheticDataset(800, 6, 3);
  const a = trainGbdt(d.x, d.y, d.rows, d.cols, 3, { rounds: 5, seed: 4 });
  const b = trainGbdt(d.x, d.y, d.rows, d.cols, 3, { rounds: 5, seed: 4 });
  const c = trainGbdt(d.x, d.y, d.rows, d.cols, 3, { rounds: 5, seed: 5 });
  assert.deepEqual(predictGbdt(a, d.x, d.rows), predictGbdt(b, d.x, d.rows));
  assert.notDeepEqual(predictGbdt(a, d.x, d.rows), predictGbdt(c, d.x, d.rows));
});
