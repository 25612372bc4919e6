/**
 * KitNET (Kitsune, Mirsky et al., NDSS 2018) in typed arrays: the features
 * are mapped to small groups by correlation clustering (single linkage on
 * 1 - correlation, groups of at most `maxAutoencoderSize`), each group gets a
 * small autoencoder (tied weights, sigmoid units, inputs min-max normalised),
 * and an output autoencoder reads the ensemble's reconstruction errors
 * (RMSE); its RMSE is the packet's anomaly score. Training is Kitsune's: one
 * online SGD step per benign row, the first `featureMapRows` rows only feeding
 * the correlation statistics. Scoring allocates nothing.
 */
import { KitNetWasm, kitNetWasmAvailable } from "./kitnet_wasm_scorer.ts";

/** Training settings (Kitsune's defaults). */
export interface KitNetParams {
  /** Most features per ensemble autoencoder. */
  maxAutoencoderSize: number;
  /** Rows used for the feature map (correlation clustering) before any autoencoder learns. */
  featureMapRows: number;
  learningRate: number;
  /** Hidden units = ceil(visible * hiddenRatio). */
  hiddenRatio: number;
  /** Passes over the training rows after the feature map. */
  epochs: number;
  seed: number;
}

export const DEFAULT_KITNET_PARAMS: KitNetParams = {
  maxAutoencoderSize: 10,
  featureMapRows: 5000,
  learningRate: 0.1,
  hiddenRatio: 0.75,
  epochs: 1,
  seed: 1,
};

/** One autoencoder with tied weights: W is visible x hidden, row-major. */
export interface TiedAutoencoder {
  visible: number;
  hidden: number;
  weights: Float64Array;
  hiddenBias: Float64Array;
  visibleBias: Float64Array;
  normMin: Float64Array;
  normMax: Float64Array;
}

/** A trained KitNET: feature groups, their autoencoders and the output autoencoder. */
export interface KitNetModel {
  featureCount: number;
  /** Feature indices per ensemble member. */
  groups: number[][];
  ensemble: TiedAutoencoder[];
  output: TiedAutoencoder;
  params: KitNetParams;
}

const NORM_EPSILON = 1e-16;

/**
 * The logistic function from a table with linear interpolation (absolute
 * error below 1e-5, tested): a score costs a few hundred of them, Math.exp is
 * the larger part of a call, and training and scoring share the table, so
 * both compute the same numbers.
 */
const SIGMOID_LIMIT = 16, SIGMOID_STEPS_PER_UNIT = 64;
const SIGMOID_TABLE = Float64Array.from(
  { length: 2 * SIGMOID_LIMIT * SIGMOID_STEPS_PER_UNIT + 2 },
  (_, k) => 1 / (1 + Math.exp(-(k / SIGMOID_STEPS_PER_UNIT - SIGMOID_LIMIT))),
);

export function sigmoid(x: number): number {
  if (!(x > -SIGMOID_LIMIT)) return x !== x ? x : SIGMOID_TABLE[0];
  if (x >= SIGMOID_LIMIT) return SIGMOID_TABLE[SIGMOID_TABLE.length - 2];
  const position = (x + SIGMOID_LIMIT) * SIGMOID_STEPS_PER_UNIT;
  const k = position | 0;
  const a = SIGMOID_TABLE[k];
  return a + (SIGMOID_TABLE[k + 1] - a) * (position - k);
}

