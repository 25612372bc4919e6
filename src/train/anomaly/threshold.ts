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
