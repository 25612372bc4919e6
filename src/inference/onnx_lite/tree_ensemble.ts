/**
 * `ai.onnx.ml` TreeEnsembleRegressor and TreeEnsembleClassifier, compiled at
 * load into flat typed arrays and walked per row. Semantics follow
 * onnxruntime's TreeEnsembleCommon for float input: float32 thresholds and
 * float32 sums, trees taken in the order their nodes first appear, leaf
 * weights added in attribute order, base values added after the sum (after
 * dividing by the tree count for AVERAGE). So the scores are bit-identical to
 * onnxruntime's; the SOFTMAX post-transform (std::exp) may differ in the last bit.
 */
import type { NodeAttributes } from "./attributes.ts";
import type { KernelFactory } from "./kernel.ts";
import { expectFloat, floatTensor, type LiteTensor, UnsupportedModelError } from "./tensor.ts";

const LEAF = 0;
const MODES: Record<string, number> = {
  LEAF,
  BRANCH_LEQ: 1,
  BRANCH_LT: 2,
  BRANCH_GTE: 3,
  BRANCH_GT: 4,
  BRANCH_EQ: 5,
  BRANCH_NEQ: 6,
};

/** An ensemble in flat arrays; node indices are positions in these arrays. */
interface CompiledEnsemble {
  roots: Int32Array;
  mode: Uint8Array;
  feature: Int32Array;
  threshold: Float32Array;
  trueNode: Int32Array;
  falseNode: Int32Array;
  missingTrue: Uint8Array;
  /** Leaf weights of node n: `weightTarget/weightValue[leafStart[n] .. leafStart[n + 1])`. */
  leafStart: Int32Array;
  weightTarget: Int32Array;
  weightValue: Float32Array;
  targets: number;
  /** Only BRANCH_LEQ splits and no NaN routing: the walk's fast path. */
  allLeq: boolean;
  /**
   * For the fast path: children with a leaf as `~leaf` (negative), so the walk
   * is one compare and one load per level; `fastRoot` likewise.
   */
  fastTrue: Int32Array;
  fastFalse: Int32Array;
  fastRoot: Int32Array;
  maxFeature: number;
}

