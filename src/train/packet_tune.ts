/**
 * `train --packet-models ... --tune N`: TPE trials (tune.ts) for a packet- or
 * sequence-level member, ranked on labelled attack packets.
 *
 * Each trial trains the member with the trial's hyperparameters on the
 * benign training packets, sets its threshold at the `--packet-fpr` quantile
 * of the held-out benign packets' scores (as the bundle's member is set), and
 * is scored by what detection alerts on: a flow (both directions of the
 * 5-tuple) gets the member's vote when at least `minPackets` of its packets
 * score above the threshold (src/engine/packet_votes.ts), so the score is the
 * share of attack flows voted on, averaged over the attack types in the
 * search (each type counts once, however many flows a flood makes). Flagged
 * attack packets break ties (1/1000 weight): scans make flows of one or two
 * packets that can never reach `minPackets`, and the per-packet share still
 * tells trials apart there.
 *
 * One attack type is held out of the search entirely; the chosen trial's
 * detection of it (and the defaults') is reported, never ranked on, so the
 * summary shows whether tuning generalised beyond the types it saw. Every
 * trial's packet false-positive rate on held-out benign packets equals the
 * target by construction; the share of held-out benign flows it would vote
 * on is not: a trial voting on more of them than the defaults is not chosen.
 */
import type { Family, FamilyName, TrainedMember } from "./families/mod.ts";
import { FamilyError } from "./families/mod.ts";
import { thresholdForFpr } from "./anomaly/mod.ts";
import {
  memberTrainingSet,
  type PacketMemberRequest,
  type PacketSetRows,
} from "./packet_members.ts";
import type { ProgressReporter } from "./progress.ts";
import { type ParameterRange, tpeSearch } from "./tune.ts";

/**
 * Packet-level search spaces (small: every trial trains a member on up to
 * 50,000 packets). Families not listed here search their `searchSpace`.
 */
export const PACKET_SEARCH_SPACES: Partial<Record<FamilyName, ParameterRange[]>> = {
  kitnet: [
    { name: "maxAutoencoderSize", low: 3, high: 15, integer: true },
    { name: "hiddenRatio", low: 0.25, high: 0.9 },
    { name: "learningRate", low: 0.01, high: 0.3, log: true },
    // Kitsune's grace period: rows that build the feature map before learning.
    { name: "featureMapRows", low: 500, high: 10_000, log: true, integer: true },
  ],
  "dense-ae": [
    { name: "hidden", low: 8, high: 32, integer: true },
    { name: "epochs", low: 2, high: 8, integer: true },
    { name: "learningRate", low: 5e-4, high: 5e-3, log: true },
  ],
  iforest: [
    { name: "trees", low: 50, high: 300, integer: true },
    { name: "sampleSize", low: 64, high: 1024, log: true, integer: true },
  ],
  lof: [
    { name: "k", low: 5, high: 50, integer: true },
    { name: "referenceRows", low: 500, high: 3000, log: true, integer: true },
  ],
};

/** The search space `--tune` uses for a packet member of `family`. */
export function packetSearchSpace(family: Family): ParameterRange[] {
  return PACKET_SEARCH_SPACES[family.name] ?? family.searchSpace;
}

/** Which attack types the search ranks on and which one it never sees. */
export interface PacketTuneSplit {
  /** Indexes into `attackTypes`. */
  search: number[];
  heldOut: number;
  attackTypes: string[];
}

/**
 * Chooses the held-out type (`heldOut` by name, default the last type with
 * attack packets) and searches on the others; needs two types with packets.
 */
export function packetTuneSplit(
  rows: PacketSetRows,
  attackTypes: readonly string[],
  heldOut?: string,
): PacketTuneSplit {
  if (attackTypes.length > 1024) {
    throw new FamilyError(`${attackTypes.length} attack types; packet tuning counts at most 1024`);
  }
  const present = attackTypes.map((_, t) => t).filter((t) => rows.attack?.type.includes(t));
  const names = present.map((t) => attackTypes[t]);
  if (present.length < 2) {
    throw new FamilyError(
      `--tune on packet members needs attack packets of at least two attack types (one is held ` +
        `out of the search); the labelled capture has ${names.length ? names.join(", ") : "none"}`,
    );
  }
  let out = present[present.length - 1];
  if (heldOut !== undefined) {
    out = attackTypes.indexOf(heldOut);
    if (!present.includes(out)) {
      throw new FamilyError(
        `--packet-holdout "${heldOut}" has no attack packets in the labelled capture; types: ${
          names.join(", ")
        }`,
      );
    }
  }
  return { search: present.filter((t) => t !== out), heldOut: out, attackTypes: [...attackTypes] };
}

