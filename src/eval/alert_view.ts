/**
 * The alert-level view of an evaluation (capture input): flagged flows
 * grouped the way the sensor's evidence layer groups model votes (source >
 * target pair, protocol, verdict, class, gated nearest class, alert window),
 * then the sensor's own vote rule applied (src/evidence/vote_rule.ts, with
 * the run's settings from `voteThresholds`): fan-out, rate, a class one flow
 * can show, or a strong anomaly on more than one flow. It answers what a
 * defender sees: how many alert groups benign traffic raises before and
 * after the rule, and whether every attack episode still raises an alert.
 *
 * Not modelled here: behaviours the evidence layer names from unflagged
 * flows (scans, floods, brute force) and vote groups it folds into them;
 * `eval`'s time to alert replays the capture through the engine for those.
 * Windows are taken from each flow's end time (the sensor's aggregator uses
 * its watermark, the latest flow end seen, so a flow that ends late can land
 * one window later there); per-flow figures are not touched.
 */
import { isBehaviourClass, type UnknownAlertRule, voteThresholds } from "../alert/mod.ts";
import { countsTowardRate, isStrongVote, voteIsEnough } from "../evidence/mod.ts";
import {
  type Decisions,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/mod.ts";
import type { RowTimeline } from "./labelled_rows.ts";

/** Alert groups of one kind of traffic, before and after the unknown rule. */
export interface AlertGroupCounts {
  /** Groups the flagged flows form (every one an alert without the rule). */
  groups: number;
  /** Groups still alerted under the rule. */
  alerted: number;
  /** Groups the rule keeps back, and their flows. */
  suppressedGroups: number;
  suppressedFlows: number;
}

/** Alert-level figures of one attack episode. */
export interface EpisodeAlerts {
  attacker: string;
  attack: string;
  /** Alert groups holding the episode's flagged flows. */
  groups: number;
  /** Of them, alerted under the rule. */
  alertedGroups: number;
  /** Some flow of the episode was flagged (alerted without the rule). */
  alertedWithoutRule: boolean;
  /** Some group holding the episode's flows is alerted under the rule. */
  alerted: boolean;
}

/** The alert-level view. */
export interface AlertView {
  windowSeconds: number;
  minUnknownFlows: number;
  /** Null: the bundle has no strong threshold, so only fan-out and rate count. */
  strongThreshold: number | null;
  /** Strongly anomalous flows an anomaly-only group needs. */
  strongFlows: number;
  /** Groups holding no attack-labelled flow (benign clients' alerts). */
  benign: AlertGroupCounts;
  /** Groups holding some attack-labelled flow. */
  attack: AlertGroupCounts;
  episodes: EpisodeAlerts[];
}

interface Group {
  singleFlowClass: boolean;
  anomalyOnly: boolean;
  flows: number;
  ports: Set<number>;
  firstMicros: number;
  lastMicros: number;
  strongFlows: number;
  /** Flows that count toward the rate (vote_rule.ts countsTowardRate). */
  rateFlows: number;
  attackFlows: number;
  episodes: Set<number>;
}

/**
 * Groups the flagged rows and applies the vote rule with `rule`'s settings
 * (`classNames`: the bundle's classifier classes, to tell classes one flow can
 * show from behaviours); null without address pairs.
 */
export function alertView(
  timeline: RowTimeline,
  decisions: Decisions,
  isAttack: Uint8Array,
  rule: UnknownAlertRule,
  classNames: readonly string[],
  windowSeconds = 60,
): AlertView | null {
  const pairs = timeline.pairs;
  if (!pairs) return null;
  const thresholds = voteThresholds(rule);
  const windowMicros = windowSeconds * 1e6;
  const groups = new Map<string, Group>();
  for (let r = 0; r < decisions.rows; r++) {
    const verdict = decisions.verdict[r];
    if (verdict === VERDICT_BENIGN) continue;
    const nearestClass = decisions.nearestClass?.[r] ?? -1;
    const window = Math.floor(timeline.endMicros[r] / windowMicros);
    const classIndex = verdict === VERDICT_KNOWN ? decisions.classIndex[r] : -1;
    const protocol = timeline.protocols?.[r] ?? 0;
    const key = `${pairs[r]}|${protocol}|${verdict}|${classIndex}|${nearestClass}|${window}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        singleFlowClass: classIndex >= 0 && !isBehaviourClass(classNames[classIndex] ?? ""),
        anomalyOnly: verdict === VERDICT_UNKNOWN && nearestClass < 0,
        flows: 0,
        ports: new Set(),
        firstMicros: timeline.startMicros[r],
        lastMicros: timeline.endMicros[r],
        strongFlows: 0,
        rateFlows: 0,
        attackFlows: 0,
        episodes: new Set(),
      };
      groups.set(key, g);
    }
    g.flows++;
    // As the sensor counts it: an anomaly-only vote on a UDP exchange is no evidence.
    const evidence = !g.anomalyOnly || timeline.exchange?.[r] !== 1;
    if (evidence) g.ports.add(timeline.dstPorts?.[r] ?? 0);
    g.firstMicros = Math.min(g.firstMicros, timeline.startMicros[r]);
    g.lastMicros = Math.max(g.lastMicros, timeline.endMicros[r]);
    const answered = timeline.bwdPackets?.[r] ?? 1;
    const bulk = timeline.bulk?.[r] === 1;
    if (evidence && isStrongVote(decisions.score[r], answered, thresholds, bulk)) g.strongFlows++;
    if (evidence && countsTowardRate(decisions.score[r], g.anomalyOnly, thresholds, bulk)) {
      g.rateFlows++;
    }
    if (isAttack[r]) g.attackFlows++;
    if (timeline.episode[r] >= 0) g.episodes.add(timeline.episode[r]);
  }
  const counts = (): AlertGroupCounts => ({
    groups: 0,
    alerted: 0,
    suppressedGroups: 0,
    suppressedFlows: 0,
  });
  const benign = counts();
  const attack = counts();
  const episodes: EpisodeAlerts[] = timeline.windows.map((w) => ({
    attacker: w.attacker,
    attack: w.attack,
    groups: 0,
    alertedGroups: 0,
    alertedWithoutRule: false,
    alerted: false,
  }));
  for (const g of groups.values()) {
    const passes = voteIsEnough(g, {
      flows: g.flows,
      ports: g.ports.size,
      firstMicros: g.firstMicros,
      lastMicros: g.lastMicros,
      strongFlows: g.strongFlows,
      rateFlows: g.rateFlows,
    }, thresholds);
    const c = g.attackFlows > 0 ? attack : benign;
    c.groups++;
    if (passes) c.alerted++;
    else {
      c.suppressedGroups++;
      c.suppressedFlows += g.flows;
    }
    for (const e of g.episodes) {
      episodes[e].groups++;
      episodes[e].alertedWithoutRule = true;
      if (passes) {
        episodes[e].alertedGroups++;
        episodes[e].alerted = true;
      }
    }
  }
  return {
    windowSeconds,
    minUnknownFlows: rule.minFlows,
    strongThreshold: thresholds.strongThreshold ?? null,
    strongFlows: thresholds.strongFlows ?? 0,
    benign,
    attack,
    episodes,
  };
}
