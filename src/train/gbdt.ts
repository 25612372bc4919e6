/**
 * Gradient-boosted decision trees for multiclass classification (softmax
 * loss), histogram-based like LightGBM/XGBoost-hist: columns are binned once
 * into bytes, each node's gradient histogram is one pass over its rows, and a
 * child's histogram is its parent's minus its sibling's. Each round grows one
 * depth-limited tree per class. Exports to ONNX as TreeEnsembleRegressor
 * (one target per class) + Softmax.
 */
import { binMatrix } from "./histogram_bins.ts";
import { Random } from "./random.ts";
import { addTreeEnsembleRegressor, findLeaf, type FlatTree, OnnxGraphBuilder } from "./onnx/mod.ts";

/** GBDT hyperparameters. */
export interface GbdtParams {
  rounds: number;
  learningRate: number;
  maxDepth: number;
  /** Smallest number of rows in a leaf. */
  minLeafRows: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Fraction of columns each tree may split on. */
  featureFraction: number;
  /**
   * Gradient-based one-side sampling (LightGBM's GOSS): each round keeps the
   * `gossTopRate` rows with the largest gradients and a random `gossOtherRate`
   * of the rest, up-weighted. Set gossTopRate to 1 to train on every row.
   */
  gossTopRate: number;
  gossOtherRate: number;
  seed: number;
}

export const DEFAULT_GBDT_PARAMS: GbdtParams = {
  rounds: 60,
  learningRate: 0.2,
  maxDepth: 6,
  minLeafRows: 10,
  lambda: 1,
  featureFraction: 0.8,
  gossTopRate: 0.2,
  gossOtherRate: 0.1,
  seed: 1,
};

/** A trained model: `score_k = base_k + sum of class-k trees`, probabilities = softmax(score). */
export interface GbdtModel {
  kind: "gbdt";
  nClasses: number;
  cols: number;
  baseScores: number[];
  /** Trees in round order, `target` = class. */
  trees: FlatTree[];
  params: GbdtParams;
}

const HIST_BINS = 256;

/** Trains a multiclass GBDT; `onRound(done, total)` reports progress. */
export function trainGbdt(
  x: Float32Array,
  y: Int32Array,
  rows: number,
  cols: number,
  nClasses: number,
  params: Partial<GbdtParams> = {},
  onRound?: (done: number, total: number) => void,
): GbdtModel {
  const p = { ...DEFAULT_GBDT_PARAMS, ...params };
  const rng = new Random(p.seed);
  const K = nClasses;
  const binned = binMatrix(x, rows, cols, rng);
  // Column-major bins: a histogram pass reads one column at a time, its 256 bins stay in L1.
  const bins = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) bins[c * rows + r] = binned.bins[r * cols + c];
  }
  const counts = new Float64Array(K);
  for (let i = 0; i < rows; i++) counts[y[i]]++;
  const baseScores = Array.from(counts, (c) => Math.log(Math.max(c, 0.5) / rows));
  const score = new Float64Array(rows * K);
  for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) score[i * K + k] = baseScores[k];
  const prob = new Float64Array(rows * K);
  const grad = new Float64Array(rows);
  const hess = new Float64Array(rows);
  const trees: FlatTree[] = [];
  const histPool = Array.from(
    { length: (p.maxDepth + 1) * 2 },
    () => new Float64Array(cols * HIST_BINS * 3),
  );
  const weight = new Float64Array(rows).fill(1);
  const magnitude = new Float64Array(rows);
  const nFeatures = Math.max(1, Math.round(cols * Math.min(1, p.featureFraction)));

  for (let round = 0; round < p.rounds; round++) {
    softmaxRows(score, prob, rows, K);
    for (let i = 0; i < rows; i++) {
      // Largest class gradient of the row: 1 - p(true class) bounds all of them.
      magnitude[i] = 1 - prob[i * K + y[i]];
    }
    const bag = gossSample(magnitude, rows, p.gossTopRate, p.gossOtherRate, rng, weight);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < bag.length; j++) {
        const i = bag[j];
        const pk = prob[i * K + k];
        grad[i] = (pk - (y[i] === k ? 1 : 0)) * weight[i];
        hess[i] = Math.max(pk * (1 - pk), 1e-6) * weight[i];
      }
      const features = Int32Array.from(rng.shuffle(Int32Array.from({ length: cols }, (_, i) => i)))
        .subarray(0, nFeatures).sort();
      const builder = new TreeBuilder(bins, binned.edges, rows, grad, hess, features, p, histPool);
      const tree = builder.build(bag.slice(), k);
      trees.push(tree);
      // Update every row's score (bagged or not) by walking the binned split points.
      const splitBin = builder.splitBin;
      for (let i = 0; i < rows; i++) {
        let node = 0;
        while (tree.feature[node] >= 0) {
          node = bins[tree.feature[node] * rows + i] <= splitBin[node]
            ? tree.left[node]
            : tree.right[node];
        }
        score[i * K + k] += tree.value[node];
      }
    }
    onRound?.(round + 1, p.rounds);
  }
  return { kind: "gbdt", nClasses: K, cols, baseScores, trees, params: p };
}

