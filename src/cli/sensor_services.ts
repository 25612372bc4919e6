/**
 * What runs beside detection in `detect` and `analyze`: notifications,
 * Prometheus metrics, the periodic EVE `stats` event, the config file,
 * SIGHUP reload (config, notification targets, suppressions, model bundle)
 * and `--user`. detect.ts calls in at a few points; the engine only sees
 * extra sinks and hooks.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import type { AlertSink } from "../alert/mod.ts";
import type { LiveInterfaceStats, PacketBatch } from "../capture/mod.ts";
import {
  applyConfig,
  ConfigError,
  type ConfigValidators,
  type ConfigValues,
  loadConfigFile,
  type OptionSpec,
  optionSpecs,
} from "../config/mod.ts";
import {
  DEFAULT_MODEL_DIR,
  type DetectionProgress,
  type DetectionReport,
  loadSensorBundle,
} from "../engine/mod.ts";
import { dropPrivileges, lookupUser } from "../ffi/mod.ts";
import type { LoadedBundle } from "../inference/mod.ts";
import {
  type MetricsServer,
  parseListenAddress,
  SensorMetrics,
  serveMetrics,
} from "../metrics/mod.ts";
import {
  createNotifyHub,
  defaultSpoolDir,
  type NotifyHub,
  parseNotifyTarget,
} from "../notify/mod.ts";
import { SuppressionGate } from "../triage/mod.ts";
import { UsageError } from "./exit.ts";

/** The options this module adds (to both commands). */
export interface ServiceOptions {
  config?: string;
  notify?: string[];
  spoolDir?: string;
  metrics?: string;
  statsInterval: string;
  user?: string;
  model: string;
  alerts?: string;
  db?: string;
}

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** Options that a reload cannot change: they need a restart. */
const RESTART_KEYS = [
  "iface",
  "filter",
  "duration",
  "alerts",
  "db",
  "metrics",
  "user",
  "spool-dir",
  "threshold",
  "anomaly-threshold",
  "min-unknown-flows",
  "strong-anomaly-threshold",
  "window",
  "stats-interval",
];

const number = (min: number, what: string) => (text: string) => {
  const value = Number(text);
  if (!(Number.isFinite(value) && value >= min)) {
    throw new Error(`must be ${what}, got "${text}"`);
  }
};

/** Checks of config values beyond their type, so `config --check` finds them with their line. */
export const CONFIG_VALIDATORS: ConfigValidators = {
  notify: (url) => void parseNotifyTarget(url),
  metrics: (address) => void parseListenAddress(address),
  duration: number(0, "0 or more seconds"),
  "capture-workers": number(1, "a whole number of capture workers, 1 or more"),
  "buffer-mb": number(1, "a whole number of megabytes, 1 or more"),
  window: number(Number.MIN_VALUE, "a positive number of seconds"),
  "stats-interval": number(0, "0 or more seconds"),
  // Fleet (src/cli/fleet.ts): checked here too, so `config --check` names the line.
  "publish-interval": number(Number.MIN_VALUE, "a number of seconds above 0"),
  "publish-buffer-mb": number(1, "a whole number of megabytes, 1 or more"),
  publish: (url) => {
    if (!/^(nats|tls):\/\//.test(String(url))) {
      throw new Error(`must be a nats:// or tls:// URL, got "${url}"`);
    }
  },
  "min-unknown-flows": number(1, "a whole number of 1 or more"),
  threshold: number(Number.MIN_VALUE, "a probability in (0, 1]"),
  "anomaly-threshold": number(Number.MIN_VALUE, "a positive number"),
  "strong-anomaly-threshold": number(Number.MIN_VALUE, "a positive number"),
};

