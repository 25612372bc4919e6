/**
 * The ensemble of the user's prototype, with the scales made comparable:
 *
 * 1. Calibration: each member's raw score (a probability, a reconstruction
 *    error, a path length...) becomes its benign quantile on held-out benign
 *    rows, `q = fraction of benign calibration scores below it`, and then a
 *    surprise `z = -log10(max(1 - q, 1 / (n + 1)))`: 2 means "rarer than 1 in
 *    100 benign rows", whatever the member.
 * 2. Weights: given (learned by leave-one-attack-type-out, novelty_weights.ts,
 *    so members that catch unseen types earn weight), or else a non-negative
 *    logistic regression of attack-vs-benign on the members' surprises over
 *    held-out labelled rows, normalised to sum 1.
 * 3. Decision, one of the prototype's modes: `any` (one member votes),
 *    `all` (every member votes), `proportion` (the weight of the voting
 *    members reaches `proportion`), or `weighted` (the weighted surprise
 *    exceeds a threshold). A member votes when its surprise exceeds the
 *    common vote level. The level (or the weighted threshold) is set on the
 *    held-out benign rows to the target false-alert rate of the whole
 *    ensemble, so every mode is compared at the same false-alert rate.
 *
 * The decision reports which members voted for each row.
 */

/** How votes become an alert. */
export type VotingMode = "any" | "all" | "proportion" | "weighted";

export const VOTING_MODES: readonly VotingMode[] = ["any", "all", "proportion", "weighted"];

/** One member's benign calibration: its sorted held-out benign scores. */
export interface MemberCalibration {
  name: string;
  /** Ascending benign scores (at most {@link MAX_CALIBRATION_POINTS}, evenly spaced quantiles). */
  benignScores: Float32Array;
  /** Benign rows the quantiles came from. */
  rows: number;
}

/** Calibration quantiles kept per member (enough for a 0.1% tail on 1,000 rows). */
export const MAX_CALIBRATION_POINTS = 2_000;

/** A fitted ensemble. */
export interface Ensemble {
  members: MemberCalibration[];
  /** Per member, non-negative, summing to 1. */
  weights: number[];
  mode: VotingMode;
  /** Weight fraction of voting members needed in `proportion` mode. */
  proportion: number;
  /** Surprise a member must exceed to vote (any / all / proportion). */
  voteLevel: number;
  /** Weighted surprise to exceed (weighted mode). */
  threshold: number;
  targetFpr: number;
  /** Fraction of the held-out benign rows the ensemble alerts on. */
  calibratedFpr: number;
}

/** Benign calibration of one member from its scores on held-out benign rows. */
export function calibrateMember(name: string, benignScores: Float32Array): MemberCalibration {
  const sorted = Float32Array.from(benignScores).sort();
  const n = sorted.length;
  if (n === 0) throw new Error(`member ${name}: no benign rows to calibrate on`);
  const points = Math.min(n, MAX_CALIBRATION_POINTS);
  const kept = new Float32Array(points);
  for (let i = 0; i < points; i++) {
    kept[i] = sorted[Math.floor((i * (n - 1)) / Math.max(1, points - 1))];
  }
  return { name, benignScores: kept, rows: n };
}

/** Surprise of each raw score: `-log10(max(1 - q, 1 / (n + 1)))`, q its benign quantile. */
export function surprise(c: MemberCalibration, scores: Float32Array): Float32Array {
  const s = c.benignScores;
  const n = s.length;
  const floor = 1 / (c.rows + 1);
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    // Count of calibration scores strictly below scores[i] (binary search).
    let lo = 0;
    let hi = n;
    const v = scores[i];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    // 0 - x: no negative zero for scores below every calibration point.
    out[i] = 0 - Math.log10(Math.max(1 - lo / n, floor));
  }
  return out;
}

/**
 * Non-negative logistic regression weights of the members' surprises
 * (`z[m][row]`) for `attack[row]`, normalised to sum 1 (equal weights when
 * nothing is learned).
 */
export function learnWeights(z: Float32Array[], attack: Uint8Array, iterations = 300): number[] {
  const M = z.length;
  const rows = attack.length;
  const w = new Float64Array(M).fill(1 / Math.max(1, M));
  let bias = 0;
  const lr = 0.5;
  const l2 = 1e-3;
  // Class-balanced: each class contributes half of the gradient.
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += attack[i];
  const wPos = positives > 0 ? 0.5 / positives : 0;
  const wNeg = rows - positives > 0 ? 0.5 / (rows - positives) : 0;
  const grad = new Float64Array(M);
  for (let it = 0; it < iterations; it++) {
    grad.fill(0);
    let gBias = 0;
    for (let i = 0; i < rows; i++) {
      let s = bias;
      for (let m = 0; m < M; m++) s += w[m] * z[m][i];
      const p = 1 / (1 + Math.exp(-s));
      const d = (p - attack[i]) * (attack[i] ? wPos : wNeg);
      for (let m = 0; m < M; m++) grad[m] += d * z[m][i];
      gBias += d;
    }
    for (let m = 0; m < M; m++) w[m] = Math.max(0, w[m] - lr * (grad[m] + l2 * w[m]));
    bias -= lr * gBias;
  }
  const total = w.reduce((a, b) => a + b, 0);
  return total > 0 ? Array.from(w, (v) => v / total) : new Array(M).fill(1 / M);
}

