/**
 * From a labelled dataset to a model bundle: hold out a stratified evaluation
 * split, optionally tune the classifier (TPE over k-fold CV), train the GBDT
 * classifier and the benign-only anomaly detector, measure both on the
 * held-out rows, check that each exported ONNX graph reproduces the
 * TypeScript predictions under onnxruntime-web, and write the bundle.
 */
import { BUNDLE_FORMAT_VERSION, type BundleJsonInput, writeBundle } from "../inference/bundle.ts";
import { crossValidate } from "./cross_validation.ts";
import { classCounts, type Dataset, rowsOfClass, selectRows, stratifiedSplit } from "./dataset.ts";
import {
  CLASSIFIER_OUTPUTS,
  DEFAULT_GBDT_PARAMS,
  type GbdtParams,
  gbdtToOnnx,
  predictGbdt,
  trainGbdt,
} from "./gbdt.ts";
import {
  ANOMALY_OUTPUTS,
  anomalyDetectorToOnnx,
  anomalyScores,
  COMBINATION_DESCRIPTION,
  STRONG_MIN_ROWS_ABOVE,
  type StrongThreshold,
  trainAnomalyDetector,
} from "./anomaly/mod.ts";
import {
  CLASS_DISTANCE_DESCRIPTION,
  CLASS_DISTANCE_OUTPUT,
  classDistances,
  type ClassGate,
  type ClassGateOptions,
  fitClassGate,
} from "./class_gate.ts";
import { argmaxRows, classificationReport, rocAuc } from "./metrics.ts";
import { runOnnxModel, type ScalingParameters } from "./onnx/mod.ts";
import type { ProgressReporter } from "./progress.ts";
import { Random } from "./random.ts";
import { GBDT_SEARCH_SPACE, tpeSearch, type Trial } from "./tune.ts";
import type { CategoricalVocabulary } from "./nsl_kdd.ts";

/** Version written into bundles' training info. */
export const TRAINER_VERSION = "ids-sensor-train 0.1.0";
/** Name of the graph input in bundles this trainer writes. */
export const INPUT_NAME = "input";

export interface TrainBundleOptions {
  outDir: string;
  featureSet: { name: string; version: string | number };
  dataSource: string;
  seed: number;
  /** Target false-positive rate of the anomaly thresholds on held-out benign rows. */
  targetFpr: number;
  /** Autoencoder epochs. */
  epochs: number;
  /** TPE trials for the classifier (0: defaults). */
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
  /** Fraction of rows held out for the reported metrics. */
  evaluationFraction: number;
  gbdt?: Partial<GbdtParams>;
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
  classifier?: {
    accuracy: number;
    macroF1: number;
    binaryAccuracy?: number;
    benignFpr?: number;
    onnxMaxAbsDiff: number;
    seconds: number;
  };
  anomaly?: {
    rocAuc: number;
    heldOutBenignFpr: number;
    detectionRate: number;
    threshold: number;
    strongThreshold: number;
    onnxMaxAbsDiff: number;
    seconds: number;
  };
  classGate?: {
    classes: string[];
    /** Held-out evaluation rows of gated classes whose distance exceeds their class's threshold. */
    heldOutRejection: number;
    onnxMaxAbsDiff: number;
  };
  tuning?: { best: Record<string, number>; bestScore: number; trials: number };
}

