/**
 * The anomaly detector trained on benign rows only: an isolation forest and
 * an autoencoder, each calibrated on held-out benign rows, combined as
 * `score = max(ifScore / ifThreshold, aeError / aeThreshold)` (each part is 1
 * at its own threshold, so whichever model is more surprised decides), then
 * the combined threshold is calibrated to the target false-positive rate on
 * the same held-out rows. One ONNX graph computes all of it from raw rows.
 */
import { Random } from "../random.ts";
import {
  addScaling,
  addTreeEnsembleRegressor,
  applyScaling,
  OnnxGraphBuilder,
  type ScalingParameters,
} from "../onnx/mod.ts";
import { fitRobustScaling } from "./robust_scaling.ts";
import { type StrongThreshold, strongThresholdForFpr, thresholdForFpr } from "./threshold.ts";
import { addClassDistance, CLASS_DISTANCE_OUTPUT, type ClassGate } from "../class_gate.ts";
import {
  type IsolationForest,
  type IsolationForestParams,
  isolationScores,
  trainIsolationForest,
} from "./isolation_forest.ts";
import {
  type Autoencoder,
  type AutoencoderParams,
  reconstructionErrors,
  trainAutoencoder,
} from "./autoencoder.ts";

/** Output names of the exported anomaly graph. */
export const ANOMALY_OUTPUTS = {
  score: "score",
  isolationForest: "if_score",
  autoencoder: "ae_error",
  featureErrors: "feature_errors",
} as const;

/** How the combined score is formed, for bundle.json. */
export const COMBINATION_DESCRIPTION =
  "score = max(if_score / if_threshold, ae_error / ae_threshold); threshold calibrated on held-out benign rows";

export interface AnomalyTrainingOptions {
  /** False-positive rate on held-out benign rows each threshold is set to; default 0.01. */
  targetFpr: number;
  /** Fraction of benign rows held out for calibration; default 0.2. */
  calibrationFraction: number;
  /** Autoencoder trains on at most this many rows (a random subset); default 50,000. */
  autoencoderMaxRows: number;
  forest: Partial<IsolationForestParams>;
  autoencoder: Partial<AutoencoderParams>;
  seed: number;
}

export const DEFAULT_ANOMALY_OPTIONS: AnomalyTrainingOptions = {
  targetFpr: 0.01,
  calibrationFraction: 0.2,
  autoencoderMaxRows: 50_000,
  forest: {},
  autoencoder: {},
  seed: 1,
};

export interface AnomalyDetector {
  cols: number;
  scaling: ScalingParameters;
  forest: IsolationForest;
  autoencoder: Autoencoder;
  thresholds: { isolationForest: number; autoencoder: number; combined: number };
  targetFpr: number;
  /** Fraction of calibration rows above the combined threshold. */
  calibratedFpr: number;
  /**
   * Combined score a single flow must reach to be alerted on its own,
   * calibrated on the same rows at `targetFpr / 10` (see threshold.ts).
   */
  strong: StrongThreshold;
  trainingRows: number;
  calibrationRows: number;
}

/** Scores of each part and the combined score. */
export interface AnomalyScores {
  score: Float32Array;
  isolationForest: Float32Array;
  autoencoder: Float32Array;
}

/** Trains on benign raw rows (`rows x cols`): {@link fitAnomalyModels}, then {@link calibrateAnomalyDetector}. */
export function trainAnomalyDetector(
  x: Float32Array,
  rows: number,
  cols: number,
  options: Partial<AnomalyTrainingOptions> = {},
  progress?: (stage: string, done: number, total: number) => void,
): AnomalyDetector {
  const targetFpr = options.targetFpr ?? DEFAULT_ANOMALY_OPTIONS.targetFpr;
  const fitted = fitAnomalyModels(x, rows, cols, options, progress);
  return calibrateAnomalyDetector(
    fitted.detector,
    fitted.calibrationX,
    fitted.detector.calibrationRows,
    targetFpr,
  );
}

/** Anomaly models fitted but not yet calibrated, and the benign rows kept back to calibrate them. */
export interface FittedAnomalyModels {
  /** Thresholds are placeholders (1) until {@link calibrateAnomalyDetector}. */
  detector: AnomalyDetector;
  /** The held-out benign rows (`detector.calibrationRows x cols`), never seen by the fit. */
  calibrationX: Float32Array;
}

