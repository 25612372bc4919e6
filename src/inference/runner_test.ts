import assert from "node:assert/strict";
import { createInferencePool } from "./runner.ts";
import { denseScores, detailRow } from "./model_spec.ts";
import { applyScaling, runOnnxModel } from "../train/onnx/mod.ts";
import {
  autoencoder,
  mlpClassifier,
  random,
  treeClassifier,
} from "../../tests/support/inference_models.ts";

const WIDTH = 6;

function rows(n: number, seed: number): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: n * WIDTH }, () => rand() * 4 - 2);
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-6) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert(
      Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])),
      `value ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("pool returns what a direct session returns, across merged and split batches (MLP)", async () => {
  const onnx = mlpClassifier(WIDTH, 16, 4);
  const pool = await createInferencePool(
    { width: WIDTH, models: [{ name: "mlp", role: "classifier", onnx }] },
    { maxBatchRows: 32, maxWaitMs: 10 },
  );
  try {
    // 20 + 50 rows with 32-row batches: the first call shares a batch, the second spans three.
    const a = rows(20, 1);
    const b = rows(50, 2);
    const [ra, rb] = await Promise.all([pool.infer(a, 20), pool.infer(b, 50)]);
    const direct = await runOnnxModel(onnx, "input", concat(a, b), 70, WIDTH);
    const expected = direct.probabilities.data as Float32Array;
    assert.equal(ra.outputs[0].columns, 4);
    assertClose(ra.outputs[0].values, expected.subarray(0, 20 * 4));
    assertClose(rb.outputs[0].values, expected.subarray(20 * 4));
    assert.equal(pool.stats.rows, 70);
    assert.equal(pool.stats.batches, 3);
  } finally {
    await pool.close();
  }
});

Deno.test("pool reads a tree ensemble's probabilities, skipping its int64 label", async () => {
  const onnx = treeClassifier(WIDTH, 3, 10, 4);
  const pool = await createInferencePool(
    { width: WIDTH, models: [{ name: "forest", role: "classifier", onnx }] },
    { maxBatchRows: 64 },
  );
  try {
    const x = rows(100, 3);
    const result = await pool.infer(x, 100);
    const direct = await runOnnxModel(onnx, "input", x, 100, WIDTH);
    assert.equal(result.outputs[0].columns, 3);
    assertClose(result.outputs[0].values, direct.probabilities.data as Float32Array);
  } finally {
    await pool.close();
  }
});

Deno.test("anomaly models: score and feature errors from the graph, or computed from a reconstruction", async () => {
  const withErrors = autoencoder(WIDTH, 3, 5);
  const reconstructionOnly = autoencoder(WIDTH, 3, 5, true);
  const pool = await createInferencePool({
    width: WIDTH,
    models: [
      {
        name: "ae",
        role: "anomaly",
        onnx: withErrors,
        outputName: "score",
        featureErrorsOutput: "feature_errors",
      },
      { name: "ae-rec", role: "anomaly", onnx: reconstructionOnly },
    ],
  });
  try {
    const x = rows(40, 4);
    const result = await pool.infer(x, 40);
    pool.flush();
    const direct = await runOnnxModel(withErrors, "input", x, 40, WIDTH);
    const [graph, computed] = result.outputs;
    assertClose(graph.values, direct.score.data as Float32Array);
    assertClose(graph.featureErrors!, direct.feature_errors.data as Float32Array);
    assertClose(computed.values, direct.score.data as Float32Array, 1e-5);
    assertClose(computed.featureErrors!, direct.feature_errors.data as Float32Array, 1e-5);
  } finally {
    await pool.close();
  }
});

/** A tree classifier and an autoencoder (score and feature errors in its graph), and a pool of both. */
async function forestAndAutoencoder(options?: Parameters<typeof createInferencePool>[1]) {
  const forest = treeClassifier(WIDTH, 3, 10, 4);
  const ae = autoencoder(WIDTH, 3, 5);
  const pool = await createInferencePool({
    width: WIDTH,
    models: [
      { name: "forest", role: "classifier", onnx: forest },
      {
        name: "ae",
        role: "anomaly",
        onnx: ae,
        outputName: "score",
        featureErrorsOutput: "feature_errors",
      },
    ],
  }, options);
  return { forest, ae, pool };
}

Deno.test("repeated rows (a flood) are scored once each and every row gets its own outputs", async () => {
  const { forest, ae, pool } = await forestAndAutoencoder();
  try {
    // 200 rows drawn from 7 distinct ones, in a scattered order.
    const distinct = rows(7, 9);
    const x = new Float32Array(200 * WIDTH);
    for (let r = 0; r < 200; r++) {
      const from = (r * 5 + (r >> 3)) % 7;
      x.set(distinct.subarray(from * WIDTH, (from + 1) * WIDTH), r * WIDTH);
    }
    const result = await pool.infer(x, 200);
    const [classes, anomaly] = result.outputs;
    const directForest = await runOnnxModel(forest, "input", x, 200, WIDTH);
    const directAe = await runOnnxModel(ae, "input", x, 200, WIDTH);
    assert.equal(classes.values.length, 200 * 3);
    assertClose(classes.values, directForest.probabilities.data as Float32Array);
    assertClose(anomaly.values, directAe.score.data as Float32Array);
    // Feature errors come once per distinct row, with the map from rows to them.
    assert.equal(anomaly.featureErrors!.length, 7 * WIDTH);
    assert.equal(anomaly.detailRowOf!.length, 200);
    assertClose(
      denseScores(result, WIDTH).outputs[1].featureErrors!,
      directAe.feature_errors.data as Float32Array,
    );
  } finally {
    await pool.close();
  }
});

Deno.test("repeated rows in calls that share a batch or span batches: each row reads its own feature errors", async () => {
  const ae = autoencoder(WIDTH, 3, 5);
  const pool = await createInferencePool({
    width: WIDTH,
    models: [{
      name: "ae",
      role: "anomaly",
      onnx: ae,
      outputName: "score",
      featureErrorsOutput: "feature_errors",
    }],
  }, { maxBatchRows: 64, maxWaitMs: 5 });
  try {
    // Three calls of repeats from different row sets: 30 and 30 rows share the first batch,
    // 150 rows span three batches (its outputs are copied through each batch's map).
    const repeats = (n: number, seed: number) => {
      const distinct = rows(5, seed);
      const x = new Float32Array(n * WIDTH);
      for (let r = 0; r < n; r++) {
        const from = (r * 3 + (r >> 2)) % 5;
        x.set(distinct.subarray(from * WIDTH, (from + 1) * WIDTH), r * WIDTH);
      }
      return x;
    };
    const calls = [repeats(30, 31), repeats(30, 32), repeats(150, 33)];
    const results = await Promise.all(calls.map((x) => pool.infer(x, x.length / WIDTH)));
    assert(results[0].outputs[0].detailRowOf, "the shared batch's outputs keep the map");
    for (let k = 0; k < calls.length; k++) {
      const n = calls[k].length / WIDTH;
      const direct = await runOnnxModel(ae, "input", calls[k], n, WIDTH);
      const errors = direct.feature_errors.data as Float32Array;
      const output = results[k].outputs[0];
      assertClose(output.values, direct.score.data as Float32Array);
      for (let r = 0; r < n; r++) {
        const at = detailRow(output, r) * WIDTH;
        assertClose(
          output.featureErrors!.subarray(at, at + WIDTH),
          errors.subarray(r * WIDTH, (r + 1) * WIDTH),
        );
      }
    }
  } finally {
    await pool.close();
  }
});

Deno.test("rows scored in an earlier batch come from the worker's cache, each row with its own outputs", async () => {
  const { forest, ae, pool } = await forestAndAutoencoder({ maxWaitMs: 0 });
  const seen = rows(40, 41);
  const fresh = rows(40, 42);
  const pick = (n: number, from: (r: number) => [Float32Array, number]) => {
    const x = new Float32Array(n * WIDTH);
    for (let r = 0; r < n; r++) {
      const [source, row] = from(r);
      x.set(source.subarray(row * WIDTH, (row + 1) * WIDTH), r * WIDTH);
    }
    return x;
  };
  // One batch each, in order: all new; all distinct, half seen; repeats of 5 seen and 5 new
  // rows; repeats of seen rows only.
  const calls = [
    seen,
    pick(40, (r) => r % 2 ? [seen, (r * 7) % 40] : [fresh, r]),
    pick(100, (r) => r % 3 ? [seen, (r * 3) % 5] : [fresh, 20 + (r % 5)]),
    pick(100, (r) => [seen, 10 + ((r * 11) % 7)]),
  ];
  try {
    for (const x of calls) {
      const n = x.length / WIDTH;
      const result = denseScores(await pool.infer(x, n), WIDTH);
      const direct = await runOnnxModel(forest, "input", x, n, WIDTH);
      const directAe = await runOnnxModel(ae, "input", x, n, WIDTH);
      assertClose(result.outputs[0].values, direct.probabilities.data as Float32Array);
      assertClose(result.outputs[1].values, directAe.score.data as Float32Array);
      assertClose(result.outputs[1].featureErrors!, directAe.feature_errors.data as Float32Array);
    }
  } finally {
    await pool.close();
  }
});

Deno.test("preprocessing outside the graph matches the writer's scaling", async () => {
  const onnx = autoencoder(WIDTH, 2, 7);
  const scaling = {
    logColumns: [1, 0, 1, 0, 1, 0],
    center: [0.5, -0.2, 0.1, 0, 1, 2],
    scale: [2, 1, 0.5, 3, 1, 4],
  };
  const pool = await createInferencePool({
    width: WIDTH,
    models: [{
      name: "ae",
      role: "anomaly",
      onnx,
      outputName: "score",
      preprocessing: {
        mean: scaling.center,
        scale: scaling.scale,
        log1p: scaling.logColumns.map((v) => v === 1),
      },
    }],
  }, { maxWaitMs: 5 });
  try {
    const x = rows(30, 8);
    const result = await pool.infer(x, 30);
    const scaled = applyScaling(scaling, x, 30);
    const direct = await runOnnxModel(onnx, "input", scaled, 30, WIDTH);
    assertClose(result.outputs[0].values, direct.score.data as Float32Array, 1e-5);
  } finally {
    await pool.close();
  }
});

Deno.test("a full batch is sent at once; the wait timer never fired", async () => {
  const onnx = mlpClassifier(WIDTH, 4, 2);
  // A wait far longer than any test run: only the size bound can send this batch.
  const pool = await createInferencePool(
    { width: WIDTH, models: [{ name: "mlp", role: "classifier", onnx }] },
    { maxBatchRows: 8, maxWaitMs: 3_600_000 },
  );
  try {
    const result = await pool.infer(rows(8, 9), 8);
    assert.equal(result.rows, 8);
    assert.equal(pool.stats.batchesBySize, 1);
    assert.equal(pool.stats.batchesByWait, 0);
  } finally {
    await pool.close();
  }
});

Deno.test("a lone row on a quiet link is sent by the wait bound", async () => {
  const onnx = mlpClassifier(WIDTH, 4, 2);
  const pool = await createInferencePool(
    { width: WIDTH, models: [{ name: "mlp", role: "classifier", onnx }] },
    { maxBatchRows: 4096, maxWaitMs: 20 },
  );
  try {
    const result = await pool.infer(rows(1, 10), 1);
    assert.equal(result.rows, 1);
    assert.equal(result.outputs[0].values.length, 2);
    assert.equal(pool.stats.batchesByWait, 1);
    assert.equal(pool.stats.batchesBySize, 0);
  } finally {
    await pool.close();
  }
});

Deno.test("non-finite inputs are replaced before the model; caller buffers stay usable", async () => {
  const onnx = mlpClassifier(WIDTH, 4, 3);
  const pool = await createInferencePool(
    { width: WIDTH, models: [{ name: "mlp", role: "classifier", onnx }], nonFiniteValue: 0 },
    { maxWaitMs: 1 },
  );
  try {
    const x = rows(2, 11);
    x[0] = Number.NaN;
    x[WIDTH + 1] = Number.POSITIVE_INFINITY;
    const clean = x.slice();
    clean[0] = 0;
    clean[WIDTH + 1] = 0;
    const result = await pool.infer(x, 2);
    assert(Number.isNaN(x[0]), "the caller's buffer is copied, not modified or detached");
    const direct = await runOnnxModel(onnx, "input", clean, 2, WIDTH);
    assertClose(result.outputs[0].values, direct.probabilities.data as Float32Array);
  } finally {
    await pool.close();
  }
});

Deno.test("bad calls and bad models fail with a message", async () => {
  const onnx = mlpClassifier(WIDTH, 4, 2);
  const pool = await createInferencePool({
    width: WIDTH,
    models: [{ name: "mlp", role: "classifier", onnx }],
  });
  try {
    await assert.rejects(() => pool.infer(new Float32Array(5), 1), /need 6 values/);
  } finally {
    await pool.close();
  }
  await assert.rejects(
    () =>
      createInferencePool({
        width: WIDTH,
        models: [{ name: "broken", role: "classifier", onnx: new Uint8Array([1, 2, 3]) }],
      }),
    /broken: not a usable ONNX model/,
  );
});

Deno.test("two models, many batches in flight: every call gets its own rows of each model", async () => {
  const classifier = mlpClassifier(WIDTH, 8, 3, 21);
  const anomaly = autoencoder(WIDTH, 2, 22);
  const pool = await createInferencePool({
    width: WIDTH,
    models: [
      { name: "mlp", role: "classifier", onnx: classifier },
      {
        name: "ae",
        role: "anomaly",
        onnx: anomaly,
        outputName: "score",
        featureErrorsOutput: "feature_errors",
      },
    ],
  }, { maxBatchRows: 64, maxWaitMs: 5 });
  try {
    const calls = Array.from({ length: 15 }, (_, k) => rows(37, 100 + k));
    const results = await Promise.all(calls.map((x) => pool.infer(x, 37)));
    for (let k = 0; k < calls.length; k++) {
      const direct = await runOnnxModel(classifier, "input", calls[k], 37, WIDTH);
      const directAnomaly = await runOnnxModel(anomaly, "input", calls[k], 37, WIDTH);
      assertClose(results[k].outputs[0].values, direct.probabilities.data as Float32Array);
      assertClose(results[k].outputs[1].values, directAnomaly.score.data as Float32Array);
      assertClose(
        results[k].outputs[1].featureErrors!,
        directAnomaly.feature_errors.data as Float32Array,
      );
    }
    assert(pool.stats.batches >= 9, `555 rows in 64-row batches, got ${pool.stats.batches}`);
  } finally {
    await pool.close();
  }
});
