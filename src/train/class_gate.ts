/**
 * The class gate: "does this flow look like the class the classifier claims?"
 *
 * A classifier trained on a closed set of classes gives every input to one of
 * them, often with high probability, even an attack it never saw (slowloris
 * claimed as HTTP brute force). The gate keeps, for each attack class, a robust
 * profile of its training rows in the anomaly models' scaled space (signed
 * log1p, then the benign median / IQR standardisation): a per-feature median
 * and a spread (MAD * 1.4826, floored). The distance of a row to class c is
 * the root mean square of its clipped per-feature z-scores against that
 * profile, so one wild feature adds at most `clip^2 / width` to the mean
 * square. Each class's threshold is calibrated on rows of that class that did
 * not fit the profile, to a target rejection rate of genuine flows, times a
 * margin for the shift between recordings (`thresholdMargin`). The
 * decision reports a flow the classifier is sure of but the gate rejects as
 * an unknown attack.
 */
import type { OnnxGraphBuilder, ScalingParameters } from "./onnx/mod.ts";
import { applyScaling } from "./onnx/mod.ts";
import { thresholdForFpr } from "./anomaly/threshold.ts";
import type { Random } from "./random.ts";

/** Output name of the class distances in the exported anomaly graph. */
export const CLASS_DISTANCE_OUTPUT = "class_distance";

/** How the distance is formed, for bundle.json. */
export const CLASS_DISTANCE_DESCRIPTION =
  "d_c = sqrt(mean_j min(|z_cj|, clip)^2), z_cj = (scaled_j - center_cj) / spread_cj; " +
  "scaled as preprocessing.scaling; spread = max(MAD * 1.4826, spreadFloor)";

/** Options of {@link fitClassGate}. */
export interface ClassGateOptions {
  /** Fraction of genuine rows of a class whose distance may exceed its threshold; default 0.01. */
  targetRejection: number;
  /** Fraction of each class's rows kept out of the profile to calibrate its threshold; default 0.3. */
  calibrationFraction: number;
  /**
   * Smallest spread, in scaled units (one unit = one benign robust standard
   * deviation of the feature); default 0.5. Attack classes are often constant
   * on many features (every SYN-scan flow is one 0-byte packet), where the MAD
   * is 0; the floor makes a deviation of half a benign standard deviation
   * count as one z unit there instead of infinitely many.
   */
  spreadFloor: number;
  /** Per-feature |z| is clipped here before squaring; default 10. */
  clip: number;
  /**
   * The threshold is this multiple of the calibrated quantile; default 2.
   * Calibration rows come from the same recordings as the profile, so they
   * miss the shift between recordings (timing and rate features follow the
   * network's latency). Measured: lab-fixture profiles scored on a separate
   * recording put genuine SYN-scan and SYN-flood flows at up to 1.9 times the
   * in-recording threshold (99th percentile); held-out classes claimed by a
   * neighbour sat at 2.1 times and more.
   */
  thresholdMargin: number;
  /** Classes with fewer rows than this get no gate (their verdicts stay as the classifier says); default 20. */
  minRows: number;
}

export const DEFAULT_CLASS_GATE_OPTIONS: ClassGateOptions = {
  targetRejection: 0.01,
  calibrationFraction: 0.3,
  spreadFloor: 0.5,
  clip: 10,
  thresholdMargin: 2,
  minRows: 20,
};

/** Fitted gate: one profile and threshold per gated class. */
export interface ClassGate {
  /** Gated classes (names from the classifier), in output column order. */
  classNames: string[];
  cols: number;
  /** `classNames.length * cols` medians, scaled units. */
  center: Float32Array;
  /** `classNames.length * cols` spreads, scaled units (floored). */
  spread: Float32Array;
  clip: number;
  spreadFloor: number;
  thresholdMargin: number;
  /** Per class: rows strictly above this distance are rejected (margin times the calibrated quantile). */
  thresholds: Float32Array;
  /** Per class: the distance at the target rejection rate of the calibration rows, before the margin. */
  calibratedQuantiles: Float32Array;
  targetRejection: number;
  /** Per class: fraction of its calibration rows above its threshold (after the margin). */
  calibratedRejection: number[];
  fitRows: number[];
  calibrationRows: number[];
}

/**
 * Fits a gate on labelled raw rows: for every non-benign class with at least
 * `minRows` rows, a seeded `calibrationFraction` of its rows sets the
 * threshold and the rest fit the profile.
 */
