/**
 * Host-level evidence over time windows: every scored flow (benign ones too)
 * adds to counters per source, per target, per (source, target) pair, per
 * (source, target, service) and, when the model flagged it, per model vote
 * (source, target, verdict, class). Behaviours are named only from these
 * multi-flow counters (see behaviours.ts); a model's per-flow claim alone is
 * a vote, and becomes an alert only with repetition, fan-out or a strong
 * anomaly seen on more than one flow, or when the class is one a single flow
 * can show (SQL injection): see vote_rule.ts.
 *
 * Many-target behaviours (scans, sweeps, brute force) are keyed by source;
 * many-source ones (SYN floods with spoofed sources, reflection,
 * amplification) by target, with the count of sources kept in a
 * HyperLogLog sketch. ICMP error replies (port unreachable, ...) are counted
 * for the probe they answer, never as their sender's activity.
 *
 * Memory is fixed by the table capacities (see `EvidenceOptions`); entries
 * beyond them evict the smallest and are counted. Per flow the cost is a few
 * hash probes over typed arrays: no string, object or array per flow.
 */
import {
  ANSWER_MEMORY_MICROS,
  AnsweredTargets,
  CONN_STATES,
  type FlowBatch,
  type FlowRecord,
} from "../features/mod.ts";
import {
  type Decisions,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/mod.ts";
import {
  AMPLIFIER_SERVICES,
  type Behaviour,
  BEHAVIOUR_LIMITS,
  LOGIN_SERVICES,
  WEB_PORTS,
} from "./behaviours.ts";
import {
  DistinctSketches,
  foldKey,
  HostTable,
  type HostTableStats,
  KEY_SEED,
} from "./host_table.ts";
import { OneSidedPairs, type OneSidedStats, SEEN_BOTH, UNSEEN_PAIR } from "./one_sided.ts";
import { MAX_PORT_PROBES, PortHorizon, type PortHorizonStats } from "./port_horizon.ts";
import { popcount, SweepHorizon } from "./sweep_horizon.ts";
import {
  countsTowardRate,
  isBulkTransfer,
  isStrongVote,
  isUdpExchange,
  voteIsEnough,
  type VoteThresholds,
} from "./vote_rule.ts";

const STATE = Object.fromEntries(CONN_STATES.map((s, i) => [s, i])) as Record<string, number>;

/** How a web connection is slow (#slowKind). */
const SLOW_HEADERS = 1, SLOW_READ = 2;

// Source table (src, proto): counters.
const S_FLOWS = 0, S_PROBES = 1, S_PROBED_DSTS = 2, S_PROBED_SERVICES = 3, S_MAX_PORTS = 4;
const S_FIRST = 5, S_LAST = 6, S_PACKETS = 7, S_FLAGGED = 8, S_HALF_OPEN = 9, S_REJECTED = 10;
const S_ERROR_REPLIES = 11, S_STEALTH_PROBES = 12;
/** Of the probed targets, those that answered this source lately (`#answered`): revisited, not discovered. */
const S_REVISITED_DSTS = 13;
/** Distinct new targets of the source over this window and the 4 before (sweep_horizon.ts). */
const S_HORIZON_DSTS = 14;
/** The source's first new target of the window (its hash), added to the horizon with the second. */
const S_FIRST_NEW_TARGET = 15, S_FIELDS = 16;
// Target table (dst, proto).
const T_FLOWS = 0, T_EVIDENCE_FLOWS = 1, T_ATTEMPT_PACKETS = 2, T_ONE_WAY_PACKETS = 3;
const T_REFLECTED_PACKETS = 4, T_AMP_PACKETS = 5, T_AMP_PORT = 6, T_ECHO_PACKETS = 7;
const T_FIRST = 8, T_LAST = 9, T_PACKETS = 10, T_FLAGGED = 11, T_HALF_OPEN = 12;
/** Of the TCP one-way packets (segments that open nothing): those of flows with RST, with FIN. */
const T_STRAY_RST_PACKETS = 13, T_STRAY_FIN_PACKETS = 14;
/**
 * Of the one-way UDP packets: the first flow's datagram size + 1, and the
 * packets of flows whose sizes vary or differ from it (see #countUdpSizes).
 */
const T_ONE_WAY_SIZE = 15, T_VARIED_PACKETS = 16;
const T_FIELDS = 17;
// Pair table (src, dst, proto).
const P_FLOWS = 0, P_PROBES = 1, P_PROBED_PORTS = 2;
/** TTLs (bits 1-30) of the pair's probes sent with a path probe's TTL (PATH_PROBE_MAX_TTL). */
const P_PATH_TTLS = 3, P_FIELDS = 4;
// Service table (src, dst, proto << 16 | port).
const V_FLOWS = 0, V_PROBES = 1, V_COMPLETED = 2, V_COMPLETED_MICROS = 3, V_FLAGGED = 4;
const V_SLOW = 5, V_FIRST = 6, V_LAST = 7, V_PACKETS = 8, V_BRUTE_VOTES = 9;
/** Of the slow connections, those slow on the reading side (slow read). */
const V_SLOW_READ = 10;
/** Logins the service said failed and succeeded (cleartext login services, FlowBatch.logins). */
const V_LOGIN_FAILED = 11, V_LOGIN_OK = 12;
/** Of the failed logins, those carried from the previous window (see #carryLoginFailures). */
const V_LOGIN_CARRIED = 13, V_FIELDS = 14;
/** Service entries whose failed logins a window hands on to the next, at most. */
const MAX_LOGIN_CARRY = 1024;
// Model vote table (src, dst, verdict/class/nearest, proto).
const M_FLOWS = 0, M_BEST = 1, M_THRESHOLD = 2, M_FIRST = 3, M_LAST = 4, M_PACKETS = 5;
const M_PORTS = 6, M_FOLDED = 7, M_STRONG = 8;
/** Flows that count toward the group's rate (vote_rule.ts countsTowardRate). */
const M_RATE = 9, M_FIELDS = 10;

/** Capacities of the evidence tables (entries per window). */
export interface HostEvidenceSizes {
  /** Sources tracked per window (default 65,536). */
  sources?: number;
  /** Targets tracked per window (default 16,384). */
  targets?: number;
  /** (source, target) pairs (default 65,536). */
  pairs?: number;
  /** (source, target, port) services (default 131,072). */
  services?: number;
  /** Model vote groups (default 16,384). */
  votes?: number;
  /** (source, target) pairs whose probed ports a window hands on to the next ones (default 4096). */
  horizonPairs?: number;
  /** (source, target, protocol) pairs whose probes were answered, remembered across windows (default 65,536). */
  answeredPairs?: number;
  /** Sources whose new targets are counted over the last windows (slow sweeps; a power of two, default 4,096). */
  sweepHorizonSources?: number;
  /** Findings open at once (default 1024); more are counted, not tracked. */
  maxFindings?: number;
  /** Host pairs whose return path is proven unseen (default 16,384): see one_sided.ts. */
  oneSidedPairs?: number;
}

/** The target entry of a host itself, any port (reflection, amplification). */
const ANY_PORT = 0x10000;
/** Forward packets by its first (interim) row for a one-way or echo flow to be followed on later rows. */
const VOLUME_FLOW_PACKETS = 10;

/**
 * The highest TTL (hop limit) a UDP datagram arrives with that marks it a
 * path probe. Stacks send 64, 128 or 255 and paths are shorter than 30 hops,
 * so an ordinary datagram arrives with more; traceroute, mtr and tracepath
 * send TTLs 1 to 30 (their default most hops) so that the probes expire on
 * the way, each to the next port of a run (33434 on), and the last ones
 * draw port unreachable from the target: as many ports as a scan's.
 */
export const PATH_PROBE_MAX_TTL = 30;
/**
 * Distinct small TTLs a pair's probes must show to be a path trace: a tracer
 * steps through the hops, a scan sent with a small TTL to slip past keeps
 * one. The first probes of a trace, before its third TTL, count as probes
 * (a few ports, far below a scan's).
 */
export const PATH_PROBE_TTLS = 3;

/** How long a model vote group waits for a behaviour of its hosts to take its votes. */
export const VOTE_GRACE_MICROS = 2e6;

/** Sizes of the evidence tables, the columns it reads and the rule for model votes. */
export interface EvidenceOptions extends HostEvidenceSizes {
  /** Window of the counters, microseconds (default 60 s). */
  windowMicros?: number;
  /** Feature columns (the bundle's names) holding payload bytes each way, -1 when absent. */
  fwdBytesColumn: number;
  bwdBytesColumn: number;
  /** Feature column of the SYN flag count, -1 when absent. */
  synFlagsColumn: number;
  /** Feature column of the ACK flag count, -1 when absent (no stealth-scan evidence then). */
  ackFlagsColumn?: number;
  /** Feature columns of the RST and FIN flag counts, -1 when absent (TCP floods without SYN are then all "ACK"). */
  rstFlagsColumn?: number;
  /** Feature column of the client's initial TCP window, -1 when absent (no slow-read evidence then). */
  initWinFwdColumn?: number;
  /**
   * Feature columns of the largest and smallest forward payload, -1 when
   * absent (one-way UDP then counts as uniform: the flood limits of old).
   */
  fwdLenMaxColumn?: number;
  fwdLenMinColumn?: number;
  finFlagsColumn?: number;
  /** When model votes alone make a finding. */
  voteRule: VoteRule;
  /** Turns row `i` of a batch into plain values (once per finding). */
  describeFlow: (batch: FlowBatch, i: number) => FlowRecord;
}

/**
 * The vote rule's thresholds (see vote_rule.ts, shared with `eval`) and, per
 * classifier class, what its votes mean.
 */
export interface VoteRule extends VoteThresholds {
  /** Per classifier class: 1 when one flow of it is enough (payload attacks), 0 for behaviours. */
  singleFlowClass: Uint8Array;
  /**
   * Per classifier class: 1 for password-guessing classes. A web login brute
   * force looks like ordinary browsing to the flow counters; it is named only
   * when the model calls most of those connections brute force.
   */
  bruteForceClass: Uint8Array;
}

/** A behaviour (or model vote group) whose evidence was enough. */
export interface Finding {
  id: number;
  behaviour: Behaviour;
  protocol: number;
  /** Port of the service (brute force, slow DoS, amplifier) or 0. */
  service: number;
  /** The flow that completed the evidence, and its payload bytes each way. */
  record: FlowRecord;
  fwdBytes: number;
  bwdBytes: number;
  /** Watermark when the evidence became enough, microseconds. */
  openedMicros: number;
  /** Model votes: the verdict, class, gate's nearest class. */
  verdict: number;
  classIndex: number;
  nearestClass: number;
  /** Row (in the batch being observed) of the best-scoring flagged flow, -1 when not in this batch. */
  bestRow: number;
  /** Best model score among the finding's flagged flows so far. */
  bestScore: number;
  /**
   * A model vote group waits `VOTE_GRACE_MICROS` before it opens, so that a
   * behaviour of the same host (which its flows are usually part of) can open
   * first and take its votes.
   */
  pending: boolean;
  /** Window counters at the last summary. */
  table: HostTable;
  slot: number;
}

/** What a finding rests on, read from its counters. */
export interface EvidenceSummary {
  /** Flows that are evidence (probes, unanswered attempts, completed logins, votes). */
  flows: number;
  packets: number;
  firstMicros: number;
  lastMicros: number;
  /** Distinct sources (estimated for floods: HyperLogLog, about 6.5% error). */
  sources: number;
  targets: number;
  distinctDestPorts: number;
  halfOpen: number;
  rejected: number;
  /** ICMP errors (port unreachable) the targets sent back to this source. */
  errorReplies: number;
  /** Logins a cleartext login service said failed and succeeded (services only). */
  loginFailures: number;
  loginSuccesses: number;
  /** Evidence packets per second over the evidence span. */
  ratePps: number;
  /** Flows of the host the model flagged. */
  modelFlagged: number;
  /** Best model score and its threshold (model votes). */
  bestScore: number;
  threshold: number;
}

/** Counts of what the evidence layer did. */
export interface EvidenceStats {
  flows: number;
  /** ICMP errors attributed to the probe they answer. */
  errorReplies: number;
  /** UDP flows sent with a path probe's TTL (traceroute): not probes, and their model votes not counted. */
  pathProbes: number;
  pathProbeVotes: number;
  /** Flagged flows whose vote group was folded into a behaviour finding of the same host. */
  foldedVoteFlows: number;
  /** Vote groups that never had enough evidence, and their flows. */
  weakVoteGroups: number;
  weakVoteFlows: number;
  /**
   * Flagged flows that were bulk transfers (vote_rule.ts isBulkTransfer) and
   * would otherwise have counted as strong or toward an anomaly-only rate.
   */
  bulkVoteFlows: number;
  /** Findings not opened because `maxFindings` were open. */
  findingsRefused: number;
  /** Interim-export rows of flows already counted on their first row (not counted again). */
  laterRows: number;
  tables: Record<string, HostTableStats & { capacity: number; bytes: number }>;
  /** The slow-scan horizon (also in `tables.horizon`: pairs carried as inserted, dropped as evicted). */
  horizon: PortHorizonStats;
  /** Conversations whose return path is not seen (also in `tables.oneSided`). */
  oneSided: OneSidedStats;
}

/** What a flow shows its target (bits of `#target`'s `kinds`). */
const E_ATTEMPT = 1;
const E_HALF_OPEN = 2;
const E_ONE_WAY = 4;
const E_ECHO = 8;
const E_REFLECTED = 16;
const E_AMPLIFIED = 32;

/** Bytes of the address at `offset` as four big-endian words into `out[at..at+4)`. */
function addressWords(bytes: Uint8Array, offset: number, out: Uint32Array, at: number): void {
  for (let w = 0; w < 4; w++) {
    const o = offset + w * 4;
    out[at + w] = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>>
      0;
  }
}

/**
 * `to[at..at+n) = from[start..start+n)`, word by word: `to.set(from.subarray(...))`
 * made a view object per call, several per flow (most of the evidence
 * layer's garbage, measured with V8's GC trace).
 */
function copyWords(from: Uint32Array, start: number, to: Uint32Array, at: number, n: number): void {
  for (let k = 0; k < n; k++) to[at + k] = from[start + k];
}

/** The meter's interim-export sequence numbers, when the batch has them (snapshots may not). */
function exportSeqOf(batch: FlowBatch): Uint16Array | undefined {
  return (batch as { exportSeq?: Uint16Array }).exportSeq;
}

/** Multicast and broadcast destinations are groups, not victims. */
function isGroupAddress(bytes: Uint8Array, o: number): boolean {
  const mapped = bytes[o + 10] === 0xff && bytes[o + 11] === 0xff && bytes[o] === 0;
  if (mapped) {
    return bytes[o + 12] >= 224 ||
      (bytes[o + 12] === 255 && bytes[o + 13] === 255 && bytes[o + 14] === 255);
  }
  return bytes[o] === 0xff;
}

/** ICMP messages that report on another packet: counted for the packet they answer. */
function isIcmpError(protocol: number, type: number): boolean {
  if (protocol === 1) return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
  return protocol === 58 && type < 128;
}

/** ICMP port unreachable (v4 type 3 code 3, v6 type 1 code 4): the answer to a UDP probe. */
/**
 * The 10-word key of row `i`'s connection, the same on each of its rows:
 * addresses, ports, start time. No protocol word: the slow table holds TCP
 * only, and a UDP flow would match an echo flow only from port 8 to port 0
 * in the same microsecond.
 */
function flowKey(batch: FlowBatch, i: number, key: Uint32Array): void {
  addressWords(batch.srcAddr, i * 16, key, 0);
  addressWords(batch.dstAddr, i * 16, key, 4);
  key[8] = ((batch.dstPort[i] << 16) | batch.srcPort[i]) >>> 0;
  key[9] = batch.startMicros[i] % 0x100000000;
}

/** An ICMP or ICMPv6 echo request (the flow table keeps the ICMP type as the source port). */
function isEchoRequest(protocol: number, type: number): boolean {
  return (protocol === 1 && type === 8) || (protocol === 58 && type === 128);
}

/**
 * The other ICMP requests a host-discovery sweep sends when echo is
 * filtered (nmap -PP, -PM): timestamp (13), information (15) and address
 * mask (17) requests; ICMPv6 node information queries (139).
 */
function isQueryRequest(protocol: number, type: number): boolean {
  return (protocol === 1 && (type === 13 || type === 15 || type === 17)) ||
    (protocol === 58 && type === 139);
}

/**
 * A UDP datagram shaped as a service's answer: from a well-known port (or an
 * amplifier's) to a client's port. Without its request it probed nothing.
 */
function isServiceReply(srcPort: number, dstPort: number): boolean {
  return (srcPort < 1024 || AMPLIFIER_SERVICES.has(srcPort)) && dstPort >= 1024;
}

function isPortUnreachable(protocol: number, type: number, code: number): boolean {
  return (protocol === 1 && type === 3 && code === 3) ||
    (protocol === 58 && type === 1 && code === 4);
}

/** Seed of the answered pairs' second hash (any other than KEY_SEED). */
const ANSWER_CHECK_SEED = 0x68e31da4;

/**
 * Targets a source probed that had not answered it lately: what a sweep
 * counts, in this window or over the horizon (a slow sweep).
 */
function newTargets(c: Float64Array, sc: number): number {
  return Math.max(c[sc + S_PROBED_DSTS] - c[sc + S_REVISITED_DSTS], c[sc + S_HORIZON_DSTS]);
}

/** The host-level evidence layer. */
export class HostEvidence {
  readonly windowMicros: number;
  readonly sources: HostTable;
  readonly targets: HostTable;
  readonly pairs: HostTable;
  readonly services: HostTable;
  readonly votes: HostTable;
  readonly votePorts: HostTable;
  #sourceSketch: DistinctSketches;
  #portSketch: DistinctSketches;
  #options: EvidenceOptions;
  #findings: (Finding | null)[] = [];
  #open = 0;
  #pending = 0;
  #epoch = -1;
  /** The window `roll` closed last (reset carries failed logins only into the one after it). */
  #closedEpoch = -2;
  /** The window whose counters `reset` drops (the one `roll` or `close` ended). */
  #endedEpoch = -1;
  /** Ports probed per (source, target) over the last windows (slow scans): see port_horizon.ts. */
  readonly horizon: PortHorizon;
  /** Host pairs whose return path the capture does not see (one_sided.ts); kept across windows. */
  readonly oneSided: OneSidedPairs;
  /**
   * (source, target, protocol) pairs whose probes were answered, across
   * windows: a poller revisits them, a sweep discovers (answered_targets.ts).
   */
  readonly answered: AnsweredTargets;
  /** New targets per source over the last windows (slow sweeps): see sweep_horizon.ts. */
  readonly sweepHorizon: SweepHorizon;
  #stats = {
    flows: 0,
    errorReplies: 0,
    pathProbes: 0,
    pathProbeVotes: 0,
    foldedVoteFlows: 0,
    weakVoteGroups: 0,
    weakVoteFlows: 0,
    bulkVoteFlows: 0,
    findingsRefused: 0,
    laterRows: 0,
  };
  #words = new Uint32Array(10);
  /** Failed logins handed from a window to the next: keys, and (failures, first, last) each. */
  readonly #carryKeys = new Uint32Array(MAX_LOGIN_CARRY * 9);
  readonly #carryCounts = new Float64Array(MAX_LOGIN_CARRY * 3);
  /** Hash state after the current flow's pair key words 0..8 (source, target): see `foldKey`. */
  #pairHash = 0;
  /** Connections (key and start) already counted as slow this window. */
  #slowFlows = new HostTable(16384, 10, 1);
  /** Hosts with a behaviour finding this window (model votes of theirs fold into it). */
  #marks = new HostTable(4096, 4, 1);
  /**
   * Open one-way UDP and ICMP echo flows (key and start) with interim rows:
   * forward packets, end time and packets (both ways) of the row counted last. A flood of one
   * flow (one ICMP id, one UDP port pair) shows its volume only on later
   * rows; these add what came since. Kept across windows (flows outlive them).
   */
  #volumeFlows = new HostTable(16384, 10, 3);
  #sourceWords = new Uint32Array(4);

  constructor(options: EvidenceOptions) {
    this.#options = options;
    this.windowMicros = options.windowMicros ?? 60e6;
    if (!(this.windowMicros > 0)) throw new Error("evidence window must be positive");
    this.sources = new HostTable(options.sources ?? 65536, 5, S_FIELDS);
    this.targets = new HostTable(options.targets ?? 16384, 5, T_FIELDS);
    this.pairs = new HostTable(options.pairs ?? 65536, 9, P_FIELDS);
    this.services = new HostTable(options.services ?? 131072, 9, V_FIELDS);
    this.votes = new HostTable(options.votes ?? 16384, 10, M_FIELDS);
    this.votePorts = new HostTable(options.votes ?? 16384, 10, 1);
    this.#sourceSketch = new DistinctSketches(this.targets.capacity);
    this.#portSketch = new DistinctSketches(this.targets.capacity, 64);
    this.horizon = new PortHorizon(options.horizonPairs ?? 4096);
    this.oneSided = new OneSidedPairs(options.oneSidedPairs ?? 16384);
    this.answered = new AnsweredTargets(options.answeredPairs ?? 65536, ANSWER_MEMORY_MICROS);
    this.sweepHorizon = new SweepHorizon(options.sweepHorizonSources ?? 4096);
  }

  /** Findings open in the current window. */
  get openFindings(): number {
    return this.#open;
  }

  /** Totals and table figures. */
  stats(): EvidenceStats {
    const tables: EvidenceStats["tables"] = {};
    const all = {
      sources: this.sources,
      targets: this.targets,
      pairs: this.pairs,
      services: this.services,
      votes: this.votes,
      votePorts: this.votePorts,
      slowFlows: this.#slowFlows,
      volumeFlows: this.#volumeFlows,
    };
    for (const [name, t] of Object.entries(all)) {
      tables[name] = { ...t.stats, capacity: t.capacity, bytes: t.bytes };
    }
    const h = this.horizon;
    tables.horizon = {
      inserted: h.stats.pairsCarried,
      evicted: h.stats.pairsDropped,
      refused: 0,
      capacity: h.capacity,
      bytes: h.bytes,
    };
    const sweeps = this.sweepHorizon;
    tables.sweepHorizon = {
      inserted: sweeps.stats.sources,
      evicted: sweeps.stats.evicted,
      refused: 0,
      capacity: sweeps.capacity,
      bytes: sweeps.bytes,
    };
    const oneSided = this.oneSided.stats();
    tables.oneSided = {
      inserted: oneSided.proofFlows,
      evicted: oneSided.pairsEvicted,
      refused: 0,
      capacity: oneSided.capacity,
      bytes: oneSided.bytes,
    };
    return { ...this.#stats, tables, horizon: { ...h.stats }, oneSided };
  }

  /** Bytes held by every table and sketch. */
  get bytes(): number {
    return this.sources.bytes + this.targets.bytes + this.pairs.bytes + this.services.bytes +
      this.votes.bytes + this.votePorts.bytes + this.#slowFlows.bytes + this.#volumeFlows.bytes +
      this.#sourceSketch.registers.byteLength +
      this.#portSketch.registers.byteLength + this.horizon.bytes + this.oneSided.bytes +
      this.answered.bytes + this.sweepHorizon.bytes;
  }

  /**
   * Null while the watermark `timeMicros` stays in the current window. When
   * it moved on: the findings of the window that ended (maybe none); read
   * their summaries, then call `reset()` before the next `observe`.
   */
  roll(timeMicros: number): Finding[] | null {
    const epoch = Math.floor(timeMicros / this.windowMicros);
    if (this.#epoch < 0) this.#epoch = epoch;
    if (epoch <= this.#epoch) return null;
    this.#closedEpoch = this.#epoch;
    this.#endedEpoch = this.#epoch;
    this.#epoch = epoch;
    return this.#closeWindow();
  }

  /** Ends the current window (end of input): returns its findings. */
  close(): Finding[] {
    this.#endedEpoch = this.#epoch;
    return this.#closeWindow();
  }

  /** Frees the closed findings' slots and resets the tables; call after reading summaries. */
  reset(): void {
    // Only into the window right after (a quiet minute between ends the count).
    const carried = this.#epoch === this.#closedEpoch + 1 ? this.#collectLoginFailures() : 0;
    this.#handOnProbedPorts();
    this.#findings = [];
    this.#open = 0;
    this.#pending = 0;
    for (const t of [this.sources, this.targets, this.pairs, this.services, this.votes]) t.reset();
    this.votePorts.reset();
    this.#slowFlows.reset();
    this.#marks.reset();
    this.#carryLoginFailures(carried);
  }

  /**
   * Failed logins a window saw at services without a finding, kept for the
   * next window: windows are whole minutes, and a guesser whose failures
   * fall either side of a minute (8 and 4 of hydra's 12 against IMAP in one
   * range run) must not slip under the limit in both. Only the window's own
   * failures are handed on, so the count spans at most two windows.
   */
  #collectLoginFailures(): number {
    const svc = this.services, keys = this.#carryKeys, counts = this.#carryCounts;
    let n = 0;
    svc.forEachLive((s) => {
      const c = svc.counters, vc = s * V_FIELDS;
      const own = c[vc + V_LOGIN_FAILED] - c[vc + V_LOGIN_CARRIED];
      if (own <= 0 || svc.group[s] !== 0 || n >= MAX_LOGIN_CARRY) return;
      svc.keyOf(s, this.#words);
      keys.set(this.#words.subarray(0, 9), n * 9);
      counts[n * 3] = own;
      counts[n * 3 + 1] = c[vc + V_FIRST];
      counts[n * 3 + 2] = c[vc + V_LAST];
      n++;
    });
    return n;
  }

  /**
   * Hands the ports each (source, target) pair probed this window on to the
   * horizon (port_horizon.ts), with those of the windows before still within
   * it; not for a source with a finding this window (named already), nor a
   * port probed more than a scanner would (a flood's).
   */
  #handOnProbedPorts(): void {
    const h = this.horizon, svc = this.services, src = this.sources, words = this.#words;
    const ended = this.#endedEpoch;
    if (ended < 0) return;
    const named = (key: Uint32Array): boolean => {
      copyWords(key, 0, src.key, 0, 4);
      src.key[4] = key[8];
      const s = src.find();
      return s >= 0 && src.group[s] !== 0;
    };
    h.begin(Math.max(this.#epoch, ended + 1), named);
    svc.forEachLive((v) => {
      const c = svc.counters, vc = v * V_FIELDS;
      if (c[vc + V_PROBES] === 0 || c[vc + V_PROBES] > MAX_PORT_PROBES) return;
      svc.keyOf(v, words);
      const port = words[8] & 0xffff;
      words[8] = words[8] >>> 16;
      if (named(words)) return;
      h.add(words, port, ended, c[vc + V_PROBES], c[vc + V_FIRST]);
    });
    h.finish();
  }

  #carryLoginFailures(n: number): void {
    const svc = this.services, counts = this.#carryCounts;
    for (let k = 0; k < n; k++) {
      svc.key.set(this.#carryKeys.subarray(k * 9, k * 9 + 9));
      const v = svc.upsert();
      if (v < 0) continue;
      const c = svc.counters, vc = v * V_FIELDS;
      c[vc + V_LOGIN_FAILED] = counts[k * 3];
      c[vc + V_LOGIN_CARRIED] = counts[k * 3];
      c[vc + V_FIRST] = counts[k * 3 + 1];
      c[vc + V_LAST] = counts[k * 3 + 2];
    }
  }

  #closeWindow(): Finding[] {
    this.settle(Number.POSITIVE_INFINITY, []);
    const out = this.#findings.filter((f): f is Finding => f !== null);
    // Vote groups that never had enough evidence: counted, not alerted.
    const v = this.votes;
    v.forEachLive((s) => {
      const c = s * M_FIELDS;
      v.keyOf(s, this.#words);
      if (
        v.counters[c + M_FOLDED] > 0 || (v.group[s] === 0 && this.#hostHasBehaviour(this.#words))
      ) {
        this.#stats.foldedVoteFlows += v.counters[c + M_FLOWS];
      } else if (v.group[s] === 0) {
        this.#stats.weakVoteGroups++;
        this.#stats.weakVoteFlows += v.counters[c + M_FLOWS];
      }
    });
    return out;
  }

  /** The window the evidence counts in, as [start, end) microseconds. */
  get window(): { start: number; end: number } {
    const start = Math.max(0, this.#epoch) * this.windowMicros;
    return { start, end: start + this.windowMicros };
  }

  /**
   * Adds every flow of a scored batch. `watermarkMicros` is the time findings
   * open at. Returns the findings opened by this batch.
   */
  observe(batch: FlowBatch, decisions: Decisions, watermarkMicros: number): Finding[] {
    const opened: Finding[] = [];
    for (const f of this.#findings) if (f) f.bestRow = -1;
    for (let i = 0; i < batch.count; i++) {
      this.#observeFlow(batch, decisions, i, watermarkMicros, opened);
    }
    this.#stats.flows += batch.count;
    this.settle(watermarkMicros, opened);
    return opened;
  }

  /** Findings open or pending in the current window. */
  live(): Finding[] {
    return this.#findings.filter((f): f is Finding => f !== null);
  }

  /**
   * Opens the model vote groups whose grace ended by `now` (pushed to
   * `opened`), or folds them into a behaviour finding of their source or
   * target (any protocol), counted in `foldedVoteFlows` at the window's end.
   */
  settle(now: number, opened: Finding[]): void {
    if (this.#pending === 0) return;
    const votes = this.votes;
    const words = this.#words;
    for (const f of this.#findings) {
      if (!f || !f.pending || f.openedMicros + VOTE_GRACE_MICROS > now) continue;
      this.#pending--;
      votes.keyOf(f.slot, words);
      if (this.#hostHasBehaviour(words)) {
        votes.counters[f.slot * M_FIELDS + M_FOLDED] = 1;
        votes.group[f.slot] = 0;
        this.#findings[f.id] = null;
        continue;
      }
      f.pending = false;
      this.#open++;
      opened.push(f);
    }
  }

  /** Whether the source (`words[0..4)`) or target (`words[4..8)`) is the host of a behaviour finding. */
  #hostHasBehaviour(words: Uint32Array): boolean {
    const marks = this.#marks;
    copyWords(words, 0, marks.key, 0, 4);
    if (marks.find() >= 0) return true;
    copyWords(words, 4, marks.key, 0, 4);
    return marks.find() >= 0;
  }

  /**
   * Marks the host of a behaviour finding (source-keyed: the source; else the
   * target). A slow DoS also marks its victim: while its workers are held, the
   * server resets or ignores other clients, and their failed connections look
   * anomalous; they are the attack's effect, folded into its alert, not
   * separate attacks by those clients (as a flood's target is marked).
   */
  #mark(table: HostTable, slot: number, behaviour: Behaviour): void {
    if (table === this.votes) return;
    table.keyOf(slot, this.#words);
    this.#markHost(0); // every key starts with its host
    if ((behaviour === "slow-dos" || behaviour === "slow-read") && table === this.services) {
      this.#markHost(4);
    }
  }

  /**
   * Marks `address` (16 bytes, IPv4 mapped) for the window as the source of a
   * finding made elsewhere (a packet monitor's: an HTTP request flood, a DNS
   * tunnel): the model's votes on its flows fold into that line, as into a
   * behaviour's, instead of a line of their own for the same attack.
   */
  markSource(address: Uint8Array): void {
    addressWords(address, 0, this.#words, 0);
    this.#markHost(0);
  }

  /** Marks the host in `#words[at..at+4)` for the window. */
  #markHost(at: number): void {
    const marks = this.#marks;
    copyWords(this.#words, at, marks.key, 0, 4);
    const m = marks.upsert();
    if (m >= 0) marks.group[m] = 1; // pinned for the window
  }

  /**
   * A TCP segment that opens nothing: no SYN, and no ACK from the sender (FIN,
   * Xmas and NULL scans; a benign segment of a connection whose start the
   * meter missed always carries ACK). The ACK count is over both directions,
   * so at most one per answer may come from the other side.
   */
  #stealthFlags(batch: FlowBatch, i: number): boolean {
    const o = this.#options;
    const ackColumn = o.ackFlagsColumn ?? -1;
    if (o.synFlagsColumn < 0 || ackColumn < 0) return false;
    return this.#feature(batch, i, o.synFlagsColumn) === 0 &&
      this.#feature(batch, i, ackColumn) <= batch.bwdPackets[i];
  }

  #feature(batch: FlowBatch, i: number, column: number): number {
    if (column < 0) return 0;
    const v = batch.features[i * batch.width + column];
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  #observeFlow(
    batch: FlowBatch,
    decisions: Decisions,
    i: number,
    now: number,
    opened: Finding[],
  ): void {
    const protocol = batch.protocol[i];
    if (
      protocol !== 6 && protocol !== 17 && protocol !== 1 && protocol !== 58 && protocol !== 132
    ) return;
    // A flow still open is exported now and then (interim rows, cumulative):
    // it is counted once, on its first row; later rows add nothing, except
    // that a connection held open shows it is slow only on a later row (its
    // first trickle of request bytes comes seconds after the first row).
    if ((exportSeqOf(batch)?.[i] ?? 0) > 0) {
      this.#stats.laterRows++;
      if (protocol === 6) {
        if (batch.logins[i] !== 0 && !WEB_PORTS.has(batch.dstPort[i])) {
          this.#observeLaterLogins(batch, i, now, opened);
        }
        this.#observeLaterSlowRow(batch, i, now, opened);
      } else {
        this.#observeLaterVolumeRow(batch, i, now, opened);
      }
      return;
    }
    const o = this.#options;
    const L = BEHAVIOUR_LIMITS;
    const fwdPackets = batch.fwdPackets[i];
    const bwdPackets = batch.bwdPackets[i];
    const packets = fwdPackets + bwdPackets;
    const start = batch.startMicros[i];
    const end = batch.endMicros[i];
    const verdict = decisions.verdict[i];
    const flagged = verdict !== VERDICT_BENIGN ? 1 : 0;
    const srcPort = batch.srcPort[i];
    const dstPort = batch.dstPort[i];
    if ((protocol === 1 || protocol === 58) && isIcmpError(protocol, srcPort)) {
      // An error report answers a packet the destination sent: it is evidence
      // about that destination's probe, never about this sender.
      this.#stats.errorReplies++;
      // Model votes on replies fold into the probe's evidence as well.
      if (decisions.verdict[i] !== VERDICT_BENIGN) this.#stats.foldedVoteFlows++;
      if (isPortUnreachable(protocol, srcPort, dstPort)) {
        // Replies often end before the probes they answer (UDP waits out its idle timeout).
        const s = this.sources;
        addressWords(batch.dstAddr, i * 16, s.key, 0);
        s.key[4] = 17;
        const slot = s.upsert();
        if (slot >= 0) {
          if (s.created) s.counters[slot * S_FIELDS + S_FIRST] = start;
          s.counters[slot * S_FIELDS + S_ERROR_REPLIES]++;
        }
      }
      return;
    }

    const fwdBytes = this.#feature(batch, i, o.fwdBytesColumn);
    const bwdBytes = this.#feature(batch, i, o.bwdBytesColumn);
    const state = batch.connState[i];
    const durationMicros = Math.max(0, end - start);
    let probe = false, halfOpen = false, rejected = false, completed = false, stealth = false;
    let reflected = false, amplified = false, oneWay = false, echo = false;
    /** TCP: this side behaved as answered while nothing of the other side was seen (one_sided.ts). */
    let answeredAlone = 0;
    if (protocol === 6) {
      halfOpen = state === STATE.S0 || state === STATE.RSTOS0 || state === STATE.SH;
      rejected = state === STATE.REJ;
      const noPayload = fwdBytes === 0 && bwdBytes === 0;
      stealth = noPayload && fwdPackets <= 3 && state === STATE.OTH && this.#stealthFlags(batch, i);
      probe = halfOpen || rejected || stealth ||
        (noPayload && fwdPackets <= 3 && state !== STATE.OTH);
      const synFlags = this.#feature(batch, i, o.synFlagsColumn);
      reflected = state === STATE.OTH && fwdBytes === 0 && synFlags > 0;
      // A segment that opens nothing (no SYN, no handshake, no payload): ACK,
      // RST and FIN floods are made of these, one-way as a UDP flood's.
      oneWay = noPayload && fwdPackets <= 3 && state === STATE.OTH && o.synFlagsColumn >= 0 &&
        synFlags === 0;
      // A finished exchange: the client sent and the server answered (a login attempt).
      completed = !probe && !reflected && state !== STATE.OTH && fwdBytes > 0 && bwdBytes > 0;
      if (bwdPackets === 0) answeredAlone = this.#answeredAlone(batch, i, state, synFlags);
    } else if (protocol === 17) {
      // A DHCP server's offer or acknowledgement goes to the address it offers, and the client
      // answers by broadcast (another flow): never an unanswered probe of that client.
      const dhcpAnswer = (srcPort === 67 && dstPort === 68) || (srcPort === 547 && dstPort === 546);
      probe = bwdPackets === 0 && fwdPackets <= 3 && !dhcpAnswer;
      oneWay = bwdPackets === 0;
      amplified = bwdPackets === 0 && AMPLIFIER_SERVICES.has(srcPort) && srcPort !== dstPort;
    } else if (protocol === 132) {
      // SCTP: an INIT answered by ABORT (closed), by INIT-ACK and the prober's ABORT (open), or
      // not at all (nmap -sY); an association that carries data has many more chunks.
      probe = fwdPackets <= 3 && bwdPackets <= 1;
    } else {
      // Echo requests probe (sweeps) and flood; the other query requests only probe;
      // neighbour discovery and the like do neither.
      echo = isEchoRequest(protocol, srcPort);
      probe = echo || isQueryRequest(protocol, srcPort);
    }

    // A connection that proved it was answered (one side only seen) is no
    // probe, attempt or reflection; a flow whose answers or requests the
    // capture cannot see (its pair, or its hosts, seen one way only) is no
    // evidence by their absence: see one_sided.ts.
    const unseen = this.oneSided.observe(
      batch.srcAddr,
      i * 16,
      batch.dstAddr,
      i * 16,
      protocol === 6,
      answeredAlone !== 0,
      bwdPackets > 0,
      end,
    );
    const excused = answeredAlone !== 0 || (unseen !== SEEN_BOTH && bwdPackets === 0);
    if (answeredAlone !== 0) {
      probe = false;
      halfOpen = false;
      rejected = false;
      stealth = false;
      reflected = false;
      amplified = false;
      oneWay = false;
      echo = false;
    } else if (excused) {
      // What is missing may be the answer (or a reply's request). Only the pair's own proof
      // says a SYN-ACK's or a reply's request went unseen (a reflector's outbound link shows
      // them alone as well); a UDP reply from a service port to a client's port probed
      // nothing. A TCP SYN alone still failed (an answered one is followed by the handshake's
      // ACK, seen here), and floods are named by volume, which a one-way link sees whole.
      // The model's vote is dropped below.
      if (unseen === UNSEEN_PAIR) reflected = amplified = false;
      if (protocol === 17 && isServiceReply(srcPort, dstPort)) probe = false;
    }

    // A traceroute's probe, sent to expire on the way (PATH_PROBE_MAX_TTL) with the TTLs of
    // the hops in turn, probes a path: its port is the next of the tracer's run, not a port
    // scanned. It still counts as an attempt (a SYN flood sent with a small TTL is a flood).
    const ttl = batch.firstTtl[i];
    const lowTtlProbe = probe && ttl !== 0 && ttl <= PATH_PROBE_MAX_TTL &&
      (protocol === 6 || protocol === 17);
    let pathProbe = false, scanProbe = probe;

    // Source.
    const src = this.sources;
    addressWords(batch.srcAddr, i * 16, src.key, 0);
    src.key[4] = protocol;
    // Source, pair, service and vote keys begin with the source (and then the target): hashed once.
    const sourceHash = foldKey(KEY_SEED, src.key, 0, 4);
    const s = src.upsert(sourceHash, 4);
    const sc = s * S_FIELDS;
    if (s >= 0) {
      const c = src.counters;
      if (src.created) c[sc + S_FIRST] = start;
      c[sc + S_FLOWS]++;
      c[sc + S_PACKETS] += packets;
      c[sc + S_FLAGGED] += flagged;
      if (start < c[sc + S_FIRST]) c[sc + S_FIRST] = start;
      if (end > c[sc + S_LAST]) c[sc + S_LAST] = end;
      if (probe) c[sc + S_PROBES]++;
      if (halfOpen) c[sc + S_HALF_OPEN]++;
      if (stealth) c[sc + S_STEALTH_PROBES]++;
      if (rejected) c[sc + S_REJECTED]++;
    }

    // Pair.
    const pair = this.pairs;
    copyWords(src.key, 0, pair.key, 0, 4);
    addressWords(batch.dstAddr, i * 16, pair.key, 4);
    pair.key[8] = protocol;
    const pairHash = foldKey(sourceHash, pair.key, 4, 8);
    this.#pairHash = pairHash;
    const p = pair.upsert(pairHash, 8);
    let pairPorts = 0, horizonSlot = -1;
    if (p >= 0) {
      const c = pair.counters;
      const pc = p * P_FIELDS;
      c[pc + P_FLOWS]++;
      if (lowTtlProbe) {
        const ttls = (c[pc + P_PATH_TTLS] | (1 << ttl)) >>> 0;
        c[pc + P_PATH_TTLS] = ttls;
        pathProbe = popcount(ttls) >= PATH_PROBE_TTLS;
        scanProbe = !pathProbe;
        if (pathProbe) this.#stats.pathProbes++;
      }
      if (scanProbe && ++c[pc + P_PROBES] === 1 && s >= 0) {
        src.counters[sc + S_PROBED_DSTS]++;
        // A target that answered this source's probes lately is revisited (a poller's), not
        // discovered: it does not count toward a sweep.
        if (this.answered.answered(pairHash, this.#pairCheck(pair.key), start)) {
          src.counters[sc + S_REVISITED_DSTS]++;
        } else {
          this.#addToHorizon(
            src.counters,
            sc,
            sourceHash,
            src.key,
            foldKey(KEY_SEED, pair.key, 4, 8),
          );
        }
      }
      pairPorts = c[pc + P_PROBED_PORTS];
    }
    if (probe && bwdPackets > 0) this.answered.remember(pairHash, this.#pairCheck(pair.key), end);

    // Service (TCP, UDP and SCTP: ICMP "ports" are types).
    let v = -1;
    if (protocol === 6 || protocol === 17 || protocol === 132) {
      const svc = this.services;
      copyWords(pair.key, 0, svc.key, 0, 8);
      svc.key[8] = (protocol << 16) | dstPort;
      v = svc.upsert(pairHash, 8);
      if (v >= 0) {
        const c = svc.counters;
        const vc = v * V_FIELDS;
        if (svc.created) c[vc + V_FIRST] = start;
        c[vc + V_FLOWS]++;
        c[vc + V_PACKETS] += packets;
        c[vc + V_FLAGGED] += flagged;
        // Votes count among completed exchanges only, as the share below is of
        // those: a flood or scan from the same source to the same service in
        // the window must not dilute a brute force's share.
        if (
          completed && verdict === VERDICT_KNOWN &&
          o.voteRule.bruteForceClass[decisions.classIndex[i]] === 1
        ) c[vc + V_BRUTE_VOTES]++;
        if (start < c[vc + V_FIRST]) c[vc + V_FIRST] = start;
        if (end > c[vc + V_LAST]) c[vc + V_LAST] = end;
        if (scanProbe && ++c[vc + V_PROBES] === 1 && p >= 0) {
          pairPorts = ++pair.counters[p * P_FIELDS + P_PROBED_PORTS];
          // The ports it probed in the windows before, within the horizon (slow scans).
          if (this.horizon.size > 0) {
            copyWords(pair.key, 0, this.horizon.key, 0, 9);
            horizonSlot = this.horizon.find(pairHash, 8);
            if (horizonSlot >= 0) pairPorts += this.horizon.unseen(horizonSlot, dstPort);
          }
          if (s >= 0) {
            src.counters[sc + S_PROBED_SERVICES]++;
            if (pairPorts > src.counters[sc + S_MAX_PORTS]) {
              src.counters[sc + S_MAX_PORTS] = pairPorts;
            }
          }
        }
        if (completed) {
          c[vc + V_COMPLETED]++;
          c[vc + V_COMPLETED_MICROS] += durationMicros;
        }
        // On a web port the count is the server's 408 answers (login_outcomes.ts), not logins.
        const logins = WEB_PORTS.has(dstPort) ? 0 : batch.logins[i];
        c[vc + V_LOGIN_FAILED] += logins & 15;
        c[vc + V_LOGIN_OK] += logins >>> 4;
        // Slow DoS: a request trickling in for seconds that the server never answered, or an
        // answer crawling out to a client that keeps its window tiny (slow read).
        const slow = this.#slowKind(batch, i, fwdBytes, bwdBytes);
        if (slow !== 0 && (batch.interim[i] === 0 || this.#firstSlowRow(batch, i))) {
          c[vc + V_SLOW]++;
          if (slow === SLOW_READ) c[vc + V_SLOW_READ]++;
        }
      }
    }

    // Targets (never a multicast or broadcast group): per port for SYN and
    // UDP floods (a scan of the same host elsewhere does not dilute them);
    // per host for reflection and amplification, whose victim ports are
    // whatever the spoofed requests carried.
    let t = -1, tAny = -1;
    if (!isGroupAddress(batch.dstAddr, i * 16)) {
      // Stealth probes are not SYN attempts: they never make a SYN flood.
      const attempt = protocol === 6 && probe && !stealth;
      const port = protocol === 6 || protocol === 17 ? dstPort : 0;
      const kinds = (attempt ? E_ATTEMPT : 0) | (halfOpen ? E_HALF_OPEN : 0) |
        (oneWay ? E_ONE_WAY : 0) | (echo ? E_ECHO : 0);
      t = this.#target(pair.key, protocol, port, i, batch, src.key, flagged, kinds);
      // The host too: reflection and amplification hit whatever ports the spoofed requests
      // carried, and a flood from spoofed sources may spread over ports as well.
      const spreading = (attempt || oneWay) && (protocol === 6 || protocol === 17);
      if (reflected || amplified || spreading) {
        tAny = this.#target(
          pair.key,
          protocol,
          ANY_PORT,
          i,
          batch,
          src.key,
          flagged,
          (reflected ? E_REFLECTED : 0) | (amplified ? E_AMPLIFIED : 0) |
            (attempt ? E_ATTEMPT : 0) | (oneWay ? E_ONE_WAY : 0),
        );
      }
    }

    // Only flows already busy on their first row (a lone datagram is not a flood of one flow).
    if ((echo || oneWay) && batch.interim[i] === 1 && t >= 0 && fwdPackets >= VOLUME_FLOW_PACKETS) {
      this.#rememberVolumeFlow(batch, i);
    }

    // Behaviours, checked only where no finding is open yet.
    if (s >= 0 && src.group[s] === 0 && protocol !== 58 && protocol !== 1) {
      if (pairPorts >= L.scanPorts) {
        // Named by what most of the source's probes were: SYNs, or FIN/Xmas/NULL segments.
        const c = src.counters;
        const kind = c[sc + S_STEALTH_PROBES] * 2 > c[sc + S_PROBES] ? "stealth-scan" : "scan";
        const f = this.#open1(kind, src, s, batch, i, now, opened, 0);
        if (f && horizonSlot >= 0) {
          // Named with ports of the windows before: its probes and span count from theirs.
          const carried = this.horizon.carried(horizonSlot);
          c[sc + S_PROBES] += carried.probes;
          if (carried.firstMicros < c[sc + S_FIRST]) c[sc + S_FIRST] = carried.firstMicros;
        }
      } else if (newTargets(src.counters, sc) >= L.sweepHosts) {
        this.#openSweep(src, s, sourceHash, batch, i, now, opened);
      }
    } else if (s >= 0 && src.group[s] === 0 && probe) {
      if (newTargets(src.counters, sc) >= L.sweepHosts) {
        this.#openSweep(src, s, sourceHash, batch, i, now, opened);
      }
    }
    // The flow's target, then its any-port target (no array per flow: this runs for every flow).
    this.#openFlood(t, protocol, dstPort, batch, i, now, opened);
    this.#openFlood(tAny, protocol, 0, batch, i, now, opened, true);
    if (v >= 0 && this.services.group[v] === 0 && protocol === 6) {
      const c = this.services.counters;
      const vc = v * V_FIELDS;
      const completedFlows = c[vc + V_COMPLETED];
      const web = WEB_PORTS.has(dstPort);
      if (this.#bruteForce(c, vc, dstPort)) {
        this.#open1("brute-force", this.services, v, batch, i, now, opened, dstPort);
      } else if (
        web && completedFlows >= L.connectionFloodConnections &&
        completedFlows / Math.max(1, (c[vc + V_LAST] - c[vc + V_FIRST]) / 1e6) >=
          L.connectionFloodRate
      ) {
        this.#open1("connection-flood", this.services, v, batch, i, now, opened, dstPort);
      } else if (web && c[vc + V_SLOW] >= L.slowConnections) {
        this.#open1(slowBehaviour(c, vc), this.services, v, batch, i, now, opened, dstPort);
      }
    }

    // A one-sided flow's model vote does not count: the model learnt flows seen both ways, and
    // one whose answers are missing is anomalous to it by that alone. A payload class
    // (one flow is enough: SQL injection) still votes: the request it names is seen.
    // Nor does a path probe's: its ports are a traceroute's run, not a scan's (PATH_PROBE_MAX_TTL).
    let voteDropped = false;
    if ((excused || pathProbe) && flagged) {
      const classIndex = verdict === VERDICT_KNOWN ? decisions.classIndex[i] : -1;
      voteDropped = classIndex < 0 || o.voteRule.singleFlowClass[classIndex] !== 1;
      if (pathProbe && voteDropped) this.#stats.pathProbeVotes++;
    }
    if (excused) this.oneSided.excused(voteDropped);
    if (flagged) {
      // The best-scoring flagged flow of a behaviour explains its alert.
      const score = decisions.score[i];
      this.#offerBest(this.sources, s, score, i);
      this.#offerBest(this.targets, t, score, i);
      this.#offerBest(this.targets, tAny, score, i);
      this.#offerBest(this.services, v, score, i);
      if (!voteDropped) this.#vote(batch, decisions, i, now, opened);
    }
  }

  /**
   * Counts a source's new target over the horizon (a sweep slower than 25
   * hosts a minute). A source's first new target of a window waits for its
   * second: a spoofed flood's sources, a probe each, never touch the horizon.
   * The window keeps the most it saw (a named source starts again: #openSweep).
   */
  #addToHorizon(
    c: Float64Array,
    sc: number,
    sourceHash: number,
    sourceKey: Uint32Array,
    targetHash: number,
  ): void {
    const fresh = c[sc + S_PROBED_DSTS] - c[sc + S_REVISITED_DSTS];
    if (fresh <= 1) {
      c[sc + S_FIRST_NEW_TARGET] = targetHash;
      return;
    }
    const check = foldKey(ANSWER_CHECK_SEED, sourceKey, 0, 5), epoch = Math.max(0, this.#epoch);
    if (fresh === 2) this.sweepHorizon.add(sourceHash, check, c[sc + S_FIRST_NEW_TARGET], epoch);
    const distinct = this.sweepHorizon.add(sourceHash, check, targetHash, epoch);
    if (distinct > c[sc + S_HORIZON_DSTS]) c[sc + S_HORIZON_DSTS] = distinct;
  }

  /**
   * Names source slot `s` a sweep and clears its horizon: its next line needs
   * 25 new targets again, as a fast sweep's next window does (a slow sweep
   * is not named again every window).
   */
  #openSweep(
    src: HostTable,
    s: number,
    sourceHash: number,
    batch: FlowBatch,
    i: number,
    now: number,
    opened: Finding[],
  ): void {
    if (this.#open1("sweep", src, s, batch, i, now, opened, 0)) {
      this.sweepHorizon.forget(sourceHash, foldKey(ANSWER_CHECK_SEED, src.key, 0, 5));
    }
  }

  /** A second hash of the pair key (source, target, protocol): the answered pairs' fingerprint. */
  #pairCheck(key: Uint32Array): number {
    return foldKey(ANSWER_CHECK_SEED, key, 0, 9);
  }

  /**
   * 1 (originator) or 2 (responder) when a TCP flow with no backward packet
   * behaved as answered: its SYN followed by the handshake's ACK or data, or
   * its SYN-ACK followed by ACKs or data (more ACK flags than SYN flags: a
   * SYN-ACK carries both). 0 otherwise, or without the flag columns.
   */
  #answeredAlone(batch: FlowBatch, i: number, state: number, synFlags: number): number {
    const ackColumn = this.#options.ackFlagsColumn ?? -1;
    if (ackColumn < 0 || synFlags === 0) return 0;
    const ack = this.#feature(batch, i, ackColumn);
    if (state === STATE.S0 || state === STATE.SH || state === STATE.RSTOS0) return ack > 0 ? 1 : 0;
    if (state === STATE.OTH || state === STATE.SHR || state === STATE.RSTRH) {
      return ack > synFlags ? 2 : 0;
    }
    return 0;
  }

  /**
   * Password guessing on service entry `vc`: failed logins the service said
   * (cleartext login services), or many short completed connections at a
   * rate (to a login service, or to a web service when the model calls most
   * of them brute force) unless the service said most of them logged in.
   */
  #bruteForce(c: Float64Array, vc: number, port: number): boolean {
    const L = BEHAVIOUR_LIMITS;
    const login = LOGIN_SERVICES.has(port);
    if (login && c[vc + V_LOGIN_FAILED] >= L.bruteForceFailures) return true;
    const completed = c[vc + V_COMPLETED];
    return (login || WEB_PORTS.has(port)) && completed >= L.bruteForceConnections &&
      c[vc + V_COMPLETED_MICROS] / completed <= L.bruteForceMaxSeconds * 1e6 &&
      completed / Math.max(1, (c[vc + V_LAST] - c[vc + V_FIRST]) / 1e6) >= L.bruteForceRate &&
      (login || c[vc + V_BRUTE_VOTES] >= L.webBruteForceFlagged * completed) &&
      c[vc + V_LOGIN_OK] * 2 < completed;
  }

  /**
   * A slow connection: to a web service, request bytes trickling in over at
   * least `slowMinSeconds` (first to last packet), slowly, and not one byte
   * of answer, or none but the server's "408 Request Timeout" (a trickle
   * slower than the server's header timeout: Apache answers 408 after 20 s,
   * nginx closes without a word). An ordinary client sends its request at
   * once and gets an answer; keep-alive and long-poll connections send
   * nothing more while they wait, and are answered 200; an SSH or TLS server
   * speaks first.
   */
  /** SLOW_HEADERS, SLOW_READ, or 0: how (whether) this web connection is slow. */
  #slowKind(batch: FlowBatch, i: number, fwdBytes: number, bwdBytes: number): number {
    const L = BEHAVIOUR_LIMITS;
    const seconds = (batch.endMicros[i] - batch.startMicros[i]) / 1e6;
    if (
      batch.protocol[i] !== 6 || !WEB_PORTS.has(batch.dstPort[i]) ||
      seconds < L.slowMinSeconds || fwdBytes <= 0
    ) return 0;
    // Unanswered, or answered 408 (REQUEST_TIMED_OUT in the failed-login count on web ports).
    if (bwdBytes === 0 || (batch.logins[i] & 15) !== 0) {
      return fwdBytes / seconds <= L.slowMaxBytesPerSecond ? SLOW_HEADERS : 0;
    }
    const window = this.#feature(batch, i, this.#options.initWinFwdColumn ?? -1);
    return window > 0 && window <= L.slowReadMaxWindow &&
        bwdBytes / seconds <= L.slowReadMaxBytesPerSecond
      ? SLOW_READ
      : 0;
  }

  /**
   * True the first time a row of this connection (key and start) is slow in
   * this window: its later interim rows and final row are slow too, and must
   * not count it again.
   */
  #firstSlowRow(batch: FlowBatch, i: number): boolean {
    const t = this.#slowFlows;
    flowKey(batch, i, t.key);
    const slot = t.upsert();
    if (slot < 0 || !t.created) return slot < 0;
    t.counters[slot] = 1;
    return true;
  }

  /** The first (interim) row of a one-way UDP or ICMP echo flow: what it counted. */
  #rememberVolumeFlow(batch: FlowBatch, i: number): void {
    const t = this.#volumeFlows;
    flowKey(batch, i, t.key);
    const slot = t.upsert();
    if (slot < 0) return;
    t.counters[slot * 3] = batch.fwdPackets[i];
    t.counters[slot * 3 + 1] = batch.endMicros[i];
    t.counters[slot * 3 + 2] = batch.fwdPackets[i] + batch.bwdPackets[i];
  }

  /**
   * A later row of a one-way UDP or ICMP echo flow remembered from its first
   * row: the forward packets since the row counted last go to its target's
   * flood evidence, over the time since that row.
   */
  #observeLaterVolumeRow(batch: FlowBatch, i: number, now: number, opened: Finding[]): void {
    const protocol = batch.protocol[i];
    const echo = isEchoRequest(protocol, batch.srcPort[i]);
    const oneWay = protocol === 17 && batch.bwdPackets[i] === 0;
    if (!echo && !oneWay) return;
    const flows = this.#volumeFlows;
    flowKey(batch, i, flows.key);
    const f = flows.find();
    if (f < 0) return; // never remembered, or pushed out by bigger flows: nothing more is counted
    const fwd = batch.fwdPackets[i];
    const packets = fwd + batch.bwdPackets[i];
    const delta = fwd - flows.counters[f * 3];
    const since = flows.counters[f * 3 + 1];
    const packetsDelta = packets - flows.counters[f * 3 + 2];
    const end = batch.endMicros[i];
    flows.counters[f * 3] = fwd;
    flows.counters[f * 3 + 1] = end;
    flows.counters[f * 3 + 2] = packets;
    if (delta <= 0) return;
    const tgt = this.targets;
    addressWords(batch.dstAddr, i * 16, tgt.key, 0);
    const port = protocol === 17 ? batch.dstPort[i] : 0;
    const t = this.#targetSlot(protocol, port);
    if (t < 0) return;
    const c = tgt.counters;
    const tc = t * T_FIELDS;
    if (tgt.created) {
      c[tc + T_FLOWS]++;
      c[tc + T_EVIDENCE_FLOWS]++;
    }
    c[tc + T_PACKETS] += packetsDelta;
    if (echo) c[tc + T_ECHO_PACKETS] += delta;
    if (oneWay) {
      c[tc + T_ONE_WAY_PACKETS] += delta;
      this.#countUdpSizes(c, tc, batch, i, delta);
    }
    if (since < c[tc + T_FIRST]) c[tc + T_FIRST] = since;
    if (end > c[tc + T_LAST]) c[tc + T_LAST] = end;
    addressWords(batch.srcAddr, i * 16, this.#sourceWords, 0);
    this.#sourceSketch.addKey(t, this.#sourceWords, 4, 0x51ed270b);
    this.#words[0] = batch.dstPort[i];
    this.#portSketch.addKey(t, this.#words, 1, 0x3c6ef372);
    this.#openFlood(t, protocol, port, batch, i, now, opened);
  }

  /**
   * A later row of a connection to a cleartext login service carries the
   * login outcomes since its previous row (password guessing over a few
   * long connections, as hydra does against IMAP): they count too.
   */
  #observeLaterLogins(batch: FlowBatch, i: number, now: number, opened: Finding[]): void {
    const v = this.#laterService(batch, i);
    if (v < 0) return;
    const c = this.services.counters, vc = v * V_FIELDS, logins = batch.logins[i];
    c[vc + V_LOGIN_FAILED] += logins & 15;
    c[vc + V_LOGIN_OK] += logins >>> 4;
    const dstPort = batch.dstPort[i];
    if (this.services.group[v] === 0 && this.#bruteForce(c, vc, dstPort)) {
      this.#open1("brute-force", this.services, v, batch, i, now, opened, dstPort);
    }
  }

  /** A later row of an open TCP connection: counted as slow, once, when it became slow. */
  #observeLaterSlowRow(batch: FlowBatch, i: number, now: number, opened: Finding[]): void {
    const o = this.#options;
    const fwdBytes = this.#feature(batch, i, o.fwdBytesColumn);
    const bwdBytes = this.#feature(batch, i, o.bwdBytesColumn);
    const slow = this.#slowKind(batch, i, fwdBytes, bwdBytes);
    if (slow === 0 || !this.#firstSlowRow(batch, i)) return;
    const v = this.#laterService(batch, i);
    if (v < 0) return;
    const svc = this.services, c = svc.counters, vc = v * V_FIELDS, dstPort = batch.dstPort[i];
    c[vc + V_SLOW]++;
    if (slow === SLOW_READ) c[vc + V_SLOW_READ]++;
    if (svc.group[v] === 0 && c[vc + V_SLOW] >= BEHAVIOUR_LIMITS.slowConnections) {
      this.#open1(slowBehaviour(c, vc), svc, v, batch, i, now, opened, dstPort);
    }
  }

  /**
   * The service entry (source, target, TCP port) of a later row of a
   * connection, its span widened to the row; -1 when the table is full.
   */
  #laterService(batch: FlowBatch, i: number): number {
    const svc = this.services;
    addressWords(batch.srcAddr, i * 16, svc.key, 0);
    addressWords(batch.dstAddr, i * 16, svc.key, 4);
    svc.key[8] = (6 << 16) | batch.dstPort[i];
    const v = svc.upsert();
    if (v < 0) return -1;
    const c = svc.counters;
    const vc = v * V_FIELDS;
    if (svc.created) {
      // First seen in an earlier window: it still stands for one connection here.
      c[vc + V_FLOWS] = 1;
      c[vc + V_FIRST] = batch.startMicros[i];
    }
    if (batch.startMicros[i] < c[vc + V_FIRST]) c[vc + V_FIRST] = batch.startMicros[i];
    if (batch.endMicros[i] > c[vc + V_LAST]) c[vc + V_LAST] = batch.endMicros[i];
    return v;
  }

  #offerBest(table: HostTable, slot: number, score: number, row: number): void {
    if (slot < 0 || table.group[slot] <= 0) return;
    const f = this.#findings[table.group[slot] - 1];
    if (f && score > f.bestScore) {
      f.bestScore = score;
      f.bestRow = row;
    }
  }

  /** Opens a flood-like finding on target `slot` (if any, none open yet) when its counters show one. */
  #openFlood(
    slot: number,
    protocol: number,
    service: number,
    batch: FlowBatch,
    i: number,
    now: number,
    opened: Finding[],
    anyPort = false,
  ): void {
    if (slot < 0 || this.targets.group[slot] !== 0) return;
    const behaviour = this.#floodAt(slot, protocol, anyPort);
    if (!behaviour) return;
    this.#open1(
      behaviour,
      this.targets,
      slot,
      batch,
      i,
      now,
      opened,
      behaviour === "amplification" ? this.targets.counters[slot * T_FIELDS + T_AMP_PORT] : service,
    );
  }

  /**
   * The target entry of the host in `targets.key[0..4)` for `protocol` and
   * `port` (created with empty sketches when new), or -1.
   */
  #targetSlot(protocol: number, port: number): number {
    const tgt = this.targets;
    tgt.key[4] = ((protocol << 17) | port) >>> 0;
    const t = tgt.upsert();
    if (t >= 0 && tgt.created) {
      this.#sourceSketch.clear(t);
      this.#portSketch.clear(t);
      tgt.counters[t * T_FIELDS + T_FIRST] = Number.POSITIVE_INFINITY;
    }
    return t;
  }

  /**
   * Adds a flow to the target entry (destination, protocol, port); returns its
   * slot or -1. `kinds`: the E_* evidence bits the flow carries.
   */
  #target(
    pairKey: Uint32Array,
    protocol: number,
    port: number,
    i: number,
    batch: FlowBatch,
    sourceKey: Uint32Array,
    flagged: number,
    kinds: number,
  ): number {
    const tgt = this.targets;
    copyWords(pairKey, 4, tgt.key, 0, 4);
    const t = this.#targetSlot(protocol, port);
    if (t < 0) return -1;
    const c = tgt.counters;
    const tc = t * T_FIELDS;
    const fwdPackets = batch.fwdPackets[i];
    c[tc + T_FLOWS]++;
    c[tc + T_PACKETS] += fwdPackets + batch.bwdPackets[i];
    c[tc + T_FLAGGED] += flagged;
    // A SYN flood's attempts: unanswered (spoofed sources), or answered and
    // reset by a real source's kernel; never carrying payload.
    if ((kinds & ~E_HALF_OPEN) === 0) return t;
    c[tc + T_EVIDENCE_FLOWS]++;
    if (kinds & E_HALF_OPEN) c[tc + T_HALF_OPEN]++;
    if (kinds & E_ATTEMPT) c[tc + T_ATTEMPT_PACKETS] += fwdPackets;
    if (kinds & E_REFLECTED) c[tc + T_REFLECTED_PACKETS] += fwdPackets;
    if (kinds & E_AMPLIFIED) {
      c[tc + T_AMP_PACKETS] += fwdPackets;
      if (c[tc + T_AMP_PORT] === 0) c[tc + T_AMP_PORT] = batch.srcPort[i];
    }
    if (kinds & E_ONE_WAY) {
      c[tc + T_ONE_WAY_PACKETS] += fwdPackets;
      if (protocol === 17) this.#countUdpSizes(c, tc, batch, i, fwdPackets);
      if (protocol === 6) {
        const o = this.#options;
        if (this.#feature(batch, i, o.rstFlagsColumn ?? -1) > 0) {
          c[tc + T_STRAY_RST_PACKETS] += fwdPackets;
        } else if (this.#feature(batch, i, o.finFlagsColumn ?? -1) > 0) {
          c[tc + T_STRAY_FIN_PACKETS] += fwdPackets;
        }
      }
    }
    if (kinds & E_ECHO) c[tc + T_ECHO_PACKETS] += fwdPackets;
    const start = batch.startMicros[i];
    const end = batch.endMicros[i];
    if (start < c[tc + T_FIRST]) c[tc + T_FIRST] = start;
    if (end > c[tc + T_LAST]) c[tc + T_LAST] = end;
    this.#sourceSketch.addKey(t, sourceKey, 4, 0x51ed270b);
    this.#words[0] = batch.dstPort[i];
    this.#portSketch.addKey(t, this.#words, 1, 0x3c6ef372);
    return t;
  }

  /**
   * The flood-like behaviour the target's counters show, or null. On a
   * host's any-port entry (`anyPort`) a SYN, TCP or UDP flood must also be
   * spread: many sources (spoofed) over many ports, the flood the per-port
   * entries never see whole; one that concentrates on a port is that port's.
   */
  #floodAt(t: number, protocol: number, anyPort = false): Behaviour | null {
    const L = BEHAVIOUR_LIMITS;
    const c = this.targets.counters;
    const tc = t * T_FIELDS;
    const span = Math.max(1, (c[tc + T_LAST] - c[tc + T_FIRST]) / 1e6);
    if (protocol === 6) {
      const syn = c[tc + T_ATTEMPT_PACKETS];
      if (syn >= L.floodPackets && syn / span >= L.floodRate && this.#spread(t, anyPort)) {
        return "syn-flood";
      }
      const reflected = c[tc + T_REFLECTED_PACKETS];
      if (reflected >= L.floodPackets && reflected / span >= L.floodRate) return "reflection";
      const stray = c[tc + T_ONE_WAY_PACKETS];
      if (
        stray >= L.volumeFloodPackets && stray / span >= L.volumeFloodRate &&
        this.#spread(t, anyPort)
      ) {
        // Named for the flag most of its segments carried (a RST answer counts for neither side).
        if (2 * c[tc + T_STRAY_RST_PACKETS] > stray) return "tcp-rst-flood";
        if (2 * c[tc + T_STRAY_FIN_PACKETS] > stray) return "tcp-fin-flood";
        return "tcp-ack-flood";
      }
      return null;
    }
    if (protocol === 17) {
      const amp = c[tc + T_AMP_PACKETS];
      if (amp >= L.floodPackets && amp / span >= L.floodRate) return "amplification";
      const oneWay = c[tc + T_ONE_WAY_PACKETS];
      // Mostly datagrams of varied sizes: telemetry's rates are a flood only many times over.
      const scale = 2 * c[tc + T_VARIED_PACKETS] > oneWay ? L.variedUdpFloodScale : 1;
      if (
        oneWay >= L.volumeFloodPackets * scale && oneWay / span >= L.volumeFloodRate * scale &&
        this.#spread(t, anyPort)
      ) {
        return "udp-flood";
      }
      return null;
    }
    const echo = c[tc + T_ECHO_PACKETS];
    if (echo >= L.volumeFloodPackets && echo / span >= L.volumeFloodRate) return "icmp-flood";
    return null;
  }

  /**
   * One-way UDP `packets` of row `i` at target counters `tc`: counted as
   * varied when the flow's datagram sizes vary, or differ from the size of
   * the target's first one-way flow. Flood tools repeat one datagram
   * (hping3 -d, LOIC, trafgen); telemetry that is one-way by design
   * (syslog, NetFlow and IPFIX, statsd, SNMP traps) carries records of many
   * lengths.
   */
  #countUdpSizes(c: Float64Array, tc: number, batch: FlowBatch, i: number, packets: number): void {
    const o = this.#options;
    const maxColumn = o.fwdLenMaxColumn ?? -1, minColumn = o.fwdLenMinColumn ?? -1;
    if (maxColumn < 0 || minColumn < 0) return;
    const max = this.#feature(batch, i, maxColumn), min = this.#feature(batch, i, minColumn);
    if (c[tc + T_ONE_WAY_SIZE] === 0) c[tc + T_ONE_WAY_SIZE] = max + 1;
    if (max !== min || max + 1 !== c[tc + T_ONE_WAY_SIZE]) c[tc + T_VARIED_PACKETS] += packets;
  }

  /**
   * Whether target `t`'s flood counts may stand as a flood: always on a
   * port's entry; on a host's any-port entry only when spread from spoofed
   * sources. The sketches' estimates walk their registers, so they are
   * asked only once the counts are met, and then every 256th evidence flow
   * (a flood on one port meets the host's counts at every flow).
   */
  #spread(t: number, anyPort: boolean): boolean {
    if (!anyPort) return true;
    const L = BEHAVIOUR_LIMITS;
    const flows = this.targets.counters[t * T_FIELDS + T_EVIDENCE_FLOWS];
    if ((flows & 255) !== 0) return false;
    const sources = this.#sourceSketch.estimate(t);
    // Spoofed: a packet or two per source. Many real scanners of one host send many each
    // (they are scans, each its own), and so do bots (their own scans or per-port floods).
    return sources >= L.spreadFloodSources && flows <= L.spreadFloodFlowsPerSource * sources &&
      this.#portSketch.estimate(t) >= L.spreadFloodPorts;
  }

  #vote(
    batch: FlowBatch,
    decisions: Decisions,
    i: number,
    now: number,
    opened: Finding[],
  ): void {
    const rule = this.#options.voteRule;
    const verdict = decisions.verdict[i];
    const classIndex = verdict === VERDICT_KNOWN ? decisions.classIndex[i] : -1;
    const nearest = decisions.nearestClass?.[i] ?? -1;
    const score = decisions.score[i];
    const votes = this.votes;
    copyWords(this.pairs.key, 0, votes.key, 0, 8);
    votes.key[8] = ((verdict & 0xff) << 24) | (((classIndex + 1) & 0xfff) << 12) |
      ((nearest + 1) & 0xfff);
    votes.key[9] = batch.protocol[i];
    const m = votes.upsert(this.#pairHash, 8);
    // A vote group pushed out keeps its flows in the totals: weak, or folded when its host has a behaviour.
    if (votes.evictedFlows > 0) {
      if (this.#hostHasBehaviour(votes.evictedKey)) {
        this.#stats.foldedVoteFlows += votes.evictedFlows;
      } else {
        this.#stats.weakVoteGroups++;
        this.#stats.weakVoteFlows += votes.evictedFlows;
      }
    }
    if (m < 0) {
      this.#stats.weakVoteGroups++;
      this.#stats.weakVoteFlows++;
      return;
    }
    const c = votes.counters;
    const mc = m * M_FIELDS;
    const start = batch.startMicros[i];
    const end = batch.endMicros[i];
    if (votes.created) {
      c[mc + M_FIRST] = start;
      c[mc + M_BEST] = Number.NEGATIVE_INFINITY;
    }
    c[mc + M_FLOWS]++;
    c[mc + M_PACKETS] += batch.fwdPackets[i] + batch.bwdPackets[i];
    if (start < c[mc + M_FIRST]) c[mc + M_FIRST] = start;
    if (end > c[mc + M_LAST]) c[mc + M_LAST] = end;
    const anomalyOnly = verdict === VERDICT_UNKNOWN && nearest < 0;
    // An anomaly-only score on a UDP exchange is its length alone: the flow is in the group,
    // never its evidence (no port, strength or rate; vote_rule.ts isUdpExchange).
    const evidence = !anomalyOnly ||
      !isUdpExchange(batch.protocol[i], batch.fwdPackets[i], batch.bwdPackets[i]);
    const vp = this.votePorts;
    vp.key.set(votes.key);
    vp.key[9] = (batch.protocol[i] << 16) | batch.dstPort[i];
    const port = evidence ? vp.upsert(this.#pairHash, 8) : -1;
    if (port >= 0) {
      vp.counters[port]++;
      if (vp.created) c[mc + M_PORTS]++;
    }
    const o = this.#options;
    const bulk = isBulkTransfer(
      batch.protocol[i],
      batch.connState[i],
      batch.bwdPackets[i],
      this.#feature(batch, i, o.fwdBytesColumn),
      this.#feature(batch, i, o.bwdBytesColumn),
    );
    const strong = isStrongVote(score, batch.bwdPackets[i], rule, bulk);
    const rate = countsTowardRate(score, anomalyOnly, rule, bulk);
    if (evidence && strong) c[mc + M_STRONG]++;
    if (evidence && rate) c[mc + M_RATE]++;
    if (
      bulk && (strong !== isStrongVote(score, batch.bwdPackets[i], rule) ||
        rate !== countsTowardRate(score, anomalyOnly, rule))
    ) this.#stats.bulkVoteFlows++;
    const group = votes.group[m];
    if (score > c[mc + M_BEST]) {
      c[mc + M_BEST] = score;
      c[mc + M_THRESHOLD] = decisions.threshold[i];
      if (group > 0) this.#findings[group - 1]!.bestRow = i;
    }
    if (group !== 0 || c[mc + M_FOLDED] > 0) return;

    const single = verdict === VERDICT_KNOWN && classIndex >= 0 &&
      rule.singleFlowClass[classIndex] === 1;
    const enough = voteIsEnough(
      { singleFlowClass: single, anomalyOnly },
      {
        flows: c[mc + M_FLOWS],
        ports: c[mc + M_PORTS],
        firstMicros: c[mc + M_FIRST],
        lastMicros: c[mc + M_LAST],
        strongFlows: c[mc + M_STRONG],
        rateFlows: c[mc + M_RATE],
      },
      rule,
    );
    if (!enough) return;
    const f = this.#open1("model", votes, m, batch, i, now, opened, 0, !single);
    if (f) {
      f.verdict = verdict;
      f.classIndex = classIndex;
      f.nearestClass = nearest;
      f.bestRow = i;
    }
  }

  #open1(
    behaviour: Behaviour,
    table: HostTable,
    slot: number,
    batch: FlowBatch,
    i: number,
    now: number,
    opened: Finding[],
    service: number,
    pending = false,
  ): Finding | null {
    if (this.#open + this.#pending >= (this.#options.maxFindings ?? 1024)) {
      this.#stats.findingsRefused++;
      table.group[slot] = -1; // checked no more this window
      return null;
    }
    const f: Finding = {
      id: this.#findings.length,
      behaviour,
      protocol: batch.protocol[i],
      service,
      record: this.#options.describeFlow(batch, i),
      fwdBytes: this.#feature(batch, i, this.#options.fwdBytesColumn),
      bwdBytes: this.#feature(batch, i, this.#options.bwdBytesColumn),
      openedMicros: now,
      verdict: VERDICT_KNOWN,
      classIndex: -1,
      nearestClass: -1,
      bestRow: -1,
      bestScore: Number.NEGATIVE_INFINITY,
      pending: false,
      table,
      slot,
    };
    this.#findings.push(f);
    table.group[slot] = f.id + 1;
    this.#mark(table, slot, behaviour);
    if (pending) {
      f.pending = true;
      this.#pending++;
    } else {
      this.#open++;
      opened.push(f);
    }
    return f;
  }

  /** The counters a finding rests on, now. */
  summary(f: Finding): EvidenceSummary {
    const c = f.table.counters;
    const out: EvidenceSummary = {
      flows: 0,
      packets: 0,
      firstMicros: 0,
      lastMicros: 0,
      sources: 1,
      targets: 1,
      distinctDestPorts: 1,
      halfOpen: 0,
      rejected: 0,
      errorReplies: 0,
      loginFailures: 0,
      loginSuccesses: 0,
      ratePps: 0,
      modelFlagged: 0,
      bestScore: 0,
      threshold: 0,
    };
    if (f.table === this.sources) {
      const b = f.slot * S_FIELDS;
      out.flows = c[b + S_PROBES];
      out.packets = c[b + S_PACKETS];
      out.firstMicros = c[b + S_FIRST];
      out.lastMicros = c[b + S_LAST];
      // A sweep named over the horizon counts the horizon's targets.
      out.targets = Math.max(c[b + S_PROBED_DSTS], c[b + S_HORIZON_DSTS]);
      out.distinctDestPorts = f.protocol === 6 || f.protocol === 17 || f.protocol === 132
        ? c[b + S_MAX_PORTS]
        : 0;
      out.halfOpen = c[b + S_HALF_OPEN];
      out.rejected = c[b + S_REJECTED];
      out.errorReplies = c[b + S_ERROR_REPLIES];
      out.modelFlagged = c[b + S_FLAGGED];
      out.ratePps = out.flows / Math.max(1, (out.lastMicros - out.firstMicros) / 1e6);
    } else if (f.table === this.targets) {
      const b = f.slot * T_FIELDS;
      const evidencePackets = f.behaviour === "syn-flood"
        ? c[b + T_ATTEMPT_PACKETS]
        : f.behaviour === "reflection"
        ? c[b + T_REFLECTED_PACKETS]
        : f.behaviour === "amplification"
        ? c[b + T_AMP_PACKETS]
        : f.behaviour === "icmp-flood"
        ? c[b + T_ECHO_PACKETS]
        : c[b + T_ONE_WAY_PACKETS];
      out.flows = c[b + T_EVIDENCE_FLOWS];
      out.packets = evidencePackets;
      out.firstMicros = c[b + T_FIRST];
      out.lastMicros = c[b + T_LAST];
      out.sources = this.#sourceSketch.estimate(f.slot);
      out.distinctDestPorts = f.protocol === 6 || f.protocol === 17
        ? this.#portSketch.estimate(f.slot)
        : 0;
      out.halfOpen = c[b + T_HALF_OPEN];
      out.modelFlagged = c[b + T_FLAGGED];
      out.ratePps = evidencePackets / Math.max(1, (out.lastMicros - out.firstMicros) / 1e6);
    } else if (f.table === this.services) {
      const b = f.slot * V_FIELDS;
      out.flows = f.behaviour === "slow-dos" || f.behaviour === "slow-read"
        ? c[b + V_SLOW]
        : c[b + V_COMPLETED];
      out.packets = c[b + V_PACKETS];
      out.firstMicros = c[b + V_FIRST];
      out.lastMicros = c[b + V_LAST];
      out.modelFlagged = c[b + V_FLAGGED];
      out.loginFailures = c[b + V_LOGIN_FAILED];
      out.loginSuccesses = c[b + V_LOGIN_OK];
      out.ratePps = c[b + V_FLOWS] / Math.max(1, (out.lastMicros - out.firstMicros) / 1e6);
    } else {
      const b = f.slot * M_FIELDS;
      out.flows = c[b + M_FLOWS];
      out.packets = c[b + M_PACKETS];
      out.firstMicros = c[b + M_FIRST];
      out.lastMicros = c[b + M_LAST];
      out.distinctDestPorts = c[b + M_PORTS];
      out.modelFlagged = c[b + M_FLOWS];
      out.bestScore = c[b + M_BEST];
      out.threshold = c[b + M_THRESHOLD];
      out.ratePps = out.flows / Math.max(1, (out.lastMicros - out.firstMicros) / 1e6);
    }
    return out;
  }
}

/** A slow DoS is named by what most of its slow connections were. */
function slowBehaviour(c: Float64Array, vc: number): Behaviour {
  return 2 * c[vc + V_SLOW_READ] > c[vc + V_SLOW] ? "slow-read" : "slow-dos";
}
