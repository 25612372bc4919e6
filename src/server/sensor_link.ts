/**
 * What a sensor writing a store needs from the console side: a packet ring
 * for evidence pcaps, the suppression gate, a status heartbeat the dashboard
 * shows (interfaces, drops, model, uptime, counters), and optionally the
 * console itself in the same process (`detect --ui`).
 */
import type { SqliteSinkOptions } from "../alert/mod.ts";
import type { DetectionProgress, DetectionReport } from "../engine/mod.ts";
import { PacketRing } from "../forensics/mod.ts";
import { openStore } from "../store/mod.ts";
import { SuppressionGate } from "../triage/mod.ts";
import { type RunningConsole, startConsole } from "./serve.ts";

/** Per-interface capture counters, as the live source reports them. */
export interface InterfaceCounters {
  interfaceName: string;
  received: number;
  kernelDropped: number;
  interfaceDropped: number;
  ringOverruns?: number;
}

/** Options of {@link openSensorLink}. */
export interface SensorLinkOptions {
  dbPath: string;
  /** How the sensor names itself on the dashboard ("live eth0", "analyze x.pcap"). */
  sensorName: string;
  /** Interfaces (live) or the capture file. */
  interfaces: string[];
  modelDir: string;
  /** Live capture counters, when live. */
  captureStats?: () => InterfaceCounters[];
  /** Bytes of recent packets kept for evidence (default 64 MiB). */
  ringBytes?: number;
  /** Serve the console too, on this `ADDR:PORT` (`detect --ui`). */
  ui?: string;
  tokenFile?: string;
  certFile?: string;
  keyFile?: string;
  retainDays?: number;
  maxUploadBytes?: number;
  /** The sensor's Prometheus handler, mounted at /metrics of the `ui` console. */
  metricsHandler?: (request: Request) => Response | Promise<Response>;
}

/** The link: pass its parts to the sink and to runDetection. */
export interface SensorLink {
  packetRing: PacketRing;
  gate: SuppressionGate;
  /** For createSqliteSink. */
  sinkOptions: SqliteSinkOptions;
  /** Call with each progress tick: writes the heartbeat every 2 s. */
  onProgress(progress: DetectionProgress): void;
  /** The sensor now runs the bundle in `dir` (SIGHUP reload, fleet update): the status says so at once. */
  setModel(dir: string): void;
  /** The console, when `ui` was given. */
  console: RunningConsole | null;
  /** Writes the final status, closes the gate and the status connection; leaves a console running. */
  close(report?: DetectionReport): void;
}

/** Opens the link (and the console with `ui`). */
export async function openSensorLink(options: SensorLinkOptions): Promise<SensorLink> {
  const store = openStore(options.dbPath);
  const gate = new SuppressionGate(store);
  const packetRing = new PacketRing({ capacityBytes: options.ringBytes });
  const started = Date.now();
  let lastWrite = 0;
  let modelDir = options.modelDir;
  let lastProgress: DetectionProgress | undefined;
  const running = options.ui
    ? await startConsole({
      dbPath: options.dbPath,
      listen: options.ui,
      tokenFile: options.tokenFile,
      certFile: options.certFile,
      keyFile: options.keyFile,
      modelDir: options.modelDir,
      retainDays: options.retainDays,
      maxUploadBytes: options.maxUploadBytes,
      metricsHandler: options.metricsHandler,
    })
    : null;
  const status = (progress: DetectionProgress | undefined, state: string) => {
    const capture = options.captureStats?.() ?? [];
    const d = progress?.detector;
    return {
      state,
      interfaces: options.interfaces,
      model: modelDir,
      started_at: new Date(started).toISOString(),
      uptime_seconds: Math.round((Date.now() - started) / 1000),
      packets: progress?.meter.decode.packets ?? 0,
      flows: d?.flows ?? 0,
      known: d?.known ?? 0,
      unknown: d?.unknown ?? 0,
      alerts: d?.alerts ?? 0,
      suppressed: gate.suppressed,
      active_suppressions: gate.active().length,
      kernel_dropped: capture.reduce((n, s) => n + s.kernelDropped, 0),
      interface_dropped: capture.reduce((n, s) => n + s.interfaceDropped, 0),
      capture: capture,
      evidence_ring: packetRing.stats(),
    };
  };
  const write = (progress: DetectionProgress | undefined, state: string) => {
    try {
      store.writeSensorStatus(options.sensorName, status(progress, state));
    } catch {
      // A busy store must never stop detection; the next heartbeat tries again.
    }
  };
  write(undefined, "starting");
  return {
    packetRing,
    gate,
    console: running,
    sinkOptions: { evidence: (alerts) => packetRing.evidence(alerts) },
    onProgress(progress) {
      lastProgress = progress;
      const now = Date.now();
      if (now - lastWrite < 2000) return;
      lastWrite = now;
      write(progress, "running");
    },
    setModel(dir) {
      modelDir = dir;
      write(lastProgress, "running");
    },
    close(report) {
      write(report, "stopped");
      gate.close();
      store.close();
    },
  };
}
