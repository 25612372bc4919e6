/**
 * Inference throughput in the worker: rows/s of a tree ensemble and an MLP
 * at several batch sizes, through the same pool the detector uses.
 *
 *   deno run -A scripts/bench_inference.ts [--seconds 2] [--batches 1,64,4096,65536]
 *
 * Reports end-to-end rows/s (call to result, including the transfer to and
 * from the worker) and worker-only rows/s (scaling + onnxruntime-web).
 */
import { FEATURE_COUNT } from "../src/features/mod.ts";
import { createInferencePool } from "../src/inference/runner.ts";
import { mlpClassifier, random, treeClassifier } from "../tests/support/inference_models.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const seconds = Number(arg("seconds", "2"));
const batchSizes = arg("batches", "1,64,4096,65536").split(",").map(Number);
const width = FEATURE_COUNT;
const models = {
  "forest 100 trees depth 8, 8 classes": treeClassifier(width, 8, 100, 8),
  "MLP 77-64-8 relu softmax": mlpClassifier(width, 64, 8),
};
const rand = random(42);
const maxRows = Math.max(...batchSizes);
const input = Float32Array.from({ length: maxRows * width }, () => rand() * 4 - 2);

console.log(
  `width ${width}, ~${seconds} s per cell, 1 worker, onnxruntime-web WASM SIMD, 1 thread`,
);
console.log("model | batch | calls | rows/s end-to-end | rows/s in worker | ms per call");
for (const [name, onnx] of Object.entries(models)) {
  for (const batch of batchSizes) {
    const pool = await createInferencePool(
      { width, models: [{ name, role: "classifier", onnx }] },
      { maxBatchRows: batch, maxWaitMs: 0 },
    );
    try {
      await pool.infer(input, batch); // warm up
      const before = { ...pool.stats };
      const started = performance.now();
      let calls = 0;
      while (performance.now() - started < seconds * 1000 || calls < 3) {
        await pool.infer(input, batch);
        calls++;
      }
      const elapsed = performance.now() - started;
      const rows = calls * batch;
      const workerMs = pool.stats.workerMs - before.workerMs;
      console.log(
        `${name} | ${batch} | ${calls} | ${Math.round(rows / (elapsed / 1000))} | ` +
          `${Math.round(rows / (workerMs / 1000))} | ${(elapsed / calls).toFixed(3)}`,
      );
    } finally {
      await pool.close();
    }
  }
}
