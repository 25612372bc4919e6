/**
 * Inference: model bundles, the worker pool running onnxruntime-web, the
 * known / unknown / benign decision, and the detection pipeline that ties
 * flows, models, alerts and sinks together.
 *
 * ```ts
 * import { loadBundle, createDetector } from "./mod.ts";
 * import { createJsonlSink } from "../alert/mod.ts";
 * const detector = await createDetector({
 *   bundle: await loadBundle("models/default"),
 *   sinks: [await createJsonlSink("eve.json")],
 * });
 * const stats = await detector.run(flowBatches); // AsyncIterable<FlowBatch>
 * await detector.close();
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
  createDetector,
  type Detector,
  type DetectorOptions,
  type DetectorStats,
  type LatencySummary,
  snapshotFlowBatch,
} from "./detector.ts";
export {
  decisionConfigFromBundle,
  DEFAULT_CLASS_THRESHOLD,
  type FeatureBaseline,
  featureBaselineFromBundle,
  inferenceModelsFromBundle,
  modelNames,
  type ThresholdOverrides,
  unknownAlertRuleFromBundle,
} from "./from_bundle.ts";
export type {
  InferenceModels,
  ModelOutput,
  ModelRole,
  ModelScores,
  ModelSpec,
  Preprocessing as WorkerPreprocessing,
} from "./model_spec.ts";
export {
  createInferencePool,
  type InferencePool,
  type InferencePoolOptions,
  type InferencePoolStats,
} from "./runner.ts";
