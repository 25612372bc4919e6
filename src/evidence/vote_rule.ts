/**
 * When model votes (flows a model flagged) that no behaviour explains are
 * enough for an alert: the one rule the sensor's evidence layer applies and
 * `eval`'s alert-level view reports (so the two never disagree).
 *
 * A model's claim about one flow is not evidence of an attack: an unseen
 * protocol, a stalled or failed TCP session, one odd packet all score as
 * anomalies. A vote group becomes an alert when
 * - its class is one a single flow can show (payload attacks such as SQL
 *   injection; known verdicts only), or
 * - it holds `minFlows` flows and shows fan-out (`minPorts` distinct
 *   destination ports) or a rate (`rateFlows` flows at `ratePerSecond` or
 *   faster, over at least 10 s), or
 * - it is anomaly-only (no class, no nearest class) and `strongFlows` of its
 *   answered flows reach `strongThreshold`: a strong anomaly that repeats,
 *   never one flow on its own.
 *
 * Only flows the destination answered count as strong: an attempt nobody
 * answered (a browser's parallel connections to a dead server, retrying SYNs
 * for seconds) is anomalous for its retransmission timing alone, a failure
 * of the network; unanswered attempts as an attack (scans, sweeps, floods)
 * are named from their fan-out and rate by the behaviours instead.
 */

/**
 * Strongly anomalous flows an anomaly-only group needs when it has neither
 * fan-out nor rate. One is never enough: single stalled, zero-window or
 * failed TCP sessions of ordinary protocol traces score past twice the
 * bundle's strong threshold.
 */
export const DEFAULT_STRONG_FLOWS = 2;

/** The thresholds of the rule. */
export interface VoteThresholds {
  minFlows: number;
  minPorts: number;
  rateFlows: number;
  ratePerSecond: number;
  /** Anomaly score at which a flow counts as strongly anomalous; undefined: never. */
  strongThreshold?: number;
  /** Strongly anomalous flows an anomaly-only group needs (default {@link DEFAULT_STRONG_FLOWS}). */
  strongFlows?: number;
}

/** What one vote group has shown so far. */
export interface VoteEvidence {
  /** Flagged flows. */
  flows: number;
  /** Distinct destination ports among them. */
  ports: number;
  /** Time span of the flows, microseconds since the epoch. */
  firstMicros: number;
  lastMicros: number;
  /** Answered flows scoring at or above the rule's `strongThreshold`. */
  strongFlows: number;
}

/** What kind of vote group it is. */
export interface VoteKind {
  /** A known verdict of a class one flow can show. */
  singleFlowClass: boolean;
  /** An unknown verdict with no nearest class (the anomaly detector alone). */
  anomalyOnly: boolean;
}

/** Whether a flagged flow counts as strongly anomalous: answered, and scoring at the strong threshold. */
export function isStrongVote(score: number, bwdPackets: number, rule: VoteThresholds): boolean {
  return rule.strongThreshold !== undefined && bwdPackets > 0 && score >= rule.strongThreshold;
}

/** Whether a vote group's evidence is enough for an alert (see the module comment). */
export function voteIsEnough(kind: VoteKind, e: VoteEvidence, rule: VoteThresholds): boolean {
  if (kind.singleFlowClass) return true;
  if (e.flows >= rule.minFlows) {
    if (e.ports >= rule.minPorts) return true;
    const spanSeconds = Math.max(10, (e.lastMicros - e.firstMicros) / 1e6);
    if (e.flows >= rule.rateFlows && e.flows / spanSeconds >= rule.ratePerSecond) return true;
  }
  return kind.anomalyOnly && rule.strongThreshold !== undefined &&
    e.strongFlows >= (rule.strongFlows ?? DEFAULT_STRONG_FLOWS);
}