/** Detection of one attack type by a trial. */
export interface TypeDetection {
  type: string;
  flows: number;
  /** Flows with at least `minPackets` flagged packets: the member votes on them. */
  flowsVoted: number;
  /** Flows with fewer than `minPackets` packets in all: they can never get a vote. */
  flowsTooShort: number;
  packets: number;
  packetsFlagged: number;
}

/** One trial's (or the defaults') results. */
export interface PacketTrialResult {
  params: Record<string, number>;
  threshold: number;
  /** Held-out benign packets above the threshold (the target by construction). */
  benignPacketFpr: number;
  /** Held-out benign flows with at least `minPackets` flagged packets. */
  benignFlowVoteRate: number;
  benignFlows: number;
  /** Mean over the search types of the share of flows voted on (the ranked score, with ties below). */
  searchFlowDetection: number;
  searchPacketDetection: number;
  heldOut: TypeDetection;
  perType: TypeDetection[];
  score: number;
  seconds: number;
}

/** What tuning one member did. */
export interface PacketTuneResult {
  name: string;
  heldOutType: string;
  searchTypes: string[];
  defaults: PacketTrialResult;
  trials: PacketTrialResult[];
  /**
   * The best by search score among the defaults and the trials voting on no
   * more held-out benign flows than the defaults ("defaults" when none beat them).
   */
  chosen: PacketTrialResult;
  chosenFrom: "defaults" | "trial";
}

/** Options of {@link tunePacketMember}. */
export interface PacketTuneOptions {
  trials: number;
  seed: number;
  targetFpr: number;
  minPackets: number;
  maxTrainingRows?: number;
  progress?: ProgressReporter;
}

/**
 * Scores a trained member as the sensor would use it: threshold from the
 * held-out benign packets, then flow votes on benign and attack flows.
 */
export function evaluatePacketMember(
  member: TrainedMember,
  rows: PacketSetRows,
  split: PacketTuneSplit,
  options: { targetFpr: number; minPackets: number },
): Omit<PacketTrialResult, "params" | "seconds"> {
  const attack = rows.attack, benignFlow = rows.calibration.flow;
  if (!attack || !benignFlow) throw new Error("evaluatePacketMember: rows carry no labels");
  const cal = member.score(rows.calibration.x, rows.calibration.rows);
  const threshold = thresholdForFpr(cal, options.targetFpr);
  const benign = flowVotes(cal, benignFlow, threshold, options.minPackets);
  const scores = member.score(attack.x, attack.rows);
  const perType: TypeDetection[] = split.attackTypes.map((type) => ({
    type,
    flows: 0,
    flowsVoted: 0,
    flowsTooShort: 0,
    packets: 0,
    packetsFlagged: 0,
  }));
  // Per flow and type: packets, flagged packets. A 5-tuple reused by a later
  // attack (a flood that cycled through every source port, then a brute
  // force from the same host) is a new flow to the sensor by then: keyed by
  // type too, so each attack counts its own flows.
  const flows = new Map<number, { type: number; packets: number; flagged: number }>();
  for (let i = 0; i < attack.rows; i++) {
    const t = attack.type[i], flagged = scores[i] > threshold;
    perType[t].packets++;
    if (flagged) perType[t].packetsFlagged++;
    const key = attack.flow[i] * 1024 + t;
    const f = flows.get(key) ?? { type: t, packets: 0, flagged: 0 };
    f.packets++;
    if (flagged) f.flagged++;
    flows.set(key, f);
  }
  for (const f of flows.values()) {
    const d = perType[f.type];
    d.flows++;
    if (f.flagged >= options.minPackets) d.flowsVoted++;
    if (f.packets < options.minPackets) d.flowsTooShort++;
  }
  const mean = (pick: (d: TypeDetection) => number) =>
    split.search.reduce((sum, t) => sum + pick(perType[t]), 0) / split.search.length;
  const searchFlowDetection = mean((d) => d.flows ? d.flowsVoted / d.flows : 0);
  const searchPacketDetection = mean((d) => d.packets ? d.packetsFlagged / d.packets : 0);
  return {
    threshold,
    benignPacketFpr: cal.filter((s) => s > threshold).length / Math.max(1, cal.length),
    benignFlowVoteRate: benign.flows ? benign.voted / benign.flows : 0,
    benignFlows: benign.flows,
    searchFlowDetection,
    searchPacketDetection,
    heldOut: perType[split.heldOut],
    perType,
    score: searchFlowDetection + 0.001 * searchPacketDetection,
  };
}

