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
 *   faster, over at least 10 s; in an anomaly-only group only flows scoring
 *   at `rateThreshold` count toward the rate), or
 * - it is anomaly-only (no class, no nearest class) and `strongFlows` of its
 *   answered flows reach `strongThreshold`: a strong anomaly that repeats,
 *   never one flow on its own.
 *
 * Only flows the destination answered count as strong: an attempt nobody
 * answered (a browser's parallel connections to a dead server, retrying SYNs
 * for seconds) is anomalous for its retransmission timing alone, a failure
 * of the network; unanswered attempts as an attack (scans, sweeps, floods)
 * are named from their fan-out and rate by the behaviours instead.
 *
 * An anomaly-only flow just past the alerting threshold is a one-in-a-hundred
 * benign flow in the bundle's own world, and on a network the bundle never
 * saw every flow of an ordinary service can score there (page fetches whose
 * segments the sender's offload coalesced into 64 KiB frames, from nginx and
 * `python3 -m http.server` alike); a busy client repeats them at 2 a second.
 * Their rate is the client's pace, not an attack's, so an anomaly-only
 * group's rate counts only flows at the bundle's strong threshold (its
 * one-in-a-thousand score, `rateThreshold`): a flood of such flows still
 * alerts, the pace of a client of an unfamiliar service does not.
 *
 * A bulk transfer (see {@link isBulkTransfer}: a backup, a download, a speed
 * test, a database dump) is neither strong nor part of an anomaly-only
 * group's rate: the bundle never saw flows of gigabytes, and scores them by
 * their volume alone (packet and bulk counts hundreds of times its largest),
 * which says nothing of an attack. A group with a claimed class still counts
 * them (the class is the model's claim, not their size's).
 *
 * A UDP exchange (see {@link isUdpExchange}: an SNMP walk, a TFTP transfer,
 * RTP both ways) in an anomaly-only group is in the group but never its
 * evidence (no destination port, no strength, no rate): the bundle's UDP
 * flows are lookups of a datagram or two each way, so a session of hundreds
 * scores by its length alone, and a TFTP server's transfers, each from a new
 * port to the client's, would be fan-out. A claimed class still counts them.
 * UDP attacks show otherwise: floods are one-way, scans answered by errors or
 * not at all, amplification is seen at its victim as answers nobody asked
 * for; the behaviours name those.
 */
import { CONN_STATES } from "../features/mod.ts";

/**
 * Strongly anomalous flows an anomaly-only group needs when it has neither
 * fan-out nor rate. One is never enough: single stalled, zero-window or
 * failed TCP sessions of ordinary protocol traces score past twice the
 * bundle's strong threshold.
 */
export const DEFAULT_STRONG_FLOWS = 2;

/** Datagrams each way of a UDP exchange, at least: the bundle's UDP flows hold one or two. */
export const EXCHANGE_MIN_DATAGRAMS = 10;

/**
 * Whether a flow is a UDP exchange: each side sent at least
 * {@link EXCHANGE_MIN_DATAGRAMS} datagrams and neither more than twice the
 * other's (the destination answered in turn). Its pace says nothing: a walk
 * that waits for each answer runs at the round trip's pace (12,000 a second
 * over a LAN). Flood tools vary their source port per datagram (hping3,
 * spoofed floods), so their flows hold one or two datagrams and are no
 * exchange; a flood from one socket that a service answers datagram for
 * datagram still counts in a group with a claimed class.
 */
export function isUdpExchange(protocol: number, fwdPackets: number, bwdPackets: number): boolean {
  if (protocol !== 17) return false;
  const fewer = Math.min(fwdPackets, bwdPackets), more = Math.max(fwdPackets, bwdPackets);
  return fewer >= EXCHANGE_MIN_DATAGRAMS && more <= 2 * fewer;
}

