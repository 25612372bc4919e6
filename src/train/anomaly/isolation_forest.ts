/**
 * Isolation forest (Liu, Ting, Zhou 2008): random trees on small subsamples of
 * benign rows; anomalies are isolated in few splits. Split points are drawn
 * uniformly in the robust-scaled space (so heavy-tailed columns are split
 * across their range, not just at the extremes) and stored as raw float32
 * values, so the exported trees read raw rows and agree exactly with
 * {@link isolationScores}.
 */
import { findLeaf, type FlatTree } from "../onnx/mod.ts";
import type { ScalingParameters } from "../onnx/mod.ts";
import type { Random } from "../random.ts";
import { scaleValue, unscaleValue } from "./robust_scaling.ts";

export interface IsolationForestParams {
  trees: number;
  sampleSize: number;
}

export const DEFAULT_ISOLATION_FOREST_PARAMS: IsolationForestParams = {
  trees: 100,
  sampleSize: 256,
};

/** Trees whose leaf value is the path length (depth + c(leaf size)). */
export interface IsolationForest {
  trees: FlatTree[];
  /** c(sampleSize): the normaliser of the average path length. */
  normaliser: number;
  cols: number;
  params: IsolationForestParams;
}

/** Average path length of an unsuccessful BST search among n points. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.5772156649) - (2 * (n - 1)) / n;
}

/** Trains on raw rows; `scaling` decides where split points fall. */
export function trainIsolationForest(
  x: Float32Array,
  rows: number,
  cols: number,
  scaling: ScalingParameters,
  rng: Random,
  params: Partial<IsolationForestParams> = {},
): IsolationForest {
  const p = { ...DEFAULT_ISOLATION_FOREST_PARAMS, ...params };
  const sampleSize = Math.min(p.sampleSize, rows);
  const maxDepth = Math.ceil(Math.log2(Math.max(2, sampleSize)));
  const trees: FlatTree[] = [];
  for (let t = 0; t < p.trees; t++) {
    const sample = Uint32Array.from({ length: sampleSize }, () => rng.int(rows));
    const nodes = {
      feature: [] as number[],
      threshold: [] as number[],
      left: [] as number[],
      right: [] as number[],
      value: [] as number[],
    };
    const grow = (idx: Uint32Array, depth: number): number => {
      const node = nodes.feature.length;
      nodes.feature.push(-1);
      nodes.threshold.push(0);
      nodes.left.push(0);
      nodes.right.push(0);
      nodes.value.push(0);
      const leaf = () => {
        nodes.value[node] = depth + averagePathLength(idx.length);
        return node;
      };
      if (depth >= maxDepth || idx.length <= 1) return leaf();
      // Pick a random column that is not constant in this node (a few tries, like sklearn's).
      for (let attempt = 0; attempt < 8; attempt++) {
        const c = rng.int(cols);
        let min = Infinity;
        let max = -Infinity;
        for (const r of idx) {
          const v = x[r * cols + c];
          if (v < min) min = v;
          if (v > max) max = v;
        }
        if (!(max > min)) continue;
        const zMin = scaleValue(scaling, c, min);
        const zMax = scaleValue(scaling, c, max);
        let threshold = Math.fround(unscaleValue(scaling, c, zMin + rng.next() * (zMax - zMin)));
        if (!(threshold >= min && threshold < max)) threshold = min;
        const left: number[] = [];
        const right: number[] = [];
        for (const r of idx) (x[r * cols + c] <= threshold ? left : right).push(r);
        nodes.feature[node] = c;
        nodes.threshold[node] = threshold;
        const l = grow(Uint32Array.from(left), depth + 1);
        const rr = grow(Uint32Array.from(right), depth + 1);
        nodes.left[node] = l;
        nodes.right[node] = rr;
        return node;
      }
      return leaf();
    };
    grow(sample, 0);
    trees.push({
      feature: Int32Array.from(nodes.feature),
      threshold: Float32Array.from(nodes.threshold),
      left: Int32Array.from(nodes.left),
      right: Int32Array.from(nodes.right),
      value: Float32Array.from(nodes.value),
      valueWidth: 1,
      target: 0,
    });
  }
  return { trees, normaliser: averagePathLength(sampleSize), cols, params: p };
}

/** Anomaly scores in (0, 1]: `2^(-meanPathLength / c(sampleSize))`; about 0.5 is normal. */
export function isolationScores(
  forest: IsolationForest,
  x: Float32Array,
  rows: number,
): Float32Array {
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (const tree of forest.trees) sum += tree.value[findLeaf(tree, x, i * forest.cols)];
    out[i] = Math.exp((-Math.LN2 / forest.normaliser) * (sum / forest.trees.length));
  }
  return out;
}
