/**
 * From a labelled dataset to a model bundle: hold out a stratified evaluation
 * split, then run the stages (./stages/mod.ts): the classifier (optionally
 * tuned), the benign-only anomaly detector, its calibration, the class
 * profiles of the open-set gate, and the anomaly graph's export; each stage
 * measures its model on the held-out rows and checks that its ONNX graph
 * reproduces the TypeScript predictions under onnxruntime-web. Then the
 * parts are joined and the bundle written.
 */
import { writeBundle } from "../inference/mod.ts";
import type { ClassGateOptions } from "./class_gate.ts";
import { classCounts, type Dataset, rowsOfClass, selectRows, stratifiedSplit } from "./dataset.ts";
import type { CategoricalVocabulary } from "./nsl_kdd.ts";
import type { ProgressReporter } from "./progress.ts";
import { Random } from "./random.ts";
import {
  anomalyModelPart,
  type AnomalyStage,
  type AnomalyStageOptions,
  assembleBundleJson,
  calibrateAnomalyStage,
  type ClassifierStage,
  type ClassifierStageOptions,
  type ClassProfilesSummary,
  fitAnomalyStage,
  fitClassProfilesStage,
  type ModelPart,
  type StageContext,
  trainClassifierStage,
  type TuningSummary,
} from "./stages/mod.ts";

export { INPUT_NAME, TRAINER_VERSION } from "./stages/mod.ts";

/** Options of {@link trainBundle}: every stage's, plus where the bundle goes. */
export interface TrainBundleOptions extends ClassifierStageOptions, AnomalyStageOptions {
  outDir: string;
  featureSet: { name: string; version: string | number };
  dataSource: string;
  /** Fraction of rows held out for the reported metrics. */
  evaluationFraction: number;
  /**
   * Open-set class gate (see class_gate.ts), fitted when the bundle has both a
   * classifier and an anomaly detector; false: none.
   */
  classGate?: Partial<ClassGateOptions> | false;
  vocabularies?: CategoricalVocabulary[];
  progress?: ProgressReporter;
}

export const DEFAULT_TRAIN_OPTIONS = {
  seed: 1,
  targetFpr: 0.01,
  epochs: 10,
  tuneTrials: 0,
  tuneFolds: 3,
  tuneMaxRows: 20_000,
  tuneTolerance: 0.001,
  evaluationFraction: 0.2,
};

/** What {@link trainBundle} did, for the CLI summary. */
export interface TrainBundleSummary {
  bundleDir: string;
  classifier?: ClassifierStage["summary"];
  anomaly?: AnomalyStage["summary"];
  classGate?: ClassProfilesSummary;
  tuning?: TuningSummary;
}

/** Trains everything the dataset supports and writes the bundle to `options.outDir`. */
export async function trainBundle(
  d: Dataset,
  options: TrainBundleOptions,
): Promise<TrainBundleSummary> {
  const context: StageContext = {
    dataSource: options.dataSource,
    date: new Date().toISOString(),
    progress: options.progress ?? (() => {}),
  };
  // One generator in a fixed order of use (split, tuning sample, class gate): same seed, same bundle.
  const rng = new Random(options.seed);
  const { train: trainIdx, heldOut: evalIdx } = stratifiedSplit(
    d.y,
    options.evaluationFraction,
    rng,
  );
  const train = selectRows(d, trainIdx);
  const evaluation = selectRows(d, evalIdx);
  const summary: TrainBundleSummary = { bundleDir: options.outDir };
  const parts: ModelPart[] = [];
  const presentClasses = Object.values(classCounts(train)).filter((n) => n > 0).length;

  // Known-attack classifier: needs at least two classes.
  if (presentClasses >= 2) {
    const classifier = await trainClassifierStage(train, evaluation, options, context, rng);
    summary.classifier = classifier.summary;
    if (classifier.tuning) summary.tuning = classifier.tuning;
    parts.push(classifier);
  }

  // Anomaly detector: benign rows only.
  let scaling: AnomalyStage["scaling"] | undefined = undefined;
  const benignRows = d.benignClass >= 0 ? rowsOfClass(train, d.benignClass) : new Uint32Array();
  if (benignRows.length >= 50) {
    const benign = selectRows(train, benignRows);
    const started = performance.now();
    const fitted = fitAnomalyStage(benign, options, context.progress);
    const detector = calibrateAnomalyStage(fitted, options.targetFpr);
    const seconds = (performance.now() - started) / 1000;
    // The gate lives in the anomaly graph: it reuses the graph's scaled rows.
    const gate = parts.length > 0 && options.classGate !== false
      ? fitClassProfilesStage(train, detector.scaling, rng.fork(), options.classGate || {})
      : undefined;
    const anomaly = await anomalyModelPart(detector, gate, evaluation, context, {
      benignRows: benign.rows,
      seconds,
    });
    summary.anomaly = anomaly.summary;
    if (anomaly.classGate) summary.classGate = anomaly.classGate;
    scaling = anomaly.scaling;
    parts.push(anomaly);
  }
  if (parts.length === 0) {
    throw new Error(
      `nothing to train: ${presentClasses} class(es) and ${benignRows.length} benign rows ` +
        `(a classifier needs 2 classes, the anomaly detector 50 benign rows)`,
    );
  }
  const json = assembleBundleJson(d, parts, {
    featureSet: options.featureSet,
    vocabularies: options.vocabularies,
    scaling,
  }, context);
  await writeBundle(options.outDir, json, parts.map((p) => p.onnx));
  return summary;
}
