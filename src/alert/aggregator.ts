/**
 * Alert aggregation: every flagged flow joins the open group of its
 * (source, target, verdict, class); a group becomes one alert when its window
 * closes (or on flush), carrying counts, totals, first/last seen, the best
 * score and the features that drove it. A flood of a million flows is one
 * line per window, not a million.
 *
 * An unknown group that rests on the anomaly score alone (not a claim the
 * class gate rejected) is emitted only when it holds at least
 * `minUnknownFlows` flows or its best score reaches the strong threshold:
 * at a 1% per-flow false-positive rate a benign host still crosses the
 * threshold now and then with one flow, while floods and scans make many
 * anomalous flows between the same pair and a single-flow exploit scores
 * far above the threshold. Suppressed groups are counted, not alerted.
 *
 * Windows follow a watermark, not each flow's own timestamp: the latest flow
 * end seen (offline), or the wall clock (live, via `advance`). A flow that
 * leaves the flow table late (idle timeout) still joins the group open now
 * instead of reopening a window already reported.
 */
import { CONN_STATES, type FlowBatch, type FlowRecord } from "../features/flow_batch.ts";
import type { Decisions } from "../inference/decision.ts";
import { VERDICT_BENIGN, VERDICT_KNOWN, VERDICT_UNKNOWN } from "../inference/decision.ts";
import type { FeatureBaseline } from "../inference/from_bundle.ts";
import type { ModelScores } from "../inference/model_spec.ts";
import { type FlowEvidence, nameAlert } from "./naming.ts";
import { type Alert, protocolName, type TopFeature } from "./schema.ts";

/** Configuration of an aggregator. */
export interface AggregatorOptions {
  /** Window length in seconds (default 60). */
  windowSeconds?: number;
  /** Feature column names (the bundle's), used for byte totals and explanations. */
  featureNames: readonly string[];
  /** Classifier class names, by index. */
  classNames: readonly string[];
  /** `alert.model` for known and unknown verdicts. */
  modelNames: { classifier?: string; anomaly?: string };
  /** Benign centers and scales for z-scores; null: explain without them. */
  baseline?: FeatureBaseline | null;
  /** How many features `top_features` lists (default 5). */
  topFeatures?: number;
  /** Turns row `i` of a batch into plain values (the flow meter's `flowRecordAt`). */
  describeFlow: (batch: FlowBatch, i: number) => FlowRecord;
  /** Wall clock in ms, for latency accounting (default `performance.timeOrigin + performance.now()`). */
  nowMs?: () => number;
  /** When an anomaly-only unknown group becomes an alert; absent: always. */
  unknownRule?: UnknownAlertRule;
}

/**
 * The rule for unknown groups that rest on the anomaly score alone: emitted
 * when `flows >= minFlows` or `bestScore >= strongThreshold`.
 */
export interface UnknownAlertRule {
  /** Flagged flows a group needs (default {@link DEFAULT_MIN_UNKNOWN_FLOWS}). */
  minFlows: number;
  /** Anomaly score at which one flow suffices; undefined: the rule is off (every group is emitted). */
  strongThreshold?: number;
}

/** Default `minFlows` of the unknown rule. */
export const DEFAULT_MIN_UNKNOWN_FLOWS = 3;

/**
 * Whether an alert group passes the unknown rule: known groups, gated
 * unknowns (`nearestClass >= 0`) and every group when the rule has no strong
 * threshold pass; an anomaly-only unknown group needs `minFlows` flows or a
 * best score at `strongThreshold`.
 */
export function passesUnknownRule(
  group: { verdict: number; nearestClass: number; flows: number; bestScore: number },
  rule: UnknownAlertRule | undefined,
): boolean {
  if (!rule || rule.strongThreshold === undefined) return true;
  // Gated unknowns come from a confident classifier: the rule is not theirs.
  if (group.verdict !== VERDICT_UNKNOWN || group.nearestClass >= 0) return true;
  return group.flows >= rule.minFlows || group.bestScore >= rule.strongThreshold;
}

/** Unknown groups the rule kept back (their flows still count as unknown verdicts). */
export interface SuppressedUnknowns {
  groups: number;
  flows: number;
}

/** An emitted alert with when its first flow reached the aggregator (wall clock, ms). */
export interface EmittedAlert {
  alert: Alert;
  firstArrivalMs: number;
}

