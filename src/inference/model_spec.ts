/**
 * What the inference worker needs to know about each model: the ONNX bytes,
 * its role, and how to turn raw feature rows into model input. This is the
 * runner's own narrow view; `fromModelBundle` (see `bundle_adapter.ts`) builds
 * it from a loaded model bundle.
 */
import type { KitNetJson } from "../packet_models/mod.ts";

/** A model's job: class probabilities, or one anomaly score per row. */
export type ModelRole = "classifier" | "anomaly";

/**
 * Per-column transform applied in the worker before the ONNX graph, for
 * bundles that keep scaling outside the graph:
 * `x' = (slog?(x) - mean) / scale` with `slog(x) = sign(x) * log1p(|x|)`
 * (the same transform as src/train/onnx/scaling.ts). Non-finite inputs become 0 first
 * (CICFlowMeter rates can be Infinity).
 */
export interface Preprocessing {
  /** Per-column mean (subtracted). */
  mean: ArrayLike<number>;
  /** Per-column scale (divided); 0 is treated as 1. */
  scale: ArrayLike<number>;
  /** Columns to pass through `sign(x) * log1p(|x|)` before standardising. */
  log1p?: ArrayLike<boolean>;
}

/** One model, as the worker loads it. */
export interface ModelSpec {
  /** Name reported in alerts (`alert.model`). */
  name: string;
  role: ModelRole;
  /** The ONNX file's bytes (unused when `kitnet` is given). */
  onnx: Uint8Array;
  /**
   * A KitNET's weights (kitNetToJson): the worker scores the model with the
   * typed-array KitNetScorer instead of running `onnx` (the same sums in
   * float64, 2-10 times faster than onnxruntime-web's graph of small MatMuls).
   */
  kitnet?: KitNetJson;
  /** Where the bytes came from (the file's path), named when they are not a usable model. */
  source?: string;
  /** Graph input to feed; default: the graph's first input. */
  inputName?: string;
  /**
   * Graph output to read. Default: for a classifier the first float output
   * shaped [rows, classes] (so a tree ensemble's int64 `label` is skipped);
   * for an anomaly model the first float output.
   */
  outputName?: string;
  /** Anomaly models: graph output with per-feature squared errors `[N, width]`, if any. */
  featureErrorsOutput?: string;
  /** Anomaly models: graph output with each row's distance to each gated class `[N, classes]`, if any. */
  classDistanceOutput?: string;
  /** Ensembles: graph output with each row's member votes `[N, members]` (1 voted, 0 not), if any. */
  votesOutput?: string;
  /** Scaling kept outside the graph; omit when the graph scales itself. */
  preprocessing?: Preprocessing;
}

/** Everything the pool needs: the input width and the models to run on each row. */
export interface InferenceModels {
  /** Feature columns per row. */
  width: number;
  models: ModelSpec[];
  /** What NaN and ±Infinity inputs become before any model sees them (default 0). */
  nonFiniteValue?: number;
}

/**
 * The scores of one model for a set of rows. `values` has one entry (row of
 * `columns`) per input row. The wide per-row fields (`featureErrors`,
 * `classDistance`, `votes`) may hold one row per distinct input row instead:
 * floods and scans send thousands of identical rows, the worker scores each
 * once, and copying 77 feature errors back to every repeat cost more than the
 * scoring. Then `detailRowOf[r]` is the row of those fields that holds input
 * row r's; read them through {@link detailRow} (or {@link denseScores}). A new
 * wide field must be handled there, in runner.ts (viewRows, copyRows) and in
 * worker.ts.
 */
export interface ModelOutput {
  name: string;
  role: ModelRole;
  /** Classifier: number of classes (columns of `values`); anomaly: 1. */
  columns: number;
  /** Classifier: row-major probabilities `rows * columns`; anomaly: one score per row. */
  values: Float32Array;
  /**
   * Anomaly models that output a reconstruction (autoencoders): the squared
   * error per feature, `rows * width`, in preprocessed units. The score is its row mean.
   */
  featureErrors?: Float32Array;
  /**
   * Anomaly models with a class gate: each row's distance to each gated class,
   * row-major `rows * classDistanceColumns` (see bundle.ts `classGate`).
   */
  classDistance?: Float32Array;
  /** Columns of `classDistance` (gated classes). */
  classDistanceColumns?: number;
  /** Ensembles: each row's member votes, row-major `rows * voteColumns` (1 voted). */
  votes?: Float32Array;
  /** Columns of `votes` (members). */
  voteColumns?: number;
  /**
   * When set, one entry per input row: the row of `featureErrors`,
   * `classDistance` and `votes` that holds it (identical input rows share
   * one). Absent: input row r is at row r.
   */
  detailRowOf?: Int32Array;
}

/** The row of `o`'s wide fields (`featureErrors`, `classDistance`, `votes`) holding input row `r`. */
export function detailRow(o: ModelOutput, r: number): number {
  return o.detailRowOf === undefined ? r : o.detailRowOf[r];
}

/**
 * `scores` with every wide field at one row per input row (no
 * `detailRowOf`), for consumers that keep or send whole arrays (remote
 * scoring). `width`: feature columns (the row width of `featureErrors`).
 */
export function denseScores(scores: ModelScores, width: number): ModelScores {
  if (!scores.outputs.some((o) => o.detailRowOf !== undefined)) return scores;
  return {
    rows: scores.rows,
    outputs: scores.outputs.map((o) => {
      const map = o.detailRowOf;
      if (map === undefined) return o;
      const dense = (from: Float32Array | undefined, columns: number) => {
        if (from === undefined) return undefined;
        const out = new Float32Array(map.length * columns);
        for (let r = 0; r < map.length; r++) {
          out.set(from.subarray(map[r] * columns, (map[r] + 1) * columns), r * columns);
        }
        return out;
      };
      const { detailRowOf: _, ...rest } = o;
      return {
        ...rest,
        featureErrors: dense(o.featureErrors, width),
        classDistance: dense(o.classDistance, o.classDistanceColumns ?? 0),
        votes: dense(o.votes, o.voteColumns ?? 0),
      };
    }),
  };
}

/** Scores of every model for the rows of one `infer` call, in model order. */
export interface ModelScores {
  rows: number;
  outputs: ModelOutput[];
}