/** Deterministic uniform numbers for weight initialisation (mulberry32). */
function uniformSource(seed: number): () => number {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function newAutoencoder(visible: number, hiddenRatio: number, next: () => number): TiedAutoencoder {
  const hidden = Math.max(1, Math.ceil(visible * hiddenRatio));
  const a = 1 / visible;
  const weights = new Float64Array(visible * hidden);
  for (let k = 0; k < weights.length; k++) weights[k] = -a + 2 * a * next();
  return {
    visible,
    hidden,
    weights,
    hiddenBias: new Float64Array(hidden),
    visibleBias: new Float64Array(visible),
    normMin: new Float64Array(visible).fill(Infinity),
    normMax: new Float64Array(visible).fill(-Infinity),
  };
}

/** Scratch buffers for one autoencoder size, so steps allocate nothing. */
class Scratch {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly z: Float64Array;
  readonly dh: Float64Array;
  constructor(visible: number, hidden: number) {
    this.x = new Float64Array(visible);
    this.y = new Float64Array(hidden);
    this.z = new Float64Array(visible);
    this.dh = new Float64Array(hidden);
  }
}

/** Forward pass on the normalised input already in `s.x`; returns the RMSE. */
function forward(ae: TiedAutoencoder, s: Scratch): number {
  const v = ae.visible, h = ae.hidden, w = ae.weights, x = s.x, y = s.y, z = s.z;
  for (let j = 0; j < h; j++) {
    let sum = ae.hiddenBias[j];
    for (let i = 0; i < v; i++) sum += x[i] * w[i * h + j];
    y[j] = sigmoid(sum);
  }
  let error = 0;
  for (let i = 0; i < v; i++) {
    let sum = ae.visibleBias[i];
    const row = i * h;
    for (let j = 0; j < h; j++) sum += y[j] * w[row + j];
    z[i] = sigmoid(sum);
    const d = x[i] - z[i];
    error += d * d;
  }
  return Math.sqrt(error / v);
}

/** Normalises `value(i)` with the autoencoder's min/max into `s.x`. */
function normalise(ae: TiedAutoencoder, s: Scratch, learn: boolean): void {
  const x = s.x;
  for (let i = 0; i < ae.visible; i++) {
    const value = x[i];
    if (learn) {
      if (value > ae.normMax[i]) ae.normMax[i] = value;
      if (value < ae.normMin[i]) ae.normMin[i] = value;
    }
    x[i] = (value - ae.normMin[i]) / (ae.normMax[i] - ae.normMin[i] + NORM_EPSILON);
  }
}

/** One SGD step on the raw input in `s.x` (Kitsune's dA.train); returns the training RMSE. */
function trainStep(ae: TiedAutoencoder, s: Scratch, rate: number): number {
  normalise(ae, s, true);
  const rmse = forward(ae, s);
  const v = ae.visible, h = ae.hidden, w = ae.weights, x = s.x, y = s.y, z = s.z, dh = s.dh;
  // dh = (W^T (x - z)) * y * (1 - y), with the weights before this step.
  for (let j = 0; j < h; j++) {
    let sum = 0;
    for (let i = 0; i < v; i++) sum += (x[i] - z[i]) * w[i * h + j];
    dh[j] = sum * y[j] * (1 - y[j]);
  }
  for (let i = 0; i < v; i++) {
    const dv = x[i] - z[i];
    const row = i * h;
    for (let j = 0; j < h; j++) w[row + j] += rate * (x[i] * dh[j] + dv * y[j]);
    ae.visibleBias[i] += rate * dv;
  }
  for (let j = 0; j < h; j++) ae.hiddenBias[j] += rate * dh[j];
  return rmse;
}

/** Running correlation statistics of the features (Kitsune's corClust). */
export class CorrelationStats {
  readonly n: number;
  private rows = 0;
  private readonly sum: Float64Array;
  private readonly residualSquares: Float64Array;
  private readonly products: Float64Array;
  private readonly residual: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.sum = new Float64Array(n);
    this.residualSquares = new Float64Array(n);
    this.products = new Float64Array(n * n);
    this.residual = new Float64Array(n);
  }

  update(x: ArrayLike<number>, offset = 0): void {
    const n = this.n;
    this.rows++;
    for (let i = 0; i < n; i++) {
      this.sum[i] += x[offset + i];
      const r = x[offset + i] - this.sum[i] / this.rows;
      this.residual[i] = r;
      this.residualSquares[i] += r * r;
    }
    const p = this.products, r = this.residual;
    for (let i = 0; i < n; i++) {
      const ri = r[i];
      if (ri === 0) continue;
      for (let j = 0; j < n; j++) p[i * n + j] += ri * r[j];
    }
  }

  /** 1 - correlation, clipped at 0 (a constant feature has distance 1 to every other). */
  distances(): Float64Array {
    const n = this.n, d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let denominator = Math.sqrt(this.residualSquares[i]) * Math.sqrt(this.residualSquares[j]);
        if (denominator === 0) denominator = 1e-100;
        d[i * n + j] = Math.max(0, 1 - this.products[i * n + j] / denominator);
      }
    }
    return d;
  }
}

/**
 * Groups of at most `maxSize` features: single-linkage clustering on the
 * distances, then the dendrogram cut top-down until every branch fits
 * (Kitsune's corClust.cluster). Ties merge the lowest-numbered clusters first.
 */
