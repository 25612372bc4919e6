/**
 * The sensor's main loop, the same for live interfaces and capture files:
 * packet batches -> flow meter -> detector (inference worker, decisions,
 * alert aggregation) -> sinks. Only the source and the clock differ.
 */
import type { Alert, AlertSink } from "../alert/mod.ts";
import { createPacketBatch, type PacketBatch } from "../capture/mod.ts";
import {
  DETECTION_METER_DEFAULTS,
  FEATURE_SET,
  type FlowBatch,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  meterFlows,
  PACKET_FEATURE_SETS,
  type PacketFinding,
} from "../features/mod.ts";
import { boundNativeHeap, releaseFreedNativeMemory } from "../ffi/mod.ts";
import { loadBundle, type LoadedBundle } from "../inference/mod.ts";
import {
  createDetector,
  type Detector,
  type DetectorOptions,
  type DetectorStats,
  snapshotFlowBatch,
} from "./detector.ts";
import { createSwappableDetector } from "./swappable_detector.ts";
import { flowRowBytes, FlowSnapshotRing } from "./flow_snapshot.ts";
import { FlowMeterShards, meterFlowShards } from "./meter_shards.ts";
import type { CaptureWorkerMeters } from "./capture_metering.ts";
import { PacketVotes } from "./packet_votes.ts";
import { gateSinks } from "../triage/mod.ts";
import type { DetectionThresholds } from "./thresholds.ts";

/** What runDetection needs. */
export interface DetectionRunOptions {
  /** Packet batches from a file or live capture. */
  source: AsyncIterable<PacketBatch>;
  /** Live capture: flows also expire by the wall clock, alert windows close on time. */
  live: boolean;
  bundle: LoadedBundle;
  sinks: AlertSink[];
  meter?: FlowMeterOptions;
  /**
   * Flow tables (default 1): live capture with several workers per interface
   * (PACKET_FANOUT) meters each worker's packets in its own table, the memcap
   * shared out equally.
   */
  flowTables?: number;
  /**
   * Live capture whose workers meter their own packets: flows come from
   * them (`source` yields no packets, only ends), the main thread scores.
   * `stop` stops the capture when detection ends early (an error).
   */
  captureMeters?: { meters: CaptureWorkerMeters; stop: () => void };
  thresholds?: DetectionThresholds;
  /** Alert aggregation window, seconds. */
  windowSeconds?: number;
  /** Called for every alert as it is emitted. */
  onAlert?: (alert: Alert) => void;
  /**
   * Called once the detector is up (inference workers started), just before
   * the first flow is scored: live capture says "detecting" only then.
   */
  onDetecting?: () => void;
  /** Called about once a second with running totals (verbose mode, dashboards). */
  onProgress?: (progress: DetectionProgress) => void;
  /** Called per scored batch with its flows and read-to-verdict milliseconds (metrics). */
  onBatchDecided?: (flows: number, latencyMs: number) => void;
  /**
   * Keeps every packet batch first (src/forensics PacketRing), so sinks can
   * write an alert's evidence pcap when it is emitted.
   */
  packetRing?: { tap(source: AsyncIterable<PacketBatch>): AsyncIterable<PacketBatch> };
  /**
   * Consulted for every emitted alert before any sink or `onAlert` sees it
   * (console suppressions, src/triage); false holds the alert back.
   */
  alertGate?: (alert: Alert) => boolean;
  /** Given a function that replaces the model bundle while detection runs (SIGHUP reload). */
  onSwapReady?: (swap: (bundle: LoadedBundle) => Promise<void>) => void;
  /**
   * Sees every flow batch on its way to the detector (src/fleet `--publish-flows`); must
   * read a batch before asking for the next (the meter reuses its buffers).
   */
  tapFlows?: (flows: AsyncIterable<FlowBatch>) => AsyncIterable<FlowBatch>;
  /** Scores rows somewhere else than local inference workers (src/fleet remote scoring). */
  createPool?: DetectorOptions["createPool"];
}

/** Running totals. */
export interface DetectionProgress {
  elapsedSeconds: number;
  meter: FlowMeterCounters;
  detector: DetectorStats;
}

/** What a finished run did. */
export interface DetectionReport extends DetectionProgress {
  packetsPerSecond: number;
  flowsPerSecond: number;
}

/**
 * Loads the bundle at `dir`, refusing one made for another feature set (the
 * flow set, and the packet-level sets its packet members read).
 */