/**
 * GOSS row selection: the top `topRate` rows by `magnitude` plus a random
 * `otherRate` of all rows from the rest, whose weight becomes
 * `(1 - topRate) / otherRate` so gradient sums stay unbiased.
 */
function gossSample(
  magnitude: Float64Array,
  rows: number,
  topRate: number,
  otherRate: number,
  rng: Random,
  weight: Float64Array,
): Uint32Array {
  if (topRate >= 1 || topRate + otherRate >= 1) {
    weight.fill(1);
    return Uint32Array.from({ length: rows }, (_, i) => i);
  }
  const topCount = Math.max(1, Math.floor(rows * topRate));
  const otherCount = Math.max(1, Math.floor(rows * otherRate));
  // Threshold by a sorted sample rather than a full sort.
  const sampleSize = Math.min(rows, 10_000);
  const sample = new Float64Array(sampleSize);
  for (let i = 0; i < sampleSize; i++) sample[i] = magnitude[rng.int(rows)];
  sample.sort();
  const cut = sample[Math.min(sampleSize - 1, Math.floor(sampleSize * (1 - topRate)))];
  const selected: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (magnitude[i] > cut && selected.length < topCount) {
      selected.push(i);
      weight[i] = 1;
    } else rest.push(i);
  }
  const pickRate = Math.min(1, otherCount / Math.max(1, rest.length));
  const upWeight = 1 / pickRate;
  for (const i of rest) {
    if (rng.next() < pickRate) {
      selected.push(i);
      weight[i] = upWeight;
    }
  }
  return Uint32Array.from(selected);
}

class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  value: number[] = [];
  splitBin: number[] = [];

  constructor(
    readonly bins: Uint8Array,
    readonly edges: Float32Array[],
    /** Rows in the whole matrix: the stride of the column-major `bins`. */
    readonly totalRows: number,
    readonly grad: Float64Array,
    readonly hess: Float64Array,
    readonly features: Int32Array,
    readonly p: GbdtParams,
    readonly histPool: Float64Array[],
  ) {}

  build(rows: Uint32Array, target: number): FlatTree {
    let G = 0;
    let H = 0;
    for (let i = 0; i < rows.length; i++) {
      G += this.grad[rows[i]];
      H += this.hess[rows[i]];
    }
    const hist = this.#isLeaf(rows.length, 0) ? null : this.histPool[0];
    if (hist) this.#fillHistogram(hist, rows);
    this.#grow(rows, hist, 0, G, H);
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float32Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float32Array.from(this.value),
      valueWidth: 1,
      target,
    };
  }

  #isLeaf(rowCount: number, depth: number): boolean {
    return depth >= this.p.maxDepth || rowCount < 2 * this.p.minLeafRows;
  }

  #newNode(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.left.push(0);
    this.right.push(0);
    this.value.push(0);
    this.splitBin.push(0);
    return this.feature.length - 1;
  }

  #gradBuffer = new Float64Array(0);
  #hessBuffer = new Float64Array(0);

  #fillHistogram(hist: Float64Array, rows: Uint32Array) {
    const { bins, totalRows, grad, hess, features, edges } = this;
    const n = rows.length;
    if (this.#gradBuffer.length < n) {
      this.#gradBuffer = new Float64Array(n);
      this.#hessBuffer = new Float64Array(n);
    }
    const g = this.#gradBuffer;
    const h = this.#hessBuffer;
    for (let i = 0; i < n; i++) {
      g[i] = grad[rows[i]];
      h[i] = hess[rows[i]];
    }
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const off = f * HIST_BINS * 3;
      // Clear only the bins this column can use (one-hot columns use two).
      hist.fill(0, off, off + (edges[f].length + 1) * 3);
      const column = f * totalRows;
      for (let i = 0; i < n; i++) {
        const at = off + bins[column + rows[i]] * 3;
        hist[at] += g[i];
        hist[at + 1] += h[i];
        hist[at + 2]++;
      }
    }
  }

  /** Grows the subtree of `rows`; `hist` is null when the node is certain to be a leaf. */
  #grow(rows: Uint32Array, hist: Float64Array | null, depth: number, G: number, H: number): number {
    const node = this.#newNode();
    const { p, features } = this;
    const leafValue = -G / (H + p.lambda) * p.learningRate;
    if (!hist) {
      this.value[node] = leafValue;
      return node;
    }
    const parentGain = G * G / (H + p.lambda);
    let bestGain = 1e-9;
    let bestFeature = -1;
    let bestBin = 0;
    let bestGl = 0;
    let bestHl = 0;
    for (let j = 0; j < features.length; j++) {
      const f = features[j];
      const nb = this.edges[f].length; // bins 0..nb; split after bin b < nb
      let gl = 0;
      let hl = 0;
      let cl = 0;
      const off = f * HIST_BINS * 3;
      for (let b = 0; b < nb; b++) {
        gl += hist[off + b * 3];
        hl += hist[off + b * 3 + 1];
        cl += hist[off + b * 3 + 2];
        if (cl < p.minLeafRows) continue;
        if (rows.length - cl < p.minLeafRows) break;
        const gr = G - gl;
        const hr = H - hl;
        const gain = gl * gl / (hl + p.lambda) + gr * gr / (hr + p.lambda) - parentGain;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = b;
          bestGl = gl;
          bestHl = hl;
        }
      }
    }
    if (bestFeature < 0) {
      this.value[node] = leafValue;
      return node;
    }
    // Partition rows in place: bin <= bestBin to the front.
    const bins = this.bins;
    const column = bestFeature * this.totalRows;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo <= hi) {
      if (bins[column + rows[lo]] <= bestBin) lo++;
      else {
        const t = rows[lo];
        rows[lo] = rows[hi];
        rows[hi] = t;
        hi--;
      }
    }
    const leftRows = rows.subarray(0, lo);
    const rightRows = rows.subarray(lo);
    let leftHist: Float64Array | null = null;
    let rightHist: Float64Array | null = null;
    const leftLeaf = this.#isLeaf(leftRows.length, depth + 1);
    const rightLeaf = this.#isLeaf(rightRows.length, depth + 1);
    if (!leftLeaf || !rightLeaf) {
      leftHist = this.histPool[(depth + 1) * 2];
      rightHist = this.histPool[(depth + 1) * 2 + 1];
      // Histogram of the smaller child by a pass over its rows; the larger one by subtraction.
      const leftSmaller = leftRows.length <= rightRows.length;
      const small = leftSmaller ? leftHist : rightHist;
      const large = leftSmaller ? rightHist : leftHist;
      this.#fillHistogram(small, leftSmaller ? leftRows : rightRows);
      for (let j = 0; j < features.length; j++) {
        const off = features[j] * HIST_BINS * 3;
        const end = off + (this.edges[features[j]].length + 1) * 3;
        for (let i = off; i < end; i++) large[i] = hist[i] - small[i];
      }
      if (leftLeaf) leftHist = null;
      if (rightLeaf) rightHist = null;
    }
    this.feature[node] = bestFeature;
    this.threshold[node] = this.edges[bestFeature][bestBin];
    this.splitBin[node] = bestBin;
    this.left[node] = this.#grow(leftRows, leftHist, depth + 1, bestGl, bestHl);
    this.right[node] = this.#grow(rightRows, rightHist, depth + 1, G - bestGl, H - bestHl);
    return node;
  }
}