/** Per row: the decision and, per member, whether it voted. */
export interface EnsembleDecision {
  alert: Uint8Array;
  /** Row-major `rows x members`: 1 where the member's surprise exceeds the vote level. */
  votes: Uint8Array;
  /** Weighted surprise per row. */
  score: Float32Array;
}

/** Applies the ensemble to the members' surprises (`z[m][row]`). */
export function decide(e: Ensemble, z: Float32Array[]): EnsembleDecision {
  const M = e.members.length;
  const rows = z[0]?.length ?? 0;
  const alert = new Uint8Array(rows);
  const votes = new Uint8Array(rows * M);
  const score = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let voted = 0;
    let votedWeight = 0;
    let s = 0;
    for (let m = 0; m < M; m++) {
      s += e.weights[m] * z[m][i];
      if (z[m][i] > e.voteLevel) {
        votes[i * M + m] = 1;
        voted++;
        votedWeight += e.weights[m];
      }
    }
    score[i] = s;
    alert[i] = Number(
      e.mode === "any"
        ? voted > 0
        : e.mode === "all"
        ? voted === M
        : e.mode === "proportion"
        ? votedWeight >= e.proportion - 1e-9 && voted > 0
        : s > e.threshold,
    );
  }
  return { alert, votes, score };
}

/** Options of {@link fitEnsemble}. */
export interface EnsembleOptions {
  mode: VotingMode;
  proportion: number;
  targetFpr: number;
  /**
   * Weights learned elsewhere (leave-one-attack-type-out, novelty_weights.ts);
   * without them, the logistic regression on these rows.
   */
  weights?: number[];
}

export const DEFAULT_ENSEMBLE_OPTIONS: EnsembleOptions = {
  mode: "weighted",
  proportion: 0.5,
  targetFpr: 0.01,
};

/**
 * Fits the ensemble on held-out rows: `scores[m]` are member m's raw scores
 * on those rows, `attack[row]` 1 for attack rows, 0 for benign ones. Members
 * are calibrated on the benign rows, weighted on all of them, and the vote
 * level (or threshold) set so that at most `targetFpr` of the benign rows alert.
 */
export function fitEnsemble(
  names: string[],
  scores: Float32Array[],
  attack: Uint8Array,
  options: Partial<EnsembleOptions> = {},
): Ensemble {
  const o = { ...DEFAULT_ENSEMBLE_OPTIONS, ...options };
  const benignIdx: number[] = [];
  for (let i = 0; i < attack.length; i++) if (!attack[i]) benignIdx.push(i);
  const members = names.map((name, m) =>
    calibrateMember(name, Float32Array.from(benignIdx, (i) => scores[m][i]))
  );
  const z = members.map((c, m) => surprise(c, scores[m]));
  if (o.weights && o.weights.length !== names.length) {
    throw new Error(`${o.weights.length} weights for ${names.length} members`);
  }
  const weights = o.weights ? o.weights.slice() : learnWeights(z, attack);
  const e: Ensemble = {
    members,
    weights,
    mode: o.mode,
    proportion: o.proportion,
    voteLevel: 0,
    threshold: 0,
    targetFpr: o.targetFpr,
    calibratedFpr: 0,
  };
  const zBenign = z.map((zm) => Float32Array.from(benignIdx, (i) => zm[i]));
  // The benign false-alert rate falls as the level rises: bisect for the lowest level within target.
  const fprAt = (level: number) => {
    if (o.mode === "weighted") e.threshold = level;
    else e.voteLevel = level;
    const d = decide(e, zBenign);
    let n = 0;
    for (const a of d.alert) n += a;
    return n / Math.max(1, benignIdx.length);
  };
  let lo = 0;
  let hi = -Math.log10(1 / (benignIdx.length + 1)) + 1e-3;
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    if (fprAt(mid) > o.targetFpr) lo = mid;
    else hi = mid;
  }
  e.calibratedFpr = fprAt(hi);
  return e;
}

/** Applies a fitted ensemble to raw member scores. */
export function applyEnsemble(e: Ensemble, scores: Float32Array[]): EnsembleDecision {
  return decide(e, e.members.map((c, m) => surprise(c, scores[m])));
}

/** Names of the members that voted on row `row`. */
export function votersOf(e: Ensemble, d: EnsembleDecision, row: number): string[] {
  const M = e.members.length;
  return e.members.filter((_, m) => d.votes[row * M + m] === 1).map((c) => c.name);
}
