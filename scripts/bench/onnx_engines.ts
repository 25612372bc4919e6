/**
 * onnx_lite against onnxruntime-web through the inference pool, interleaved:
 *   deno run -A scripts/bench/onnx_engines.ts [BUNDLE_DIR] [RUNS]
 * Each run starts one pool per engine (startup to ready, wall and process CPU),
 * then scores batches of random non-repeating rows (rows/s, wall and CPU).
 * Prints one line per run and engine, then the medians.
 */
import { cpuUsage } from "node:process";
import {
  createInferencePool,
  inferenceModelsFromBundle,
  loadBundle,
} from "../../src/inference/mod.ts";

const bundleDir = Deno.args[0] ?? new URL("../../models/default", import.meta.url).pathname;
const runs = Number(Deno.args[1] ?? 3);
const BATCH = 4096;
const BATCHES = 6;

const bundle = await loadBundle(bundleDir);
const models = inferenceModelsFromBundle(bundle);
const width = models.width;

/** Flow-like rows: many zeros, magnitudes over 9 decades; fresh values every call. */
function randomRows(rows: number): Float32Array {
  const x = new Float32Array(rows * width);
  for (let i = 0; i < x.length; i++) x[i] = Math.random() < 0.3 ? 0 : Math.exp(Math.random() * 20);
  return x;
}

const cpuMs = () => {
  const c = cpuUsage();
  return (c.user + c.system) / 1000;
};

interface Sample {
  startWallMs: number;
  startCpuMs: number;
  rowsPerSecond: number;
  cpuUsPerRow: number;
}

async function measure(engine: "auto" | "onnxruntime"): Promise<Sample> {
  const batches = Array.from({ length: BATCHES + 1 }, () => randomRows(BATCH));
  let wall = performance.now();
  let cpu = cpuMs();
  const pool = await createInferencePool(models, { engine, maxWaitMs: 0, maxBatchRows: BATCH });
  const startWallMs = performance.now() - wall;
  const startCpuMs = cpuMs() - cpu;
  try {
    await pool.infer(batches[0], BATCH); // first batch: buffers, JIT
    wall = performance.now();
    cpu = cpuMs();
    for (let b = 1; b <= BATCHES; b++) await pool.infer(batches[b], BATCH);
    const seconds = (performance.now() - wall) / 1000;
    return {
      startWallMs,
      startCpuMs,
      rowsPerSecond: (BATCHES * BATCH) / seconds,
      cpuUsPerRow: ((cpuMs() - cpu) * 1000) / (BATCHES * BATCH),
    };
  } finally {
    await pool.close();
  }
}

const samples: Record<string, Sample[]> = { "onnx-lite": [], onnxruntime: [] };
for (let r = 0; r < runs; r++) {
  for (const [name, engine] of [["onnx-lite", "auto"], ["onnxruntime", "onnxruntime"]] as const) {
    const s = await measure(engine);
    samples[name].push(s);
    console.log(`run ${r + 1} ${name}: ${JSON.stringify(s)}`);
  }
}
const median = (values: number[]) => values.slice().sort((a, b) => a - b)[values.length >> 1];
for (const [name, list] of Object.entries(samples)) {
  console.log(
    `median ${name}: startup ${median(list.map((s) => s.startWallMs)).toFixed(0)} ms wall, ` +
      `${median(list.map((s) => s.startCpuMs)).toFixed(0)} ms CPU; ` +
      `${median(list.map((s) => s.rowsPerSecond)).toFixed(0)} rows/s, ` +
      `${median(list.map((s) => s.cpuUsPerRow)).toFixed(1)} us CPU/row (both models)`,
  );
}
