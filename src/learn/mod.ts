/**
 * Learning a network's own normal traffic: a bundle whose anomaly detector,
 * benign baseline and thresholds are refitted on benign-only flows of this
 * network, with the base bundle's known-attack classifier and open-set gate
 * kept. `ids-sensor learn` and `detect --learn` use it.
 */
export {
  type ClassThresholdChange,
  learnBundle,
  type LearnOptions,
  type LearnSummary,
  MIN_LEARN_FLOWS,
} from "./learn_bundle.ts";
export { LearnError } from "./learn_error.ts";
export { readClassGate, rescaleClassGate } from "./class_gate_transfer.ts";
export { benignRowsFromCaptures, captureForLearning, type LearningCapture } from "./benign_rows.ts";
export { learnFromSources, type LearnSources } from "./learn_run.ts";
