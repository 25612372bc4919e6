/**
 * Alert aggregation on top of the host-level evidence (src/evidence): every
 * scored flow feeds the evidence tables; a behaviour (scan, sweep, flood,
 * reflection, amplification, brute force, slow DoS) or a model vote group
 * whose evidence is enough becomes an alert group, and its first line leaves
 * at once (in the same batch that completed the evidence), not when a window
 * closes. When the evidence window closes, a group whose counts grew since
 * its first line gets one closing line (`alert.stage: "final"`) with the
 * window's totals. Lines pass a volume cap (`AlertVolumeCap`): what the cap
 * holds back is counted and carried by the next line written.
 *
 * The cost is per alert group, not per flagged flow: flows only touch typed
 * counters; one record and one explanation are made per group.
 *
 * A model vote group becomes an alert only with evidence: `minFlows` flows
 * with fan-out (10 ports) or rate (20 flows at 2 per second), or, for an
 * anomaly-only unknown, a strong anomaly on more than one flow (the rule in
 * src/evidence/vote_rule.ts, which eval applies too; `voteThresholds`).
 * Groups that never get there are counted (`suppressedUnknowns`), not
 * alerted.
 */
import {
  type FlowBatch,
  type FlowRecord,
  type PacketFinding,
  parseAddress,
} from "../features/mod.ts";
import { packetFindingAlert } from "./packet_alerts.ts";
import { alertWindow, isoTime, round } from "./line_fields.ts";
import {
  type Decisions,
  detailRow,
  type FeatureBaseline,
  type ModelScores,
  VERDICT_KNOWN,
} from "../inference/mod.ts";
import {
  BEHAVIOUR_LIMITS,
  behaviourName,
  DEFAULT_STRONG_FLOWS,
  type EvidenceSummary,
  type Finding,
  HostEvidence,
  type HostEvidenceSizes,
  type OneSidedStats,
  protocolWord,
  type VoteThresholds,
} from "../evidence/mod.ts";
import {
  isBehaviourClass,
  isBruteForceClass,
  isGenericClass,
  isScanClass,
  nameAlert,
} from "./naming.ts";
import { type Alert, protocolName, type TopFeature } from "./schema.ts";
import { AlertVolumeCap, type SuppressedLines } from "./volume.ts";

/** Configuration of an aggregator. */
export interface AggregatorOptions {
  /** Window length in seconds (default 60). */
  windowSeconds?: number;
  /** Feature column names (the bundle's), used for byte totals and explanations. */
  featureNames: readonly string[];
  /** Classifier class names, by index. */
  classNames: readonly string[];
  /**
   * `alert.model` for known and unknown verdicts; `voters`: the members of an
   * ensemble anomaly model, in the column order of its votes (for `alert.voters`).
   */
  modelNames: {
    classifier?: string;
    anomaly?: string;
    voters?: readonly string[];
    /** The bundle's packet members, in the column order of `add`'s `packetVotes`. */
    packetVoters?: readonly string[];
  };
  /** Benign centers and scales for z-scores; null: explain without them. */
  baseline?: FeatureBaseline | null;
  /** How many features `top_features` lists (default 5). */
  topFeatures?: number;
  /** Turns row `i` of a batch into plain values (the flow meter's `flowRecordAt`). */
  describeFlow: (batch: FlowBatch, i: number) => FlowRecord;
  /** Wall clock in ms, for latency accounting (default `performance.timeOrigin + performance.now()`). */
  nowMs?: () => number;
  /** When a model vote group becomes an alert; absent: the defaults and no strong threshold. */
  unknownRule?: UnknownAlertRule;
  /** Alert lines per minute at most (default {@link DEFAULT_ALERTS_PER_MINUTE}). */
  maxAlertsPerMinute?: number;
  /** Capacities of the evidence tables (defaults in src/evidence). */
  evidence?: HostEvidenceSizes;
}

/**
 * The settings of the vote rule (src/evidence/vote_rule.ts) a run can change:
 * how many flows a group needs, and when an anomaly-only group's flows are
 * strong enough that `strongFlows` of them suffice.
 */
