/**
 * Inference: model bundles, the worker pool running onnxruntime-web and the
 * known / unknown / benign decision. It scores; the detection loop that
 * turns scores into alerts is src/engine's.
 *
 * ```ts
 * import { createInferencePool, decide, decisionConfigFromBundle, inferenceModelsFromBundle, loadBundle } from "./mod.ts";
 * const bundle = await loadBundle("models/default");
 * const pool = await createInferencePool(inferenceModelsFromBundle(bundle));
 * const scores = pool.infer(features, rows); // Float32Array, row-major
 * pool.flush();
 * const decisions = decide(await scores, decisionConfigFromBundle(bundle));
 * await pool.close();
 * ```
 */
export * from "./bundle.ts";
export {
  decide,
  type DecisionClassGate,
  type DecisionConfig,
  type Decisions,
  leaveUnscoredProtocols,
  SCORED_PROTOCOLS,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_NAMES,
  VERDICT_UNKNOWN,
  type VerdictName,
} from "./decision.ts";
export {
  decisionConfigFromBundle,
  DEFAULT_CLASS_THRESHOLD,
  type FeatureBaseline,
  featureBaselineFromBundle,
  inferenceModelsFromBundle,
  modelNames,
  type ThresholdOverrides,
} from "./from_bundle.ts";
export type {
  InferenceModels,
  ModelOutput,
  ModelRole,
  ModelScores,
  ModelSpec,
  Preprocessing as WorkerPreprocessing,
} from "./model_spec.ts";
export { denseScores, detailRow } from "./model_spec.ts";
export {
  createInferencePool,
  type InferencePool,
  type InferencePoolOptions,
  type InferencePoolStats,
} from "./runner.ts";