export function loadSensorBundle(dir: string): Promise<LoadedBundle> {
  return loadBundle(dir, {
    featureSetName: FEATURE_SET.name,
    featureSetVersion: FEATURE_SET.version,
    columns: FEATURE_SET.columns.map((column) => column.name),
    packetSets: Object.values(PACKET_FEATURE_SETS).map((set) => ({
      name: set.name,
      version: set.version,
      columns: set.columns.map((column) => column.name),
    })),
  });
}

/** Runs detection until the source ends; flushes every flow and alert before returning. */
export async function runDetection(options: DetectionRunOptions): Promise<DetectionReport> {
  // Before the inference worker starts: its batches and onnxruntime's outputs are freed by the
  // hundred per second in a flood, and glibc would otherwise keep them (src/ffi/native_memory.ts).
  boundNativeHeap();
  // Packet members (opt-in): their features computed in the meter's own pass, scored in workers.
  const packetVotes = await PacketVotes.create(options.bundle);
  if (packetVotes && options.captureMeters) {
    await packetVotes.close();
    throw new Error(
      "packet members need the packets on the detection thread: run without capture-worker metering",
    );
  }
  const meterOptions = {
    ...DETECTION_METER_DEFAULTS,
    ...options.meter,
    ...(packetVotes ? { packetObserver: packetVotes.extractor } : {}),
  };
  const started = performance.now();
  const { metered, counters, packetFindings } = meterSource(options, meterOptions, packetVotes);
  const detectorOptions: DetectorOptions = {
    bundle: options.bundle,
    sinks: options.alertGate ? gateSinks(options.sinks, options.alertGate) : options.sinks,
    thresholds: options.thresholds,
    windowSeconds: options.windowSeconds,
    clock: options.live ? "wall" : "flow",
    onAlert: options.onAlert && options.alertGate
      ? (alert) => options.alertGate!(alert) && options.onAlert!(alert)
      : options.onAlert,
    onBatchDecided: options.onBatchDecided,
    createPool: options.createPool,
    packetVotes: packetVotes ?? undefined,
    packetFindings,
  };
  let flows: AsyncIterable<FlowBatch> = metered;
  let detector: Detector;
  if (options.onSwapReady) {
    // SIGHUP reload: the bundle can change between two flow batches; the meter keeps every packet.
    const swappable = await createSwappableDetector(detectorOptions);
    options.onSwapReady((bundle) => swappable.swap(bundle));
    detector = swappable;
  } else if (options.live) detector = await createDetector(detectorOptions);
  else {
    const ahead = await meterWhileStarting(createDetector(detectorOptions), metered);
    detector = ahead.detector;
    flows = ahead.flows;
  }
  const progress = (): DetectionProgress => ({
    elapsedSeconds: (performance.now() - started) / 1000,
    meter: counters(),
    detector: detector.stats(),
  });
  options.onDetecting?.();
  let nextTrimAt = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now >= nextTrimAt) {
      releaseFreedNativeMemory();
      nextTrimAt = now + (performance.now() - now) / MAX_TRIM_SHARE;
    }
    options.onProgress?.(progress());
  }, 1000);
  try {
    await detector.run(options.tapFlows ? options.tapFlows(flows) : flows);
  } finally {
    clearInterval(ticker);
    try {
      await detector.close();
    } finally {
      await packetVotes?.close();
    }
  }
  const done = progress();
  const seconds = Math.max(done.elapsedSeconds, 1e-9);
  return {
    ...done,
    packetsPerSecond: done.meter.decode.packets / seconds,
    flowsPerSecond: done.detector.flows / seconds,
  };
}

/**
 * Where flows come from: the capture workers' own meters, one table per
 * capture worker on this thread (several per interface), or one table.
 */
function meterSource(
  options: DetectionRunOptions,
  meterOptions: FlowMeterOptions,
  packetVotes: PacketVotes | null,
): {
  metered: AsyncGenerator<FlowBatch>;
  counters: () => FlowMeterCounters;
  packetFindings: () => readonly PacketFinding[];
} {
  const inWorkers = options.captureMeters;
  if (inWorkers) {
    return {
      metered: inWorkers.meters.flows(options.source, inWorkers.stop),
      counters: () => inWorkers.meters.counters(),
      packetFindings: () => inWorkers.meters.takeFindings(),
    };
  }
  const shards = (options.flowTables ?? 1) > 1
    ? new FlowMeterShards(options.flowTables!, meterOptions)
    : null;
  const meter = shards ?? new FlowMeter(meterOptions);
  const tapped = options.packetRing ? options.packetRing.tap(options.source) : options.source;
  const packets = packetVotes ? pacedByPacketScoring(tapped, packetVotes) : tapped;
  const source = options.live ? withWallClockTicks(packets, meter) : packets;
  return {
    metered: shards
      ? meterFlowShards(source, shards)
      : meterFlows(source, options.meter, meter as FlowMeter),
    counters: () => meter.counters(),
    packetFindings: () => meter.takeFindings(),
  };
}