/** Adds --config, --notify, --spool-dir, --metrics, --stats-interval and --user. */
export function addServiceOptions<C extends AnyCommand>(command: C): C {
  command
    .option(
      "--config <file>",
      "read options from a YAML or JSON file (flags given here win); SIGHUP re-reads it",
    )
    .addOption(
      new Option(
        "--notify <url>",
        "send alerts to smtp://, http(s)://, slack://, discord:// or syslog:// " +
          "(repeat for several; ?min_severity=high&rate=10/60)",
      ).argParser((value, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .option(
      "--spool-dir <dir>",
      "where undelivered notifications wait (default: $STATE_DIRECTORY/spool under systemd, " +
        "/var/lib/ids-sensor/spool as root, else ~/.local/state/ids-sensor/spool)",
    )
    .option("--metrics <addr:port>", "serve Prometheus metrics at http://ADDR:PORT/metrics")
    .option(
      "--stats-interval <seconds>",
      "append an EVE stats event (Suricata's shape) to the --alerts file this often, " +
        "and one at the end (0: none)",
      "0",
    )
    .option("--user <name>", "drop root to this user once the capture is open");
  // Checked before the action starts anything: a bad URL or address is a usage error (64),
  // named with its flag. Values from a config file were checked with their line already.
  command.hook("preAction", (_, action) => {
    const given = (attribute: string) => action.getOptionValueSource(attribute) === "cli";
    const opts = action.opts() as Partial<ServiceOptions>;
    for (const [attribute, key] of [["notify", "notify"], ["metrics", "metrics"]] as const) {
      if (!given(attribute)) continue;
      const values = [opts[attribute] ?? []].flat() as string[];
      for (const value of values) {
        try {
          CONFIG_VALIDATORS[key](value);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
      }
    }
    if (given("statsInterval")) {
      try {
        CONFIG_VALIDATORS["stats-interval"](String(opts.statsInterval));
      } catch (error) {
        throw new UsageError(`--stats-interval ${(error as Error).message}`);
      }
    }
  });
  return command;
}

/**
 * Makes `commands` read `--config FILE` before their action runs: values
 * from the file fill every option not given on the command line.
 */
export function useConfigFile(commands: readonly AnyCommand[]): void {
  const specs = () => optionSpecs(commands);
  for (const command of commands) {
    command.hook("preAction", async (_, action) => {
      const file = action.opts().config as string | undefined;
      if (!file) return;
      applyConfig(action, await loadConfigFile(file, specs(), CONFIG_VALIDATORS), specs());
    });
  }
}

/** The running services of one detect/analyze run. */
export interface SensorServices {
  /** Extra sinks for the engine (metrics counting, notifications). */
  readonly sinks: AlertSink[];
  readonly metrics: SensorMetrics;
  /** Counts wire bytes on the way to the meter. */
  wrapSource(source: AsyncIterable<PacketBatch>): AsyncIterable<PacketBatch>;
  onProgress(progress: DetectionProgress): void;
  onBatchDecided(flows: number, latencyMs: number): void;
  onSwapReady(swap: (bundle: LoadedBundle) => Promise<void>): void;
  /** Live capture statistics for metrics and stats events. */
  setCapture(stats: () => readonly LiveInterfaceStats[]): void;
  /** `--user`: gives up root (call once capture handles and output files are open). */
  dropPrivileges(): Promise<void>;
  /** Re-reads the config, targets, suppressions and bundle (what SIGHUP does); false on error. */
  reload(): Promise<boolean>;
  /** Final stats event, metrics server down, SIGHUP handler removed. */
  close(report?: DetectionReport): Promise<void>;
}

/** Context the services need from the command. */
export interface ServiceContext {
  /** The command running (for config keys and which flags came from the command line). */
  command: AnyCommand;
  /** Every command sharing the config file (detect and analyze). */
  configCommands: readonly AnyCommand[];
  /** Where messages go (default console.error). */
  log?: (line: string) => void;
}

/** Starts notifications, metrics and stats; registers SIGHUP. */
export async function startSensorServices(
  options: ServiceOptions,
  context: ServiceContext,
): Promise<SensorServices> {
  const log = context.log ?? ((line: string) => console.error(line));
  const metrics = new SensorMetrics();
  metrics.setModel(options.model);
  const spoolDir = options.spoolDir ?? defaultSpoolDir();
  const wantsHub = (options.notify?.length ?? 0) > 0 || options.config !== undefined;
  const hub: NotifyHub | null = wantsHub
    ? await createNotifyHub(options.notify ?? [], { spoolDir })
    : null;
  if (hub) metrics.setSources({ notify: () => hub.stats() });
  let server: MetricsServer | null = null;
  if (options.metrics) {
    server = serveMetrics(options.metrics, metrics.handler());
    log(`ids-sensor: metrics at http://${hostPort(server.hostname, server.port)}/metrics`);
  }

  // Triage suppressions (set in the console, kept in --db) keep alerts from notifications;
  // the gate re-reads them every few seconds, and SIGHUP reports how many are in force.
  let gate: SuppressionGate | null = null;
  if (options.db && hub) {
    try {
      const opened = new SuppressionGate(options.db);
      gate = opened;
      hub.setFilter((alert) => !opened.allows(alert));
    } catch (error) {
      log(`ids-sensor: suppressions not read from ${options.db}: ${describe(error)}`);
    }
  }

  // The EVE stats event goes to the --alerts file, beside the alerts.
  const statsSeconds = Number(options.statsInterval);
  if (!(statsSeconds >= 0)) {
    throw new Error(`--stats-interval must be 0 or more seconds, got "${options.statsInterval}"`);
  }
  const statsFile = options.alerts && statsSeconds > 0
    ? await Deno.open(options.alerts, { create: true, append: true })
    : null;
  const encoder = new TextEncoder();
  async function writeStats(event: unknown) {
    if (!statsFile || !event) return;
    // One write of one whole line with O_APPEND: it never splits an alert line of the JSONL sink.
    const bytes = encoder.encode(JSON.stringify(event) + "\n");
    let off = 0;
    while (off < bytes.length) off += await statsFile.write(bytes.subarray(off));
  }
  const statsTimer = statsFile
    ? setInterval(() => writeStats(metrics.statsEvent()).catch(() => {}), statsSeconds * 1000)
    : undefined;

  let swap: ((bundle: LoadedBundle) => Promise<void>) | null = null;
  let modelDir = options.model;
  let lastValues: ConfigValues = {};
  if (options.config) {
    try {
      lastValues = await loadConfigFile(
        options.config,
        optionSpecs(context.configCommands),
        CONFIG_VALIDATORS,
      );
    } catch { /* the preAction hook already reported it */ }
  }
  const fromCli = (attribute: string) => context.command.getOptionValueSource(attribute) === "cli";

  let reloading: Promise<boolean> = Promise.resolve(true);
  async function reloadOnce(): Promise<boolean> {
    const notes: string[] = [];
    let ok = true;
    let values = lastValues;
    if (options.config) {
      try {
        const specs: OptionSpec[] = optionSpecs(context.configCommands);
        values = await loadConfigFile(options.config, specs, CONFIG_VALIDATORS);
        const changed = RESTART_KEYS.filter((key) =>
          JSON.stringify(values[key]) !== JSON.stringify(lastValues[key])
        );
        if (changed.length > 0) notes.push(`changed but need a restart: ${changed.join(", ")}`);
        lastValues = values;
      } catch (error) {
        log(
          `ids-sensor: reload: ${options.config} is not usable; keeping the running ` +
            `configuration:\n${error instanceof ConfigError ? error.message : describe(error)}`,
        );
        metrics.recordReload(false);
        return false;
      }
    }
    if (hub) {
      const urls = fromCli("notify") ? options.notify ?? [] : (values.notify as string[]) ?? [];
      try {
        const change = await hub.update(urls);
        notes.push(
          `notify: ${urls.length} target${urls.length === 1 ? "" : "s"}` +
            (change.added.length ? `, added ${change.added.join(", ")}` : "") +
            (change.removed.length ? `, removed ${change.removed.join(", ")}` : ""),
        );
      } catch (error) {
        ok = false;
        notes.push(`notify unchanged (${describe(error)})`);
      }
    }
    if (gate) {
      const n = gate.active().length;
      notes.push(`${n} suppression${n === 1 ? "" : "s"} in force`);
    }
    const dir = fromCli("model")
      ? options.model
      : (values.model as string | undefined) ?? DEFAULT_MODEL_DIR;
    if (swap) {
      try {
        // Validated twice before it replaces anything: bundle.json and feature set on load,
        // the ONNX graphs when the new inference workers start.
        const bundle = await loadSensorBundle(dir);
        await swap(bundle);
        modelDir = dir;
        metrics.setModel(dir);
        notes.push(`model ${dir} loaded`);
      } catch (error) {
        ok = false;
        notes.push(`model ${dir} refused (${describe(error)}); still running ${modelDir}`);
      }
    }
    metrics.recordReload(ok);
    log(`ids-sensor: reload${ok ? "" : " (partly failed)"}: ${notes.join("; ")}`);
    return ok;
  }
  let dropped = false;
  const reload = () => (reloading = reloading.then(reloadOnce, reloadOnce));
  const onHangup = () => void reload();
  const canSignal = Deno.build.os !== "windows";
  if (canSignal) Deno.addSignalListener("SIGHUP", onHangup);

  return {
    // The engine closes its sinks inside the run; the hub's close waits (a little) for
    // delivery, which is not detection time, so it is closed by close() below instead.
    sinks: hub
      ? [metrics.alertSink(), {
        name: hub.name,
        write: (alerts) => hub.write(alerts),
        flush: () => hub.flush(),
        close: () => hub.flush(),
      }]
      : [metrics.alertSink()],
    metrics,
    wrapSource: (source) => metrics.countBytes(source),
    onProgress: (progress) => metrics.update(progress),
    onBatchDecided: (flows, ms) => metrics.observeBatch(flows, ms),
    onSwapReady(next) {
      swap = next;
    },
    setCapture(stats) {
      metrics.setSources({ capture: stats });
    },
    async dropPrivileges() {
      if (!options.user || dropped) return;
      dropped = true;
      const user = lookupUser(options.user);
      if (user && Deno.uid() === 0) {
        // What the sensor writes after the drop must belong to the user.
        for (const path of [spoolDir, options.alerts, options.db].filter(Boolean) as string[]) {
          await chownTree(path, user.uid, user.gid);
        }
        if (options.db) {
          for (const suffix of ["-wal", "-shm"]) {
            await Deno.chown(options.db + suffix, user.uid, user.gid).catch(() => {});
          }
        }
      }
      const now = dropPrivileges(options.user);
      log(`ids-sensor: running as ${now.name} (uid ${now.uid}, gid ${now.gid})`);
    },
    reload,
    async close(report) {
      if (canSignal) Deno.removeSignalListener("SIGHUP", onHangup);
      clearInterval(statsTimer);
      await reloading;
      await hub?.close();
      if (report) metrics.update(report);
      if (statsFile) {
        await writeStats(metrics.statsEvent());
        statsFile.close();
      }
      await server?.close();
      gate?.close();
    },
  };
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return;
  }
  await Deno.chown(path, uid, gid);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) {
    await chownTree(`${path}/${entry.name}`, uid, gid);
  }
}

function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
