/**
 * onnx_lite: a typed-array interpreter for the ONNX op subset the sensor's own
 * trainer exports (tree ensembles, dense layers, scaling, elementwise and
 * reduction ops), so the inference worker scores those models without loading
 * onnxruntime-web. Anything outside the subset throws UnsupportedModelError at
 * load, and the worker scores that model with onnxruntime as before.
 *
 * ```ts
 * import { createLiteSession } from "./mod.ts";
 * const session = createLiteSession(onnxBytes);
 * const out = session.run({ input: { type: "float32", dims: [rows, width], data } });
 * ```
 */
export { createLiteSession, LiteSession } from "./session.ts";
export { SUPPORTED_OPS } from "./ops.ts";
export { type LiteTensor, type LiteType, UnsupportedModelError } from "./tensor.ts";
export { readModel } from "./read_model.ts";