/** Trains everything the dataset supports and writes the bundle to `options.outDir`. */
export async function trainBundle(
  d: Dataset,
  options: TrainBundleOptions,
): Promise<TrainBundleSummary> {
  const progress = options.progress ?? (() => {});
  const rng = new Random(options.seed);
  const date = new Date().toISOString();
  const { train: trainIdx, heldOut: evalIdx } = stratifiedSplit(
    d.y,
    options.evaluationFraction,
    rng,
  );
  const train = selectRows(d, trainIdx);
  const evaluation = selectRows(d, evalIdx);
  const summary: TrainBundleSummary = { bundleDir: options.outDir };
  const models: BundleJsonInput["models"] = [];
  const onnxFiles: Uint8Array[] = [];
  const presentClasses = Object.values(classCounts(train)).filter((n) => n > 0).length;

  // Known-attack classifier: needs at least two classes.
  if (presentClasses >= 2) {
    let params: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...options.gbdt, seed: options.seed };
    let tuningRecord: unknown = undefined;
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
        choice:
          `the cheapest trial (rounds x maxDepth) within ${options.tuneTolerance} of the best`,
        space: GBDT_SEARCH_SPACE,
        best: result.best,
        chosen,
        trials: result.trials,
      };
      summary.tuning = {
        best: chosen.params,
        bestScore: chosen.score,
        trials: result.trials.length,
      };
    }
    const started = performance.now();
    const model = trainGbdt(
      train.x,
      train.y,
      train.rows,
      train.cols,
      d.classNames.length,
      params,
      (done, total) => progress("classifier round", done, total),
    );
    const seconds = (performance.now() - started) / 1000;
    const probabilities = predictGbdt(model, evaluation.x, evaluation.rows);
    const report = classificationReport(
      evaluation.y,
      argmaxRows(probabilities, evaluation.rows, d.classNames.length),
      d.classNames,
      d.benignClass,
    );
    const onnx = gbdtToOnnx(model, INPUT_NAME);
    const onnxOut = await runOnnxModel(onnx, INPUT_NAME, evaluation.x, evaluation.rows, d.cols);
    const onnxMaxAbsDiff = maxAbsDiff(
      onnxOut[CLASSIFIER_OUTPUTS.probabilities].data as Float32Array,
      probabilities,
    );
    summary.classifier = {
      accuracy: report.accuracy,
      macroF1: report.macroF1,
      binaryAccuracy: report.binary?.accuracy,
      benignFpr: report.binary?.falsePositiveRate,
      onnxMaxAbsDiff,
      seconds,
    };
    models.push({
      role: "classifier",
      name: "gbdt-classifier",
      file: "classifier.onnx",
      inputName: INPUT_NAME,
      outputs: { ...CLASSIFIER_OUTPUTS },
      classNames: d.classNames,
      benignClass: d.benignClass >= 0 ? d.classNames[d.benignClass] : null,
      classThresholds: d.classNames.map(() => 0.5),
      training: {
        dataSource: options.dataSource,
        rows: train.rows,
        classCounts: classCounts(train),
        hyperparameters: { algorithm: "histogram GBDT, softmax, GOSS", ...params },
        metrics: { heldOutRows: evaluation.rows, ...report },
        tuning: tuningRecord,
        date,
        tool: TRAINER_VERSION,
        seconds,
        onnxAgreement: { rows: evaluation.rows, maxAbsDiffProbabilities: onnxMaxAbsDiff },
      },
    });
    onnxFiles.push(onnx);
  }

  // Anomaly detector: benign rows only.
  let scaling: BundleJsonInput["preprocessing"]["scaling"] = undefined;
  const benignRows = d.benignClass >= 0 ? rowsOfClass(train, d.benignClass) : new Uint32Array();
  if (benignRows.length >= 50) {
    const benign = selectRows(train, benignRows);
    const started = performance.now();
    const detector = trainAnomalyDetector(benign.x, benign.rows, benign.cols, {
      targetFpr: options.targetFpr,
      autoencoder: { epochs: options.epochs },
      seed: options.seed,
    }, progress);
    const seconds = (performance.now() - started) / 1000;
    const scores = anomalyScores(detector, evaluation.x, evaluation.rows);
    const isAttack = Array.from(evaluation.y, (c) => c !== d.benignClass);
    let benignCount = 0;
    let falsePositives = 0;
    let attacks = 0;
    let detected = 0;
    for (let i = 0; i < evaluation.rows; i++) {
      const flagged = scores.score[i] > detector.thresholds.combined;
      if (isAttack[i]) {
        attacks++;
        if (flagged) detected++;
      } else {
        benignCount++;
        if (flagged) falsePositives++;
      }
    }
    // The gate lives in the anomaly graph: it reuses the graph's scaled rows.
    const hasClassifier = models.some((m) => m.role === "classifier");
    const gate: ClassGate | undefined = hasClassifier && options.classGate !== false
      ? fitClassGate(
        train.x,
        train.y,
        train.rows,
        train.cols,
        d.classNames,
        d.benignClass,
        detector.scaling,
        rng.fork(),
        options.classGate || {},
      )
      : undefined;
    const gated = gate && gate.classNames.length > 0 ? gate : undefined;
    const onnx = anomalyDetectorToOnnx(detector, INPUT_NAME, gated);
    const onnxOut = await runOnnxModel(onnx, INPUT_NAME, evaluation.x, evaluation.rows, d.cols);
    const onnxMaxAbsDiff = maxAbsDiff(
      onnxOut[ANOMALY_OUTPUTS.score].data as Float32Array,
      scores.score,
    );
    const classGate = gated
      ? describeClassGate(gated, detector.scaling, evaluation, onnxOut, d.classNames)
      : undefined;
    if (classGate) summary.classGate = classGate.summary;
    const metrics = {
      heldOutRows: evaluation.rows,
      rocAuc: rocAuc(scores.score, isAttack),
      rocAucIsolationForest: rocAuc(scores.isolationForest, isAttack),
      rocAucAutoencoder: rocAuc(scores.autoencoder, isAttack),
      heldOutBenignFpr: benignCount ? falsePositives / benignCount : 0,
      detectionRate: attacks ? detected / attacks : 0,
    };
    summary.anomaly = {
      rocAuc: metrics.rocAuc,
      heldOutBenignFpr: metrics.heldOutBenignFpr,
      detectionRate: metrics.detectionRate,
      threshold: detector.thresholds.combined,
      strongThreshold: detector.strong.threshold,
      onnxMaxAbsDiff,
      seconds,
    };
    scaling = {
      logColumns: Array.from(detector.scaling.logColumns),
      center: Array.from(detector.scaling.center),
      scale: Array.from(detector.scaling.scale),
      inGraph: true,
    };
    models.push({
      role: "anomaly",
      name: "iforest-autoencoder",
      file: "anomaly.onnx",
      inputName: INPUT_NAME,
      outputs: { score: ANOMALY_OUTPUTS.score, featureErrors: ANOMALY_OUTPUTS.featureErrors },
      threshold: detector.thresholds.combined,
      targetFpr: detector.targetFpr,
      calibratedFpr: detector.calibratedFpr,
      strongThreshold: detector.strong.threshold,
      components: [
        {
          name: "isolation-forest",
          output: ANOMALY_OUTPUTS.isolationForest,
          threshold: detector.thresholds.isolationForest,
        },
        {
          name: "autoencoder",
          output: ANOMALY_OUTPUTS.autoencoder,
          threshold: detector.thresholds.autoencoder,
        },
      ],
      combination: COMBINATION_DESCRIPTION,
      classGate: classGate?.entry,
      training: {
        dataSource: options.dataSource,
        rows: detector.trainingRows,
        classCounts: { [d.classNames[d.benignClass]]: benign.rows },
        hyperparameters: {
          isolationForest: detector.forest.params,
          autoencoder: {
            ...detector.autoencoder.params,
            layers: detector.autoencoder.layers.map((l) => [l.inputs, l.outputs]),
          },
          calibrationRows: detector.calibrationRows,
          scaling: "sign(x)*log1p(|x|), median / (IQR/1.349), in graph",
        },
        metrics: {
          ...metrics,
          strongThreshold: describeStrongThreshold(detector.strong),
          autoencoderLoss: detector.autoencoder.lossHistory,
        },
        date,
        tool: TRAINER_VERSION,
        seconds,
        onnxAgreement: { rows: evaluation.rows, maxAbsDiffScore: onnxMaxAbsDiff },
      },
    });
    onnxFiles.push(onnx);
  }
  if (models.length === 0) {
    throw new Error(
      `nothing to train: ${presentClasses} class(es) and ${benignRows.length} benign rows ` +
        `(a classifier needs 2 classes, the anomaly detector 50 benign rows)`,
    );
  }
  const json: BundleJsonInput = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    featureSet: {
      name: options.featureSet.name,
      version: String(options.featureSet.version),
      columns: d.columnNames,
    },
    input: { name: INPUT_NAME, width: d.cols },
    preprocessing: {
      columns: d.columnNames,
      nonFiniteValue: 0,
      categorical: options.vocabularies ?? [],
      scaling,
    },
    models,
    training: {
      dataSource: options.dataSource,
      rows: d.rows,
      classCounts: classCounts(d),
      metrics: { loaderIssues: d.issues ?? {} },
      date,
      tool: TRAINER_VERSION,
    },
    createdAt: date,
    tool: { name: "ids-sensor", version: "0.1.0" },
  };
  await writeBundle(options.outDir, json, onnxFiles);
  return summary;
}

