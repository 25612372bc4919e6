/**
 * One benchmark stage, run in its own process by scripts/bench.ts:
 *   deno run -A scripts/bench/stages.ts STAGE FILE
 * prints one JSON line: packets, seconds, peak RSS and stage-specific figures.
 * Each stage imports what only it needs (the engine, the inference worker,
 * KitNET and its ONNX export) when it runs, so a child's peak RSS is its
 * stage's and not the other stages' modules (e.g. concurrent-flows measures
 * the meter alone).
 */
import { cpuUsage } from "node:process";
import type { Alert, AlertSink } from "../../src/alert/mod.ts";
import { readCaptureFile } from "../../src/capture/mod.ts";
import {
  AFTERIMAGE_FEATURE_SET,
  DecodedPacket,
  decodePacket,
  FlowMeter,
  meterFlows,
  PacketFeatureExtractor,
} from "../../src/features/mod.ts";

/** The engine, imported by the stages that run it (see Stage.load). */
const engine = () => import("../../src/engine/mod.ts");
/** KitNET, for the packet stages. */
const packetModels = () => import("../../src/packet_models/mod.ts");
/** KitNET, the inference worker's pool and the ONNX export, for the packet stages in a worker. */
const packetScoring = async () => {
  const [kitnet, inference, packetOnnx] = await Promise.all([
    packetModels(),
    import("../../src/inference/mod.ts"),
    import("../../src/train/packet_onnx.ts"),
  ]);
  return { ...kitnet, ...inference, ...packetOnnx };
};

/** The bundle the detect stage uses (the bundled default unless IDS_BENCH_MODEL says otherwise). */
const BENCH_MODEL = Deno.env.get("IDS_BENCH_MODEL") ??
  new URL("../../models/default", import.meta.url).pathname;

/** What one stage run measured. */
export interface StageResult {
  packets: number;
  /** Wall and CPU seconds of untimed preparation inside the stage (subtracted). */
  setupSeconds?: number;
  setupCpuSeconds?: number;
  seconds: number;
  /** User + system CPU seconds of the stage (all threads of its process). */
  cpuSeconds: number;
  peakRssBytes: number;
  extra: Record<string, number>;
}

/** A benchmark stage: what it runs and how it counts. */
export interface Stage {
  description: string;
  /** Imports what only this stage uses; awaited before the stage is timed. */
  load?: () => Promise<unknown>;
  run(file: string): Promise<Omit<StageResult, "seconds" | "cpuSeconds" | "peakRssBytes">>;
}

/** The stages, cheapest first; each adds work on top of the previous. */
export const STAGES: Record<string, Stage> = {
  read: {
    description: "capture file -> packet batches",
    async run(file) {
      let packets = 0;
      for await (const batch of readCaptureFile(file)) packets += batch.count;
      return { packets, extra: {} };
    },
  },
  flows: {
    description:
      "capture file -> decode -> flow table -> feature rows (as `ids-sensor flows --shards N`, N from IDS_BENCH_FLOW_SHARDS, default 1)",
    load: engine,
    async run(file) {
      const { DEFAULT_FILE_SHARDS, FileMeterShards } = await engine();
      const shards = Number(Deno.env.get("IDS_BENCH_FLOW_SHARDS") ?? DEFAULT_FILE_SHARDS);
      let flows = 0;
      if (shards > 1) {
        const sharded = new FileMeterShards(file, shards, {});
        for await (const batch of sharded.flows()) flows += batch.count;
        return { packets: sharded.counters().decode.packets, extra: { flows, shards } };
      }
      const meter = new FlowMeter();
      for await (const batch of meterFlows(readCaptureFile(file), {}, meter)) flows += batch.count;
      const counters = meter.counters();
      return { packets: counters.decode.packets, extra: { flows, shards } };
    },
  },
  afterimage: {
    description: "capture file -> decode -> AfterImage (115 features), every packet",
    async run(file) {
      let rows = 0;
      const packets = await eachDecodedPacket(file, Infinity, ["afterimage"], (r) => {
        rows += r.count;
      });
      return { packets, extra: { rows } };
    },
  },
  packets: {
    description:
      "capture file -> decode -> AfterImage (115 features) -> KitNET score, every packet (KitNET trained first on the first 20,000 packets, untimed)",
    load: packetModels,
    async run(file) {
      const setupStart = performance.now(), setupCpu = cpuUsage();
      const { KitNetScorer } = await packetModels();
      const width = AFTERIMAGE_FEATURE_SET.columns.length;
      const scorer = new KitNetScorer(await trainOnFirstRows(file, 20_000, width));
      const setupSeconds = (performance.now() - setupStart) / 1000;
      const cpu = cpuUsage(setupCpu);
      let scored = 0, sum = 0;
      let scores = new Float32Array(0);
      const packets = await eachDecodedPacket(file, Infinity, ["afterimage"], (rows) => {
        if (scores.length < rows.capacity) scores = new Float32Array(rows.capacity);
        // A batch of rows at a time, as the inference worker gets them.
        scorer.scoreRows(rows.features[0], rows.count, scores);
        for (let i = 0; i < rows.count; i++) sum += scores[i];
        scored += rows.count;
      });
      return {
        packets,
        setupSeconds,
        setupCpuSeconds: (cpu.user + cpu.system) / 1e6,
        extra: { scored, kitnetAutoencoders: scorer.model.groups.length, meanScore: sum / scored },
      };
    },
  },
  "packets-worker": {
    description:
      "capture file -> decode -> AfterImage -> KitNET scored from its weights in typed arrays in an inference worker (as detection scores a kitnet packet member whose bundle has them), every packet",
    load: packetScoring,
    run: (file) => packetsInWorker(file, "weights"),
  },
  "packets-worker-onnx": {
    description:
      "capture file -> decode -> AfterImage -> KitNET exported to ONNX, onnxruntime-web in an inference worker (as detection scores packet members without weights), every packet",
    load: packetScoring,
    run: (file) => packetsInWorker(file, "onnx"),
  },
  detect: {
    description: "capture file -> flows -> ONNX inference in a worker -> decisions -> alerts",
    load: engine,
    async run(file) {
      const { loadSensorBundle, runDetection } = await engine();
      let alerts = 0;
      const report = await runDetection({
        source: readCaptureFile(file),
        live: false,
        bundle: await loadSensorBundle(BENCH_MODEL),
        sinks: [countingSink((list) => alerts += list.length)],
      });
      const d = report.detector;
      return {
        packets: report.meter.decode.packets,
        extra: {
          flows: d.flows,
          flowsPerSecond: Math.round(report.flowsPerSecond),
          // The share of flows judged attacks: alert handling is part of what this stage times.
          flaggedFlows: d.known + d.unknown,
          alerts,
          inferenceRowsPerSecondInWorker: Math.round(
            d.inference.rows / (d.inference.workerMs / 1000),
          ),
          flowEndToVerdictP50Ms: d.decisionLatencyMs.p50,
          flowEndToVerdictP99Ms: d.decisionLatencyMs.p99,
        },
      };
    },
  },
};

