/**
 * The classifier stage: optionally tune (TPE over k-fold CV, the cheapest
 * trial within a tolerance of the best), train the GBDT on the training rows,
 * measure it on the held-out rows, export it to ONNX and check that the graph
 * reproduces the TypeScript probabilities under onnxruntime-web.
 */
import { crossValidate } from "../cross_validation.ts";
import { classCounts, type Dataset, selectRows, stratifiedSplit } from "../dataset.ts";
import {
  CLASSIFIER_OUTPUTS,
  DEFAULT_GBDT_PARAMS,
  type GbdtParams,
  gbdtToOnnx,
  predictGbdt,
  trainGbdt,
} from "../gbdt.ts";
import { argmaxRows, classificationReport } from "../metrics.ts";
import { runOnnxModel } from "../onnx/mod.ts";
import type { Random } from "../random.ts";
import { GBDT_SEARCH_SPACE, tpeSearch, type Trial } from "../tune.ts";
import {
  type ClassifierEntryInput,
  INPUT_NAME,
  maxAbsDiff,
  type ModelPart,
  type StageContext,
  TRAINER_VERSION,
} from "./common.ts";

/** Options of {@link trainClassifierStage}. */
export interface ClassifierStageOptions {
  seed: number;
  gbdt?: Partial<GbdtParams>;
  /** TPE trials (0: the parameters as given). */
  tuneTrials: number;
  /** Folds of the cross-validation inside each tuning trial. */
  tuneFolds: number;
  /** Tuning uses at most this many rows (stratified sample). */
  tuneMaxRows: number;
  /**
   * Among trials scoring within this much (macro-F1) of the best, the
   * cheapest to run (rounds x depth) is chosen: at the sensor, every tree is
   * evaluated for every flow, and a 0.1-point difference in CV F1 is noise.
   */
  tuneTolerance: number;
}

/** Held-out figures of the classifier. */
export interface ClassifierSummary {
  accuracy: number;
  macroF1: number;
  binaryAccuracy?: number;
  benignFpr?: number;
  onnxMaxAbsDiff: number;
  seconds: number;
}

/** The tuning's choice. */
export interface TuningSummary {
  best: Record<string, number>;
  bestScore: number;
  trials: number;
}

/** The classifier's part of the bundle and what it measured. */
export interface ClassifierStage extends ModelPart<ClassifierEntryInput> {
  summary: ClassifierSummary;
  tuning?: TuningSummary;
}

/**
 * Trains the known-attack classifier on `train` (at least two classes
 * present) and measures it on `evaluation`; `rng` draws the tuning sample.
 */
export async function trainClassifierStage(
  train: Dataset,
  evaluation: Dataset,
  options: ClassifierStageOptions,
  context: StageContext,
  rng: Random,
): Promise<ClassifierStage> {
  const { progress } = context;
  let params: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...options.gbdt, seed: options.seed };
  let tuningRecord: unknown = undefined;
  let tuning: TuningSummary | undefined;
  if (options.tuneTrials > 0) {
    const tuneSet = train.rows > options.tuneMaxRows
      ? selectRows(
        train,
        stratifiedSplit(train.y, options.tuneMaxRows / train.rows, rng.fork()).heldOut,
      )
      : train;
    const result = await tpeSearch(
      GBDT_SEARCH_SPACE,
      (p) =>
        crossValidate(tuneSet, options.tuneFolds, { ...params, ...p }, options.seed).pooled
          .macroF1,
      { trials: options.tuneTrials, seed: options.seed },
      (t) => progress("tuning trial", t.number + 1, options.tuneTrials),
    );
    const base = params;
    const cost = (t: Trial) =>
      (t.params.rounds ?? base.rounds) * (t.params.maxDepth ?? base.maxDepth);
    const chosen = result.trials
      .filter((t) => t.score >= result.best.score - options.tuneTolerance)
      .reduce((a, b) => (cost(b) < cost(a) ? b : a));
    params = { ...params, ...chosen.params };
    tuningRecord = {
      sampler: "TPE (univariate, Optuna-style: random startup then Parzen l(x)/g(x))",
      objective: `macro-F1 of ${options.tuneFolds}-fold stratified CV on ${tuneSet.rows} rows`,
      choice: `the cheapest trial (rounds x maxDepth) within ${options.tuneTolerance} of the best`,
      space: GBDT_SEARCH_SPACE,
      best: result.best,
      chosen,
      trials: result.trials,
    };
    tuning = { best: chosen.params, bestScore: chosen.score, trials: result.trials.length };
  }
  const classNames = train.classNames;
  const started = performance.now();
  const model = trainGbdt(
    train.x,
    train.y,
    train.rows,
    train.cols,
    classNames.length,
    params,
    (done, total) => progress("classifier round", done, total),
  );
  const seconds = (performance.now() - started) / 1000;
  const probabilities = predictGbdt(model, evaluation.x, evaluation.rows);
  const report = classificationReport(
    evaluation.y,
    argmaxRows(probabilities, evaluation.rows, classNames.length),
    classNames,
    train.benignClass,
  );
  const onnx = gbdtToOnnx(model, INPUT_NAME);
  const onnxOut = await runOnnxModel(onnx, INPUT_NAME, evaluation.x, evaluation.rows, train.cols);
  const onnxMaxAbsDiff = maxAbsDiff(
    onnxOut[CLASSIFIER_OUTPUTS.probabilities].data as Float32Array,
    probabilities,
  );
  return {
    summary: {
      accuracy: report.accuracy,
      macroF1: report.macroF1,
      binaryAccuracy: report.binary?.accuracy,
      benignFpr: report.binary?.falsePositiveRate,
      onnxMaxAbsDiff,
      seconds,
    },
    tuning,
    onnx,
    entry: {
      role: "classifier",
      name: "gbdt-classifier",
      file: "classifier.onnx",
      inputName: INPUT_NAME,
      outputs: { ...CLASSIFIER_OUTPUTS },
      classNames,
      benignClass: train.benignClass >= 0 ? classNames[train.benignClass] : null,
      classThresholds: classNames.map(() => 0.5),
      training: {
        dataSource: context.dataSource,
        rows: train.rows,
        classCounts: classCounts(train),
        hyperparameters: { algorithm: "histogram GBDT, softmax, GOSS", ...params },
        metrics: { heldOutRows: evaluation.rows, ...report },
        tuning: tuningRecord,
        date: context.date,
        tool: TRAINER_VERSION,
        seconds,
        onnxAgreement: { rows: evaluation.rows, maxAbsDiffProbabilities: onnxMaxAbsDiff },
      },
    },
  };
}
