/**
 * Ensemble weights that reward catching attacks a member was not trained on.
 *
 * Weights learned by a logistic regression on validation rows see only the
 * attack types in training, so they go to the classifiers and give nothing
 * to a member that is the only one to catch a new type (LOF on NSL-KDD's
 * `back`). Here the rows come in groups, each one question the ensemble must
 * answer at the common false-alert rate:
 *
 * - the known attacks (validation rows, members trained on every type);
 * - per attack type t held out of the members' training ("leave one attack
 *   type out" inside the training data): t's rows, scored by members trained
 *   without t, against the validation benign rows scored by the same members.
 *
 * Every group carries the members' surprises (the calibrated scale of
 * ensemble.ts) on its benign and its attack rows. The weights maximise the
 * mean over groups of the detection rate of the weighted surprise at the
 * threshold that lets `targetFpr` of the group's benign rows through: each
 * held-out type counts as much as all the known attacks together. The search
 * is coordinate ascent on the simplex from several starts (the given start,
 * equal weights, each member alone); ties keep the earlier candidate, so a
 * member gains weight only when it raises some group's detection.
 */

/** One question the ensemble must answer: these attack rows above these benign rows. */
export interface WeightGroup {
  name: string;
  /** Per member, surprises of the group's benign rows. */
  benign: Float32Array[];
  /** Per member, surprises of the group's attack rows. */
  attack: Float32Array[];
}

/** Per group, the detection rate of the `weights`-weighted surprise at `targetFpr`. */
export function groupDetection(
  groups: WeightGroup[],
  weights: ArrayLike<number>,
  targetFpr: number,
): number[] {
  return groups.map((g) => {
    const nb = g.benign[0]?.length ?? 0;
    const na = g.attack[0]?.length ?? 0;
    if (na === 0) return 0;
    const b = new Float64Array(nb);
    for (let m = 0; m < weights.length; m++) {
      const w = weights[m];
      if (w === 0) continue;
      const z = g.benign[m];
      for (let i = 0; i < nb; i++) b[i] += w * z[i];
    }
    b.sort();
    // The lowest threshold with at most targetFpr of the benign rows strictly above it.
    const allowed = Math.floor(targetFpr * nb);
    const threshold = nb === 0 ? -Infinity : b[Math.max(0, nb - 1 - allowed)];
    let hit = 0;
    for (let i = 0; i < na; i++) {
      let s = 0;
      for (let m = 0; m < weights.length; m++) s += weights[m] * g.attack[m][i];
      if (s > threshold) hit++;
    }
    return hit / na;
  });
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

/** Relative weights a member is tried at in one coordinate step (others keep their ratios). */
const STEPS = [0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 1];

/** What {@link learnNoveltyWeights} found. */
export interface NoveltyWeights {
  weights: number[];
  /** Mean detection over groups at the target false-alert rate. */
  objective: number;
  /** Per group, its detection rate with these weights. */
  perGroup: Record<string, number>;
}

/**
 * Weights (non-negative, summing to 1) that maximise the mean per-group
 * detection at `targetFpr`; see the module comment.
 */
export function learnNoveltyWeights(
  groups: WeightGroup[],
  targetFpr: number,
  start?: number[],
  passes = 3,
): NoveltyWeights {
  const M = groups[0]?.benign.length ?? 0;
  if (M === 0) throw new Error("no members to weigh");
  for (const g of groups) {
    if (g.benign.length !== M || g.attack.length !== M) {
      throw new Error(`group ${g.name}: ${g.benign.length} members, expected ${M}`);
    }
  }
  const score = (w: number[]) => mean(groupDetection(groups, w, targetFpr));
  const starts: number[][] = [];
  if (start && start.length === M) starts.push(start.slice());
  starts.push(new Array(M).fill(1 / M));
  for (let m = 0; m < M; m++) starts.push(Array.from({ length: M }, (_, k) => (k === m ? 1 : 0)));
  let best = starts[0];
  let bestScore = score(best);
  for (const s of starts) {
    let w = s.slice();
    let current = score(w);
    for (let pass = 0; pass < passes; pass++) {
      let improved = false;
      for (let m = 0; m < M; m++) {
        const rest = 1 - w[m];
        for (const step of STEPS) {
          // Member m at `step`, the others scaled to share 1 - step in their current ratios.
          const candidate = w.map((v, k) =>
            k === m ? step : rest > 0 ? (v * (1 - step)) / rest : (1 - step) / (M - 1)
          );
          if (candidate.reduce((a, b) => a + b, 0) <= 0) continue;
          const c = score(candidate);
          if (c > current + 1e-12) {
            current = c;
            w = candidate;
            improved = true;
          }
        }
      }
      if (!improved) break;
    }
    if (current > bestScore + 1e-12) {
      bestScore = current;
      best = w;
    }
  }
  const total = best.reduce((a, b) => a + b, 0);
  const weights = best.map((v) => v / total);
  const detection = groupDetection(groups, weights, targetFpr);
  return {
    weights,
    objective: mean(detection),
    perGroup: Object.fromEntries(groups.map((g, i) => [g.name, detection[i]])),
  };
}