interface Group {
  windowStart: number;
  record: FlowRecord;
  verdict: number;
  classIndex: number;
  /** Class gate's rejected class (unknown verdicts), or -1. */
  nearestClass: number;
  pairKey: string;
  flows: number;
  fwdPackets: number;
  bwdPackets: number;
  fwdBytes: number;
  bwdBytes: number;
  noReplyFlows: number;
  durationMicros: number;
  firstSeen: number;
  lastSeen: number;
  firstFlowEnd: number;
  bestScore: number;
  threshold: number;
  topFeatures: TopFeature[];
  firstArrivalMs: number;
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

/** Zeek states in which a TCP connection attempt was never answered or was refused. */
const NO_REPLY_STATES = new Set(["S0", "REJ", "RSTOS0", "SH", "RSTRH"]);
const NO_REPLY_STATE_CODES = new Uint8Array(CONN_STATES.length);
CONN_STATES.forEach((s, i) => (NO_REPLY_STATE_CODES[i] = NO_REPLY_STATES.has(s) ? 1 : 0));

/** Most ports remembered per (source, target) pair and window; a full scan fits. */
const MAX_TRACKED_PORTS = 65536;

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

function addressKey(bytes: Uint8Array, offset: number): string {
  let s = "";
  for (let k = offset; k < offset + 16; k++) s += String.fromCharCode(bytes[k]);
  return s;
}

function iso(micros: number): string {
  return new Date(micros / 1000).toISOString();
}

/** Groups flagged flows into windowed alerts. */
export class AlertAggregator {
  readonly windowMicros: number;
  #options: AggregatorOptions;
  #groups = new Map<string, Group>();
  #ports = new Map<string, { windowStart: number; ports: Set<number> }>();
  #watermark = 0;
  #fwdBytesColumn: number;
  #bwdBytesColumn: number;
  #topCount: number;
  #nowMs: () => number;
  #suppressed: SuppressedUnknowns = { groups: 0, flows: 0 };

  constructor(options: AggregatorOptions) {
    this.#options = options;
    this.windowMicros = (options.windowSeconds ?? 60) * 1e6;
    if (!(this.windowMicros > 0)) throw new Error("alert window must be positive");
    const bytes = findByteColumns(options.featureNames);
    this.#fwdBytesColumn = bytes.fwd;
    this.#bwdBytesColumn = bytes.bwd;
    this.#topCount = options.topFeatures ?? 5;
    this.#nowMs = options.nowMs ?? (() => performance.timeOrigin + performance.now());
  }

  /** Open groups (alerts not yet emitted). */
  get openAlerts(): number {
    return this.#groups.size;
  }