function flowVotes(scores: Float32Array, flow: Int32Array, threshold: number, minPackets: number) {
  const flagged = new Map<number, number>();
  for (let i = 0; i < scores.length; i++) {
    flagged.set(flow[i], (flagged.get(flow[i]) ?? 0) + (scores[i] > threshold ? 1 : 0));
  }
  let voted = 0;
  for (const n of flagged.values()) if (n >= minPackets) voted++;
  return { flows: flagged.size, voted };
}

/**
 * Tunes one packet member: the defaults first (the "before"), then
 * `options.trials` TPE trials over {@link packetSearchSpace}; the chosen
 * parameters are the best search score among all of them.
 */
export async function tunePacketMember(
  rows: PacketSetRows,
  request: PacketMemberRequest,
  split: PacketTuneSplit,
  options: PacketTuneOptions,
): Promise<PacketTuneResult> {
  const dataset = memberTrainingSet(rows, options.maxTrainingRows);
  const stage = `${request.name} tuning (trials)`;
  const total = options.trials + 1;
  const run = (params: Record<string, number>): PacketTrialResult => {
    const t0 = performance.now();
    const member = request.family.train(dataset, params, options.seed);
    const result = evaluatePacketMember(member, rows, split, options);
    return { ...result, params, seconds: (performance.now() - t0) / 1000 };
  };
  options.progress?.(stage, 0, total);
  const defaults = run({});
  options.progress?.(stage, 1, total);
  const trials: PacketTrialResult[] = [];
  if (options.trials > 0) {
    await tpeSearch(
      packetSearchSpace(request.family),
      (params) => {
        const result = run(params);
        trials.push(result);
        return result.score;
      },
      { trials: options.trials, seed: options.seed },
      () => options.progress?.(stage, trials.length + 1, total),
    );
  }
  // No more benign false alerts than the defaults: a trial voting on more
  // held-out benign flows is not eligible, however well it detects.
  let chosen = defaults, chosenFrom: "defaults" | "trial" = "defaults";
  for (const t of trials) {
    if (packetTrialEligible(t, defaults) && t.score > chosen.score) {
      [chosen, chosenFrom] = [t, "trial"];
    }
  }
  return {
    name: request.name,
    heldOutType: split.attackTypes[split.heldOut],
    searchTypes: split.search.map((t) => split.attackTypes[t]),
    defaults,
    trials,
    chosen,
    chosenFrom,
  };
}

/** A trial may be chosen when it votes on no more held-out benign flows than the defaults. */
export function packetTrialEligible(
  trial: PacketTrialResult,
  defaults: PacketTrialResult,
): boolean {
  return trial.benignFlowVoteRate <= defaults.benignFlowVoteRate;
}

/** A trial's parameters as `name=value` (integers plain, others to 3 significant digits). */
export function formatParams(params: Record<string, number>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return "defaults";
  return entries.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(3)}`).join(" ");
}

/** `voted/flows flows (x%), flagged/packets packets` of one type. */
export function formatDetection(d: TypeDetection): string {
  const pct = (a: number, b: number) => b ? `${(100 * a / b).toFixed(1)}%` : "-";
  return `${d.type} ${d.flowsVoted}/${d.flows} flows voted (${
    pct(d.flowsVoted, d.flows)
  }; ${d.flowsTooShort} shorter than --min-packets), ${d.packetsFlagged}/${d.packets} packets flagged (${
    pct(d.packetsFlagged, d.packets)
  })`;
}