/** Reads the next packet batch only when the packet members are not too far behind. */
async function* pacedByPacketScoring(
  source: AsyncIterable<PacketBatch>,
  votes: PacketVotes,
): AsyncGenerator<PacketBatch> {
  for await (const batch of source) {
    await votes.ready();
    yield batch;
  }
}

/**
 * Share of the main thread's time malloc_trim may take: it walks the whole
 * heap, 50 to 270 ms a call measured on a million-packet range capture
 * under load (9% of the run at one call a second), so after a call that
 * took T the next waits T / MAX_TRIM_SHARE (at least the 1 s tick).
 */
const MAX_TRIM_SHARE = 0.02;

/**
 * Bytes of flow rows metered ahead while the inference worker starts (copies,
 * about 380 bytes a row: some 22,000 rows). A budget of bytes, not batches:
 * range traffic leaves the meter in batches of a few hundred rows (a grid
 * line of packet time ends that many flows), a flood in full ones of 4096.
 * Bounded for the flood, whose rows all leave at once: on a 1M-SYN flood
 * (peak RSS, one run each, load 7-10) 0 MiB ahead 279-284 MiB, 8 MiB 298,
 * 16 MiB 274-305, 32 MiB 308-322.
 */
export const MAX_BYTES_AHEAD = 8 * 2 ** 20;

/**
 * Offline, the inference worker takes seconds to start (WASM compile,
 * sessions, warm-up): meter the first flow batches meanwhile instead of
 * waiting, then hand them to the detector ahead of the rest.
 */
async function meterWhileStarting(
  starting: Promise<Detector>,
  flows: AsyncGenerator<FlowBatch>,
): Promise<{ detector: Detector; flows: AsyncIterable<FlowBatch> }> {
  let ready = false;
  starting.then(() => ready = true, () => ready = true);
  const ahead: FlowBatch[] = [];
  // Copies in one set of buffers of MAX_BYTES_AHEAD (made for the first batch's width), not
  // 17 buffers a batch: garbage as a whole once the detector has taken its own copies.
  let ring: FlowSnapshotRing | null = null;
  try {
    while (!ready) {
      const next = await flows.next();
      if (next.done) break;
      const batch = next.value;
      ring ??= new FlowSnapshotRing(
        Math.floor(MAX_BYTES_AHEAD / flowRowBytes(batch.width)),
        batch.width,
      );
      // The meter reuses a batch's buffers once asked for the next one.
      const copy = ring.take(batch);
      if (copy === null) {
        // The budget is spent: this batch is kept apart, the next waits for the detector.
        ahead.push(snapshotFlowBatch(batch));
        break;
      }
      ahead.push(copy);
    }
  } catch (error) {
    // A bad input file: stop the worker that was starting, then report the input's error.
    await starting.then((detector) => detector.close(), () => {});
    throw error;
  }
  let detector: Detector;
  try {
    detector = await starting;
  } catch (error) {
    await flows.return(undefined);
    throw error;
  }
  return {
    detector,
    flows: (async function* () {
      // Shifted out, so the copies are garbage once the detector has its own.
      for (let b = ahead.shift(); b !== undefined; b = ahead.shift()) yield b;
      ring = null;
      yield* flows;
    })(),
  };
}

/**
 * Passes live batches through and, when the link is quiet, yields an empty
 * batch every `tickMs` after expiring flows by the wall clock, so an idle
 * flow still ends (and is scored) without waiting for the next packet.
 */
export async function* withWallClockTicks(
  source: AsyncIterable<PacketBatch>,
  meter: Pick<FlowMeter, "expire">,
  tickMs = 500,
): AsyncGenerator<PacketBatch> {
  const empty = createPacketBatch(1, 0);
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<PacketBatch>> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (true) {
      pending ??= iterator.next();
      const tick = new Promise<"tick">((resolve) =>
        timer = setTimeout(() => resolve("tick"), tickMs)
      );
      const next = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (next === "tick") {
        meter.expire(Date.now() * 1000);
        yield empty;
        continue;
      }
      pending = null;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}
