/** The calibrated, weighted, voting ensemble of model families (see ensemble.ts). */
export {
  applyEnsemble,
  calibrateMember,
  decide,
  DEFAULT_ENSEMBLE_OPTIONS,
  type Ensemble,
  type EnsembleDecision,
  type EnsembleOptions,
  fitEnsemble,
  learnWeights,
  MAX_CALIBRATION_POINTS,
  type MemberCalibration,
  surprise,
  votersOf,
  VOTING_MODES,
  type VotingMode,
} from "./ensemble.ts";
export {
  ENSEMBLE_OUTPUTS,
  type EnsembleMemberGraph,
  ensembleScore,
  ensembleScoreThreshold,
  ensembleToOnnx,
} from "./ensemble_onnx.ts";
export {
  groupDetection,
  learnNoveltyWeights,
  type NoveltyWeights,
  type WeightGroup,
} from "./novelty_weights.ts";