export function clusterFeatures(distances: Float64Array, n: number, maxSize: number): number[][] {
  interface Node {
    leaves: number[];
    left?: Node;
    right?: Node;
  }
  let active: Node[] = Array.from({ length: n }, (_, i) => ({ leaves: [i] }));
  // Single linkage: the distance between clusters is their closest members'.
  let link = Array.from(
    { length: n },
    (_, i) => Array.from({ length: n }, (_, j) => distances[i * n + j]),
  );
  while (active.length > 1) {
    let bestA = 0, bestB = 1, best = Infinity;
    for (let a = 0; a < active.length; a++) {
      for (let b = a + 1; b < active.length; b++) {
        if (link[a][b] < best) best = link[a][b], bestA = a, bestB = b;
      }
    }
    const merged: Node = {
      leaves: [...active[bestA].leaves, ...active[bestB].leaves],
      left: active[bestA],
      right: active[bestB],
    };
    const keep = active.map((_, k) => k).filter((k) => k !== bestA && k !== bestB);
    const next = [...keep.map((k) => active[k]), merged];
    link = next.map((_, a) =>
      next.map((_, b) => {
        if (a === b) return 0;
        const ka = a < keep.length ? keep[a] : -1, kb = b < keep.length ? keep[b] : -1;
        if (ka >= 0 && kb >= 0) return link[ka][kb];
        const other = ka >= 0 ? ka : kb;
        return Math.min(link[other][bestA], link[other][bestB]);
      })
    );
    active = next;
  }
  const groups: number[][] = [];
  const cut = (node: Node) => {
    if (node.leaves.length <= maxSize || !node.left || !node.right) groups.push(node.leaves);
    else cut(node.left), cut(node.right);
  };
  if (active.length === 1) cut(active[0]);
  return groups;
}

/** Trains KitNET on benign rows (`rows * cols`, row-major), in row order, as Kitsune does. */
export function trainKitNet(
  x: Float32Array,
  rows: number,
  cols: number,
  params: Partial<KitNetParams> = {},
): KitNetModel {
  const p = { ...DEFAULT_KITNET_PARAMS, ...params };
  const mapRows = Math.min(p.featureMapRows, rows);
  if (mapRows < 2) throw new RangeError(`KitNET needs at least 2 training rows, got ${rows}`);
  const stats = new CorrelationStats(cols);
  for (let r = 0; r < mapRows; r++) stats.update(x, r * cols);
  const maxSize = Math.max(1, Math.min(p.maxAutoencoderSize, cols));
  const groups = clusterFeatures(stats.distances(), cols, maxSize);
  const next = uniformSource(p.seed);
  const ensemble = groups.map((g) => newAutoencoder(g.length, p.hiddenRatio, next));
  const output = newAutoencoder(groups.length, p.hiddenRatio, next);
  const model: KitNetModel = { featureCount: cols, groups, ensemble, output, params: p };
  const scratch = ensemble.map((ae) => new Scratch(ae.visible, ae.hidden));
  const outScratch = new Scratch(output.visible, output.hidden);
  // Kitsune's autoencoders learn only after the feature map's grace period.
  const from = rows > mapRows ? mapRows : 0;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    for (let r = from; r < rows; r++) {
      const base = r * cols;
      for (let k = 0; k < groups.length; k++) {
        const g = groups[k], s = scratch[k];
        for (let i = 0; i < g.length; i++) s.x[i] = x[base + g[i]];
        outScratch.x[k] = trainStep(ensemble[k], s, p.learningRate);
      }
      trainStep(output, outScratch, p.learningRate);
    }
  }
  return model;
}

/** Rows scoreRows puts through each autoencoder at once (its block is inputs * BLOCK float64s). */
const BLOCK = 128; // a multiple of 4 (memberBlock); kitnet_block.ts's BLOCK is the same

/**
 * How scoreRows computes: "wasm" runs the WebAssembly SIMD block scorer
 * (kitnet_wasm_scorer.ts), "typed" the typed-array one below; both compute the
 * same sums in the same order (the same scores to the bit, tested). "auto"
 * (the default) takes wasm where the runtime has WebAssembly SIMD.
 */
export type KitNetEngine = "auto" | "wasm" | "typed";

/**
 * Scores rows with a trained KitNET (one scorer per thread). The model is
 * flattened once into typed arrays: each autoencoder's min-max normalisation
 * as an offset and a factor, its encoder weights transposed (hidden-major) and
 * its decoder weights visible-major, so the hot loops read memory in order.
 * Computes exactly what {@link trainKitNet}'s forward pass computes.
 */
