/**
 * Writes decision-tree ensembles as `ai.onnx.ml` TreeEnsembleRegressor /
 * TreeEnsembleClassifier nodes. Splits are `x <= threshold` goes left
 * (BRANCH_LEQ, the "true" branch), thresholds float32, exactly what the
 * TypeScript predictors in src/train compare against, so both agree bit for bit
 * on the path taken.
 */
import type { OnnxGraphBuilder } from "./graph.ts";

/**
 * One tree in flat arrays. Node 0 is the root. A node is a leaf when
 * `feature[i] < 0`. A leaf's contribution is `value.subarray(i * valueWidth, (i + 1) * valueWidth)`:
 * with `valueWidth === 1` it is added to output `target` (default 0); with
 * `valueWidth === nTargets` each value goes to its own output.
 */
export interface FlatTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
  valueWidth: number;
  target?: number;
}

interface EnsembleAttributes {
  nodes_treeids: number[];
  nodes_nodeids: number[];
  nodes_featureids: number[];
  nodes_modes: string[];
  nodes_values: number[];
  nodes_truenodeids: number[];
  nodes_falsenodeids: number[];
  leafTree: number[];
  leafNode: number[];
  leafTarget: number[];
  leafWeight: number[];
}

function flattenEnsemble(trees: FlatTree[], nTargets: number): EnsembleAttributes {
  const a: EnsembleAttributes = {
    nodes_treeids: [],
    nodes_nodeids: [],
    nodes_featureids: [],
    nodes_modes: [],
    nodes_values: [],
    nodes_truenodeids: [],
    nodes_falsenodeids: [],
    leafTree: [],
    leafNode: [],
    leafTarget: [],
    leafWeight: [],
  };
  trees.forEach((tree, t) => {
    if (tree.valueWidth !== 1 && tree.valueWidth !== nTargets) {
      throw new Error(`tree ${t}: valueWidth ${tree.valueWidth} is neither 1 nor ${nTargets}`);
    }
    for (let i = 0; i < tree.feature.length; i++) {
      const isLeaf = tree.feature[i] < 0;
      a.nodes_treeids.push(t);
      a.nodes_nodeids.push(i);
      a.nodes_featureids.push(isLeaf ? 0 : tree.feature[i]);
      a.nodes_modes.push(isLeaf ? "LEAF" : "BRANCH_LEQ");
      a.nodes_values.push(isLeaf ? 0 : tree.threshold[i]);
      a.nodes_truenodeids.push(isLeaf ? 0 : tree.left[i]);
      a.nodes_falsenodeids.push(isLeaf ? 0 : tree.right[i]);
      if (!isLeaf) continue;
      for (let k = 0; k < tree.valueWidth; k++) {
        a.leafTree.push(t);
        a.leafNode.push(i);
        a.leafTarget.push(tree.valueWidth === 1 ? (tree.target ?? 0) : k);
        a.leafWeight.push(tree.value[i * tree.valueWidth + k]);
      }
    }
  });
  return a;
}

function nodeAttributes(a: EnsembleAttributes) {
  return {
    nodes_treeids: { ints: a.nodes_treeids },
    nodes_nodeids: { ints: a.nodes_nodeids },
    nodes_featureids: { ints: a.nodes_featureids },
    nodes_modes: a.nodes_modes,
    nodes_values: { floats: a.nodes_values },
    nodes_truenodeids: { ints: a.nodes_truenodeids },
    nodes_falsenodeids: { ints: a.nodes_falsenodeids },
  };
}

/**
 * Adds a TreeEnsembleRegressor producing `[N, nTargets]` float scores:
 * `base + aggregate(leaf values)`.
 */
export function addTreeEnsembleRegressor(
  g: OnnxGraphBuilder,
  input: string,
  trees: FlatTree[],
  options: {
    nTargets: number;
    output: string;
    baseValues?: number[];
    aggregate?: "SUM" | "AVERAGE";
  },
): string {
  const a = flattenEnsemble(trees, options.nTargets);
  g.addNode("TreeEnsembleRegressor", [input], {
    domain: "ai.onnx.ml",
    outputs: [options.output],
    attributes: {
      ...nodeAttributes(a),
      target_treeids: { ints: a.leafTree },
      target_nodeids: { ints: a.leafNode },
      target_ids: { ints: a.leafTarget },
      target_weights: { floats: a.leafWeight },
      n_targets: options.nTargets,
      aggregate_function: options.aggregate ?? "SUM",
      post_transform: "NONE",
      ...(options.baseValues ? { base_values: { floats: options.baseValues } } : {}),
    },
  });
  return options.output;
}

/**
 * Adds a TreeEnsembleClassifier with integer class labels `0..K-1`, the layout
 * skl2onnx emits without ZipMap: outputs `[label int64 [N], probabilities float [N, K]]`.
 */
export function addTreeEnsembleClassifier(
  g: OnnxGraphBuilder,
  input: string,
  trees: FlatTree[],
  options: {
    nClasses: number;
    labelOutput: string;
    probabilitiesOutput: string;
    postTransform?: "NONE" | "SOFTMAX";
    baseValues?: number[];
  },
): [string, string] {
  const a = flattenEnsemble(trees, options.nClasses);
  g.addNode("TreeEnsembleClassifier", [input], {
    domain: "ai.onnx.ml",
    outputs: [options.labelOutput, options.probabilitiesOutput],
    attributes: {
      ...nodeAttributes(a),
      class_treeids: { ints: a.leafTree },
      class_nodeids: { ints: a.leafNode },
      class_ids: { ints: a.leafTarget },
      class_weights: { floats: a.leafWeight },
      classlabels_int64s: { ints: Array.from({ length: options.nClasses }, (_, i) => i) },
      post_transform: options.postTransform ?? "NONE",
      ...(options.baseValues ? { base_values: { floats: options.baseValues } } : {}),
    },
  });
  return [options.labelOutput, options.probabilitiesOutput];
}

/** Walks one tree for row `x` (offset `base`), returning the leaf node index. */
export function findLeaf(tree: FlatTree, x: Float32Array, base: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    // NaN compares false and goes right, as BRANCH_LEQ does in onnxruntime.
    node = x[base + tree.feature[node]] <= tree.threshold[node]
      ? tree.left[node]
      : tree.right[node];
  }
  return node;
}