/**
 * The gate's bundle entry and summary: its rejection of genuine rows of each
 * gated class in the evaluation split (rows neither the profile nor the
 * threshold saw), and the ONNX distances against the TypeScript ones.
 */
function describeClassGate(
  gate: ClassGate,
  scaling: ScalingParameters,
  evaluation: Dataset,
  onnxOut: Awaited<ReturnType<typeof runOnnxModel>>,
  classNames: string[],
) {
  const expected = classDistances(gate, scaling, evaluation.x, evaluation.rows);
  const onnxMaxAbsDiff = maxAbsDiff(
    onnxOut[CLASS_DISTANCE_OUTPUT].data as Float32Array,
    expected,
  );
  const classes = gate.classNames.length;
  const heldOutRows: Record<string, number> = {};
  const heldOutRejected: Record<string, number> = {};
  let rows = 0;
  let rejected = 0;
  for (let r = 0; r < evaluation.rows; r++) {
    const k = gate.classNames.indexOf(classNames[evaluation.y[r]]);
    if (k < 0) continue;
    const name = gate.classNames[k];
    heldOutRows[name] = (heldOutRows[name] ?? 0) + 1;
    rows++;
    if (expected[r * classes + k] > gate.thresholds[k]) {
      heldOutRejected[name] = (heldOutRejected[name] ?? 0) + 1;
      rejected++;
    }
  }
  const heldOutRejection = rows ? rejected / rows : 0;
  return {
    summary: { classes: gate.classNames, heldOutRejection, onnxMaxAbsDiff },
    entry: {
      output: CLASS_DISTANCE_OUTPUT,
      classNames: gate.classNames,
      thresholds: Array.from(gate.thresholds),
      targetRejection: gate.targetRejection,
      calibratedRejection: gate.calibratedRejection,
      distance: CLASS_DISTANCE_DESCRIPTION,
      training: {
        fitRows: gate.fitRows,
        calibrationRows: gate.calibrationRows,
        spreadFloor: gate.spreadFloor,
        clip: gate.clip,
        thresholdMargin: gate.thresholdMargin,
        calibratedQuantiles: Array.from(gate.calibratedQuantiles),
        center: "per-feature median of the fit rows (scaled units)",
        spread: "per-feature MAD * 1.4826 of the fit rows, floored (scaled units)",
        heldOutRows,
        heldOutRejected,
        heldOutRejection,
        onnxAgreement: { rows: evaluation.rows, maxAbsDiffDistance: onnxMaxAbsDiff },
      },
    },
  };
}

/** The strong threshold's calibration, in the bundle's training record (says when it fell back). */
function describeStrongThreshold(strong: StrongThreshold) {
  return {
    ...strong,
    rule: strong.method === "quantile"
      ? `quantile of ${strong.rows} held-out benign scores at rate ${strong.targetFpr}`
      : `held-out benign set too small for rate ${strong.targetFpr} (${strong.rows} rows, fewer than ` +
        `${STRONG_MIN_ROWS_ABOVE} expected above): largest held-out benign score ${strong.maxScore} x margin ${strong.margin}`,
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}