export class KitNetScorer {
  readonly model: KitNetModel;
  private readonly members: number;
  /** Per member: visible, hidden, and where its values start in the flat arrays. */
  private readonly visible: Int32Array;
  private readonly hidden: Int32Array;
  private readonly inputAt: Int32Array;
  private readonly weightAt: Int32Array;
  private readonly hiddenAt: Int32Array;
  /** Feature index of each member input, members in order (the output member reads the RMSEs). */
  private readonly index: Int32Array;
  private readonly normOffset: Float64Array;
  private readonly normFactor: Float64Array;
  private readonly visibleBias: Float64Array;
  private readonly encoder: Float64Array;
  private readonly decoder: Float64Array;
  private readonly hiddenBias: Float64Array;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  /** scoreRows' block: inputs input-major (`blockX[input * BLOCK + row]`), hidden units, RMSEs. */
  private readonly blockX: Float64Array;
  private readonly blockHidden: Float64Array;
  private readonly blockError: Float64Array;
  private readonly wasm: KitNetWasm | null;
  /** The engine scoreRows runs ("wasm" or "typed"). */
  readonly engine: "wasm" | "typed";

  constructor(model: KitNetModel, engine: KitNetEngine = "auto") {
    this.model = model;
    const all = [...model.ensemble, model.output];
    this.members = all.length;
    this.visible = Int32Array.from(all, (ae) => ae.visible);
    this.hidden = Int32Array.from(all, (ae) => ae.hidden);
    this.inputAt = new Int32Array(all.length + 1);
    this.weightAt = new Int32Array(all.length + 1);
    this.hiddenAt = new Int32Array(all.length + 1);
    all.forEach((ae, k) => {
      this.inputAt[k + 1] = this.inputAt[k] + ae.visible;
      this.weightAt[k + 1] = this.weightAt[k] + ae.visible * ae.hidden;
      this.hiddenAt[k + 1] = this.hiddenAt[k] + ae.hidden;
    });
    const inputs = this.inputAt[all.length];
    this.index = new Int32Array(inputs);
    model.groups.forEach((g, k) => this.index.set(g, this.inputAt[k]));
    this.normOffset = new Float64Array(inputs);
    this.normFactor = new Float64Array(inputs);
    this.visibleBias = new Float64Array(inputs);
    this.encoder = new Float64Array(this.weightAt[all.length]);
    this.decoder = new Float64Array(this.weightAt[all.length]);
    this.hiddenBias = new Float64Array(this.hiddenAt[all.length]);
    all.forEach((ae, k) => {
      const v = ae.visible, h = ae.hidden, at = this.inputAt[k], w = this.weightAt[k];
      for (let i = 0; i < v; i++) {
        this.normOffset[at + i] = ae.normMin[i];
        this.normFactor[at + i] = 1 / (ae.normMax[i] - ae.normMin[i] + NORM_EPSILON);
        this.visibleBias[at + i] = ae.visibleBias[i];
        for (let j = 0; j < h; j++) {
          this.decoder[w + i * h + j] = ae.weights[i * h + j];
          this.encoder[w + j * v + i] = ae.weights[i * h + j];
        }
      }
      this.hiddenBias.set(ae.hiddenBias, this.hiddenAt[k]);
    });
    this.x = new Float64Array(inputs);
    this.y = new Float64Array(this.hiddenAt[all.length]);
    this.blockX = new Float64Array(inputs * BLOCK);
    this.blockHidden = new Float64Array(Math.max(...all.map((ae) => ae.hidden)) * BLOCK);
    this.blockError = new Float64Array(BLOCK);
    this.engine = engine === "typed" || (engine === "auto" && !kitNetWasmAvailable())
      ? "typed"
      : "wasm";
    this.wasm = this.engine === "wasm"
      ? new KitNetWasm({
        featureCount: model.featureCount,
        visible: this.visible,
        hidden: this.hidden,
        inputAt: this.inputAt,
        weightAt: this.weightAt,
        hiddenAt: this.hiddenAt,
        index: this.index,
        normOffset: this.normOffset,
        normFactor: this.normFactor,
        visibleBias: this.visibleBias,
        encoder: this.encoder,
        decoder: this.decoder,
        hiddenBias: this.hiddenBias,
        sigmoidTable: SIGMOID_TABLE,
      })
      : null;
  }