/**
 * Fits the scaling, the isolation forest and the autoencoder on a random
 * `1 - calibrationFraction` of the benign rows and keeps the rest back for
 * calibration.
 */
export function fitAnomalyModels(
  x: Float32Array,
  rows: number,
  cols: number,
  options: Partial<AnomalyTrainingOptions> = {},
  progress?: (stage: string, done: number, total: number) => void,
): FittedAnomalyModels {
  const o = { ...DEFAULT_ANOMALY_OPTIONS, ...options };
  const rng = new Random(o.seed);
  if (rows < 20) throw new Error(`anomaly detector needs at least 20 benign rows, got ${rows}`);
  const order = rng.shuffle(Uint32Array.from({ length: rows }, (_, i) => i));
  const calibrationRows = Math.max(10, Math.round(rows * o.calibrationFraction));
  const trainIdx = order.subarray(calibrationRows);
  const calIdx = order.subarray(0, calibrationRows);
  const gather = (idx: Uint32Array) => {
    const out = new Float32Array(idx.length * cols);
    idx.forEach((r, i) => out.set(x.subarray(r * cols, (r + 1) * cols), i * cols));
    return out;
  };
  const trainX = gather(trainIdx);
  const calibrationX = gather(calIdx);
  const scaling = fitRobustScaling(trainX, trainIdx.length, cols);
  progress?.("isolation forest", 0, 1);
  const forest = trainIsolationForest(trainX, trainIdx.length, cols, scaling, rng, o.forest);
  progress?.("isolation forest", 1, 1);
  const aeRows = Math.min(trainIdx.length, o.autoencoderMaxRows);
  const aeX = aeRows < trainIdx.length
    ? gather(rng.shuffle(trainIdx.slice()).subarray(0, aeRows))
    : trainX;
  const z = applyScaling(scaling, aeX, aeRows);
  const autoencoder = trainAutoencoder(
    z,
    aeRows,
    cols,
    rng,
    o.autoencoder,
    (e, total) => progress?.("autoencoder epoch", e, total),
  );
  const detector: AnomalyDetector = {
    cols,
    scaling,
    forest,
    autoencoder,
    thresholds: { isolationForest: 1, autoencoder: 1, combined: 1 },
    targetFpr: o.targetFpr,
    calibratedFpr: 0,
    strong: {
      threshold: Infinity,
      targetFpr: 0,
      method: "quantile",
      maxScore: 0,
      rows: 0,
      calibratedFpr: 0,
    },
    trainingRows: trainIdx.length,
    calibrationRows,
  };
  return { detector, calibrationX };
}

/**
 * Sets every threshold of `detector` on benign rows it was not fitted on:
 * each part's to `targetFpr`, then the combined score's, then the strong
 * threshold (see threshold.ts). Returns a calibrated copy; the models are
 * shared, not copied. Usable alone to re-threshold on new benign traffic.
 */
export function calibrateAnomalyDetector(
  detector: AnomalyDetector,
  x: Float32Array,
  rows: number,
  targetFpr: number,
): AnomalyDetector {
  const calibrated: AnomalyDetector = {
    ...detector,
    thresholds: { isolationForest: 1, autoencoder: 1, combined: 1 },
    targetFpr,
    calibrationRows: rows,
  };
  const parts = anomalyScores(calibrated, x, rows);
  calibrated.thresholds.isolationForest = thresholdForFpr(parts.isolationForest, targetFpr);
  calibrated.thresholds.autoencoder = Math.max(
    thresholdForFpr(parts.autoencoder, targetFpr),
    1e-12,
  );
  const combined = anomalyScores(calibrated, x, rows).score;
  calibrated.thresholds.combined = thresholdForFpr(combined, targetFpr);
  let above = 0;
  for (const s of combined) if (s > calibrated.thresholds.combined) above++;
  calibrated.calibratedFpr = above / rows;
  calibrated.strong = strongThresholdForFpr(combined, targetFpr);
  return calibrated;
}

/** Scores raw rows in TypeScript (what the ONNX graph computes). */
export function anomalyScores(det: AnomalyDetector, x: Float32Array, rows: number): AnomalyScores {
  const isolationForest = isolationScores(det.forest, x, rows);
  const z = applyScaling(det.scaling, x, rows);
  const autoencoder = reconstructionErrors(det.autoencoder, z, rows);
  const score = new Float32Array(rows);
  const invIf = Math.fround(1 / det.thresholds.isolationForest);
  const invAe = Math.fround(1 / det.thresholds.autoencoder);
  for (let i = 0; i < rows; i++) {
    score[i] = Math.max(isolationForest[i] * invIf, autoencoder[i] * invAe);
  }
  return { score, isolationForest, autoencoder };
}

