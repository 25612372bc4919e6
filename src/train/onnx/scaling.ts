/**
 * In-graph feature scaling, so an exported model takes the raw feature row the
 * flow meter produces: `z = (sign(x) * log1p(|x|) - center) / scale`. Flow
 * features are heavy-tailed (bytes, durations, rates), and a log before a
 * robust standardisation keeps one network's magnitudes from dominating.
 */
import type { OnnxGraphBuilder } from "./graph.ts";

/** Per-column parameters of the signed-log1p robust standardisation. */
export interface ScalingParameters {
  /** Columns that get `sign(x) * log1p(|x|)` before standardising (1) or not (0). */
  logColumns: ArrayLike<number>;
  center: ArrayLike<number>;
  scale: ArrayLike<number>;
}

/** Adds the scaling nodes; returns the name of the scaled `[N, width]` tensor. */
export function addScaling(
  g: OnnxGraphBuilder,
  input: string,
  params: ScalingParameters,
  prefix = "scale",
): string {
  const width = params.center.length;
  const mask = Float32Array.from(params.logColumns);
  const inverse = Float32Array.from(mask, (m) => 1 - m);
  g.addFloatInitializer(`${prefix}_log_mask`, mask, [1, width]);
  g.addFloatInitializer(`${prefix}_linear_mask`, inverse, [1, width]);
  g.addFloatInitializer(`${prefix}_one`, [1], [1]);
  g.addFloatInitializer(`${prefix}_center`, Float32Array.from(params.center), [1, width]);
  g.addFloatInitializer(
    `${prefix}_inv_scale`,
    Float32Array.from(params.scale, (s) => 1 / s),
    [1, width],
  );
  const [abs] = g.addNode("Abs", [input]);
  const [abs1] = g.addNode("Add", [abs, `${prefix}_one`]);
  const [log] = g.addNode("Log", [abs1]);
  const [sign] = g.addNode("Sign", [input]);
  const [signedLog] = g.addNode("Mul", [sign, log]);
  const [logPart] = g.addNode("Mul", [signedLog, `${prefix}_log_mask`]);
  const [linearPart] = g.addNode("Mul", [input, `${prefix}_linear_mask`]);
  const [mixed] = g.addNode("Add", [logPart, linearPart]);
  const [centered] = g.addNode("Sub", [mixed, `${prefix}_center`]);
  const [scaled] = g.addNode("Mul", [centered, `${prefix}_inv_scale`]);
  return scaled;
}

/** The same transform in TypeScript (float32 steps, as the graph computes), into `out`. */
export function applyScaling(
  params: ScalingParameters,
  x: Float32Array,
  rows: number,
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  const width = params.center.length;
  const center = Float32Array.from(params.center);
  const invScale = Float32Array.from(params.scale, (s) => 1 / s);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let c = 0; c < width; c++) {
      const v = x[base + c];
      // Same float32 steps as the graph: Log(Abs(x) + 1), not log1p.
      const t = params.logColumns[c]
        ? Math.sign(v) * Math.fround(Math.log(Math.fround(Math.abs(v) + 1)))
        : v;
      out[base + c] = Math.fround(Math.fround(t - center[c]) * invScale[c]);
    }
  }
  return out;
}
