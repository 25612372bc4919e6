/** Calibration of a score threshold to a target rate of held-out rows above it. */

/**
 * The smallest threshold with at most `fpr` of `scores` strictly above it
 * (so rows scoring above it are flagged).
 */
export function thresholdForFpr(scores: Float32Array, fpr: number): number {
  const sorted = Float32Array.from(scores).sort();
  const n = sorted.length;
  if (n === 0) return Infinity;
  const index = Math.min(n - 1, Math.max(0, Math.ceil(n * (1 - fpr)) - 1));
  return sorted[index];
}

/** How much stricter the strong threshold's rate is than the alerting threshold's. */
export const STRONG_FPR_DIVISOR = 10;
/**
 * A quantile is trusted only when at least this many held-out rows are
 * expected above it; with fewer, the top one or two scores decide it and
 * the next recording's benign flows overshoot it.
 */
export const STRONG_MIN_ROWS_ABOVE = 10;
/**
 * Fallback when the held-out set is too small for the strict rate: the
 * largest held-out benign score times this. The scores are positive ratios
 * to the per-flow threshold, so "1.5 x the worst benign row seen" is a
 * distance no benign calibration row came near.
 */
export const STRONG_MAX_MARGIN = 1.5;

/** A strong-anomaly threshold and how it was obtained (recorded in the bundle). */
export interface StrongThreshold {
  threshold: number;
  /** The strict rate aimed at: `targetFpr / STRONG_FPR_DIVISOR`. */
  targetFpr: number;
  /** "quantile": calibrated at `targetFpr`; "max-margin": largest held-out score x `margin`. */
  method: "quantile" | "max-margin";
  /** The margin used (max-margin only). */
  margin?: number;
  /** Largest held-out benign score. */
  maxScore: number;
  /** Held-out rows it was calibrated on. */
  rows: number;
  /** Held-out rows strictly above it, as a fraction. */
  calibratedFpr: number;
}

/**
 * The strong-anomaly threshold: the score a single flow must reach to be
 * alerted on its own (see the alert aggregator's unknown rule). Calibrated on
 * the same held-out benign `scores` as the alerting threshold at the
 * stricter rate `fpr / STRONG_FPR_DIVISOR`; when fewer than
 * STRONG_MIN_ROWS_ABOVE rows would lie above that quantile, the largest
 * score times `margin` instead. Never below the alerting threshold at `fpr`.
 */
export function strongThresholdForFpr(
  scores: Float32Array,
  fpr: number,
  margin = STRONG_MAX_MARGIN,
): StrongThreshold {
  const n = scores.length;
  const targetFpr = fpr / STRONG_FPR_DIVISOR;
  let maxScore = Number.NEGATIVE_INFINITY;
  for (const s of scores) if (s > maxScore) maxScore = s;
  const base = thresholdForFpr(scores, fpr);
  let threshold: number;
  let method: StrongThreshold["method"];
  if (n * targetFpr >= STRONG_MIN_ROWS_ABOVE) {
    threshold = thresholdForFpr(scores, targetFpr);
    method = "quantile";
  } else {
    threshold = n > 0 ? maxScore * margin : Infinity;
    method = "max-margin";
  }
  threshold = Math.max(threshold, base);
  let above = 0;
  for (const s of scores) if (s > threshold) above++;
  return {
    threshold,
    targetFpr,
    method,
    ...(method === "max-margin" ? { margin } : {}),
    maxScore,
    rows: n,
    calibratedFpr: n ? above / n : 0,
  };
}
