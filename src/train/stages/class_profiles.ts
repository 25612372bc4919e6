/**
 * The class-profiles stage: the open-set class gate (see ../class_gate.ts),
 * a robust profile and calibrated distance threshold per attack class in the
 * anomaly detector's scaled space, and its bundle entry once the anomaly
 * graph that computes it has been exported.
 */
import {
  CLASS_DISTANCE_DESCRIPTION,
  CLASS_DISTANCE_OUTPUT,
  classDistances,
  type ClassGate,
  type ClassGateOptions,
  fitClassGate,
} from "../class_gate.ts";
import type { Dataset } from "../dataset.ts";
import type { runOnnxModel, ScalingParameters } from "../onnx/mod.ts";
import type { Random } from "../random.ts";
import { type AnomalyEntryInput, maxAbsDiff } from "./common.ts";

/** What the gate measured on held-out rows. */
export interface ClassProfilesSummary {
  classes: string[];
  /** Held-out evaluation rows of gated classes whose distance exceeds their class's threshold. */
  heldOutRejection: number;
  onnxMaxAbsDiff: number;
}

/**
 * Fits a profile per attack class of `train` with enough rows, in the space
 * of `scaling` (the anomaly detector's); undefined when no class qualifies.
 */
export function fitClassProfilesStage(
  train: Dataset,
  scaling: ScalingParameters,
  rng: Random,
  options: Partial<ClassGateOptions> = {},
): ClassGate | undefined {
  const gate = fitClassGate(
    train.x,
    train.y,
    train.rows,
    train.cols,
    train.classNames,
    train.benignClass,
    scaling,
    rng,
    options,
  );
  return gate.classNames.length > 0 ? gate : undefined;
}

/**
 * The gate's bundle entry and summary: its rejection of genuine rows of each
 * gated class in the evaluation split (rows neither the profile nor the
 * threshold saw), and the ONNX distances against the TypeScript ones.
 */
export function classProfilesEntry(
  gate: ClassGate,
  scaling: ScalingParameters,
  evaluation: Dataset,
  onnxOut: Awaited<ReturnType<typeof runOnnxModel>>,
): { entry: NonNullable<AnomalyEntryInput["classGate"]>; summary: ClassProfilesSummary } {
  const classNames = evaluation.classNames;
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
