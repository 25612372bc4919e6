/**
 * Writing ONNX models from TypeScript: a graph builder, tree-ensemble
 * (`ai.onnx.ml`) nodes, in-graph feature scaling, and a runner for checking an
 * exported model with onnxruntime-web.
 *
 * @example Build a tiny model
 * ```ts
 * const g = new OnnxGraphBuilder("demo");
 * g.addInput("input", "float32", ["N", 2]);
 * g.addFloatInitializer("w", [1, 2], [2, 1]);
 * g.addNode("MatMul", ["input", "w"], { outputs: ["score"] });
 * g.addOutput("score", "float32", ["N", 1]);
 * const bytes = g.build();
 * ```
 */
export {
  type AttributeValue,
  DEFAULT_ML_OPSET,
  DEFAULT_OPSET,
  type Dim,
  type ElementType,
  OnnxGraphBuilder,
} from "./graph.ts";
export {
  addTreeEnsembleClassifier,
  addTreeEnsembleRegressor,
  findLeaf,
  type FlatTree,
} from "./tree_ensemble.ts";
export { addScaling, applyScaling, type ScalingParameters } from "./scaling.ts";
export { type OnnxOutputs, onnxRowsPerSecond, runOnnxModel } from "./run.ts";