function compileEnsemble(
  a: NodeAttributes,
  prefix: "target" | "class",
  targets: number,
): CompiledEnsemble {
  const treeIds = a.ints("nodes_treeids");
  const nodeIds = a.ints("nodes_nodeids");
  const featureIds = a.ints("nodes_featureids");
  const modes = a.strings("nodes_modes");
  const values = a.floats("nodes_values", new Float32Array(0));
  const trueIds = a.ints("nodes_truenodeids");
  const falseIds = a.ints("nodes_falsenodeids");
  const missing = a.ints("nodes_missing_value_tracks_true", []);
  const wTrees = a.ints(`${prefix}_treeids`);
  const wNodes = a.ints(`${prefix}_nodeids`);
  const wIds = a.ints(`${prefix}_ids`);
  const wValues = a.floats(`${prefix}_weights`);
  const n = treeIds.length;
  for (
    const [name, len] of [
      ["nodes_nodeids", nodeIds.length],
      ["nodes_featureids", featureIds.length],
      ["nodes_modes", modes.length],
      ["nodes_truenodeids", trueIds.length],
      ["nodes_falsenodeids", falseIds.length],
    ] as const
  ) {
    if (len !== n) throw new Error(`tree ensemble: ${name} has ${len} entries, nodes ${n}`);
  }
  if (values.length !== n && values.length !== 0) {
    throw new Error(`tree ensemble: nodes_values has ${values.length} entries, nodes ${n}`);
  }
  if (missing.length !== 0 && missing.length !== n) {
    throw new Error(`tree ensemble: nodes_missing_value_tracks_true has ${missing.length} entries`);
  }
  if (
    wNodes.length !== wTrees.length || wIds.length !== wTrees.length ||
    wValues.length !== wTrees.length
  ) {
    throw new Error(`tree ensemble: ${prefix}_* attributes differ in length`);
  }
  // (tree id, node id) as one exact number: tree * 2^21 + node, both checked in range.
  const key = (t: number, id: number) => t * 2097152 + id;
  const position = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (!(treeIds[i] >= 0 && treeIds[i] < 2 ** 31 && nodeIds[i] >= 0 && nodeIds[i] < 2097152)) {
      throw new UnsupportedModelError(`tree ensemble: tree ${treeIds[i]} node ${nodeIds[i]}`);
    }
    position.set(key(treeIds[i], nodeIds[i]), i);
  }
  const mode = new Uint8Array(n);
  const feature = new Int32Array(n);
  const threshold = new Float32Array(n);
  const trueNode = new Int32Array(n);
  const falseNode = new Int32Array(n);
  const missingTrue = new Uint8Array(n);
  let allLeq = true;
  let maxFeature = -1;
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || treeIds[i] !== treeIds[i - 1]) {
      if (roots.some((r) => treeIds[r] === treeIds[i])) {
        throw new UnsupportedModelError("tree ensemble: nodes of one tree not contiguous");
      }
      roots.push(i);
    }
    const m = MODES[modes[i]];
    if (m === undefined) throw new UnsupportedModelError(`tree ensemble: mode ${modes[i]}`);
    mode[i] = m;
    missingTrue[i] = missing.length > 0 && missing[i] ? 1 : 0;
    if (m === LEAF) continue;
    if (m !== MODES.BRANCH_LEQ || missingTrue[i]) allLeq = false;
    feature[i] = featureIds[i];
    if (featureIds[i] < 0) throw new Error(`tree ensemble: feature ${featureIds[i]}`);
    maxFeature = Math.max(maxFeature, featureIds[i]);
    threshold[i] = values[i];
    const t = position.get(key(treeIds[i], trueIds[i]));
    const f = position.get(key(treeIds[i], falseIds[i]));
    if (t === undefined || f === undefined) {
      throw new Error(`tree ensemble: tree ${treeIds[i]} node ${nodeIds[i]} has a missing child`);
    }
    trueNode[i] = t;
    falseNode[i] = f;
  }
  // Each tree must be a tree: a child reached twice (a cycle, or two parents)
  // would make the walk loop forever or double count; refuse it here.
  const seen = new Uint8Array(n);
  for (const root of roots) {
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (seen[node]) {
        throw new Error(
          `tree ensemble: tree ${treeIds[root]} is not a tree (node ${
            nodeIds[node]
          } reached twice)`,
        );
      }
      seen[node] = 1;
      if (mode[node] !== LEAF) stack.push(trueNode[node], falseNode[node]);
    }
  }
  // Leaf weights grouped by node, each group in attribute order (a counting sort).
  const weightNode = new Int32Array(wTrees.length);
  const leafStart = new Int32Array(n + 1);
  for (let w = 0; w < wTrees.length; w++) {
    const at = position.get(key(wTrees[w], wNodes[w]));
    if (at === undefined || mode[at] !== LEAF) {
      throw new Error(`tree ensemble: weight on tree ${wTrees[w]} node ${wNodes[w]}, not a leaf`);
    }
    if (wIds[w] < 0 || wIds[w] >= targets) {
      throw new Error(`tree ensemble: weight target ${wIds[w]} of ${targets}`);
    }
    weightNode[w] = at;
    leafStart[at + 1]++;
  }
  for (let i = 0; i < n; i++) leafStart[i + 1] += leafStart[i];
  const weightTarget = new Int32Array(wTrees.length);
  const weightValue = new Float32Array(wTrees.length);
  const fill = leafStart.slice(0, n);
  for (let w = 0; w < wTrees.length; w++) {
    const slot = fill[weightNode[w]]++;
    weightTarget[slot] = wIds[w];
    weightValue[slot] = wValues[w];
  }
  const encode = (i: number) => (mode[i] === LEAF ? ~i : i);
  const fastTrue = Int32Array.from(trueNode, encode);
  const fastFalse = Int32Array.from(falseNode, encode);
  const fastRoot = Int32Array.from(roots, encode);
  return {
    fastTrue,
    fastFalse,
    fastRoot,
    roots: Int32Array.from(roots),
    mode,
    feature,
    threshold,
    trueNode,
    falseNode,
    missingTrue,
    leafStart,
    weightTarget,
    weightValue,
    targets,
    allLeq,
    maxFeature,
  };
}

