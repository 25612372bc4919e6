import assert from "node:assert/strict";

import { runOnnxModel } from "../onnx/mod.ts";
import { Random } from "../random.ts";
import {
  AE_SCORE,
  CNN_PROBABILITIES,
  cnnClassifierToOnnx,
  DEEP_INPUT_NAME,
  predictCnn,
  trainCnnAe,
  trainCnnClassifier,
  trainDenseAe,
  trainLstmAe,
} from "./mod.ts";

/** Two classes in 21 heavy-tailed columns: class 1 has larger values in the first 5. */
function synthetic(rows: number, seed: number) {
  const rng = new Random(seed);
  const cols = 21;
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    y[r] = r % 2;
    for (let c = 0; c < cols; c++) {
      const base = Math.exp(rng.normal() + (c < 5 && y[r] === 1 ? 2 : 0));
      x[r * cols + c] = c % 7 === 0 ? Math.round(base) : base;
    }
  }
  return { x, y, rows, cols };
}

function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.deepEqual(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i])));
  }
  return worst;
}

Deno.test("CNN classifier learns a separable problem and its ONNX graph agrees", async () => {
  const d = synthetic(600, 1);
  const model = trainCnnClassifier(d.x, d.y, d.rows, d.cols, 2, { epochs: 4, seed: 2 });
  assert(model.lossHistory[3] < model.lossHistory[0], `loss ${model.lossHistory}`);
  const test = synthetic(200, 9);
  const p = predictCnn(model, test.x, test.rows);
  let correct = 0;
  for (let i = 0; i < test.rows; i++) {
    if ((p[i * 2 + 1] > p[i * 2] ? 1 : 0) === test.y[i]) correct++;
  }
  assert(correct / test.rows > 0.9, `accuracy ${correct / test.rows}`);
  const out = await runOnnxModel(
    cnnClassifierToOnnx(model),
    DEEP_INPUT_NAME,
    test.x,
    test.rows,
    d.cols,
  );
  assert.deepEqual(out[CNN_PROBABILITIES].dims, [test.rows, 2]);
  const diff = maxRelativeDiff(p, out[CNN_PROBABILITIES].data as Float32Array);
  assert(diff < 1e-3, `max relative diff ${diff}`);
});

for (
  const [family, train] of [["dense-ae", trainDenseAe], ["cnn-ae", trainCnnAe], [
    "lstm-ae",
    trainLstmAe,
  ]] as const
) {
  Deno.test(`${family}: loss falls, attacks score higher, ONNX agrees`, async () => {
    const d = synthetic(800, 3);
    const benign = new Float32Array(400 * d.cols);
    for (let r = 0, k = 0; r < d.rows; r++) {
      if (d.y[r] === 0) benign.set(d.x.subarray(r * d.cols, (r + 1) * d.cols), d.cols * k++);
    }
    const model = train(benign, 400, d.cols, { epochs: 5, seed: 4 });
    const h = model.lossHistory;
    assert(h[h.length - 1] < h[0], `loss ${h}`);
    const test = synthetic(200, 11);
    const scores = model.score(test.x, test.rows);
    let benignSum = 0;
    let attackSum = 0;
    for (let i = 0; i < test.rows; i++) {
      test.y[i] ? (attackSum += scores[i]) : (benignSum += scores[i]);
    }
    assert(
      attackSum > benignSum * 1.5,
      `mean score attack ${attackSum / 100} benign ${benignSum / 100}`,
    );
    const out = await runOnnxModel(model.toOnnx(), DEEP_INPUT_NAME, test.x, test.rows, d.cols);
    assert.deepEqual(out[AE_SCORE].dims, [test.rows]);
    const diff = maxRelativeDiff(scores, out[AE_SCORE].data as Float32Array);
    assert(diff < 1e-3, `max relative diff ${diff}`);
  });
}