/**
 * ONNX graph: input `[N, cols]` raw rows -> `score` `[N]` (combined),
 * `if_score` `[N]`, `ae_error` `[N]`, `feature_errors` `[N, cols]`, and with a
 * class gate (fitted in the same scaled space) `class_distance` `[N, classes]`.
 */
export function anomalyDetectorToOnnx(
  det: AnomalyDetector,
  inputName = "input",
  classGate?: ClassGate,
): Uint8Array {
  const g = new OnnxGraphBuilder("anomaly_detector");
  const cols = det.cols;
  g.addInput(inputName, "float32", ["N", cols]);
  g.addInt64Initializer("flat_shape", [-1], [1]);
  // Isolation forest on raw rows: mean path length, then 2^(-h / c(n)) = exp(-ln2 / c(n) * h).
  addTreeEnsembleRegressor(g, inputName, det.forest.trees, {
    nTargets: 1,
    output: "if_path_length",
    aggregate: "AVERAGE",
  });
  g.addFloatInitializer("if_exponent", [-Math.LN2 / det.forest.normaliser], [1]);
  const [ifLogit] = g.addNode("Mul", ["if_path_length", "if_exponent"]);
  const [ifScore2d] = g.addNode("Exp", [ifLogit]);
  g.addNode("Reshape", [ifScore2d, "flat_shape"], { outputs: [ANOMALY_OUTPUTS.isolationForest] });
  // Autoencoder on scaled rows.
  const scaled = addScaling(g, inputName, det.scaling);
  let h = scaled;
  det.autoencoder.layers.forEach((L, l) => {
    g.addFloatInitializer(`ae_w${l}`, L.weights, [L.inputs, L.outputs]);
    g.addFloatInitializer(`ae_b${l}`, L.bias, [L.outputs]);
    const [m] = g.addNode("MatMul", [h, `ae_w${l}`]);
    const [a] = g.addNode("Add", [m, `ae_b${l}`]);
    h = L.relu ? g.addNode("Relu", [a])[0] : a;
  });
  const [diff] = g.addNode("Sub", [h, scaled]);
  g.addNode("Mul", [diff, diff], { outputs: [ANOMALY_OUTPUTS.featureErrors] });
  g.addNode("ReduceMean", [ANOMALY_OUTPUTS.featureErrors], {
    outputs: [ANOMALY_OUTPUTS.autoencoder],
    attributes: { axes: { ints: [1] }, keepdims: 0 },
  });
  // Combined score.
  g.addFloatInitializer("if_inv_threshold", [1 / det.thresholds.isolationForest], [1]);
  g.addFloatInitializer("ae_inv_threshold", [1 / det.thresholds.autoencoder], [1]);
  const [ifRatio] = g.addNode("Mul", [ANOMALY_OUTPUTS.isolationForest, "if_inv_threshold"]);
  const [aeRatio] = g.addNode("Mul", [ANOMALY_OUTPUTS.autoencoder, "ae_inv_threshold"]);
  g.addNode("Max", [ifRatio, aeRatio], { outputs: [ANOMALY_OUTPUTS.score] });
  g.addOutput(ANOMALY_OUTPUTS.score, "float32", ["N"]);
  g.addOutput(ANOMALY_OUTPUTS.isolationForest, "float32", ["N"]);
  g.addOutput(ANOMALY_OUTPUTS.autoencoder, "float32", ["N"]);
  g.addOutput(ANOMALY_OUTPUTS.featureErrors, "float32", ["N", cols]);
  if (classGate) {
    if (classGate.cols !== cols) {
      throw new Error(`class gate has ${classGate.cols} columns, the detector ${cols}`);
    }
    addClassDistance(g, scaled, classGate, CLASS_DISTANCE_OUTPUT);
    g.addOutput(CLASS_DISTANCE_OUTPUT, "float32", ["N", classGate.classNames.length]);
  }
  return g.build({ model: "isolation-forest+autoencoder", combination: COMBINATION_DESCRIPTION });
}
