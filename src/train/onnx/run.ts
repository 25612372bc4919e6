/**
 * Runs an ONNX model with onnxruntime-web (single-threaded WASM) on a float
 * matrix. Training uses it to check that an exported model reproduces the
 * TypeScript predictor before a bundle is written.
 */
import * as ort from "onnxruntime-web";

ort.env.wasm.numThreads = 1;

/** Output tensors by name, as plain typed arrays with their dims. */
export type OnnxOutputs = Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>;

/** Runs `model` once on `rows x width` values fed to input `inputName`. */
export async function runOnnxModel(
  model: Uint8Array,
  inputName: string,
  x: Float32Array,
  rows: number,
  width: number,
): Promise<OnnxOutputs> {
  const session = await ort.InferenceSession.create(model);
  try {
    const result = await session.run({
      [inputName]: new ort.Tensor("float32", x.subarray(0, rows * width), [rows, width]),
    });
    const outputs: OnnxOutputs = {};
    for (const [name, tensor] of Object.entries(result)) {
      outputs[name] = {
        data: tensor.data as Float32Array | BigInt64Array,
        dims: [...tensor.dims],
      };
    }
    return outputs;
  } finally {
    await session.release();
  }
}

/**
 * Inference throughput of `model` under onnxruntime-web: one warm-up run,
 * then `repeats` timed runs over the same `rows`; returns the median rows/s.
 */
export async function onnxRowsPerSecond(
  model: Uint8Array,
  inputName: string,
  x: Float32Array,
  rows: number,
  width: number,
  repeats = 3,
): Promise<number> {
  const session = await ort.InferenceSession.create(model);
  try {
    const feeds = {
      [inputName]: new ort.Tensor("float32", x.subarray(0, rows * width), [rows, width]),
    };
    await session.run(feeds);
    const rates: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      rates.push(rows / Math.max(1e-9, (performance.now() - t0) / 1000));
    }
    rates.sort((a, b) => a - b);
    return rates[Math.floor(rates.length / 2)];
  } finally {
    await session.release();
  }
}