/**
 * Payload one side of a bulk transfer sent, at least (1 MiB): past any
 * request and answer of the exchanges the bundle's attack classes make, and
 * what an interim row (1 s into a flow) holds of a transfer over 10 Mbit/s.
 */
export const BULK_MIN_BYTES = 1 << 20;
/**
 * The other side's payload as a share of it, at most: requests, protocol
 * acknowledgements and window updates (an HTTP GET, iperf's cookie, SSH's
 * window adjustments) are well under 1%; a conversation that answers each
 * message (a keep-alive HTTP client, a login, a database query loop) sends
 * at least a tenth.
 */
export const BULK_MAX_SHARE = 1 / 64;

/**
 * Whether a flow is a bulk transfer: TCP, established (the handshake seen,
 * or picked up midway with both sides talking), one side's payload at least
 * {@link BULK_MIN_BYTES} and the other's at most {@link BULK_MAX_SHARE} of
 * it. `connState` indexes CONN_STATES.
 */
export function isBulkTransfer(
  protocol: number,
  connState: number,
  bwdPackets: number,
  fwdBytes: number,
  bwdBytes: number,
): boolean {
  if (protocol !== 6 || ESTABLISHED[connState] !== 1 || bwdPackets === 0) return false;
  const big = Math.max(fwdBytes, bwdBytes);
  return big >= BULK_MIN_BYTES && Math.min(fwdBytes, bwdBytes) <= big * BULK_MAX_SHARE;
}

/** Connection states (CONN_STATES' order) in which both sides talked over an established connection. */
const ESTABLISHED = Uint8Array.from(
  CONN_STATES,
  (s) => ["OTH", "S1", "SF", "S2", "S3", "RSTO", "RSTR"].includes(s) ? 1 : 0,
);

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
  /**
   * Anomaly score at which a flow of an anomaly-only group counts toward its
   * rate; undefined: every flow counts (no strong threshold to calibrate it).
   */
  rateThreshold?: number;
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
  /**
   * Flows that count toward the rate: every flow, or in an anomaly-only group
   * those scoring at the rule's `rateThreshold` (see {@link countsTowardRate}).
   */
  rateFlows: number;
}

/** What kind of vote group it is. */
export interface VoteKind {
  /** A known verdict of a class one flow can show. */
  singleFlowClass: boolean;
  /** An unknown verdict with no nearest class (the anomaly detector alone). */
  anomalyOnly: boolean;
}

/**
 * Whether a flagged flow counts as strongly anomalous: answered, scoring at
 * the strong threshold, and no bulk transfer (`bulk`, {@link isBulkTransfer}).
 */
export function isStrongVote(
  score: number,
  bwdPackets: number,
  rule: VoteThresholds,
  bulk = false,
): boolean {
  return rule.strongThreshold !== undefined && bwdPackets > 0 && !bulk &&
    score >= rule.strongThreshold;
}

/** Whether a flagged flow counts toward its group's rate (see the module comment). */
export function countsTowardRate(
  score: number,
  anomalyOnly: boolean,
  rule: VoteThresholds,
  bulk = false,
): boolean {
  if (!anomalyOnly) return true;
  return !bulk && (rule.rateThreshold === undefined || score >= rule.rateThreshold);
}

/** Whether a vote group's evidence is enough for an alert (see the module comment). */
export function voteIsEnough(kind: VoteKind, e: VoteEvidence, rule: VoteThresholds): boolean {
  if (kind.singleFlowClass) return true;
  if (e.flows >= rule.minFlows) {
    if (e.ports >= rule.minPorts) return true;
    const spanSeconds = Math.max(10, (e.lastMicros - e.firstMicros) / 1e6);
    if (e.rateFlows >= rule.rateFlows && e.rateFlows / spanSeconds >= rule.ratePerSecond) {
      return true;
    }
  }
  return kind.anomalyOnly && rule.strongThreshold !== undefined &&
    e.strongFlows >= (rule.strongFlows ?? DEFAULT_STRONG_FLOWS);
}
