/**
 * False alerts as a user meets them: unlabelled captures of normal traffic
 * run through the same engine as `ids-sensor analyze` (flow meter, inference,
 * decisions, host evidence, aggregation), and every alert line it emits
 * counted. Reported per capture, per 1,000 flows and per hour of traffic
 * (first to last packet), since a sensor that alerts on normal traffic is
 * judged by how often it interrupts someone.
 */
import type { Alert } from "../alert/mod.ts";
import { createCaptureFileStats, type PacketBatch, readCaptureFile } from "../capture/mod.ts";
import { type DetectionThresholds, runDetection } from "../engine/mod.ts";
import type { LoadedBundle } from "../inference/mod.ts";

/** File name endings taken as captures when a folder is given. */
const CAPTURE_ENDINGS = [".pcap", ".pcapng", ".cap", ".pcap.gz"];

/** One capture's figures. */
export interface BenignCaptureResult {
  path: string;
  packets: number;
  flows: number;
  /** First to last packet, seconds. */
  seconds: number;
  /** Alert lines emitted. */
  alerts: number;
  /** Alert lines by `alert.name` (verdict/name). */
  alertsByName: Record<string, number>;
  /** Flows behind those alert lines (`alert.count` summed). */
  alertedFlows: number;
  /** Set when the file could not be read to its end (what came before it was analysed). */
  error?: string;
}

/** Every capture's figures and the totals. */
export interface BenignAlertReport {
  model: string;
  captures: BenignCaptureResult[];
  totals: {
    captures: number;
    capturesWithAlerts: number;
    /** capturesWithAlerts / captures. */
    capturesWithAlertsFraction: number;
    packets: number;
    flows: number;
    seconds: number;
    alerts: number;
    alertsPer1000Flows: number;
    /** Alerts per hour of traffic, over the summed capture spans. */
    alertsPerHour: number;
    alertsByName: Record<string, number>;
  };
}

/** Options of {@link measureBenignAlerts}. */
export interface BenignAlertOptions {
  bundle: LoadedBundle;
  thresholds?: DetectionThresholds;
  windowSeconds?: number;
  /** Called after each capture (progress lines). */
  onCapture?: (result: BenignCaptureResult, index: number, total: number) => void;
}

/**
 * The capture files named by `paths`: files as given, folders searched
 * (recursively) for pcap/pcapng files. Sorted, without duplicates; a path
 * that does not exist is an error.
 */
export async function listCaptureFiles(paths: string[]): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir.replace(/\/$/, "")}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (CAPTURE_ENDINGS.some((e) => entry.name.toLowerCase().endsWith(e))) found.add(path);
    }
  };
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      throw new Error(`cannot read ${path}: ${(error as Error).message}`);
    }
    if (info.isDirectory) await walk(path);
    else found.add(path);
  }
  return [...found].sort();
}

/** Runs every capture through the engine and counts the alerts (see the module comment). */
export async function measureBenignAlerts(
  paths: string[],
  options: BenignAlertOptions,
): Promise<BenignAlertReport> {
  const captures: BenignCaptureResult[] = [];
  for (const [index, path] of paths.entries()) {
    const result = await measureOne(path, options);
    captures.push(result);
    options.onCapture?.(result, index, paths.length);
  }
  const sum = (f: (c: BenignCaptureResult) => number) => captures.reduce((n, c) => n + f(c), 0);
  const alertsByName: Record<string, number> = {};
  for (const c of captures) {
    for (const [name, n] of Object.entries(c.alertsByName)) {
      alertsByName[name] = (alertsByName[name] ?? 0) + n;
    }
  }
  const flows = sum((c) => c.flows);
  const seconds = sum((c) => c.seconds);
  const alerts = sum((c) => c.alerts);
  const capturesWithAlerts = captures.filter((c) => c.alerts > 0).length;
  return {
    model: options.bundle.dir,
    captures,
    totals: {
      captures: captures.length,
      capturesWithAlerts,
      capturesWithAlertsFraction: captures.length ? capturesWithAlerts / captures.length : 0,
      packets: sum((c) => c.packets),
      flows,
      seconds,
      alerts,
      alertsPer1000Flows: flows ? (1000 * alerts) / flows : 0,
      alertsPerHour: seconds > 0 ? (3600 * alerts) / seconds : 0,
      alertsByName,
    },
  };
}

async function measureOne(
  path: string,
  options: BenignAlertOptions,
): Promise<BenignCaptureResult> {
  const stats = createCaptureFileStats(path);
  let first = Infinity;
  let last = -Infinity;
  // The packets' own clock spans the traffic (wall time of the analysis does not).
  async function* timed(source: AsyncIterable<PacketBatch>) {
    for await (const batch of source) {
      for (let i = 0; i < batch.count; i++) {
        const t = batch.timestampMicros[i];
        if (t < first) first = t;
        if (t > last) last = t;
      }
      yield batch;
    }
  }
  const alertsByName: Record<string, number> = {};
  let alerts = 0;
  let alertedFlows = 0;
  const report = await runDetection({
    source: timed(readCaptureFile(path, { stats, onError: "stop" })),
    live: false,
    bundle: options.bundle,
    sinks: [],
    thresholds: options.thresholds,
    windowSeconds: options.windowSeconds,
    onAlert: (alert: Alert) => {
      alerts++;
      alertedFlows += alert.alert.count;
      const key = `${alert.alert.verdict}/${alert.alert.name}`;
      alertsByName[key] = (alertsByName[key] ?? 0) + 1;
    },
  });
  return {
    path,
    packets: stats.packets,
    flows: report.detector.flows,
    seconds: last >= first ? (last - first) / 1e6 : 0,
    alerts,
    alertsByName,
    alertedFlows,
    ...(stats.error ? { error: stats.error.message } : {}),
  };
}

/** The report as text: one line per capture with alerts, then the totals. */
export function formatBenignAlerts(report: BenignAlertReport, all = false): string {
  const lines: string[] = [];
  for (const c of report.captures) {
    if (!all && c.alerts === 0 && !c.error) continue;
    const names = Object.entries(c.alertsByName).map(([k, n]) => `${k} x${n}`).join(", ");
    lines.push(
      `${c.path}: ${c.alerts} alert(s) over ${c.flows} flows, ${c.seconds.toFixed(1)} s` +
        (names ? ` [${names}]` : "") + (c.error ? ` (read error: ${c.error})` : ""),
    );
  }
  const t = report.totals;
  lines.push(
    `model ${report.model}`,
    `captures: ${t.captures}, with alerts: ${t.capturesWithAlerts} (${
      (100 * t.capturesWithAlertsFraction).toFixed(1)
    }%)`,
    `traffic: ${t.packets} packets, ${t.flows} flows, ${(t.seconds / 3600).toFixed(3)} h`,
    `alerts: ${t.alerts}; per 1,000 flows ${t.alertsPer1000Flows.toFixed(2)}; per hour ${
      t.alertsPerHour.toFixed(2)
    }`,
  );
  const byName = Object.entries(t.alertsByName).sort((a, b) => b[1] - a[1]);
  if (byName.length > 0) {
    lines.push(`by name: ${byName.map(([k, n]) => `${k} x${n}`).join(", ")}`);
  }
  return lines.join("\n");
}
