/**
 * The stages of training a bundle, each usable on its own (a `learn` run
 * keeps a base bundle's classifier and refits only the benign-side parts):
 *
 * 1. {@link trainClassifierStage}: the known-attack classifier's part.
 * 2. {@link fitAnomalyStage}: isolation forest + autoencoder on benign rows.
 * 3. {@link calibrateAnomalyStage}: the anomaly thresholds, on benign rows
 *    the models did not see.
 * 4. {@link fitClassProfilesStage}: per-class profiles of the open-set gate,
 *    in the anomaly detector's scaled space.
 * 5. {@link anomalyModelPart}: the anomaly graph (with the gate) exported,
 *    checked and measured: the anomaly detector's part.
 *
 * `trainBundle` (../pipeline.ts) runs them in this order and
 * {@link assembleBundleJson} joins the parts.
 */
export {
  type AnomalyEntryInput,
  type ClassifierEntryInput,
  INPUT_NAME,
  maxAbsDiff,
  type ModelEntryInput,
  type ModelPart,
  type StageContext,
  TRAINER_VERSION,
} from "./common.ts";
export {
  type ClassifierStage,
  type ClassifierStageOptions,
  type ClassifierSummary,
  trainClassifierStage,
  type TuningSummary,
} from "./classifier.ts";
export {
  anomalyModelPart,
  type AnomalyStage,
  type AnomalyStageOptions,
  type AnomalySummary,
  calibrateAnomalyStage,
  fitAnomalyStage,
} from "./anomaly.ts";
export {
  classProfilesEntry,
  type ClassProfilesSummary,
  fitClassProfilesStage,
} from "./class_profiles.ts";
export { assembleBundleJson, type BundleAssembly } from "./bundle_json.ts";
