/**
 * The anomaly stages: fit the isolation forest and the autoencoder on benign
 * rows only (keeping some back), calibrate their thresholds on the rows kept
 * back, then export the one graph that computes the score (and the class
 * gate's distances, when there is one), check it against TypeScript and
 * measure it on the held-out evaluation rows.
 */
import type { BundleJsonInput } from "../../inference/mod.ts";
import {
  ANOMALY_OUTPUTS,
  type AnomalyDetector,
  anomalyDetectorToOnnx,
  anomalyScores,
  calibrateAnomalyDetector,
  COMBINATION_DESCRIPTION,
  fitAnomalyModels,
  type FittedAnomalyModels,
  STRONG_MIN_ROWS_ABOVE,
  type StrongThreshold,
} from "../anomaly/mod.ts";
import type { ClassGate } from "../class_gate.ts";
import type { Dataset } from "../dataset.ts";
import { rocAuc } from "../metrics.ts";
import { runOnnxModel } from "../onnx/mod.ts";
import type { ProgressReporter } from "../progress.ts";
import {
  type AnomalyEntryInput,
  INPUT_NAME,
  maxAbsDiff,
  type ModelPart,
  type StageContext,
  TRAINER_VERSION,
} from "./common.ts";
import { classProfilesEntry, type ClassProfilesSummary } from "./class_profiles.ts";

/** Options of {@link fitAnomalyStage}. */
export interface AnomalyStageOptions {
  seed: number;
  /** Autoencoder epochs. */
  epochs: number;
  /** Target false-positive rate (recorded; {@link calibrateAnomalyStage} sets the thresholds). */
  targetFpr: number;
}

/** Held-out figures of the anomaly detector. */
export interface AnomalySummary {
  rocAuc: number;
  heldOutBenignFpr: number;
  /** Benign rows of the evaluation split behind `heldOutBenignFpr`. */
  heldOutBenignRows: number;
  /** Benign rows the thresholds were calibrated on. */
  calibrationRows: number;
  detectionRate: number;
  threshold: number;
  strongThreshold: number;
  onnxMaxAbsDiff: number;
  seconds: number;
}

/** The anomaly detector's part of the bundle, the scaling it fitted, and what it measured. */
export interface AnomalyStage extends ModelPart<AnomalyEntryInput> {
  /** preprocessing.scaling of the bundle (the graph applies it itself). */
  scaling: NonNullable<BundleJsonInput["preprocessing"]["scaling"]>;
  summary: AnomalySummary;
  classGate?: ClassProfilesSummary;
}

/** Fits the anomaly models on `benign` (rows of the benign class only); thresholds not yet set. */
export function fitAnomalyStage(
  benign: Dataset,
  options: AnomalyStageOptions,
  progress?: ProgressReporter,
): FittedAnomalyModels {
  return fitAnomalyModels(benign.x, benign.rows, benign.cols, {
    targetFpr: options.targetFpr,
    autoencoder: { epochs: options.epochs },
    seed: options.seed,
  }, progress);
}

/**
 * The calibration stage: every anomaly threshold set on benign rows the
 * models were not fitted on, to `targetFpr` (the strong threshold to a tenth
 * of it). Given other benign rows, it re-thresholds a fitted detector.
 */
export function calibrateAnomalyStage(
  fitted: FittedAnomalyModels,
  targetFpr: number,
): AnomalyDetector {
  return calibrateAnomalyDetector(
    fitted.detector,
    fitted.calibrationX,
    fitted.detector.calibrationRows,
    targetFpr,
  );
}

/**
 * Exports `detector` (with `classGate`, fitted in its scaled space) to one
 * ONNX graph, checks the graph against TypeScript on `evaluation` and
 * measures it there; `benignRows` and `seconds` go to the training record.
 */
export async function anomalyModelPart(
  detector: AnomalyDetector,
  classGate: ClassGate | undefined,
  evaluation: Dataset,
  context: StageContext,
  record: { benignRows: number; seconds: number },
): Promise<AnomalyStage> {
  const benignName = evaluation.classNames[evaluation.benignClass];
  const scores = anomalyScores(detector, evaluation.x, evaluation.rows);
  const isAttack = Array.from(evaluation.y, (c) => c !== evaluation.benignClass);
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
  const onnx = anomalyDetectorToOnnx(detector, INPUT_NAME, classGate);
  const onnxOut = await runOnnxModel(
    onnx,
    INPUT_NAME,
    evaluation.x,
    evaluation.rows,
    evaluation.cols,
  );
  const onnxMaxAbsDiff = maxAbsDiff(
    onnxOut[ANOMALY_OUTPUTS.score].data as Float32Array,
    scores.score,
  );
  const gate = classGate
    ? classProfilesEntry(classGate, detector.scaling, evaluation, onnxOut)
    : undefined;
  const metrics = {
    heldOutRows: evaluation.rows,
    rocAuc: rocAuc(scores.score, isAttack),
    rocAucIsolationForest: rocAuc(scores.isolationForest, isAttack),
    rocAucAutoencoder: rocAuc(scores.autoencoder, isAttack),
    heldOutBenignFpr: benignCount ? falsePositives / benignCount : 0,
    detectionRate: attacks ? detected / attacks : 0,
  };
  return {
    summary: {
      rocAuc: metrics.rocAuc,
      heldOutBenignFpr: metrics.heldOutBenignFpr,
      heldOutBenignRows: benignCount,
      calibrationRows: detector.calibrationRows,
      detectionRate: metrics.detectionRate,
      threshold: detector.thresholds.combined,
      strongThreshold: detector.strong.threshold,
      onnxMaxAbsDiff,
      seconds: record.seconds,
    },
    classGate: gate?.summary,
    scaling: {
      logColumns: Array.from(detector.scaling.logColumns),
      center: Array.from(detector.scaling.center),
      scale: Array.from(detector.scaling.scale),
      inGraph: true,
    },
    onnx,
    entry: {
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
      classGate: gate?.entry,
      training: {
        dataSource: context.dataSource,
        rows: detector.trainingRows,
        classCounts: { [benignName]: record.benignRows },
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
        date: context.date,
        tool: TRAINER_VERSION,
        seconds: record.seconds,
        onnxAgreement: { rows: evaluation.rows, maxAbsDiffScore: onnxMaxAbsDiff },
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
