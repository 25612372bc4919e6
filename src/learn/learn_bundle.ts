/**
 * `learn`: a bundle for this network from its normal traffic only. The base
 * bundle's known-attack classifier is kept as it is (attacks look alike
 * everywhere; it cannot be retrained without attack rows); everything that
 * describes "normal" is refitted on the benign rows given:
 *
 * - the anomaly detector (isolation forest + autoencoder) and its scaling
 *   (the benign baseline that alerts' top features are measured against);
 * - its thresholds, calibrated on benign rows it was not fitted on;
 * - the open-set class gate, carried over exactly into the new scaled space
 *   (class_gate_transfer.ts);
 * - each attack class's probability threshold, raised where this network's
 *   normal flows would cross it (never lowered below the base's).
 *
 * The rows are assumed benign: learn on traffic you trust.
 */
import {
  type AnomalyModel,
  type BundleJsonInput,
  type ClassifierModel,
  type LoadedBundle,
  writeBundle,
} from "../inference/mod.ts";
import {
  anomalyModelPart,
  assembleBundleJson,
  calibrateAnomalyStage,
  type ClassGate,
  type Dataset,
  fitAnomalyStage,
  type ModelPart,
  type ProgressReporter,
  Random,
  runOnnxModel,
  selectRows,
  type StageContext,
  stratifiedSplit,
} from "../train/mod.ts";
import { readClassGate, rescaleClassGate } from "./class_gate_transfer.ts";
import { LearnError } from "./learn_error.ts";

/** Fewest benign flows `learn` accepts: below this, a 1% threshold rests on a handful of rows. */
export const MIN_LEARN_FLOWS = 200;

/** Options of {@link learnBundle}. */
export interface LearnOptions {
  /** Bundle folder to write. */
  outDir: string;
  /** Where the rows came from (recorded in the bundle). */
  dataSource: string;
  /** Anomaly false-positive rate on held-out benign rows (default 0.01). */
  targetFpr?: number;
  /**
   * Per attack class, the fraction of this network's benign flows allowed to
   * reach the class's probability threshold (default 0.001).
   */
  classFpr?: number;
  /** Autoencoder epochs (default 20). */
  epochs?: number;
  seed?: number;
  /** Fraction of rows held out to report the learned detector's false-positive rate. */
  evaluationFraction?: number;
  progress?: ProgressReporter;
}

/** How one attack class's threshold moved. */
export interface ClassThresholdChange {
  className: string;
  base: number;
  /** This network's benign flows' probability for the class at 1 - classFpr. */
  benignQuantile: number;
  learned: number;
  /** Held-in benign flows at or above the learned threshold. */
  benignAbove: number;
}

/** What {@link learnBundle} did. */
export interface LearnSummary {
  bundleDir: string;
  flows: number;
  heldOutFlows: number;
  keptClassifier: string | null;
  anomalyThreshold: number;
  strongThreshold: number;
  /** Fraction of the held-out benign flows above the learned threshold. */
  heldOutBenignFpr: number;
  classGate: string[] | null;
  classThresholds: ClassThresholdChange[];
  /**
   * The base bundle's packet members, not carried into the learned bundle: their thresholds
   * were calibrated on another network's packets (`train --packet-models --base-bundle` makes
   * them for this one).
   */
  packetMembersNotCarried: string[];
}

/**
 * Learns a bundle from `benign` (every row taken as normal traffic of this
 * network) on top of `base`, and writes it to `options.outDir`.
 */
