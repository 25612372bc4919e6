/**
 * What `detect --publish` / `analyze --publish` run beside detection: the
 * publisher (an AlertSink), a stats message every few seconds (and a last
 * one when the run ends), feature rows with `--publish-flows`, and the
 * remote scoring pool with `--remote-scoring`. The engine only sees a sink,
 * a flow tap and a pool factory.
 */
import type { AlertSink } from "../alert/mod.ts";
import { type DetectionProgress, loadSensorBundle } from "../engine/mod.ts";
import { FEATURE_SET, type FlowBatch, flowRecordAt } from "../features/mod.ts";
import type { InferenceModels, InferencePool, LoadedBundle } from "../inference/mod.ts";
import { type ModelUpdateOutcome, watchModelUpdates } from "./model_updates.ts";
import { dirname, join } from "node:path";
import { type NatsSettings, strayNatsSocketResets } from "./connection.ts";
import { createFleetPublisher, type FleetPublisher } from "./publisher.ts";
import { createRemotePool, type RemotePoolCounters } from "./remote_pool.ts";

/** What the stats need of a live interface's counters (src/capture LiveInterfaceStats). */
export interface CaptureDrops {
  kernelDropped: number;
  interfaceDropped: number;
  ringOverruns: number;
}

/** Options of {@link startSensorFleet}. */
export interface SensorFleetOptions {
  nats: NatsSettings;
  sensor: string;
  /** The on-disk buffer's folder. */
  bufferDir: string;
  maxBufferBytes?: number;
  /** Seconds between stats messages (default 10). */
  statsIntervalSeconds?: number;
  /** Also publish every feature row on `ids.<sensor>.flows`. */
  publishFlows?: boolean;
  /** Score rows with the fleet's score workers instead of local inference. */
  remoteScoring?: boolean;
  /** Remote scoring: seconds a batch waits for a worker before it is scored here (default 10). */
  remoteFallbackSeconds?: number;
  /** The model in use (reported in stats). */
  model: string;
  /** Follow the fleet's model bundle (KV ids-fleet key model), fetched under `modelRoot`. */
  modelUpdates?: boolean;
  /** Where received bundles are unpacked (default: beside the buffer, models/). */
  modelRoot?: string;
  /** How long the end of a run waits for NATS to take what is queued, ms (default 15 000). */
  closeTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The fleet side of one run. */
export interface SensorFleet {
  readonly publisher: FleetPublisher;
  /** For the engine's sinks: enqueues only; its close() leaves the publisher running. */
  readonly sink: AlertSink;
  onProgress(progress: DetectionProgress): void;
  /** The engine's flow tap (`--publish-flows`), or undefined. */
  readonly tapFlows?: (flows: AsyncIterable<FlowBatch>) => AsyncIterable<FlowBatch>;
  /** The engine's pool factory (`--remote-scoring`), or undefined. */
  readonly createPool?: (models: InferenceModels) => Promise<InferencePool>;
  /** Live runs: the capture's counters, for `capture_dropped` in the stats. */
  setCapture(stats: () => readonly CaptureDrops[]): void;
  /** Given the engine's bundle swap (fleet model updates use it). */
  onSwapReady(swap: (bundle: LoadedBundle) => Promise<void>): void;
  /** Sends the last stats ("stopped"), waits for the queue to drain (bounded), disconnects. */
  close(report?: DetectionProgress): Promise<void>;
}

/** Starts the publisher (connecting in the background) and the stats timer. */
export async function startSensorFleet(options: SensorFleetOptions): Promise<SensorFleet> {
  const publisher = await createFleetPublisher({
    nats: options.nats,
    sensor: options.sensor,
    bufferDir: options.bufferDir,
    maxBufferBytes: options.maxBufferBytes,
    closeTimeoutMs: options.closeTimeoutMs,
    log: options.log,
  });
  let latest: DetectionProgress | null = null;
  let model = options.model;
  let modelUpdate: ModelUpdateOutcome | undefined;
  let capture: (() => readonly CaptureDrops[]) | null = null;
  let remotePool: RemotePoolCounters | null = null;
  let previous = { at: performance.now(), packets: 0, flows: 0 };
  const startedAt = performance.now();

  function sendStats(state: "running" | "stopped") {
    const now = performance.now();
    const packets = latest?.meter.decode.packets ?? 0;
    const flows = latest?.detector.flows ?? 0;
    const seconds = Math.max((now - previous.at) / 1000, 1e-3);
    publisher.publishStats({
      state,
      model,
      model_update: modelUpdate,
      capture_dropped: capture
        ? capture().reduce((n, s) => n + s.kernelDropped + s.interfaceDropped + s.ringOverruns, 0)
        : undefined,
      remote_scoring: Boolean(options.remoteScoring),
      remote_scoring_local_rows: remotePool?.localRows,
      nats_stray_socket_resets: strayNatsSocketResets(),
      elapsed_seconds: latest?.elapsedSeconds ?? (now - startedAt) / 1000,
      packets,
      flows,
      alerts: latest?.detector.alerts ?? 0,
      packets_per_second: Math.max(0, (packets - previous.packets) / seconds),
      flows_per_second: Math.max(0, (flows - previous.flows) / seconds),
    });
    previous = { at: now, packets, flows };
  }
  const intervalMs = Math.max(1, options.statsIntervalSeconds ?? 10) * 1000;
  const timer = setInterval(() => sendStats("running"), intervalMs);
  sendStats("running");

  // Fleet model updates: validated (bundle.json, feature set) on load, the ONNX graphs when the
  // swapped-in detector starts its workers; on any failure the running model stays.
  let swapReady: (swap: (bundle: LoadedBundle) => Promise<void>) => void = () => {};
  const swapPromise = new Promise<(bundle: LoadedBundle) => Promise<void>>((resolve) =>
    swapReady = resolve
  );
  const watcher = options.modelUpdates
    ? watchModelUpdates({
      nats: options.nats,
      root: options.modelRoot ?? join(dirname(options.bufferDir), "models"),
      log: options.log,
      async apply(dir, manifest) {
        const bundle = await loadSensorBundle(dir);
        const swap = await swapPromise;
        await swap(bundle);
        model = `fleet:${manifest.name}`;
        (options.log ?? console.error)(`fleet: model bundle ${manifest.name} applied (${dir})`);
      },
      report(outcome) {
        modelUpdate = outcome;
        sendStats("running");
      },
    })
    : null;

  const columns = FEATURE_SET.columns.map((c) => c.name);
  async function* tapFlows(flows: AsyncIterable<FlowBatch>): AsyncGenerator<FlowBatch> {
    for await (const batch of flows) {
      publishBatch(publisher, batch, columns);
      yield batch;
    }
  }

  return {
    publisher,
    sink: {
      name: publisher.name,
      write: (alerts) => publisher.write(alerts),
      flush: () => publisher.flush(),
      // The engine closes its sinks when detection ends; the last stats and the drain follow.
      close: () => publisher.flush(),
    },
    onProgress(progress) {
      latest = progress;
    },
    tapFlows: options.publishFlows ? tapFlows : undefined,
    createPool: options.remoteScoring
      ? async (models) => {
        const pool = await createRemotePool(models, {
          nats: options.nats,
          sensor: options.sensor,
          fallbackAfterMs: options.remoteFallbackSeconds !== undefined
            ? options.remoteFallbackSeconds * 1000
            : undefined,
          log: options.log,
        });
        remotePool = pool;
        return pool;
      }
      : undefined,
    onSwapReady(swap) {
      swapReady(swap);
    },
    setCapture(stats) {
      capture = stats;
    },
    async close(report) {
      clearInterval(timer);
      await watcher?.close();
      if (report) latest = report;
      sendStats("stopped");
      await publisher.close();
    },
  };
}

/** Feature rows of a batch as one `flows` message (at most 500 rows per message). */
function publishBatch(publisher: FleetPublisher, batch: FlowBatch, columns: string[]): void {
  const width = batch.width;
  for (let from = 0; from < batch.count; from += 500) {
    const to = Math.min(batch.count, from + 500);
    const flows = [];
    for (let i = from; i < to; i++) {
      const r = flowRecordAt(batch, i);
      const features: (number | null)[] = new Array(width);
      for (let k = 0; k < width; k++) {
        const v = batch.features[i * width + k];
        features[k] = Number.isFinite(v) ? v : null;
      }
      flows.push({
        src_ip: r.srcIp,
        src_port: r.srcPort,
        dest_ip: r.dstIp,
        dest_port: r.dstPort,
        proto: r.protocol,
        start: new Date(r.startMicros / 1000).toISOString(),
        end: new Date(r.endMicros / 1000).toISOString(),
        features,
      });
    }
    publisher.publishFlows({
      feature_set: { name: FEATURE_SET.name, version: FEATURE_SET.version },
      columns,
      flows,
    });
  }
}