function softmaxRows(score: Float64Array, prob: Float64Array, rows: number, K: number) {
  for (let i = 0; i < rows; i++) {
    const base = i * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (score[base + k] > max) max = score[base + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(score[base + k] - max);
      prob[base + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) prob[base + k] /= sum;
  }
}

/** Class probabilities (rows x nClasses, row-major) for raw float32 rows. */
export function predictGbdt(model: GbdtModel, x: Float32Array, rows: number): Float32Array {
  const K = model.nClasses;
  const score = new Float64Array(rows * K);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < K; k++) score[i * K + k] = model.baseScores[k];
    for (const tree of model.trees) {
      const leaf = findLeaf(tree, x, i * model.cols);
      score[i * K + tree.target!] += tree.value[leaf];
    }
  }
  const prob = new Float64Array(rows * K);
  softmaxRows(score, prob, rows, K);
  return Float32Array.from(prob);
}

/** Output names of exported classifiers. */
export const CLASSIFIER_OUTPUTS = { probabilities: "probabilities", label: "label" } as const;

/** ONNX graph: input `[N, cols]` raw rows -> `probabilities` `[N, K]` and `label` int64 `[N]`. */
export function gbdtToOnnx(model: GbdtModel, inputName = "input"): Uint8Array {
  const g = new OnnxGraphBuilder("gbdt_classifier");
  g.addInput(inputName, "float32", ["N", model.cols]);
  addTreeEnsembleRegressor(g, inputName, model.trees, {
    nTargets: model.nClasses,
    output: "class_scores",
    baseValues: model.baseScores,
    aggregate: "SUM",
  });
  g.addNode("Softmax", ["class_scores"], {
    outputs: [CLASSIFIER_OUTPUTS.probabilities],
    attributes: { axis: 1 },
  });
  g.addNode("ArgMax", [CLASSIFIER_OUTPUTS.probabilities], {
    outputs: [CLASSIFIER_OUTPUTS.label],
    attributes: { axis: 1, keepdims: 0 },
  });
  g.addOutput(CLASSIFIER_OUTPUTS.probabilities, "float32", ["N", model.nClasses]);
  g.addOutput(CLASSIFIER_OUTPUTS.label, "int64", ["N"]);
  return g.build({ model: "gbdt", rounds: String(model.params.rounds) });
}