export function fitClassGate(
  x: Float32Array,
  y: Int32Array,
  rows: number,
  cols: number,
  classNames: readonly string[],
  benignClass: number,
  scaling: ScalingParameters,
  rng: Random,
  options: Partial<ClassGateOptions> = {},
): ClassGate {
  const o = { ...DEFAULT_CLASS_GATE_OPTIONS, ...options };
  const scaled = applyScaling(scaling, x, rows);
  const byClass: number[][] = classNames.map(() => []);
  for (let r = 0; r < rows; r++) byClass[y[r]].push(r);
  const gated: number[] = [];
  for (let c = 0; c < classNames.length; c++) {
    if (c !== benignClass && byClass[c].length >= o.minRows) gated.push(c);
  }
  const gate: ClassGate = {
    classNames: gated.map((c) => classNames[c]),
    cols,
    center: new Float32Array(gated.length * cols),
    spread: new Float32Array(gated.length * cols),
    clip: o.clip,
    spreadFloor: o.spreadFloor,
    thresholdMargin: o.thresholdMargin,
    thresholds: new Float32Array(gated.length),
    calibratedQuantiles: new Float32Array(gated.length),
    targetRejection: o.targetRejection,
    calibratedRejection: [],
    fitRows: [],
    calibrationRows: [],
  };
  const values = new Float64Array(rows);
  gated.forEach((c, k) => {
    const members = rng.shuffle(Uint32Array.from(byClass[c]));
    const calibration = Math.max(1, Math.round(members.length * o.calibrationFraction));
    const calIdx = members.subarray(0, calibration);
    const fitIdx = members.subarray(calibration);
    for (let j = 0; j < cols; j++) {
      const v = values.subarray(0, fitIdx.length);
      fitIdx.forEach((r, i) => v[i] = scaled[r * cols + j]);
      const median = medianInPlace(v);
      for (let i = 0; i < v.length; i++) v[i] = Math.abs(v[i] - median);
      const mad = medianInPlace(v) * 1.4826;
      gate.center[k * cols + j] = Math.fround(median);
      gate.spread[k * cols + j] = Math.fround(Math.max(mad, o.spreadFloor));
    }
    const calX = new Float32Array(calIdx.length * cols);
    calIdx.forEach((r, i) => calX.set(scaled.subarray(r * cols, (r + 1) * cols), i * cols));
    const d = scaledClassDistances(gate, calX, calIdx.length, k);
    gate.calibratedQuantiles[k] = thresholdForFpr(d, o.targetRejection);
    gate.thresholds[k] = Math.fround(gate.calibratedQuantiles[k] * o.thresholdMargin);
    let above = 0;
    for (const v of d) if (v > gate.thresholds[k]) above++;
    gate.calibratedRejection.push(above / calIdx.length);
    gate.fitRows.push(fitIdx.length);
    gate.calibrationRows.push(calIdx.length);
  });
  return gate;
}

/**
 * Distances of raw rows to every gated class, `rows * classNames.length`
 * (row-major), in the float32 steps the ONNX graph takes.
 */
export function classDistances(
  gate: ClassGate,
  scaling: ScalingParameters,
  x: Float32Array,
  rows: number,
): Float32Array {
  const scaled = applyScaling(scaling, x, rows);
  const classes = gate.classNames.length;
  const out = new Float32Array(rows * classes);
  for (let k = 0; k < classes; k++) {
    const d = scaledClassDistances(gate, scaled, rows, k);
    for (let r = 0; r < rows; r++) out[r * classes + k] = d[r];
  }
  return out;
}

/** Distances of already scaled rows to gated class `k`. */
function scaledClassDistances(
  gate: ClassGate,
  scaled: Float32Array,
  rows: number,
  k: number,
): Float32Array {
  const cols = gate.cols;
  const center = gate.center.subarray(k * cols, (k + 1) * cols);
  const inverse = Float32Array.from(gate.spread.subarray(k * cols, (k + 1) * cols), (s) => 1 / s);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const z = Math.fround(Math.fround(scaled[r * cols + j] - center[j]) * inverse[j]);
      const a = Math.min(Math.abs(z), gate.clip);
      sum += Math.fround(a * a);
    }
    out[r] = Math.fround(Math.sqrt(Math.fround(sum / cols)));
  }
  return out;
}

/**
 * Adds the gate to a graph that already has the scaled `[N, cols]` tensor
 * `scaled`; produces `output` `[N, classes]` (declare it with addOutput).
 */
export function addClassDistance(
  g: OnnxGraphBuilder,
  scaled: string,
  gate: ClassGate,
  output = CLASS_DISTANCE_OUTPUT,
): void {
  const classes = gate.classNames.length;
  const cols = gate.cols;
  g.addInt64Initializer("gate_row_shape", [-1, 1, cols], [3]);
  g.addFloatInitializer("gate_center", gate.center, [1, classes, cols]);
  g.addFloatInitializer(
    "gate_inv_spread",
    Float32Array.from(gate.spread, (s) => 1 / s),
    [1, classes, cols],
  );
  g.addFloatInitializer("gate_clip", [gate.clip], [1]);
  // [N, cols] -> [N, 1, cols], broadcast against [1, classes, cols].
  const [rows3d] = g.addNode("Reshape", [scaled, "gate_row_shape"]);
  const [centered] = g.addNode("Sub", [rows3d, "gate_center"]);
  const [z] = g.addNode("Mul", [centered, "gate_inv_spread"]);
  const [abs] = g.addNode("Abs", [z]);
  const [clipped] = g.addNode("Min", [abs, "gate_clip"]);
  const [squared] = g.addNode("Mul", [clipped, clipped]);
  const [meanSquare] = g.addNode("ReduceMean", [squared], {
    attributes: { axes: { ints: [2] }, keepdims: 0 },
  });
  g.addNode("Sqrt", [meanSquare], { outputs: [output] });
}

/** Median of `v` (sorts it). */
function medianInPlace(v: Float64Array): number {
  v.sort();
  const n = v.length;
  if (n === 0) return 0;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