export async function learnBundle(
  benign: Dataset,
  base: LoadedBundle,
  options: LearnOptions,
): Promise<LearnSummary> {
  if (benign.rows < MIN_LEARN_FLOWS) {
    throw new LearnError(
      `learn needs at least ${MIN_LEARN_FLOWS} flows of normal traffic, ${benign.source} gave ` +
        `${benign.rows}: capture for longer (or on a busier interface)`,
      "data",
    );
  }
  const baseColumns = base.json.featureSet.columns;
  if (
    baseColumns.length !== benign.cols ||
    baseColumns.some((c, i) => c !== benign.columnNames[i])
  ) {
    throw new LearnError(
      `base bundle ${base.dir} has other columns (${baseColumns.length}) than the flows (${benign.cols})`,
      "data",
    );
  }
  const targetFpr = options.targetFpr ?? 0.01;
  const classFpr = options.classFpr ?? 0.001;
  const progress = options.progress ?? (() => {});
  const context: StageContext = {
    dataSource: options.dataSource,
    date: new Date().toISOString(),
    progress,
  };
  const rng = new Random(options.seed ?? 1);
  const split = stratifiedSplit(benign.y, options.evaluationFraction ?? 0.2, rng);
  const train = selectRows(benign, split.train);
  const evaluation = selectRows(benign, split.heldOut);

  const parts: ModelPart[] = [];
  const classifierIndex = base.json.models.findIndex((m) => m.role === "classifier");
  let classThresholds: ClassThresholdChange[] = [];
  let keptClassifier: string | null = null;
  if (classifierIndex >= 0) {
    const entry = base.json.models[classifierIndex] as ClassifierModel;
    const onnx = base.onnx[classifierIndex];
    classThresholds = await refitClassThresholds(entry, onnx, train, classFpr);
    const learned = entry.classNames.map((name, k) =>
      classThresholds.find((c) => c.className === name)?.learned ??
        entry.classThresholds?.[k] ?? 0.5
    );
    parts.push({
      entry: {
        ...entry,
        classThresholds: learned,
        training: {
          ...entry.training,
          learnedThresholds: {
            rule: `max(base threshold, quantile 1-${classFpr} of this network's benign flows), ` +
              "at most 0.9999",
            rows: train.rows,
            classes: classThresholds,
            date: context.date,
          },
        },
      },
      onnx,
    });
    keptClassifier = entry.name;
  }

  const started = performance.now();
  const fitted = fitAnomalyStage(train, {
    seed: options.seed ?? 1,
    epochs: options.epochs ?? 20,
    targetFpr,
  }, progress);
  const detector = calibrateAnomalyStage(fitted, targetFpr);
  const seconds = (performance.now() - started) / 1000;

  let gate: ClassGate | undefined;
  const baseAnomalyIndex = base.json.models.findIndex((m) => m.role === "anomaly");
  const baseAnomaly = baseAnomalyIndex >= 0
    ? base.json.models[baseAnomalyIndex] as AnomalyModel
    : undefined;
  const baseScaling = base.json.preprocessing.scaling;
  if (baseAnomaly?.classGate && baseScaling && keptClassifier) {
    gate = rescaleClassGate(
      readClassGate(baseAnomaly, base.onnx[baseAnomalyIndex]),
      baseScaling,
      detector.scaling,
    );
  }
  const anomaly = await anomalyModelPart(detector, gate, evaluation, context, {
    benignRows: train.rows,
    seconds,
  });
  if (anomaly.entry.classGate && baseAnomaly?.classGate) {
    // The gate's calibration happened on the base's attack rows: keep that record.
    anomaly.entry.classGate.training = {
      ...baseAnomaly.classGate.training,
      carriedFrom: base.dir,
      rule: "profiles moved exactly into the learned scaling (same distance for every row)",
    };
  }
  parts.push(anomaly);

  const json: BundleJsonInput = assembleBundleJson(benign, parts, {
    featureSet: { name: base.json.featureSet.name, version: base.json.featureSet.version },
    scaling: anomaly.scaling,
  }, context);
  json.training = {
    ...json.training,
    learn: {
      base: base.dir,
      baseCreatedAt: base.json.createdAt,
      benignFlows: benign.rows,
      heldOutFlows: evaluation.rows,
      keptClassifier,
      targetFpr,
      classFpr,
    },
  };
  await writeBundle(options.outDir, json, parts.map((p) => p.onnx));
  return {
    bundleDir: options.outDir,
    flows: benign.rows,
    heldOutFlows: evaluation.rows,
    keptClassifier,
    anomalyThreshold: anomaly.summary.threshold,
    strongThreshold: anomaly.summary.strongThreshold,
    heldOutBenignFpr: anomaly.summary.heldOutBenignFpr,
    classGate: gate ? gate.classNames : null,
    classThresholds,
    packetMembersNotCarried: base.json.packetMembers.map((m) => m.name),
  };
}

/**
 * Raises each attack class's probability threshold to where at most
 * `classFpr` of these benign rows reach it; never below the base threshold.
 */
async function refitClassThresholds(
  entry: ClassifierModel,
  onnx: Uint8Array,
  benign: Dataset,
  classFpr: number,
): Promise<ClassThresholdChange[]> {
  const out = await runOnnxModel(onnx, entry.inputName, benign.x, benign.rows, benign.cols);
  const probabilities = out[entry.outputs.probabilities]?.data as Float32Array | undefined;
  const classes = entry.classNames.length;
  if (!probabilities || probabilities.length !== benign.rows * classes) {
    throw new LearnError(
      `base classifier ${entry.name}: output '${entry.outputs.probabilities}' is not [rows, ${classes}]`,
      "data",
    );
  }
  const changes: ClassThresholdChange[] = [];
  for (let k = 0; k < classes; k++) {
    const className = entry.classNames[k];
    if (className === entry.benignClass) continue;
    const values = new Float64Array(benign.rows);
    for (let r = 0; r < benign.rows; r++) values[r] = probabilities[r * classes + k];
    values.sort();
    const index = Math.min(benign.rows - 1, Math.floor((1 - classFpr) * benign.rows));
    const quantile = values[index];
    const base = entry.classThresholds?.[k] ?? 0.5;
    // Just above the quantile: the flows at it stay below the threshold.
    const learned = Math.min(0.9999, Math.max(base, Math.fround(quantile + 1e-4)));
    let above = 0;
    for (let r = 0; r < benign.rows; r++) if (values[r] >= learned) above++;
    changes.push({ className, base, benignQuantile: quantile, learned, benignAbove: above });
  }
  return changes;
}
