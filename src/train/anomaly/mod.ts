/** Anomaly detection trained on benign traffic only: isolation forest + autoencoder, calibrated. */
export {
  ANOMALY_OUTPUTS,
  type AnomalyDetector,
  anomalyDetectorToOnnx,
  type AnomalyScores,
  anomalyScores,
  type AnomalyTrainingOptions,
  calibrateAnomalyDetector,
  COMBINATION_DESCRIPTION,
  DEFAULT_ANOMALY_OPTIONS,
  fitAnomalyModels,
  type FittedAnomalyModels,
  trainAnomalyDetector,
} from "./detector.ts";
export { fitRobustScaling } from "./robust_scaling.ts";
export {
  STRONG_FPR_DIVISOR,
  STRONG_MAX_MARGIN,
  STRONG_MIN_ROWS_ABOVE,
  type StrongThreshold,
  strongThresholdForFpr,
  thresholdForFpr,
} from "./threshold.ts";
export {
  averagePathLength,
  DEFAULT_ISOLATION_FOREST_PARAMS,
  type IsolationForest,
  isolationScores,
  trainIsolationForest,
} from "./isolation_forest.ts";
export {
  type Autoencoder,
  DEFAULT_AUTOENCODER_PARAMS,
  reconstructionErrors,
  trainAutoencoder,
} from "./autoencoder.ts";
