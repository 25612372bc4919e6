/**
 * The detection pipeline: flow batches -> inference pool -> decisions ->
 * alert aggregation -> sinks, with per-minute traffic statistics and latency
 * accounting. Live capture and offline analysis run the same code; offline
 * runs as fast as the input allows (batches pipelined, several in flight).
 *
 * This is the one place where scoring (src/inference) meets alerting
 * (src/alert): neither folder imports the other's loop, the engine passes
 * values between them.
 */
import {
  type Alert,
  AlertAggregator,
  type AlertSink,
  type AlertVolumeStats,
  type EmittedAlert,
  findByteColumns,
  type OneSidedStats,
  TrafficMinutes,
} from "../alert/mod.ts";
import {
  copyFlowRows,
  type FlowBatch,
  type FlowRecord,
  flowRecordAt,
  type PacketFinding,
} from "../features/mod.ts";
import {
  createInferencePool,
  decide,
  decisionConfigFromBundle,
  type Decisions,
  featureBaselineFromBundle,
  type InferenceModels,
  inferenceModelsFromBundle,
  type InferencePool,
  type InferencePoolOptions,
  type InferencePoolStats,
  leaveUnscoredProtocols,
  type LoadedBundle,
  modelNames,
  type ModelScores,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/mod.ts";
import { type DetectionThresholds, unknownAlertRuleFromBundle } from "./thresholds.ts";
import { FlowSnapshotRing, snapshotFlowBatch } from "./flow_snapshot.ts";

export { snapshotFlowBatch };
import type { PacketMemberStats, PacketVotes } from "./packet_votes.ts";

/** Alert aggregation window of the sensor, seconds: one alert line per group and window. */
export const DEFAULT_WINDOW_SECONDS = 60;

/**
 * Offline, rows in flight before reading waits: two inference batches of
 * 4096 (one scored while the next fills), as many as the 2 full batches a
 * flood kept in flight before, so its memory bound is unchanged.
 */
export const OFFLINE_ROWS_IN_FLIGHT = 8192;

/**
 * Offline, a worker batch waits this long for its rows before it is sent
 * unfilled (live: the pool's 50 ms): reading is paced by rows in flight, and
 * every message to the worker costs the main thread 1 to 4 ms (measured:
 * 388 posts of 520 rows took 670 ms of a range capture's detection).
 */
const OFFLINE_MAX_WAIT_MS = 1000;

/**
 * Rows of the detector's snapshot ring (src/engine/flow_snapshot.ts): the
 * rows in flight offline, one more meter batch, and room lost to wrapping.
 * Batches that find no room (live, 8 batches in flight) are copied apart.
 */
const SNAPSHOT_RING_ROWS = 16384;

/** Configuration of a detector. */
export interface DetectorOptions {
  /** The loaded model bundle. */
  bundle: LoadedBundle;
  /** Where alerts and traffic statistics go. */
  sinks: AlertSink[];
  /** Row -> plain flow values (default: the flow meter's `flowRecordAt`). */
  describeFlow?: (batch: FlowBatch, i: number) => FlowRecord;
  /** Batching of the inference pool (defaults: 4096 rows, 50 ms, 1 worker). */
  pool?: InferencePoolOptions;
  /** `--threshold` / `--anomaly-threshold` / `--min-unknown-flows` / `--strong-anomaly-threshold`. */
  thresholds?: DetectionThresholds;
  /** Alert aggregation window in seconds (default {@link DEFAULT_WINDOW_SECONDS}). */
  windowSeconds?: number;
  /**
   * "flow": windows close as flow timestamps advance (offline analysis).
   * "wall": the wall clock also closes them, so a quiet live link still reports (default "flow").
   */
  clock?: "flow" | "wall";
  /** Flow batches scored concurrently before reading more input (default 8 when shedding, else 4096: offline, rows bound it). */
  maxInFlight?: number;
  /**
   * Without shedding (offline): flow rows scored concurrently before reading
   * more input (default {@link OFFLINE_ROWS_IN_FLIGHT}). Rows, not batches:
   * the meter's batches are as small as the flows a grid line of packet time
   * ends, and a worker batch filled from many of them is one message.
   */
  maxRowsInFlight?: number;
  /**
   * When inference falls behind: true sheds rows instead of waiting (interim
   * rows once half of maxInFlight batches wait, every row when all do),
   * counted in `stats().shed`, so live capture keeps metering; false waits
   * (nothing is lost; offline input just reads slower). Default: true with
   * the wall clock, false with the flow clock.
   */
  shedWhenBehind?: boolean;
  /** Sinks are flushed at least this often while running (default 1000 ms). */
  flushIntervalMs?: number;
  /** Called for each alert as it is emitted (dashboards, tests). */
  onAlert?: (alert: Alert) => void;
  /**
   * What the meters' packet monitors found since the last call (ARP, IP
   * anomalies: FlowMeter.takeFindings); asked with every flow batch (empty
   * ones too: a quiet live link still brings its ticks) and at the end, and
   * written as alert lines.
   */
  packetFindings?: () => readonly PacketFinding[];
  /** Called per scored batch with its flows and read-to-verdict milliseconds (metrics histograms). */
  onBatchDecided?: (flows: number, latencyMs: number) => void;
  /**
   * Makes the pool that scores rows (default: local inference workers,
   * createInferencePool); src/fleet's remote scoring sends rows to score workers instead.
   */
  createPool?: (
    models: InferenceModels,
    options: InferencePoolOptions | undefined,
  ) => Promise<InferencePool>;
  /**
   * The bundle's packet members scoring the packets of the flows pushed
   * (runDetection makes it; its owner closes it): their votes join each
   * flow's verdict before the evidence rule.
   */
  packetVotes?: PacketVotes;
}

/** Summary of latency samples, milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** What a detector did. */
export interface DetectorStats {
  batches: number;
  flows: number;
  benign: number;
  known: number;
  unknown: number;
  /** Flows of protocols the features do not describe (counted among benign, never alerted). */
  unscoredProtocol: number;
  /** Alert lines emitted (after aggregation). */
  alerts: number;
  /** Unknown flows (anomaly score only) in groups the unknown rule kept back: too few flows, none strong. */
  unknownSuppressedFlows: number;
  /** Unknown alert groups the unknown rule kept back. */
  unknownSuppressedGroups: number;
  /** Flagged bulk transfers (a download, a backup) not counted as strong anomalies or toward a rate. */
  unknownBulkFlows: number;
  /** The alert path: groups, lines written, lines the volume cap held back, votes folded, evidence tables. */
  alertVolume: AlertVolumeStats;
  /** Conversations seen one side only (a one-way SPAN or tap, asymmetric routing): see one_sided.ts. */
  oneSided: OneSidedStats;
  /** Wall time from the first batch read to the end of input, ms. */
  elapsedMs: number;
  inference: Readonly<InferencePoolStats>;
  /** From a batch leaving the flow table (read by the detector) to its verdicts. */
  decisionLatencyMs: LatencySummary;
  /** From the first flow of an alert leaving the flow table to the alert reaching the sinks (includes the window wait). */
  alertLatencyMs: LatencySummary;
  /** Wall clock only: from the last packet of a batch's newest flow to its verdicts. */
  flowEndToDecisionMs: LatencySummary;
  /** Rows never scored because inference was behind (shedWhenBehind): interim and final rows. */
  shed: { interimRows: number; finalRows: number };
  /** Packet members (bundles with `packetMembers` only): packets scored, flagged, flows voted on. */
  packetMembers?: PacketMemberStats;
}

/** A running detector. */
export interface Detector {
  /** Scores every batch of `source` until it ends; emits the remaining alerts; returns the totals. */
  run(source: AsyncIterable<FlowBatch>): Promise<DetectorStats>;
  /** Scores one batch (for callers that push instead of handing over an iterable). */
  push(batch: FlowBatch): Promise<void>;
  /** Waits for every pushed batch, emits every open alert, flushes the sinks. */
  drain(): Promise<void>;
  /** Totals so far. */
  stats(): DetectorStats;
  /** Drains, closes the sinks and stops the inference workers (for SIGINT/SIGTERM). */
  close(): Promise<void>;
}

/** Keeps the latest samples for a latency summary without growing without bound. */
class LatencySamples {
  #values: number[] = [];
  #count = 0;
  #sum = 0;
  #max = 0;
  constructor(readonly capacity = 100_000) {}
  add(ms: number): void {
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
    if (this.#values.length < this.capacity) this.#values.push(ms);
    else this.#values[this.#count % this.capacity] = ms;
  }
  summary(): LatencySummary {
    const sorted = [...this.#values].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
    return {
      count: this.#count,
      mean: this.#count ? this.#sum / this.#count : 0,
      p50: at(0.5),
      p99: at(0.99),
      max: this.#max,
    };
  }
}

const wallMs = () => performance.timeOrigin + performance.now();

/** Starts the inference workers for `options.bundle` and returns a detector. */
export async function createDetector(options: DetectorOptions): Promise<Detector> {
  const { bundle, sinks } = options;
  const models = inferenceModelsFromBundle(bundle);
  const decisionConfig = decisionConfigFromBundle(bundle, options.thresholds);
  const featureNames = bundle.json.preprocessing.columns;
  const pool: InferencePool = await (options.createPool ?? createInferencePool)(
    models,
    options.clock === "wall" ? options.pool : { maxWaitMs: OFFLINE_MAX_WAIT_MS, ...options.pool },
  );
  const aggregator = new AlertAggregator({
    windowSeconds: options.windowSeconds ?? DEFAULT_WINDOW_SECONDS,
    featureNames,
    classNames: decisionConfig.classNames,
    modelNames: { ...modelNames(bundle), packetVoters: options.packetVotes?.names },
    baseline: featureBaselineFromBundle(bundle),
    describeFlow: options.describeFlow ?? flowRecordAt,
    nowMs: wallMs,
    unknownRule: unknownAlertRuleFromBundle(bundle, options.thresholds),
    maxAlertsPerMinute: options.thresholds?.maxAlertsPerMinute,
  });
  const bytes = findByteColumns(featureNames);
  const traffic = new TrafficMinutes([bytes.fwd, bytes.bwd]);
  const shedWhenBehind = options.shedWhenBehind ?? options.clock === "wall";
  // Offline, reading waits for inference: rows for 2 worker batches keep the worker busy (one
  // scored, one filling), and each row in flight is held in the snapshot ring.
  const maxInFlight = Math.max(1, options.maxInFlight ?? (shedWhenBehind ? 8 : 4096));
  const maxRowsInFlight = Math.max(1, options.maxRowsInFlight ?? OFFLINE_ROWS_IN_FLIGHT);
  const ring = new FlowSnapshotRing(SNAPSHOT_RING_ROWS, pool.width);
  let rowsInFlight = 0;
  const shed = { interimRows: 0, finalRows: 0 };
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const wallClock = options.clock === "wall";

  const counts = {
    batches: 0,
    flows: 0,
    benign: 0,
    known: 0,
    unknown: 0,
    unscoredProtocol: 0,
    alerts: 0,
  };
  const decisionLatency = new LatencySamples();
  const alertLatency = new LatencySamples();
  const flowEndLatency = new LatencySamples();
  let startedMs = 0;
  let endedMs = 0;
  let closed = false;
  // Results are processed strictly in input order on this chain; sink writes join it too.
  let chain: Promise<void> = Promise.resolve();
  const inFlight: Promise<void>[] = [];
  let failure: unknown = null;

  async function emit(emitted: EmittedAlert[]): Promise<void> {
    if (emitted.length === 0) return;
    const now = wallMs();
    const alerts = emitted.map((e) => {
      alertLatency.add(now - e.firstArrivalMs);
      traffic.addAlert(Date.parse(e.alert.timestamp) * 1000);
      return e.alert;
    });
    counts.alerts += alerts.length;
    if (options.onAlert) { for (const a of alerts) options.onAlert(a); }
    for (const sink of sinks) await sink.write(alerts);
  }

  async function writeTraffic(minutesDone: boolean): Promise<void> {
    const minutes = minutesDone ? traffic.takeAll() : traffic.takeClosed(aggregator.watermark);
    if (minutes.length === 0) return;
    for (const sink of sinks) if (sink.writeTraffic) await sink.writeTraffic(minutes);
  }

  const packetVotes = options.packetVotes;
  const anomalyThreshold = decisionConfig.anomalyThresholdOverride ??
    decisionConfig.anomalyThreshold ?? 0;

  async function processResult(
    batch: FlowBatch,
    arrivalMs: number,
    scores: ModelScores,
    packetsScored: Promise<void> | undefined,
  ) {
    const decisions: Decisions = decide(scores, decisionConfig);
    let votes: Uint8Array | undefined;
    if (packetVotes) {
      // Every packet of these flows was metered before the batch left the meter.
      await packetsScored;
      const anomaly = scores.outputs.find((o) => o.role === "anomaly");
      votes = packetVotes.apply(batch, decisions, anomaly?.values, anomalyThreshold);
    }
    counts.unscoredProtocol += leaveUnscoredProtocols(decisions, batch.protocol);
    const now = wallMs();
    decisionLatency.add(now - arrivalMs);
    options.onBatchDecided?.(batch.count, now - arrivalMs);
    if (wallClock) {
      let newest = 0;
      for (let i = 0; i < batch.count; i++) {
        if (batch.endMicros[i] > newest) newest = batch.endMicros[i];
      }
      flowEndLatency.add(now - newest / 1000);
    }
    for (let i = 0; i < decisions.rows; i++) {
      const v = decisions.verdict[i];
      if (v === VERDICT_KNOWN) counts.known++;
      else if (v === VERDICT_UNKNOWN) counts.unknown++;
      else counts.benign++;
    }
    counts.flows += decisions.rows;
    traffic.addBatch(batch, decisions);
    await emit(aggregator.add(batch, decisions, scores, votes));
    await writeTraffic(false);
  }

  function enqueue(step: () => Promise<void>): Promise<void> {
    const next = chain.then(step);
    chain = next.catch((error) => {
      failure ??= error;
    });
    return next;
  }

  const timer = setInterval(() => {
    // Live, packet findings need no flow to carry them (an ARP sweep on a link with no IP traffic).
    if (wallClock) takePacketFindings();
    enqueue(async () => {
      if (wallClock) {
        await emit(aggregator.advance(Date.now() * 1000));
        await writeTraffic(false);
      }
      for (const sink of sinks) await sink.flush();
    });
  }, flushIntervalMs);

  /** Queues the lines of the packet monitors' findings so far (in order with the flow batches before them). */
  function takePacketFindings(): void {
    const findings = options.packetFindings?.();
    if (findings && findings.length > 0) {
      enqueue(() => emit(aggregator.addPacketFindings(findings)));
    }
  }

  async function push(input: FlowBatch): Promise<void> {
    if (closed) throw new Error("detector is closed");
    if (failure) throw failure;
    takePacketFindings();
    if (input.count === 0) return;
    if (input.width !== pool.width) {
      throw new Error(
        `flow batch has ${input.width} feature columns, the bundle expects ${pool.width}`,
      );
    }
    const arrivalMs = wallMs();
    if (startedMs === 0) startedMs = arrivalMs;
    const batch = shedWhenBehind ? shedRows(input) : await snapshotWhenRoom(input);
    if (batch.count === 0) return;
    counts.batches++;
    const scored = pool.infer(batch.features, batch.count);
    const packetsScored = packetVotes?.settle();
    // Not awaited here: a failure surfaces where the batch is decided.
    packetsScored?.catch(() => {});
    const done = enqueue(async () => {
      try {
        await processResult(batch, arrivalMs, await scored, packetsScored);
      } finally {
        ring.release(batch);
      }
    });
    const rows = batch.count;
    rowsInFlight += rows;
    inFlight.push(done);
    done.finally(() => {
      inFlight.splice(inFlight.indexOf(done), 1);
      rowsInFlight -= rows;
    }).catch(() => {});
    if (shedWhenBehind) {
      if (inFlight.length >= maxInFlight) pool.flush();
    } else if (inFlight.length >= maxInFlight || rowsInFlight >= maxRowsInFlight) {
      pool.flush();
      // Backpressure: read more input once half the rows are decided (the oldest worker batch,
      // usually), not at the first decided batch, which would send the next worker batch unfilled.
      while (
        inFlight.length > 0 &&
        (inFlight.length >= maxInFlight || rowsInFlight > maxRowsInFlight / 2)
      ) await inFlight[0].catch(() => {});
    }
    if (failure) throw failure;
  }

  /** Offline: a copy of `input` in the ring, waiting for decided batches to make room. */
  async function snapshotWhenRoom(input: FlowBatch): Promise<FlowBatch> {
    let copy = ring.take(input);
    while (copy === null && inFlight.length > 0) {
      pool.flush();
      await inFlight[0].catch(() => {});
      copy = ring.take(input);
    }
    // Larger than the whole ring (or another width): a copy of its own.
    return copy ?? snapshotFlowBatch(input);
  }

  async function drain(): Promise<void> {
    takePacketFindings();
    pool.flush();
    await enqueue(async () => {
      await emit(aggregator.flush());
      await writeTraffic(true);
      for (const sink of sinks) await sink.flush();
    });
    endedMs = wallMs();
    if (failure) throw failure;
  }

  /**
   * The rows of `input` to score given the queue: all of them while it is
   * short, final rows only from half full (an open flow's next interim or
   * final row carries what a shed interim row held), none when full.
   */
  function shedRows(input: FlowBatch): FlowBatch {
    const waiting = inFlight.length;
    if (waiting < Math.ceil(maxInFlight / 2)) return ring.take(input) ?? snapshotFlowBatch(input);
    const keep: number[] = [];
    for (let i = 0; i < input.count; i++) {
      if (input.interim[i] === 1) shed.interimRows++;
      else if (waiting >= maxInFlight) shed.finalRows++;
      else keep.push(i);
    }
    return copyFlowRows(input, keep);
  }

  function stats(): DetectorStats {
    const suppressed = aggregator.suppressedUnknowns;
    return {
      ...counts,
      unknownSuppressedFlows: suppressed.flows,
      unknownSuppressedGroups: suppressed.groups,
      unknownBulkFlows: suppressed.bulkFlows,
      alertVolume: aggregator.volume,
      oneSided: aggregator.oneSided,
      elapsedMs: (endedMs || wallMs()) - (startedMs || wallMs()),
      inference: { ...pool.stats },
      decisionLatencyMs: decisionLatency.summary(),
      alertLatencyMs: alertLatency.summary(),
      flowEndToDecisionMs: flowEndLatency.summary(),
      shed: { ...shed },
      ...(packetVotes ? { packetMembers: packetVotes.stats() } : {}),
    };
  }

  return {
    async run(source) {
      for await (const batch of source) await push(batch);
      await drain();
      return stats();
    },
    push,
    drain,
    stats,
    async close() {
      if (closed) return;
      try {
        await drain();
      } finally {
        closed = true;
        clearInterval(timer);
        await pool.close();
        for (const sink of sinks) await sink.close();
      }
    },
  };
}
