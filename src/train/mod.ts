/**
 * Model training: labelled flow rows in, ONNX models and a bundle out.
 *
 * - Data: {@link loadCicCsv} (CIC-IDS2017-style flow CSVs), {@link loadNslKdd}
 *   (NSL-KDD, one-hot with an unknown bucket), {@link datasetFromCapture}
 *   (the sensor's own flow meter plus attack windows).
 * - Known attacks: {@link trainGbdt}, histogram gradient-boosted trees
 *   (softmax, GOSS), exported by {@link gbdtToOnnx} as
 *   TreeEnsembleRegressor + Softmax (`probabilities`, `label`).
 * - Unknown attacks: {@link trainAnomalyDetector}, an isolation forest and an
 *   autoencoder trained on benign rows only, each calibrated on held-out
 *   benign rows to the target false-positive rate; combined score
 *   `max(if_score / if_threshold, ae_error / ae_threshold)`, itself calibrated.
 *   Exported by {@link anomalyDetectorToOnnx} as one graph on raw rows.
 * - Unknown attacks the classifier would claim: {@link fitClassGate}, a robust
 *   profile and calibrated distance threshold per attack class (open set),
 *   computed by the same anomaly graph (`class_distance`).
 * - Evaluation: {@link crossValidate} (stratified k-fold), metrics
 *   ({@link classificationReport}, {@link rocAuc}), {@link tpeSearch} for `--tune`.
 * - {@link trainBundle} does all of it and writes the bundle (see
 *   src/inference/bundle.ts), in stages that also run on their own
 *   (./stages/mod.ts: classifier, anomaly fit, calibration, class profiles,
 *   anomaly export, bundle.json assembly).
 */
export {
  classCounts,
  type Dataset,
  selectRows,
  stratifiedFolds,
  stratifiedSplit,
} from "./dataset.ts";
export { CIC_IDENTITY_COLUMNS, type CicCsvOptions, loadCicCsv } from "./cic_csv.ts";
export {
  type CategoricalVocabulary,
  loadNslKdd,
  NSL_KDD_CATEGORIES,
  type NslKddOptions,
  type NslKddView,
  parseAttackTypes,
  parseFieldNames,
} from "./nsl_kdd.ts";
export { datasetFromCapture } from "./capture_dataset.ts";
export {
  CLASSIFIER_OUTPUTS,
  DEFAULT_GBDT_PARAMS,
  type GbdtModel,
  type GbdtParams,
  gbdtToOnnx,
  predictGbdt,
  trainGbdt,
} from "./gbdt.ts";
export * from "./anomaly/mod.ts";
export {
  addClassDistance,
  CLASS_DISTANCE_DESCRIPTION,
  CLASS_DISTANCE_OUTPUT,
  classDistances,
  type ClassGate,
  type ClassGateOptions,
  DEFAULT_CLASS_GATE_OPTIONS,
  fitClassGate,
} from "./class_gate.ts";
export {
  argmaxRows,
  type ClassificationReport,
  classificationReport,
  type ClassMetrics,
  formatReport,
  rocAuc,
} from "./metrics.ts";
export { crossValidate, type CrossValidationResult } from "./cross_validation.ts";
export { GBDT_SEARCH_SPACE, type ParameterRange, tpeSearch, type Trial } from "./tune.ts";
export {
  DEFAULT_TRAIN_OPTIONS,
  trainBundle,
  type TrainBundleOptions,
  type TrainBundleSummary,
} from "./pipeline.ts";
export * from "./stages/mod.ts";
export { type ProgressReporter, stderrProgress } from "./progress.ts";
export { type OnnxOutputs, runOnnxModel, type ScalingParameters } from "./onnx/mod.ts";
export { Random } from "./random.ts";
export * from "./deep/mod.ts";
export * from "./ensemble/mod.ts";
export * from "./families/mod.ts";
export {
  addPacketMembers,
  DEFAULT_PACKET_SET,
  memberTrainingSet,
  type PacketMemberOptions,
  type PacketMemberRequest,
  type PacketMemberSummary,
  packetRowsFromCaptures,
  type PacketRowsOptions,
  type PacketRowsReport,
  type PacketSetRows,
  parsePacketModelList,
  trainPacketMembers,
} from "./packet_members.ts";
export {
  evaluatePacketMember,
  formatDetection,
  formatParams,
  PACKET_SEARCH_SPACES,
  packetSearchSpace,
  packetTrialEligible,
  type PacketTrialResult,
  type PacketTuneOptions,
  type PacketTuneResult,
  type PacketTuneSplit,
  packetTuneSplit,
  tunePacketMember,
  type TypeDetection,
} from "./packet_tune.ts";