export interface UnknownAlertRule {
  /** Flagged flows a group needs with fan-out or rate (default {@link DEFAULT_MIN_UNKNOWN_FLOWS}). */
  minFlows: number;
  /** Anomaly score at which a flow counts as strongly anomalous; undefined: never. */
  strongThreshold?: number;
  /** Strongly anomalous flows an anomaly-only group needs (default 2: one flow is never enough). */
  strongFlows?: number;
  /** Anomaly score at which an anomaly-only group's flow counts toward its rate; undefined: every flow. */
  rateThreshold?: number;
}

/**
 * A flow counts as strongly anomalous when its anomaly score reaches the
 * bundle's `strongThreshold` times this margin. The bundle calibrates that
 * threshold on its own benign world; benign protocols it never saw (SMTP with
 * an attachment, IPv4 and IPv6 fragments in the public development captures)
 * scored up to 1.43 times it. An explicit `--strong-anomaly-threshold` is
 * used as given.
 */
export const SINGLE_FLOW_STRONG_MARGIN = 2;

/** Default `minFlows` of the unknown rule. */
export const DEFAULT_MIN_UNKNOWN_FLOWS = 3;

/**
 * Fan-out evidence of a model vote group: distinct destination ports (a
 * client's DNS answers to 7 ephemeral ports are not; set on the development
 * captures).
 */
export const VOTE_MIN_PORTS = 10;
/** Rate evidence of a model vote group: this many flows ... */
export const VOTE_RATE_FLOWS = 20;
/** ... at this many flows per second or faster (a browser's few connections to a site are not). */
export const VOTE_RATE_PER_SECOND = 2;

/** The whole vote rule for a run's settings (absent: the defaults, no strong threshold). */
export function voteThresholds(rule: UnknownAlertRule | undefined): VoteThresholds {
  return {
    minFlows: rule?.minFlows ?? DEFAULT_MIN_UNKNOWN_FLOWS,
    minPorts: VOTE_MIN_PORTS,
    rateFlows: VOTE_RATE_FLOWS,
    ratePerSecond: VOTE_RATE_PER_SECOND,
    strongThreshold: rule?.strongThreshold,
    strongFlows: rule?.strongFlows ?? DEFAULT_STRONG_FLOWS,
    rateThreshold: rule?.rateThreshold,
  };
}

/** Unknown groups the rule kept back (their flows still count as unknown verdicts). */
export interface SuppressedUnknowns {
  groups: number;
  flows: number;
  /** Flagged bulk transfers not counted as strong or toward a rate (vote_rule.ts isBulkTransfer). */
  bulkFlows: number;
}

/** An emitted alert with when its first flow reached the aggregator (wall clock, ms). */
export interface EmittedAlert {
  alert: Alert;
  firstArrivalMs: number;
}

/** What the alert path did, for the run summary. */
export interface AlertVolumeStats {
  /** Alert groups opened (behaviours and model vote groups with enough evidence). */
  groups: number;
  /** Lines written (first and closing lines). */
  lines: number;
  /** Lines the volume cap held back, and the flows they stood for. */
  suppressedLines: number;
  suppressedFlows: number;
  /** Flagged flows folded into a behaviour alert of the same host instead of a line of their own. */
  foldedFlows: number;
  /** ICMP errors counted for the probe they answer. */
  errorReplies: number;
  /** UDP flows sent with a traceroute's TTL, not counted as probes; their model votes not counted. */
  pathProbes: number;
  pathProbeVotes: number;
  /** Groups not opened because too many were open at once. */
  groupsRefused: number;
  /** Evidence table entries evicted to stay within their capacity. */
  evidenceEvictions: number;
  /** Bytes held by the evidence tables (fixed at start). */
  evidenceBytes: number;
}

/** Per alert group: what was said and when. */
interface GroupState {
  finding: Finding;
  firstArrivalMs: number;
  /** Flows counted in the last written line (-1: no line yet). */
  reportedFlows: number;
  /** Packets counted in the last written line (a flood of one flow grows in packets only). */
  reportedPackets: number;
  /** Counted among the run's alert groups (a vote group folded while pending never is). */
  counted: boolean;
  topFeatures: TopFeature[];
  explainedScore: number;
  /** Ensemble members that voted on the group's explained (highest-scoring) flow. */
  voters?: string[];
}