/** The leaf reached from `root` for the row at `x[base..]` (any split mode). */
function walk(e: CompiledEnsemble, root: number, x: Float32Array, base: number): number {
  let node = root;
  for (;;) {
    const m = e.mode[node];
    if (m === LEAF) return node;
    const v = x[base + e.feature[node]];
    const t = e.threshold[node];
    let goTrue: boolean;
    if (v !== v && e.missingTrue[node]) goTrue = true;
    else if (m === 1) goTrue = v <= t;
    else if (m === 2) goTrue = v < t;
    else if (m === 3) goTrue = v >= t;
    else if (m === 4) goTrue = v > t;
    else if (m === 5) goTrue = v === t;
    else goTrue = v !== t;
    node = goTrue ? e.trueNode[node] : e.falseNode[node];
  }
}

/**
 * Sums the leaf weights of every tree for each row into `scores` (`rows * targets`,
 * float32 sums) and marks in `hasScore` the targets any leaf touched.
 */
function accumulate(
  e: CompiledEnsemble,
  x: Float32Array,
  rows: number,
  width: number,
  scores: Float32Array,
  hasScore: Uint8Array,
): void {
  const { roots, feature, threshold, leafStart, weightTarget, weightValue, targets } = e;
  const { fastRoot, fastTrue, fastFalse, allLeq } = e;
  // Tree by tree over the chunk's rows: each tree's nodes stay in L1 while every
  // row walks it. Each row still adds its leaves in tree order (same float32 sums).
  for (let t = 0; t < roots.length; t++) {
    for (let r = 0; r < rows; r++) {
      const base = r * width;
      let node: number;
      if (allLeq) {
        let n = fastRoot[t];
        while (n >= 0) n = x[base + feature[n]] <= threshold[n] ? fastTrue[n] : fastFalse[n];
        node = ~n;
      } else {
        node = walk(e, roots[t], x, base);
      }
      const out = r * targets;
      for (let w = leafStart[node], end = leafStart[node + 1]; w < end; w++) {
        // Float32Array stores round each sum to float32, as onnxruntime's float accumulator.
        scores[out + weightTarget[w]] += weightValue[w];
        hasScore[out + weightTarget[w]] = 1;
      }
    }
  }
}

/** onnxruntime's ComputeSoftmax (ml_common.h): std::exp(v - max) in float32, then each divided by the sum. */
function softmaxInPlace(v: Float32Array, from: number, count: number): void {
  let max = -3.4028234663852886e38;
  for (let i = from; i < from + count; i++) if (v[i] > max) max = v[i];
  let sum = 0;
  for (let i = from; i < from + count; i++) {
    v[i] = Math.exp(Math.fround(v[i] - max));
    sum = Math.fround(sum + v[i]);
  }
  for (let i = from; i < from + count; i++) v[i] = v[i] / sum;
}

function readPostTransform(a: NodeAttributes): "NONE" | "SOFTMAX" {
  const p = a.string("post_transform", "NONE");
  if (p !== "NONE" && p !== "SOFTMAX") {
    throw new UnsupportedModelError(`tree ensemble: post_transform ${p}`);
  }
  return p;
}

function inputRows(
  x: LiteTensor,
  e: CompiledEnsemble,
  what: string,
): [Float32Array, number, number] {
  const input = expectFloat(x, what);
  const width = input.dims.length === 1 ? input.dims[0] : input.dims[input.dims.length - 1];
  const rows = input.dims.length === 1 ? 1 : input.data.length / (width || 1);
  if (input.dims.length > 2 || width <= e.maxFeature) {
    throw new Error(`${what}: input [${input.dims}] for features up to ${e.maxFeature}`);
  }
  return [input.data, rows, width];
}