  /** The score of the row at `x[offset .. offset + featureCount)`. */
  score(row: ArrayLike<number>, offset = 0): number {
    const last = this.members - 1, index = this.index, x = this.x, inputAt = this.inputAt;
    const offsetN = this.normOffset, factor = this.normFactor;
    for (let i = 0; i < inputAt[last]; i++) {
      x[i] = (row[offset + index[i]] - offsetN[i]) * factor[i];
    }
    for (let k = 0; k < last; k++) x[inputAt[last] + k] = this.member(k);
    const at = inputAt[last];
    for (let k = 0; k < last; k++) x[at + k] = (x[at + k] - offsetN[at + k]) * factor[at + k];
    return this.member(last);
  }

  /** Member k's RMSE on its normalised inputs in `x`. */
  private member(k: number): number {
    const v = this.visible[k], h = this.hidden[k];
    const xAt = this.inputAt[k], wAt = this.weightAt[k], yAt = this.hiddenAt[k];
    const x = this.x, y = this.y, enc = this.encoder, dec = this.decoder;
    for (let j = 0; j < h; j++) {
      let sum = this.hiddenBias[yAt + j];
      const row = wAt + j * v;
      for (let i = 0; i < v; i++) sum += x[xAt + i] * enc[row + i];
      y[yAt + j] = sigmoid(sum);
    }
    let error = 0;
    for (let i = 0; i < v; i++) {
      let sum = this.visibleBias[xAt + i];
      const row = wAt + i * h;
      for (let j = 0; j < h; j++) sum += y[yAt + j] * dec[row + j];
      const d = x[xAt + i] - sigmoid(sum);
      error += d * d;
    }
    return Math.sqrt(error / v);
  }

  /**
   * Scores `rows` rows of width featureCount into `out`, BLOCK rows at a time:
   * each member's weights are applied to the whole block (matrix-matrix, the
   * rows innermost), so the small autoencoders' loops run long instead of
   * 3-10 steps per packet. Same sums in the same order as {@link score}, so
   * the same scores to the bit.
   */
  scoreRows(x: Float32Array, rows: number, out: Float32Array = new Float32Array(rows)) {
    if (this.wasm !== null) return this.wasm.scoreRows(x, rows, out);
    for (let start = 0; start < rows; start += BLOCK) {
      this.scoreBlock(x, start, Math.min(BLOCK, rows - start), out);
    }
    return out;
  }

  private scoreBlock(x: Float32Array, start: number, n: number, out: Float32Array): void {
    const last = this.members - 1, inputAt = this.inputAt, cols = this.model.featureCount;
    const index = this.index, offsetN = this.normOffset, factor = this.normFactor;
    const xb = this.blockX, err = this.blockError;
    const gathered = inputAt[last];
    for (let r = 0; r < n; r++) {
      const row = (start + r) * cols;
      for (let i = 0; i < gathered; i++) {
        xb[i * BLOCK + r] = (x[row + index[i]] - offsetN[i]) * factor[i];
      }
    }
    for (let k = 0; k < last; k++) {
      this.memberBlock(k, n);
      const at = (gathered + k) * BLOCK, o = offsetN[gathered + k], f = factor[gathered + k];
      for (let r = 0; r < n; r++) xb[at + r] = (err[r] - o) * f;
    }
    this.memberBlock(last, n);
    for (let r = 0; r < n; r++) out[start + r] = err[r];
  }

