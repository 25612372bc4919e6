/**
 * Points of the ROC curve of a score (higher = more likely positive), for
 * plotting; the area itself comes from src/train/metrics.ts `rocAuc`.
 */

/** One operating point: thresholding at `threshold` (flag when score >= it). */
export interface RocPoint {
  falsePositiveRate: number;
  truePositiveRate: number;
  threshold: number;
}

/**
 * The curve from (0, 0) to (1, 1), one point per distinct score (tied scores
 * move both rates at once), thinned to about `maxPoints` points. Empty when
 * either class is absent.
 */
export function rocCurve(
  scores: ArrayLike<number>,
  positive: ArrayLike<boolean | number>,
  maxPoints = 400,
): RocPoint[] {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (positive[i]) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return [];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const points: RocPoint[] = [{
    falsePositiveRate: 0,
    truePositiveRate: 0,
    threshold: Number.POSITIVE_INFINITY,
  }];
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < n) {
    const s = scores[order[i]];
    while (i < n && scores[order[i]] === s) {
      if (positive[order[i]]) tp++;
      else fp++;
      i++;
    }
    points.push({
      falsePositiveRate: fp / negatives,
      truePositiveRate: tp / positives,
      threshold: s,
    });
  }
  if (points.length <= maxPoints) return points;
  // Keep the corners and every point where the curve turns enough to see.
  const step = 1 / maxPoints;
  const kept: RocPoint[] = [points[0]];
  for (let k = 1; k < points.length - 1; k++) {
    const last = kept[kept.length - 1];
    const p = points[k];
    if (
      p.falsePositiveRate - last.falsePositiveRate >= step ||
      p.truePositiveRate - last.truePositiveRate >= step
    ) kept.push(p);
  }
  kept.push(points[points.length - 1]);
  return kept;
}
