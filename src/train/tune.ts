/**
 * Hyperparameter search with a Tree-structured Parzen Estimator, the way
 * Optuna's default sampler works: the first trials are random; after that,
 * the trials so far are split into the best `gamma` fraction and the rest,
 * each parameter gets a Parzen (Gaussian-kernel) density over the good values
 * l(x) and over the others g(x), and the next value is the candidate drawn
 * from l(x) with the largest l(x) / g(x). Parameters are sampled
 * independently (univariate TPE). Scores are maximised.
 */
import { Random } from "./random.ts";

/** One tunable parameter: a range, optionally log-scaled and/or integer. */
export interface ParameterRange {
  name: string;
  low: number;
  high: number;
  log?: boolean;
  integer?: boolean;
}

export interface Trial {
  number: number;
  params: Record<string, number>;
  score: number;
  /** "random" for startup trials, "tpe" for guided ones. */
  sampler: "random" | "tpe";
}

export interface TpeOptions {
  trials: number;
  /** Random trials before TPE guides; default min(10, max(3, trials / 3)). */
  startupTrials?: number;
  /** Fraction of trials counted as good (at most 25 trials), as Optuna; default 0.1. */
  gamma?: number;
  /** Candidates drawn from l(x) per parameter; default 24. */
  candidates?: number;
  seed: number;
}

export interface TpeResult {
  best: Trial;
  trials: Trial[];
}

/** Runs `options.trials` evaluations of `objective`; returns the best and every trial. */
export async function tpeSearch(
  space: ParameterRange[],
  objective: (params: Record<string, number>) => number | Promise<number>,
  options: TpeOptions,
  onTrial?: (trial: Trial, best: Trial) => void,
): Promise<TpeResult> {
  const rng = new Random(options.seed);
  const startup = options.startupTrials ??
    Math.min(10, Math.max(3, Math.floor(options.trials / 3)));
  const gamma = options.gamma ?? 0.1;
  const candidates = options.candidates ?? 24;
  const trials: Trial[] = [];
  // Trials store unit-interval positions too, so densities work in [0, 1].
  const units: number[][] = [];
  let best: Trial | undefined;
  for (let t = 0; t < options.trials; t++) {
    const guided = t >= startup;
    const u = guided
      ? proposeTpe(space, units, trials, gamma, candidates, rng)
      : space.map(() => rng.next());
    const params = Object.fromEntries(space.map((p, i) => [p.name, fromUnit(p, u[i])]));
    // Integer rounding moves the point: store where it really is.
    units.push(space.map((p) => toUnit(p, params[p.name])));
    const score = await objective(params);
    const trial: Trial = {
      number: t,
      params,
      score: Number.isFinite(score) ? score : -Infinity,
      sampler: guided ? "tpe" : "random",
    };
    trials.push(trial);
    if (!best || trial.score > best.score) best = trial;
    onTrial?.(trial, best);
  }
  if (!best) throw new Error("tpeSearch: no trials requested");
  return { best, trials };
}

function proposeTpe(
  space: ParameterRange[],
  units: number[][],
  trials: Trial[],
  gamma: number,
  candidates: number,
  rng: Random,
): number[] {
  const order = trials.map((_, i) => i).sort((a, b) => trials[b].score - trials[a].score);
  const nGood = Math.min(25, Math.max(1, Math.ceil(gamma * trials.length)));
  const good = order.slice(0, nGood);
  const bad = order.slice(nGood);
  return space.map((_, d) => {
    const goodKernels = kernels(good.map((i) => units[i][d]));
    const badKernels = kernels(bad.map((i) => units[i][d]));
    let bestX = rng.next();
    let bestRatio = -Infinity;
    for (let c = 0; c < candidates; c++) {
      // Draw from l(x): one good kernel, or the uniform prior.
      const k = rng.int(goodKernels.length + 1);
      const x = k === goodKernels.length
        ? rng.next()
        : clamp01(goodKernels[k].mu + rng.normal() * goodKernels[k].sigma);
      const ratio = Math.log(parzen(x, goodKernels)) - Math.log(parzen(x, badKernels));
      if (ratio > bestRatio) {
        bestRatio = ratio;
        bestX = x;
      }
    }
    return bestX;
  });
}

/**
 * Gaussian kernels at `points` with Optuna's bandwidth rule: each kernel is as
 * wide as the larger gap to its neighbours (the range ends count as
 * neighbours), clipped to [1 / min(100, n + 1), 1]. Clustered points keep
 * wide outer kernels, so the search keeps moving instead of collapsing.
 */
function kernels(points: number[]): { mu: number; sigma: number }[] {
  const sorted = [...points].sort((a, b) => a - b);
  const minSigma = 1 / Math.min(100, sorted.length + 1);
  return sorted.map((mu, i) => {
    const left = mu - (i > 0 ? sorted[i - 1] : 0);
    const right = (i + 1 < sorted.length ? sorted[i + 1] : 1) - mu;
    return { mu, sigma: Math.min(1, Math.max(minSigma, left, right)) };
  });
}

/** Mixture of the kernels plus one uniform prior component on [0, 1], equally weighted. */
function parzen(x: number, ks: { mu: number; sigma: number }[]): number {
  let sum = 1; // the prior's density on [0, 1]
  for (const { mu, sigma } of ks) {
    sum += Math.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * Math.sqrt(2 * Math.PI));
  }
  return sum / (ks.length + 1);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function fromUnit(p: ParameterRange, u: number): number {
  const v = p.log
    ? Math.exp(Math.log(p.low) + u * (Math.log(p.high) - Math.log(p.low)))
    : p.low + u * (p.high - p.low);
  return p.integer ? Math.min(p.high, Math.max(p.low, Math.round(v))) : v;
}

function toUnit(p: ParameterRange, v: number): number {
  if (p.high === p.low) return 0.5;
  return p.log
    ? (Math.log(v) - Math.log(p.low)) / (Math.log(p.high) - Math.log(p.low))
    : (v - p.low) / (p.high - p.low);
}

/** The GBDT search space used by `--tune`. */
export const GBDT_SEARCH_SPACE: ParameterRange[] = [
  { name: "rounds", low: 20, high: 150, integer: true },
  { name: "learningRate", low: 0.03, high: 0.5, log: true },
  { name: "maxDepth", low: 3, high: 10, integer: true },
  { name: "minLeafRows", low: 2, high: 100, log: true, integer: true },
  { name: "lambda", low: 0.01, high: 10, log: true },
  { name: "featureFraction", low: 0.3, high: 1 },
];
