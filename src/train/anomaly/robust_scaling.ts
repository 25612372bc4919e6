/**
 * Fits the signed-log1p robust standardisation used by the anomaly models:
 * after `sign(x) * log1p(|x|)`, each column is centred on its median and
 * divided by its interquartile range / 1.349 (the standard deviation for a
 * normal), falling back to the standard deviation and then to 1 for columns
 * that are mostly constant. Medians and quartiles ignore the heavy tails that
 * differ most between networks.
 */
import type { ScalingParameters } from "../onnx/mod.ts";

/** Fits scaling parameters on rows x cols values (benign training rows). */
export function fitRobustScaling(x: Float32Array, rows: number, cols: number): ScalingParameters {
  const logColumns = new Array<number>(cols).fill(1);
  const center = new Array<number>(cols).fill(0);
  const scale = new Array<number>(cols).fill(1);
  const values = new Float64Array(rows);
  for (let c = 0; c < cols; c++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * cols + c];
      values[r] = Math.sign(v) * Math.log1p(Math.abs(v));
      mean += values[r];
    }
    mean /= Math.max(1, rows);
    let variance = 0;
    for (let r = 0; r < rows; r++) variance += (values[r] - mean) ** 2;
    const std = Math.sqrt(variance / Math.max(1, rows - 1));
    values.sort();
    const q = (p: number) => values[Math.min(rows - 1, Math.floor(p * (rows - 1)))];
    center[c] = Math.fround(q(0.5));
    const iqr = (q(0.75) - q(0.25)) / 1.349;
    // Floor at 0.1 (about 10% in log1p units) so a near-constant column cannot explode scores.
    scale[c] = Math.fround(Math.max(iqr > 1e-6 ? iqr : std, 0.1));
  }
  return { logColumns, center, scale };
}

/** One value through the scaling (float64), for split-point arithmetic. */
export function scaleValue(p: ScalingParameters, c: number, v: number): number {
  const t = p.logColumns[c] ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
  return (t - p.center[c]) / p.scale[c];
}

/** Inverse of {@link scaleValue}. */
export function unscaleValue(p: ScalingParameters, c: number, z: number): number {
  const u = z * p.scale[c] + p.center[c];
  return p.logColumns[c] ? Math.sign(u) * Math.expm1(Math.abs(u)) : u;
}
