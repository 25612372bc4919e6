/**
 * Scores rows exactly as the sensor does: the bundle's models in the
 * inference pool (onnxruntime-web in a worker, the same preprocessing), then
 * `decide()` with the bundle's thresholds. Evaluation therefore measures the
 * detector, not a re-implementation of it.
 */
import {
  createInferencePool,
  decide,
  type DecisionConfig,
  decisionConfigFromBundle,
  type Decisions,
  inferenceModelsFromBundle,
  type LoadedBundle,
} from "../inference/mod.ts";
import type { UnknownAlertRule } from "../alert/mod.ts";
import { type DetectionThresholds, unknownAlertRuleFromBundle } from "../engine/mod.ts";

/** Verdicts of every row plus the raw anomaly score (for ROC and plots). */
export interface ScoredRows {
  decisions: Decisions;
  /** The first anomaly model's score per row, or null when the bundle has none. */
  anomalyScore: Float32Array | null;
  /** The decision configuration used (class names, thresholds after overrides). */
  config: DecisionConfig;
  /** When an anomaly-only unknown alert group is emitted (absent: always). */
  unknownRule?: UnknownAlertRule;
}

/** Rows handed to the pool per call, so memory stays bounded on large CSV files. */
const ROWS_PER_CALL = 65_536;

/** Scores `rows` rows of `x` (row-major, the bundle's width) with `bundle`. */
export async function scoreRows(
  bundle: LoadedBundle,
  x: Float32Array,
  rows: number,
  overrides: DetectionThresholds = {},
): Promise<ScoredRows> {
  const models = inferenceModelsFromBundle(bundle);
  const config = decisionConfigFromBundle(bundle, overrides);
  const width = models.width;
  if (x.length < rows * width) {
    throw new Error(`${rows} rows of width ${width} need ${rows * width} values, got ${x.length}`);
  }
  const decisions: Decisions = {
    rows,
    verdict: new Uint8Array(rows),
    classIndex: new Int16Array(rows),
    score: new Float32Array(rows),
    threshold: new Float32Array(rows),
    nearestClass: new Int16Array(rows),
  };
  const hasAnomaly = models.models.some((m) => m.role === "anomaly");
  const anomalyScore = hasAnomaly ? new Float32Array(rows) : null;
  const pool = await createInferencePool(models, { maxBatchRows: 4096, maxWaitMs: 5 });
  try {
    for (let from = 0; from < rows; from += ROWS_PER_CALL) {
      const n = Math.min(ROWS_PER_CALL, rows - from);
      const pending = pool.infer(x.subarray(from * width, (from + n) * width), n);
      pool.flush();
      const scores = await pending;
      const part = decide(scores, config);
      decisions.verdict.set(part.verdict, from);
      decisions.classIndex.set(part.classIndex, from);
      decisions.score.set(part.score, from);
      decisions.threshold.set(part.threshold, from);
      decisions.nearestClass!.set(part.nearestClass!, from);
      const anomaly = scores.outputs.find((o) => o.role === "anomaly");
      if (anomalyScore && anomaly) anomalyScore.set(anomaly.values.subarray(0, n), from);
    }
  } finally {
    await pool.close();
  }
  return {
    decisions,
    anomalyScore,
    config,
    unknownRule: unknownAlertRuleFromBundle(bundle, overrides),
  };
}