/**
 * Memory with one million concurrent flows: a capture of `flows` SYN packets
 * from distinct sources, none closed, metered with a table big enough to hold
 * them all; reports the table's own bytes and the process's peak RSS.
 */
export async function measureConcurrentFlows(file: string, flows: number) {
  const meter = new FlowMeter({ maxFlows: flows, idleTimeoutSeconds: 3600 });
  let peakLive = 0;
  for await (const batch of readCaptureFile(file)) {
    meter.push(batch);
    meter.drain();
    while (meter.continueExpiry()) meter.drain();
    peakLive = Math.max(peakLive, meter.counters().flowsLive);
  }
  const counters = meter.counters();
  return {
    peakLive,
    logChunks: meter.logChunksLive(),
    statisticsRows: meter.statisticsRowsLive(),
    tableBytes: counters.tableBytes,
    bytesPerFlow: meter.bytesPerFlow(),
    peakRssBytes: peakRssBytes(),
  };
}

/**
 * A spoofed SYN flood through the whole detection path (meter with the
 * detection defaults: memcap, emergency eviction, interim rows): time, peak
 * RSS, alert lines, and how long after the flood's first packet (capture
 * time) the first alert's flows end, i.e. how soon the sensor could say it.
 */
export async function measureFlood(file: string) {
  let alerts = 0;
  let firstAlertMicros = Infinity;
  let firstPacketMicros = Infinity;
  const source = (async function* () {
    for await (const batch of readCaptureFile(file)) {
      if (batch.count > 0) {
        firstPacketMicros = Math.min(firstPacketMicros, batch.timestampMicros[0]);
      }
      yield batch;
    }
  })();
  const { loadSensorBundle, runDetection } = await engine();
  const start = performance.now();
  const report = await runDetection({
    source,
    live: false,
    bundle: await loadSensorBundle(BENCH_MODEL),
    sinks: [countingSink((list) => {
      alerts += list.length;
      for (const alert of list) {
        firstAlertMicros = Math.min(firstAlertMicros, Date.parse(alert.timestamp) * 1000);
      }
    })],
  });
  const m = report.meter;
  return {
    packets: m.decode.packets,
    seconds: (performance.now() - start) / 1000,
    peakRssBytes: peakRssBytes(),
    alerts,
    firstAlertAfterSeconds: (firstAlertMicros - firstPacketMicros) / 1e6,
    evicted: m.flowsEndedByReason.evicted,
    interimRows: m.interimRows,
    scored: report.detector.flows,
    shedRows: report.detector.shed.finalRows + report.detector.shed.interimRows,
  };
}

/** KitNET trained on the AfterImage rows of a capture's first `trainRows` packets. */
async function trainOnFirstRows(file: string, trainRows: number, width: number) {
  const training = new Float32Array(trainRows * width);
  let taken = 0;
  await eachDecodedPacket(file, trainRows, ["afterimage"], (rows) => {
    const n = Math.min(rows.count, trainRows - taken);
    training.set(rows.features[0].subarray(0, n * width), taken * width);
    taken += n;
  });
  const { trainKitNet } = await packetModels();
  return trainKitNet(training, taken, width);
}

