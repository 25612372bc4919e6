/** What every training stage shares: the bundle part it returns and the run's context. */
import type { BundleJsonInput } from "../../inference/mod.ts";
import type { ProgressReporter } from "../progress.ts";

/** Version written into bundles' training info. */
export const TRAINER_VERSION = "ids-sensor-train 0.1.0";
/** Name of the graph input in bundles this trainer writes. */
export const INPUT_NAME = "input";

/** A bundle.json model entry as the trainer writes it (before schema defaults). */
export type ModelEntryInput = BundleJsonInput["models"][number];
/** The classifier's entry. */
export type ClassifierEntryInput = Extract<ModelEntryInput, { role: "classifier" }>;
/** The anomaly detector's entry. */
export type AnomalyEntryInput = Extract<ModelEntryInput, { role: "anomaly" }>;

/** One model of a bundle: its bundle.json entry and the ONNX bytes of its `file`. */
export interface ModelPart<E extends ModelEntryInput = ModelEntryInput> {
  entry: E;
  onnx: Uint8Array;
}

/** What the stages of one training run share. */
export interface StageContext {
  /** Where the rows came from (recorded in every entry's training info). */
  dataSource: string;
  /** The run's date (ISO), the same in every entry. */
  date: string;
  progress: ProgressReporter;
}

/** Largest absolute difference (Infinity when the lengths differ): ONNX against TypeScript. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}