  /**
   * Member k's RMSE for each of the block's `n` rows (normalised inputs in
   * blockX) into blockError. Four rows at a time, their sums in registers:
   * one load per multiply-add instead of a load, a load and a store. Rows
   * past `n` up to the next multiple of 4 are computed from stale inputs and
   * never read.
   */
  private memberBlock(k: number, n: number): void {
    const v = this.visible[k], h = this.hidden[k];
    const xAt = this.inputAt[k] * BLOCK, wAt = this.weightAt[k], yAt = this.hiddenAt[k];
    const xb = this.blockX, yb = this.blockHidden, err = this.blockError;
    const enc = this.encoder, dec = this.decoder, hiddenBias = this.hiddenBias;
    const visibleBias = this.visibleBias, biasAt = this.inputAt[k];
    for (let j = 0; j < h; j++) {
      const y = j * BLOCK, bias = hiddenBias[yAt + j], row = wAt + j * v;
      for (let r = 0; r < n; r += 4) {
        let a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        for (let i = 0; i < v; i++) {
          const w = enc[row + i], xi = xAt + i * BLOCK + r;
          a0 += xb[xi] * w, a1 += xb[xi + 1] * w, a2 += xb[xi + 2] * w, a3 += xb[xi + 3] * w;
        }
        yb[y + r] = sigmoid(a0), yb[y + r + 1] = sigmoid(a1);
        yb[y + r + 2] = sigmoid(a2), yb[y + r + 3] = sigmoid(a3);
      }
    }
    for (let r = 0; r < n; r++) err[r] = 0;
    for (let i = 0; i < v; i++) {
      const bias = visibleBias[biasAt + i], row = wAt + i * h, xi = xAt + i * BLOCK;
      for (let r = 0; r < n; r += 4) {
        let z0 = bias, z1 = bias, z2 = bias, z3 = bias;
        for (let j = 0; j < h; j++) {
          const w = dec[row + j], yj = j * BLOCK + r;
          z0 += yb[yj] * w, z1 += yb[yj + 1] * w, z2 += yb[yj + 2] * w, z3 += yb[yj + 3] * w;
        }
        const d0 = xb[xi + r] - sigmoid(z0), d1 = xb[xi + r + 1] - sigmoid(z1);
        const d2 = xb[xi + r + 2] - sigmoid(z2), d3 = xb[xi + r + 3] - sigmoid(z3);
        err[r] += d0 * d0, err[r + 1] += d1 * d1, err[r + 2] += d2 * d2, err[r + 3] += d3 * d3;
      }
    }
    for (let r = 0; r < n; r++) err[r] = Math.sqrt(err[r] / v);
  }
}

/** Plain JSON form of a model (arrays as number lists). */
export interface KitNetJson {
  featureCount: number;
  groups: number[][];
  ensemble: TiedAutoencoderJson[];
  output: TiedAutoencoderJson;
  params: KitNetParams;
}

interface TiedAutoencoderJson {
  visible: number;
  hidden: number;
  weights: number[];
  hiddenBias: number[];
  visibleBias: number[];
  normMin: number[];
  normMax: number[];
}

const aeToJson = (ae: TiedAutoencoder): TiedAutoencoderJson => ({
  visible: ae.visible,
  hidden: ae.hidden,
  weights: Array.from(ae.weights),
  hiddenBias: Array.from(ae.hiddenBias),
  visibleBias: Array.from(ae.visibleBias),
  // A feature never seen in training has min > max; store it as 0..0 (JSON has no Infinity).
  normMin: Array.from(ae.normMin, (v) => Number.isFinite(v) ? v : 0),
  normMax: Array.from(ae.normMax, (v) => Number.isFinite(v) ? v : 0),
});

const aeFromJson = (j: TiedAutoencoderJson): TiedAutoencoder => ({
  visible: j.visible,
  hidden: j.hidden,
  weights: Float64Array.from(j.weights),
  hiddenBias: Float64Array.from(j.hiddenBias),
  visibleBias: Float64Array.from(j.visibleBias),
  normMin: Float64Array.from(j.normMin),
  normMax: Float64Array.from(j.normMax),
});

export function kitNetToJson(model: KitNetModel): KitNetJson {
  return {
    featureCount: model.featureCount,
    groups: model.groups,
    ensemble: model.ensemble.map(aeToJson),
    output: aeToJson(model.output),
    params: model.params,
  };
}

export function kitNetFromJson(json: KitNetJson): KitNetModel {
  const model = {
    featureCount: json.featureCount,
    groups: json.groups,
    ensemble: json.ensemble.map(aeFromJson),
    output: aeFromJson(json.output),
    params: json.params,
  };
  const covered = model.groups.flat().sort((a, b) => a - b);
  if (covered.length !== model.featureCount || covered.some((v, i) => v !== i)) {
    throw new RangeError("KitNET groups do not cover every feature exactly once");
  }
  model.ensemble.forEach((ae, k) => {
    if (ae.visible !== model.groups[k].length || ae.weights.length !== ae.visible * ae.hidden) {
      throw new RangeError(`KitNET autoencoder ${k} does not match its group`);
    }
  });
  if (model.output.visible !== model.groups.length) {
    throw new RangeError("KitNET output autoencoder does not match the ensemble");
  }
  return model;
}