  /** Unknown groups (and their flows) the unknown rule kept back so far. */
  get suppressedUnknowns(): Readonly<SuppressedUnknowns> {
    return { ...this.#suppressed };
  }

  /** The current watermark, microseconds since the epoch. */
  get watermark(): number {
    return this.#watermark;
  }

  /**
   * Adds the flagged rows of a scored batch. Advances the watermark to the
   * batch's latest flow end and returns the alerts whose window closed.
   */
  add(batch: FlowBatch, decisions: Decisions, scores: ModelScores): EmittedAlert[] {
    let latest = this.#watermark;
    for (let i = 0; i < batch.count; i++) {
      if (batch.endMicros[i] > latest) latest = batch.endMicros[i];
    }
    const emitted = this.advance(latest);
    const windowStart = Math.floor(this.#watermark / this.windowMicros) * this.windowMicros;
    const arrivalMs = this.#nowMs();
    for (let i = 0; i < batch.count; i++) {
      const verdict = decisions.verdict[i];
      if (verdict === VERDICT_BENIGN) continue;
      this.#addRow(batch, i, decisions, scores, windowStart, arrivalMs);
    }
    return emitted;
  }

  /** Moves the watermark to `timeMicros` (if later) and emits every window that ended by then. */
  advance(timeMicros: number): EmittedAlert[] {
    if (timeMicros > this.#watermark) this.#watermark = timeMicros;
    const out: EmittedAlert[] = [];
    for (const [key, g] of this.#groups) {
      if (g.windowStart + this.windowMicros <= this.#watermark) {
        if (this.#passes(g)) out.push(this.#emit(g));
        this.#groups.delete(key);
      }
    }
    for (const [key, p] of this.#ports) {
      if (p.windowStart + this.windowMicros <= this.#watermark) this.#ports.delete(key);
    }
    return out;
  }

  /** Emits every open group now (end of input, shutdown). */
  flush(): EmittedAlert[] {
    const out = [...this.#groups.values()].filter((g) => this.#passes(g)).map((g) => this.#emit(g));
    this.#groups.clear();
    this.#ports.clear();
    return out;
  }

  /** The unknown rule: false (and counted) for a weak anomaly-only group with too few flows. */
  #passes(g: Group): boolean {
    if (passesUnknownRule(g, this.#options.unknownRule)) return true;
    this.#suppressed.groups++;
    this.#suppressed.flows += g.flows;
    return false;
  }

  #addRow(
    batch: FlowBatch,
    i: number,
    decisions: Decisions,
    scores: ModelScores,
    windowStart: number,
    arrivalMs: number,
  ): void {
    const verdict = decisions.verdict[i];
    const classIndex = decisions.classIndex[i];
    const pairKey = addressKey(batch.srcAddr, i * 16) + addressKey(batch.dstAddr, i * 16);
    const nearestClass = decisions.nearestClass?.[i] ?? -1;
    const key = `${pairKey}|${verdict}|${classIndex}|${nearestClass}`;

    let ports = this.#ports.get(pairKey);
    if (!ports) {
      ports = { windowStart, ports: new Set() };
      this.#ports.set(pairKey, ports);
    }
    if (ports.ports.size < MAX_TRACKED_PORTS) ports.ports.add(batch.dstPort[i]);

    const fwdBytes = this.#feature(batch, i, this.#fwdBytesColumn);
    const bwdBytes = this.#feature(batch, i, this.#bwdBytesColumn);
    const noReply = batch.protocol[i] === 6 &&
      (NO_REPLY_STATE_CODES[batch.connState[i]] === 1 || batch.bwdPackets[i] === 0);
    const start = batch.startMicros[i];
    const end = batch.endMicros[i];
    const score = decisions.score[i];

    let g = this.#groups.get(key);
    if (!g) {
      g = {
        windowStart,
        record: this.#options.describeFlow(batch, i),
        verdict,
        classIndex,
        nearestClass,
        pairKey,
        flows: 0,
        fwdPackets: 0,
        bwdPackets: 0,
        fwdBytes: 0,
        bwdBytes: 0,
        noReplyFlows: 0,
        durationMicros: 0,
        firstSeen: start,
        lastSeen: end,
        firstFlowEnd: end,
        bestScore: Number.NEGATIVE_INFINITY,
        threshold: decisions.threshold[i],
        topFeatures: [],
        firstArrivalMs: arrivalMs,
      };
      this.#groups.set(key, g);
    }
    g.flows++;
    g.fwdPackets += batch.fwdPackets[i];
    g.bwdPackets += batch.bwdPackets[i];
    g.fwdBytes += fwdBytes;
    g.bwdBytes += bwdBytes;
    if (noReply) g.noReplyFlows++;
    g.durationMicros += Math.max(0, end - start);
    if (start < g.firstSeen) g.firstSeen = start;
    if (end > g.lastSeen) g.lastSeen = end;
    if (score > g.bestScore) {
      // Explain the most confident flow of the group; cheap because scores rarely keep rising.
      g.bestScore = score;
      g.threshold = decisions.threshold[i];
      g.topFeatures = this.#explain(batch, i, scores, verdict);
    }
  }

  #feature(batch: FlowBatch, i: number, column: number): number {
    if (column < 0) return 0;
    const v = batch.features[i * batch.width + column];
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  /** The features furthest from normal for row `i`. */
  #explain(batch: FlowBatch, i: number, scores: ModelScores, verdict: number): TopFeature[] {
    const names = this.#options.featureNames;
    const width = batch.width;
    const row = batch.features.subarray(i * width, (i + 1) * width);
    const anomaly = scores.outputs.find((o) => o.role === "anomaly");
    const errors = verdict !== VERDICT_KNOWN && anomaly?.featureErrors
      ? anomaly.featureErrors.subarray(i * width, (i + 1) * width)
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

  #emit(g: Group): EmittedAlert {
    const o = this.#options;
    const known = g.verdict === VERDICT_KNOWN;
    const className = known ? (o.classNames[g.classIndex] ?? `class ${g.classIndex}`) : "unknown";
    const distinctPorts = this.#ports.get(g.pairKey)?.ports.size ?? 1;
    const evidence: FlowEvidence = {
      protocol: g.record.protocol,
      flows: g.flows,
      noReplyFlows: g.noReplyFlows,
      fwdPackets: g.fwdPackets,
      bwdPackets: g.bwdPackets,
      fwdBytes: g.fwdBytes,
      bwdBytes: g.bwdBytes,
      durationMicros: g.durationMicros,
      distinctDestPorts: distinctPorts,
      destPort: g.record.dstPort,
    };
    const { name, severity } = nameAlert(className, evidence);
    const r = g.record;
    const alert: Alert = {
      timestamp: iso(g.firstFlowEnd),
      event_type: "alert",
      src_ip: r.srcIp,
      src_port: r.srcPort,
      dest_ip: r.dstIp,
      dest_port: r.dstPort,
      proto: protocolName(r.protocol),
      ...(r.vlan ? { vlan: [r.vlan] } : {}),
      community_id: r.communityId,
      flow: {
        pkts_toserver: g.fwdPackets,
        pkts_toclient: g.bwdPackets,
        bytes_toserver: g.fwdBytes,
        bytes_toclient: g.bwdBytes,
        start: iso(g.firstSeen),
        end: iso(g.lastSeen),
        state: r.connState,
      },
      alert: {
        verdict: known ? "known" : "unknown",
        class: className,
        name,
        score: round(g.bestScore),
        threshold: round(g.threshold),
        model: (known ? o.modelNames.classifier : o.modelNames.anomaly) ?? "model",
        severity,
        top_features: g.topFeatures,
        count: g.flows,
        window: {
          start: iso(g.windowStart),
          end: iso(g.windowStart + this.windowMicros),
          seconds: this.windowMicros / 1e6,
        },
        distinct_dest_ports: distinctPorts,
        ...(g.nearestClass >= 0
          ? { nearest_class: o.classNames[g.nearestClass] ?? `class ${g.nearestClass}` }
          : {}),
      },
    };
    return { alert, firstArrivalMs: g.firstArrivalMs };
  }
}

/** Six significant digits: enough to read, short in JSON. */
function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;
}
