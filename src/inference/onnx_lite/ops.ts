/** The operator subset the interpreter runs, by domain and op type. */
import { BINARY_KERNELS, clipKernel, UNARY_KERNELS } from "./elementwise.ts";
import type { KernelFactory } from "./kernel.ts";
import { matMulKernel } from "./matmul.ts";
import { argMaxKernel, REDUCE_KERNELS, softmaxKernel } from "./reduce.ts";
import {
  castKernel,
  concatKernel,
  flattenKernel,
  gatherKernel,
  reshapeKernel,
  unsqueezeKernel,
} from "./shape.ts";
import { treeEnsembleClassifierKernel, treeEnsembleRegressorKernel } from "./tree_ensemble.ts";

const ONNX_OPS: Record<string, KernelFactory> = {
  ...UNARY_KERNELS,
  ...BINARY_KERNELS,
  ...REDUCE_KERNELS,
  Clip: clipKernel,
  MatMul: matMulKernel,
  Softmax: softmaxKernel,
  ArgMax: argMaxKernel,
  Reshape: reshapeKernel,
  Unsqueeze: unsqueezeKernel,
  Flatten: flattenKernel,
  Concat: concatKernel,
  Gather: gatherKernel,
  Cast: castKernel,
};

const ML_OPS: Record<string, KernelFactory> = {
  TreeEnsembleRegressor: treeEnsembleRegressorKernel,
  TreeEnsembleClassifier: treeEnsembleClassifierKernel,
};

/** Opset versions whose semantics the kernels follow (the trainer writes 13 and ML 3). */
export const SUPPORTED_OPSETS: Record<string, [number, number]> = {
  "": [7, 17],
  "ai.onnx.ml": [1, 3],
};

/** The kernel factory for a node, or undefined outside the subset. */
export function kernelFactory(domain: string, opType: string): KernelFactory | undefined {
  const table = domain === "" || domain === "ai.onnx"
    ? ONNX_OPS
    : domain === "ai.onnx.ml"
    ? ML_OPS
    : {};
  return Object.hasOwn(table, opType) ? table[opType] : undefined;
}

/** Every op type the interpreter runs (for documentation and tests). */
export const SUPPORTED_OPS: readonly string[] = [...Object.keys(ONNX_OPS), ...Object.keys(ML_OPS)];
