/**
 * The input every deep model shares: raw rows through the signed-log1p robust
 * scaling (../onnx/scaling.ts), clipped to +-{@link INPUT_CLIP} so a magnitude
 * never seen in training saturates instead of swamping the network. The same
 * steps as ONNX nodes, so an exported graph takes the raw `[N, width]` row.
 */
import {
  addScaling,
  applyScaling,
  type OnnxGraphBuilder,
  type ScalingParameters,
} from "../onnx/mod.ts";

/** Scaled values are clipped to this magnitude. */
export const INPUT_CLIP = 10;
/** Name of every deep model's graph input (raw feature rows). */
export const DEEP_INPUT_NAME = "input";

/** Raw rows -> scaled, clipped rows (float32, as the graph computes). */
export function prepareRows(
  scaling: ScalingParameters,
  x: Float32Array,
  rows: number,
): Float32Array {
  const z = applyScaling(scaling, x, rows, new Float32Array(rows * scaling.center.length));
  for (let i = 0; i < z.length; i++) {
    const v = z[i];
    z[i] = v > INPUT_CLIP ? INPUT_CLIP : v < -INPUT_CLIP ? -INPUT_CLIP : v;
  }
  return z;
}

/** Declares the raw input and adds scaling + clipping; returns the `[N, width]` tensor name. */
export function addPreparedInput(g: OnnxGraphBuilder, scaling: ScalingParameters): string {
  const width = scaling.center.length;
  g.addInput(DEEP_INPUT_NAME, "float32", ["N", width]);
  const scaled = addScaling(g, DEEP_INPUT_NAME, scaling);
  g.addFloatInitializer("clip_min", [-INPUT_CLIP], []);
  g.addFloatInitializer("clip_max", [INPUT_CLIP], []);
  const [clipped] = g.addNode("Clip", [scaled, "clip_min", "clip_max"]);
  return clipped;
}

/** Zero-pads `[N, width]` to `[N, padded]` (Pad on the last axis). */
export function addPadColumns(
  g: OnnxGraphBuilder,
  input: string,
  width: number,
  padded: number,
  name: string,
): string {
  if (padded === width) return input;
  g.addInt64Initializer(`${name}_pads`, [0, 0, 0, padded - width], [4]);
  const [out] = g.addNode("Pad", [input, `${name}_pads`]);
  return out;
}

/** `MatMul + Add` (+ `Relu`) of a dense layer given its row-major `[in, out]` weights. */
export function addDense(
  g: OnnxGraphBuilder,
  input: string,
  name: string,
  weights: Float32Array,
  bias: Float32Array,
  inputs: number,
  relu: boolean,
): string {
  g.addFloatInitializer(`${name}_w`, weights, [inputs, bias.length]);
  g.addFloatInitializer(`${name}_b`, bias, [bias.length]);
  const [mm] = g.addNode("MatMul", [input, `${name}_w`]);
  const [out] = g.addNode("Add", [mm, `${name}_b`]);
  return relu ? g.addNode("Relu", [out])[0] : out;
}

/** Mean over columns of `(a - b)^2`, as a `[N]` output named `output`. */
export function addMeanSquaredError(g: OnnxGraphBuilder, a: string, b: string, output: string) {
  const [diff] = g.addNode("Sub", [a, b]);
  const [sq] = g.addNode("Mul", [diff, diff]);
  g.addNode("ReduceMean", [sq], {
    outputs: [output],
    attributes: { axes: { ints: [1] }, keepdims: 0 },
  });
  g.addOutput(output, "float32", ["N"]);
}

/** Mean over the first `width` columns of squared errors, in TypeScript (float64 sum). */
export function rowMeanSquaredError(
  reconstruction: Float32Array,
  recStride: number,
  target: Float32Array,
  width: number,
  slot: number,
  targetRow: number,
): number {
  let sum = 0;
  for (let c = 0; c < width; c++) {
    const d = Math.fround(reconstruction[slot * recStride + c] - target[targetRow * width + c]);
    sum += d * d;
  }
  return sum / width;
}
