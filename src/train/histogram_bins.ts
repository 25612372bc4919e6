/**
 * Quantile binning for histogram-based tree training: each column's values
 * map to at most 256 bins, split points are float32 values, and
 * `x <= edges[b]` holds exactly when `bin(x) <= b`, so a split found on bins
 * is the same split on raw float32 inputs (in TypeScript and in onnxruntime).
 */
import type { Random } from "./random.ts";

/** Per-column split points and the binned matrix (row-major, one byte per value). */
export interface BinnedMatrix {
  /** edges[c]: strictly increasing float32 split points of column c (at most 255). */
  edges: Float32Array[];
  /** bin of row r column c at `r * cols + c`. */
  bins: Uint8Array;
  rows: number;
  cols: number;
}

/** Bins `x` (rows x cols) with split points from quantiles of up to `sampleRows` rows. */
export function binMatrix(
  x: Float32Array,
  rows: number,
  cols: number,
  rng: Random,
  maxBins = 256,
  sampleRows = 50_000,
): BinnedMatrix {
  const sample = rows <= sampleRows
    ? Uint32Array.from({ length: rows }, (_, i) => i)
    : Uint32Array.from({ length: sampleRows }, () => rng.int(rows));
  const values = new Float32Array(sample.length);
  const edges: Float32Array[] = [];
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < sample.length; i++) values[i] = x[sample[i] * cols + c];
    values.sort();
    edges.push(columnEdges(values, maxBins - 1));
  }
  const bins = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) bins[base + c] = binOf(edges[c], x[base + c]);
  }
  return { edges, bins, rows, cols };
}

/** First bin b with `v <= edges[b]`, or edges.length. NaN lands in the last bin (goes right). */
export function binOf(edges: Float32Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function columnEdges(sorted: Float32Array, maxEdges: number): Float32Array {
  const distinct: number[] = [];
  const weight: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (distinct.length === 0 || sorted[i] !== distinct[distinct.length - 1]) {
      distinct.push(sorted[i]);
      weight.push(1);
    } else weight[weight.length - 1]++;
  }
  const out: number[] = [];
  const push = (a: number, b: number) => {
    // Midpoint in float32; falls back to `a` when a and b are adjacent floats.
    let m = Math.fround((a + b) / 2);
    if (!(m >= a && m < b)) m = a;
    if (out.length === 0 || m > out[out.length - 1]) out.push(m);
  };
  if (distinct.length - 1 <= maxEdges) {
    for (let i = 0; i + 1 < distinct.length; i++) push(distinct[i], distinct[i + 1]);
  } else {
    // Cut at equal-count quantiles over distinct values, so heavy ties do not waste bins.
    const total = sorted.length;
    let cumulative = 0;
    let nextCut = total / (maxEdges + 1);
    for (let i = 0; i + 1 < distinct.length && out.length < maxEdges; i++) {
      cumulative += weight[i];
      if (cumulative >= nextCut) {
        push(distinct[i], distinct[i + 1]);
        while (nextCut <= cumulative) nextCut += total / (maxEdges + 1);
      }
    }
  }
  return Float32Array.from(out);
}
