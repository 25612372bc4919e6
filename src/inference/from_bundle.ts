/**
 * Reads a loaded model bundle (see bundle.ts) into what the inference pool,
 * the decision and the alert explanations need.
 */
import { join } from "node:path";
import type { LoadedBundle } from "./bundle.ts";
import type { DecisionConfig } from "./decision.ts";
import type { InferenceModels, ModelSpec } from "./model_spec.ts";

/** Class threshold used when the bundle gives none. */
export const DEFAULT_CLASS_THRESHOLD = 0.5;

/** The models of a bundle, ready for `createInferencePool`. */
export function inferenceModelsFromBundle(bundle: LoadedBundle): InferenceModels {
  const { json } = bundle;
  const scaling = json.preprocessing.scaling;
  const models: ModelSpec[] = json.models.map((m, i) => {
    if (m.role === "classifier") {
      return {
        name: m.name,
        role: "classifier",
        onnx: bundle.onnx[i],
        source: join(bundle.dir, m.file),
        inputName: m.inputName,
        outputName: m.outputs.probabilities,
      };
    }
    return {
      name: m.name,
      role: "anomaly",
      onnx: bundle.onnx[i],
      source: join(bundle.dir, m.file),
      inputName: m.inputName,
      outputName: m.outputs.score,
      featureErrorsOutput: m.outputs.featureErrors,
      classDistanceOutput: m.classGate?.output,
      votesOutput: m.ensemble?.votesOutput,
      // Scaling serves the anomaly models; apply it here only when their graphs do not.
      preprocessing: scaling && !scaling.inGraph
        ? {
          mean: scaling.center,
          scale: scaling.scale,
          log1p: scaling.logColumns.map((v) => v === 1),
        }
        : undefined,
    };
  });
  return { width: json.input.width, models, nonFiniteValue: json.preprocessing.nonFiniteValue };
}

/**
 * Command-line overrides of the bundle's scoring thresholds (the alert
 * rule's overrides are the engine's, see src/engine/thresholds.ts).
 */
export interface ThresholdOverrides {
  /** `--threshold`: every class threshold. */
  threshold?: number;
  /** `--anomaly-threshold`. */
  anomalyThreshold?: number;
  /** false: ignore the bundle's class gate (the classifier's claims stand, as without one). */
  classGate?: boolean;
}

/** Thresholds and class names of the bundle's first classifier and first anomaly model. */
export function decisionConfigFromBundle(
  bundle: LoadedBundle,
  overrides: ThresholdOverrides = {},
): DecisionConfig {
  const classifier = bundle.json.models.find((m) => m.role === "classifier");
  const anomaly = bundle.json.models.find((m) => m.role === "anomaly");
  const classNames = classifier?.role === "classifier" ? classifier.classNames : [];
  const benign = classifier?.role === "classifier" ? classifier.benignClass : null;
  const thresholds = classifier?.role === "classifier" && classifier.classThresholds
    ? classifier.classThresholds
    : classNames.map(() => DEFAULT_CLASS_THRESHOLD);
  const gate = anomaly?.role === "anomaly" && overrides.classGate !== false
    ? anomaly.classGate
    : undefined;
  return {
    classNames,
    benignClass: benign === null ? -1 : classNames.indexOf(benign),
    classGate: gate
      ? {
        column: classNames.map((name) => gate.classNames.indexOf(name)),
        thresholds: classNames.map((name) => {
          const k = gate.classNames.indexOf(name);
          return k >= 0 ? gate.thresholds[k] : Number.POSITIVE_INFINITY;
        }),
      }
      : undefined,
    classThresholds: thresholds,
    anomalyThreshold: anomaly?.role === "anomaly" ? anomaly.threshold : undefined,
    thresholdOverride: overrides.threshold,
    anomalyThresholdOverride: overrides.anomalyThreshold,
  };
}

/** Names of the bundle's models by role, for `alert.model`. */
export function modelNames(
  bundle: LoadedBundle,
): { classifier?: string; anomaly?: string; voters?: string[] } {
  const anomaly = bundle.json.models.find((m) => m.role === "anomaly");
  return {
    classifier: bundle.json.models.find((m) => m.role === "classifier")?.name,
    anomaly: anomaly?.name,
    // An ensemble's members, in the column order of its votes output.
    voters: anomaly?.role === "anomaly" ? anomaly.ensemble?.members.map((m) => m.name) : undefined,
  };
}

/**
 * Per-column baseline for explaining alerts: the scaling's center and scale
 * (fitted on benign rows), so `zscore = (slog?(x) - center) / scale`.
 */
export interface FeatureBaseline {
  columns: readonly string[];
  center: Float32Array;
  scale: Float32Array;
  logColumns: Uint8Array;
}

/** The bundle's feature baseline, or null when it keeps no scaling. */
export function featureBaselineFromBundle(bundle: LoadedBundle): FeatureBaseline | null {
  const scaling = bundle.json.preprocessing.scaling;
  if (!scaling) return null;
  return {
    columns: bundle.json.preprocessing.columns,
    center: Float32Array.from(scaling.center),
    scale: Float32Array.from(scaling.scale),
    logColumns: Uint8Array.from(scaling.logColumns),
  };
}