/** Column names the byte totals may have, in CICFlowMeter's spellings. */
const FWD_BYTES_COLUMNS = [
  "total length of fwd packets",
  "totlen fwd pkts",
  "fwd packets length total",
  "total fwd bytes",
];
const BWD_BYTES_COLUMNS = [
  "total length of bwd packets",
  "totlen bwd pkts",
  "bwd packets length total",
  "total bwd bytes",
];

/** Columns of the forward and backward byte totals in `names` (-1 when absent). */
export function findByteColumns(names: readonly string[]): { fwd: number; bwd: number } {
  return { fwd: findColumn(names, FWD_BYTES_COLUMNS), bwd: findColumn(names, BWD_BYTES_COLUMNS) };
}

function findColumn(names: readonly string[], candidates: string[]): number {
  const normalised = names.map((n) => n.trim().toLowerCase());
  for (const c of candidates) {
    const i = normalised.indexOf(c);
    if (i >= 0) return i;
  }
  return -1;
}

/** Turns scored flows into alert lines through the host-level evidence. */
export class AlertAggregator {
  readonly windowMicros: number;
  readonly evidence: HostEvidence;
  #options: AggregatorOptions;
  #cap: AlertVolumeCap;
  #groups = new Map<Finding, GroupState>();
  #watermark = 0;
  #topCount: number;
  #nowMs: () => number;
  #stats = { groups: 0 };

  constructor(options: AggregatorOptions) {
    this.#options = options;
    this.windowMicros = (options.windowSeconds ?? 60) * 1e6;
    if (!(this.windowMicros > 0)) throw new Error("alert window must be positive");
    const bytes = findByteColumns(options.featureNames);
    const synFlags = findColumn(options.featureNames, ["syn flag count", "syn flag cnt"]);
    const ackFlags = findColumn(options.featureNames, ["ack flag count", "ack flag cnt"]);
    const rstFlags = findColumn(options.featureNames, ["rst flag count", "rst flag cnt"]);
    const finFlags = findColumn(options.featureNames, ["fin flag count", "fin flag cnt"]);
    const initWinFwd = findColumn(options.featureNames, [
      "init_win_bytes_forward",
      "init fwd win byts",
      "fwd init win bytes",
    ]);
    const fwdLenMax = findColumn(options.featureNames, [
      "fwd packet length max",
      "fwd pkt len max",
    ]);
    const fwdLenMin = findColumn(options.featureNames, [
      "fwd packet length min",
      "fwd pkt len min",
    ]);
    const rule = options.unknownRule;
    const singleFlowClass = new Uint8Array(Math.max(1, options.classNames.length));
    const bruteForceClass = new Uint8Array(Math.max(1, options.classNames.length));
    options.classNames.forEach((name, c) => {
      singleFlowClass[c] = isBehaviourClass(name) ? 0 : 1;
      bruteForceClass[c] = isBruteForceClass(name) ? 1 : 0;
    });
    this.evidence = new HostEvidence({
      ...options.evidence,
      windowMicros: this.windowMicros,
      fwdBytesColumn: bytes.fwd,
      bwdBytesColumn: bytes.bwd,
      synFlagsColumn: synFlags,
      ackFlagsColumn: ackFlags,
      rstFlagsColumn: rstFlags,
      finFlagsColumn: finFlags,
      initWinFwdColumn: initWinFwd,
      fwdLenMaxColumn: fwdLenMax,
      fwdLenMinColumn: fwdLenMin,
      describeFlow: options.describeFlow,
      voteRule: {
        ...voteThresholds(rule),
        singleFlowClass,
        bruteForceClass,
      },
    });
    this.#cap = new AlertVolumeCap(options.maxAlertsPerMinute);
    this.#topCount = options.topFeatures ?? 5;
    this.#nowMs = options.nowMs ?? (() => performance.timeOrigin + performance.now());
  }

  /** Alert groups open in the current window. */
  get openAlerts(): number {
    return this.#groups.size;
  }