/**
 * Decodes up to `limit` packets of a capture and feeds the metered ones to a
 * packet feature extractor (no flow table); returns the packets read.
 */
async function eachDecodedPacket(
  file: string,
  limit: number,
  sets: ("afterimage" | "packet" | "packet-sequence")[],
  onRows: ConstructorParameters<typeof PacketFeatureExtractor>[0]["onRows"],
  /** Called after each capture batch; a promise it returns is awaited (backpressure). */
  afterBatch: () => Promise<void> | undefined = () => undefined,
): Promise<number> {
  const extractor = new PacketFeatureExtractor({ sets, onRows });
  const packet = new DecodedPacket();
  let packets = 0;
  for await (const batch of readCaptureFile(file)) {
    const times = batch.timestampMicros;
    for (let i = 0; i < batch.count && packets < limit; i++, packets++) {
      if (decodePacket(batch, i, packet) === 0) extractor.observe(packet, batch, i, times[i]);
    }
    if (packets >= limit) break;
    await afterBatch();
  }
  extractor.flush();
  return packets;
}

/** A sink that only looks at the alerts: the bench measures detection, not disk writes. */
function countingSink(look: (alerts: readonly Alert[]) => void): AlertSink {
  return {
    name: "count",
    write: (list) => {
      look(list);
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** Peak resident set size of this process (VmHWM), in bytes. */
export function peakRssBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const match = status.match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : Deno.memoryUsage().rss;
}

if (import.meta.main) {
  const [name, file, flows] = Deno.args;
  if (name === "flood") {
    console.log(JSON.stringify(await measureFlood(file)));
    Deno.exit(0);
  }
  if (name === "concurrent-flows") {
    console.log(JSON.stringify(await measureConcurrentFlows(file, Number(flows))));
    Deno.exit(0);
  }
  const stage = STAGES[name];
  if (!stage || !file) {
    console.error(`usage: stages.ts (${Object.keys(STAGES).join("|")}) FILE`);
    Deno.exit(2);
  }
  await stage.load?.();
  const start = performance.now();
  const cpuStart = cpuUsage();
  const result = await stage.run(file);
  const seconds = (performance.now() - start) / 1000 - (result.setupSeconds ?? 0);
  const cpu = cpuUsage(cpuStart);
  // CPU time too: on a shared machine wall time measures the neighbours as much as the code.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 - (result.setupCpuSeconds ?? 0);
  console.log(JSON.stringify({ ...result, seconds, cpuSeconds, peakRssBytes: peakRssBytes() }));
}

/**
 * The packet path as detection runs it: AfterImage rows on this thread, a
 * KitNET (trained first on the first 20,000 packets, untimed) scored in an
 * inference worker from its weights (typed arrays) or its ONNX graph.
 */
async function packetsInWorker(
  file: string,
  scoring: "weights" | "onnx",
): Promise<Omit<StageResult, "seconds" | "cpuSeconds" | "peakRssBytes">> {
  const setupStart = performance.now(), setupCpu = cpuUsage();
  const { createInferencePool, kitNetToJson, kitNetToOnnx, PACKET_MODEL_SCORE } =
    await packetScoring();
  const width = AFTERIMAGE_FEATURE_SET.columns.length;
  const model = await trainOnFirstRows(file, 20_000, width);
  const pool = await createInferencePool({
    width,
    models: [{
      name: "kitnet",
      role: "anomaly",
      onnx: kitNetToOnnx(model, "afterimage"),
      source: "bench",
      inputName: "afterimage",
      outputName: PACKET_MODEL_SCORE,
      ...(scoring === "weights" ? { kitnet: kitNetToJson(model) } : {}),
    }],
  });
  const setupSeconds = (performance.now() - setupStart) / 1000;
  const cpu = cpuUsage(setupCpu);
  let scored = 0, sum = 0;
  const pending: Promise<void>[] = [];
  try {
    const packets = await eachDecodedPacket(file, Infinity, ["afterimage"], (rows) => {
      // The pool copies the rows at call time; keep a bounded number of batches in flight.
      pending.push(
        pool.infer(rows.features[0], rows.count).then((scores) => {
          const values = scores.outputs[0].values;
          for (let i = 0; i < values.length; i++) sum += values[i];
          scored += values.length;
        }),
      );
    }, () => pending.length > 8 ? Promise.all(pending.splice(0)).then(() => {}) : undefined);
    pool.flush();
    await Promise.all(pending);
    const stats = pool.stats;
    return {
      packets,
      setupSeconds,
      setupCpuSeconds: (cpu.user + cpu.system) / 1e6,
      extra: {
        scored,
        meanScore: sum / scored,
        workerSeconds: stats.workerMs / 1000,
        // The worker's own rate: the share of one core the scoring takes.
        workerRowsPerSecond: Math.round(stats.rows / (stats.workerMs / 1000)),
      },
    };
  } finally {
    await pool.close();
  }
}