export const treeEnsembleRegressorKernel: KernelFactory = ({ attributes: a }) => {
  const targets = a.int("n_targets");
  const aggregate = a.string("aggregate_function", "SUM");
  const post = readPostTransform(a);
  const base = a.floats("base_values", new Float32Array(0));
  const e = compileEnsemble(a, "target", targets);
  a.checkAllRead(["nodes_hitrates"]);
  if (aggregate !== "SUM" && aggregate !== "AVERAGE") {
    throw new UnsupportedModelError(`TreeEnsembleRegressor: aggregate_function ${aggregate}`);
  }
  if (base.length !== 0 && base.length !== targets) {
    throw new Error(`TreeEnsembleRegressor: ${base.length} base_values for ${targets} targets`);
  }
  const trees = e.roots.length;
  let hasScore = new Uint8Array(0);
  return ([x], buffers) => {
    const [data, rows, width] = inputRows(x!, e, "TreeEnsembleRegressor");
    const scores = buffers.float32(0, rows * targets);
    scores.fill(0);
    if (hasScore.length < rows * targets) hasScore = new Uint8Array(rows * targets);
    accumulate(e, data, rows, width, scores, hasScore);
    for (let r = 0; r < rows; r++) {
      const o = r * targets;
      for (let t = 0; t < targets; t++) {
        if (aggregate === "AVERAGE") scores[o + t] /= trees;
        if (base.length > 0) scores[o + t] += base[t];
      }
      if (post === "SOFTMAX") softmaxInPlace(scores, o, targets);
    }
    return [floatTensor([rows, targets], scores)];
  };
};

export const treeEnsembleClassifierKernel: KernelFactory = ({ attributes: a }) => {
  const labels = a.ints("classlabels_int64s", []);
  if (a.has("classlabels_strings")) {
    throw new UnsupportedModelError("TreeEnsembleClassifier: string class labels");
  }
  const classes = labels.length;
  const post = readPostTransform(a);
  const base = a.floats("base_values", new Float32Array(0));
  const e = compileEnsemble(a, "class", Math.max(classes, 1));
  a.checkAllRead(["nodes_hitrates"]);
  // Two classes follow onnxruntime's binary rules (one weight column, score negation): not here.
  if (classes <= 2) {
    throw new UnsupportedModelError(`TreeEnsembleClassifier: ${classes} classes (binary rules)`);
  }
  if (base.length !== 0 && base.length !== classes) {
    throw new Error(`TreeEnsembleClassifier: ${base.length} base_values for ${classes} classes`);
  }
  let scratch = new Uint8Array(0);
  return ([x], buffers): LiteTensor[] => {
    const [data, rows, width] = inputRows(x!, e, "TreeEnsembleClassifier");
    const scores = buffers.float32(1, rows * classes);
    scores.fill(0);
    if (scratch.length < rows * classes) scratch = new Uint8Array(rows * classes);
    const hasScore = scratch.subarray(0, rows * classes);
    hasScore.fill(0);
    accumulate(e, data, rows, width, scores, hasScore);
    const label = buffers.int64(0, rows);
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      for (let c = 0; c < base.length; c++) {
        scores[o + c] += base[c];
        hasScore[o + c] = 1;
      }
      // The first class with the highest score among those any tree (or base value) scored.
      let best = -1;
      for (let c = 0; c < classes; c++) {
        if (hasScore[o + c] && (best === -1 || scores[o + c] > scores[o + best])) best = c;
      }
      label[r] = labels[Math.max(best, 0)];
      if (post === "SOFTMAX") softmaxInPlace(scores, o, classes);
    }
    return [
      { type: "int64", dims: [rows], data: label },
      floatTensor([rows, classes], scores),
    ];
  };
};