  /** Model vote groups that never had enough evidence (their flows still count as verdicts). */
  get suppressedUnknowns(): Readonly<SuppressedUnknowns> {
    const s = this.evidence.stats();
    return { groups: s.weakVoteGroups, flows: s.weakVoteFlows, bulkFlows: s.bulkVoteFlows };
  }

  /** Conversations seen one side only: proofs, flows and votes not counted as evidence (one_sided.ts). */
  get oneSided(): OneSidedStats {
    return this.evidence.oneSided.stats();
  }

  /** Volume figures for the run summary. */
  get volume(): AlertVolumeStats {
    const e = this.evidence.stats();
    const suppressed = this.#cap.suppressed;
    return {
      groups: this.#stats.groups,
      lines: this.#cap.written,
      suppressedLines: suppressed.lines,
      suppressedFlows: suppressed.flows,
      foldedFlows: e.foldedVoteFlows,
      errorReplies: e.errorReplies,
      pathProbes: e.pathProbes,
      pathProbeVotes: e.pathProbeVotes,
      groupsRefused: e.findingsRefused,
      evidenceEvictions: Object.values(e.tables).reduce((n, t) => n + t.evicted + t.refused, 0),
      evidenceBytes: this.evidence.bytes,
    };
  }

  /**
   * Lines for what the meter's packet monitors found (ARP, ND, DHCP, IP
   * anomalies): each finding is one line, under the same volume cap as
   * every other line.
   */
  addPacketFindings(findings: readonly PacketFinding[]): EmittedAlert[] {
    const out: EmittedAlert[] = [];
    const now = this.#nowMs();
    for (const finding of findings) {
      const episode = finding.kind === "arp-sweep" || finding.kind === "nd-sweep" ||
        finding.kind === "dhcp-starvation";
      if (!episode || finding.stage === "first") this.#stats.groups++;
      const packets = finding.kind === "arp-sweep" || finding.kind === "dhcp-starvation"
        ? finding.requests
        : finding.kind === "nd-sweep"
        ? finding.solicitations
        : finding.kind === "dns-tunnel"
        ? finding.queries
        : finding.kind === "http-scan" || finding.kind === "http-keepalive-flood"
        ? finding.requests
        : finding.kind === "icmp-tunnel"
        ? finding.requests + finding.replies
        : finding.kind === "mac-flood"
        ? finding.frames
        : 1;
      const source = votingSourceOf(finding);
      if (source) this.evidence.markSource(source);
      if (!this.#cap.admit(finding.atMicros, packets)) continue;
      const alert = packetFindingAlert(finding, this.windowMicros, this.#cap.takeSuppressed());
      out.push({ alert, firstArrivalMs: now });
    }
    return out;
  }

  /** The current watermark, microseconds since the epoch. */
  get watermark(): number {
    return this.#watermark;
  }

  /**
   * Adds every row of a scored batch (benign rows are evidence too). Advances
   * the watermark to the batch's latest flow end; returns the closing lines of
   * a window that ended and the first lines of groups this batch completed.
   */
  add(
    batch: FlowBatch,
    decisions: Decisions,
    scores: ModelScores,
    packetVotes?: Uint8Array,
  ): EmittedAlert[] {
    let latest = this.#watermark;
    for (let i = 0; i < batch.count; i++) {
      if (batch.endMicros[i] > latest) latest = batch.endMicros[i];
    }
    const out = this.advance(latest);
    const opened = this.evidence.observe(batch, decisions, this.#watermark);
    // Explain the best flagged flow of a group when it is in this batch (rarely more than once).
    for (const f of this.evidence.live()) {
      const row = f.bestRow;
      if (row < 0) continue;
      const g = this.#state(f);
      if (decisions.score[row] <= g.explainedScore) continue;
      g.explainedScore = decisions.score[row];
      g.topFeatures = this.#explain(batch, row, scores, decisions.verdict[row]);
      g.voters = this.#voters(scores, row, packetVotes);
    }
    for (const f of opened) {
      const line = this.#line(this.#state(f), "first", this.#watermark);
      if (line) out.push(line);
    }
    return out;
  }

  /** The alert group of a finding, made on first sight. */
  #state(f: Finding): GroupState {
    let g = this.#groups.get(f);
    if (!g) {
      g = {
        finding: f,
        firstArrivalMs: this.#nowMs(),
        reportedFlows: -1,
        reportedPackets: -1,
        counted: false,
        topFeatures: [],
        explainedScore: Number.NEGATIVE_INFINITY,
      };
      this.#groups.set(f, g);
    }
    return g;
  }

  /** Moves the watermark to `timeMicros` (if later); closes the evidence window it left. */
  advance(timeMicros: number): EmittedAlert[] {
    if (timeMicros > this.#watermark) this.#watermark = timeMicros;
    // A new window: close the old one (its closing lines) and start counting afresh.
    const closed = this.evidence.roll(this.#watermark);
    const out = closed ? this.#closeWindow(closed) : [];
    // Model vote groups whose grace ended while no flow arrived (live, quiet link).
    const opened: Finding[] = [];
    this.evidence.settle(this.#watermark, opened);
    for (const f of opened) {
      const line = this.#line(this.#state(f), "first", this.#watermark);
      if (line) out.push(line);
    }
    return out;
  }

  /** Ends the current window now (end of input, shutdown): its closing lines. */
  flush(): EmittedAlert[] {
    return this.#closeWindow(this.evidence.close());
  }

  #closeWindow(closed: Finding[]): EmittedAlert[] {
    const out: EmittedAlert[] = [];
    for (const f of closed) {
      const g = this.#state(f);
      const summary = this.evidence.summary(f);
      if (summary.flows === g.reportedFlows && summary.packets === g.reportedPackets) continue;
      const line = this.#line(g, "final", this.#watermark);
      if (line) out.push(line);
    }
    this.#groups.clear();
    this.evidence.reset();
    return out;
  }

  /** One line for a group (null when the volume cap holds it back). */
  #line(g: GroupState, stage: "first" | "final", atMicros: number): EmittedAlert | null {
    const summary = this.evidence.summary(g.finding);
    if (!g.counted) {
      g.counted = true;
      this.#stats.groups++;
    }
    if (!this.#cap.admit(atMicros, summary.flows)) return null;
    g.reportedFlows = summary.flows;
    g.reportedPackets = summary.packets;
    const alert = this.#alert(g, summary, stage, atMicros, this.#cap.takeSuppressed());
    return { alert, firstArrivalMs: g.firstArrivalMs };
  }

  #alert(
    g: GroupState,
    e: EvidenceSummary,
    stage: "first" | "final",
    atMicros: number,
    suppressed: SuppressedLines | null,
  ): Alert {
    const o = this.#options;
    const f = g.finding;
    const r = f.record;
    let verdict: "known" | "unknown" = "known";
    let className: string;
    let name: string;
    let severity: 1 | 2 | 3;
    let model = "host-evidence";
    let score: number;
    let threshold: number;
    let nearest: string | undefined;
    if (f.behaviour !== "model") {
      const n = behaviourName(f.behaviour, f.protocol, f.service);
      className = n.id;
      name = n.name;
      severity = n.severity;
      ({ score, threshold } = behaviourScore(f, e));
    } else {
      score = e.bestScore;
      threshold = e.threshold;
      const claimed = f.classIndex >= 0
        ? (o.classNames[f.classIndex] ?? `class ${f.classIndex}`)
        : "";
      const spanSeconds = Math.max(10, (e.lastMicros - e.firstMicros) / 1e6);
      // A behaviour class is named when its own kind of evidence is there:
      // fan-out for scans, a sustained rate for floods, DoS and brute force.
      const evidenced = isScanClass(claimed)
        ? e.distinctDestPorts >= VOTE_MIN_PORTS
        : e.flows >= VOTE_RATE_FLOWS && e.flows / spanSeconds >= VOTE_RATE_PER_SECOND;
      if (
        f.verdict === VERDICT_KNOWN && f.classIndex >= 0 &&
        (!isBehaviourClass(claimed) || (evidenced && !isGenericClass(claimed)))
      ) {
        // A class one flow can show (the class gate let it through), or a
        // behaviour class whose claims come with that behaviour's evidence.
        className = claimed;
        ({ name, severity } = nameAlert(claimed, NO_EVIDENCE));
        model = o.modelNames.classifier ?? "model";
      } else {
        // A behaviour class without the behaviour, or an anomaly: unknown, never the class's name.
        verdict = "unknown";
        className = "unknown";
        name = `unknown ${protocolWord(f.protocol)} anomaly`;
        severity = 2;
        const nearestIndex = f.nearestClass >= 0
          ? f.nearestClass
          : f.verdict === VERDICT_KNOWN
          ? f.classIndex
          : -1;
        if (nearestIndex >= 0) nearest = o.classNames[nearestIndex] ?? `class ${nearestIndex}`;
        model = (f.verdict === VERDICT_KNOWN ? o.modelNames.classifier : o.modelNames.anomaly) ??
          "model";
      }
    }
    const first = e.firstMicros > 0 ? e.firstMicros : r.startMicros;
    const last = Math.max(e.lastMicros, first);
    return {
      timestamp: isoTime(atMicros),
      event_type: "alert",
      src_ip: r.srcIp,
      src_port: r.srcPort,
      dest_ip: r.dstIp,
      dest_port: r.dstPort,
      proto: protocolName(r.protocol),
      ...(r.vlan ? { vlan: [r.vlan] } : {}),
      community_id: r.communityId,
      flow: {
        pkts_toserver: r.fwdPackets,
        pkts_toclient: r.bwdPackets,
        bytes_toserver: f.fwdBytes,
        bytes_toclient: f.bwdBytes,
        start: isoTime(first),
        end: isoTime(last),
        state: r.connState,
      },
      alert: {
        verdict,
        class: className,
        name,
        score: round(score),
        threshold: round(threshold),
        model,
        severity,
        top_features: g.topFeatures,
        ...(g.voters ? { voters: g.voters } : {}),
        count: Math.max(1, e.flows),
        window: alertWindow(first, last, this.windowMicros),
        distinct_dest_ports: e.distinctDestPorts,
        ...(nearest !== undefined ? { nearest_class: nearest } : {}),
        stage,
        sources: e.sources,
        targets: e.targets,
        packets: e.packets,
        evidence: {
          behaviour: f.behaviour,
          rate_pps: round(e.ratePps),
          half_open: e.halfOpen,
          rejected: e.rejected,
          error_replies: e.errorReplies,
          model_flagged: e.modelFlagged,
          ...(e.loginFailures + e.loginSuccesses > 0
            ? { login_failures: e.loginFailures, login_successes: e.loginSuccesses }
            : {}),
        },
        ...(suppressed ? { suppressed } : {}),
      },
    };
  }

  /**
   * Names of the ensemble members and packet members that voted on row `i`;
   * undefined with neither.
   */
  #voters(scores: ModelScores, i: number, packetVotes?: Uint8Array): string[] | undefined {
    const names = this.#options.modelNames.voters;
    const packetNames = this.#options.modelNames.packetVoters;
    const anomaly = scores.outputs.find((o) => o.role === "anomaly");
    const ensemble = names && anomaly?.votes && anomaly.voteColumns === names.length;
    const packets = packetNames && packetNames.length > 0 && packetVotes;
    if (!ensemble && !packets) return undefined;
    const voted: string[] = [];
    if (ensemble) {
      const M = names.length;
      const row = detailRow(anomaly, i);
      voted.push(...names.filter((_, m) => anomaly.votes![row * M + m] > 0.5));
    }
    if (packets) {
      const P = packetNames.length;
      voted.push(...packetNames.filter((_, m) => packetVotes[i * P + m] === 1));
    }
    // Packet members alone and none voted on this flow: no voters field, as without members.
    return ensemble || voted.length > 0 ? voted : undefined;
  }

  /** The features furthest from normal for row `i`. */
  #explain(batch: FlowBatch, i: number, scores: ModelScores, verdict: number): TopFeature[] {
    const names = this.#options.featureNames;
    const width = batch.width;
    const row = batch.features.subarray(i * width, (i + 1) * width);
    const anomaly = scores.outputs.find((o) => o.role === "anomaly");
    const errors = verdict !== VERDICT_KNOWN && anomaly?.featureErrors
      ? anomaly.featureErrors.subarray(
        detailRow(anomaly, i) * width,
        (detailRow(anomaly, i) + 1) * width,
      )
      : null;
    const baseline = this.#options.baseline ?? null;
    const weight = new Float64Array(width);
    const zscores = new Float64Array(width);
    for (let c = 0; c < width; c++) {
      if (baseline) {
        let x = Number.isFinite(row[c]) ? row[c] : 0;
        if (baseline.logColumns[c] === 1) x = Math.sign(x) * Math.log1p(Math.abs(x));
        zscores[c] = (x - baseline.center[c]) / (baseline.scale[c] || 1);
      }
      weight[c] = errors ? errors[c] : Math.abs(zscores[c]);
    }
    if (!errors && !baseline) return [];
    const order = Array.from({ length: width }, (_, c) => c)
      .sort((a, b) => weight[b] - weight[a])
      .slice(0, this.#topCount);
    return order.map((c) => {
      const f: TopFeature = { name: names[c] ?? `f${c}`, value: round(row[c]) };
      if (baseline) {
        f.baseline = round(
          baseline.logColumns[c] === 1
            ? Math.sign(baseline.center[c]) * Math.expm1(Math.abs(baseline.center[c]))
            : baseline.center[c],
        );
        f.zscore = round(zscores[c]);
      }
      if (errors) f.reconstruction_error = round(errors[c]);
      return f;
    });
  }
}

const NO_EVIDENCE = {
  protocol: 0,
  flows: 1,
  noReplyFlows: 0,
  fwdPackets: 0,
  bwdPackets: 0,
  fwdBytes: 0,
  bwdBytes: 0,
  durationMicros: 0,
  distinctDestPorts: 1,
  destPort: 0,
};

/** A behaviour's score: the measure its limit applies to, and that limit. */
function behaviourScore(f: Finding, e: EvidenceSummary): { score: number; threshold: number } {
  switch (f.behaviour) {
    case "scan":
    case "stealth-scan":
      return { score: e.distinctDestPorts, threshold: BEHAVIOUR_LIMITS.scanPorts };
    case "sweep":
      return { score: e.targets, threshold: BEHAVIOUR_LIMITS.sweepHosts };
    case "syn-flood":
    case "reflection":
    case "amplification":
      return { score: e.ratePps, threshold: BEHAVIOUR_LIMITS.floodRate };
    case "udp-flood":
    case "icmp-flood":
    case "tcp-ack-flood":
    case "tcp-rst-flood":
    case "tcp-fin-flood":
      return { score: e.ratePps, threshold: BEHAVIOUR_LIMITS.volumeFloodRate };
    case "brute-force":
      // Named from failed logins, or from many connections.
      return e.loginFailures >= BEHAVIOUR_LIMITS.bruteForceFailures
        ? { score: e.loginFailures, threshold: BEHAVIOUR_LIMITS.bruteForceFailures }
        : { score: e.flows, threshold: BEHAVIOUR_LIMITS.bruteForceConnections };
    case "slow-dos":
    case "slow-read":
      return { score: e.flows, threshold: BEHAVIOUR_LIMITS.slowConnections };
    case "connection-flood":
      return { score: e.flows, threshold: BEHAVIOUR_LIMITS.connectionFloodConnections };
    default:
      return { score: e.bestScore, threshold: e.threshold };
  }
}

/**
 * The client a packet monitor's finding names as the attacker, parsed, when
 * the model's votes on its flows belong to that finding's line: the HTTP,
 * DNS and ICMP monitors read two-way conversations, so the client is no
 * spoofed address. Null for the others (ARP, ND, DHCP, MAC and IP anomaly
 * findings name link-layer or forgeable senders; a DNS spoof's client is
 * the victim).
 */
function votingSourceOf(finding: PacketFinding): Uint8Array | null {
  switch (finding.kind) {
    case "http-scan":
    case "http-keepalive-flood":
    case "dns-tunnel":
    case "icmp-tunnel":
      return parseAddress(finding.clientIp);
    default:
      return null;
  }
}
