/**
 * `ids-sensor capture`: the cron-launched training capture. Writes one pcap
 * file per interface with libpcap's own pcap_dump, a sidecar JSON with the
 * counters, and holds a lock on the output folder so runs never overlap.
 */
import type { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { PcapError } from "../ffi/mod.ts";
import { EXIT, pcapExitCode } from "./exit.ts";
import {
  acquireCaptureLock,
  type CaptureLock,
  captureToFile,
  type LiveInterfaceStats,
  LockHeldError,
  stopOnSignals,
} from "../capture/mod.ts";

/** Exit codes of `ids-sensor capture`: the shared sysexits table (./exit.ts) by capture's names. */
export const CAPTURE_EXIT = {
  ok: EXIT.ok,
  usage: EXIT.usage,
  badFilter: EXIT.dataError,
  noSuchInterface: EXIT.noInput,
  libpcapMissing: EXIT.unavailable,
  cannotWrite: EXIT.cantCreate,
  captureFailed: EXIT.ioError,
  locked: EXIT.tempFail,
  permissionDenied: EXIT.noPermission,
} as const;

const EXIT_HELP = `
Exit codes:
  0   capture complete (duration reached, or stopped by SIGINT/SIGTERM; files are valid)
  64  bad command line (missing or invalid option)
  65  the BPF filter does not compile
  66  no such interface, or it is down
  69  libpcap is not installed (apt-get install libpcap0.8)
  73  cannot create the output folder or files
  74  capture failed while running
  75  another capture holds the lock on the output folder (try later)
  77  permission denied (run as root or grant CAP_NET_RAW)

Files, per interface: DIR/<label>-<iface>-<UTC time>.pcap and a .json sidecar
(interface, label, filter, start, end, packets, drops). While running, the
pcap is written as .pcap.part and renamed when complete. DIR/.capture.lock
holds the writer's pid; a lock whose process is gone is taken over.`;

/** Registers the `capture` subcommand. */
export function registerCapture(program: Command): void {
  program
    .command("capture")
    .description("Capture interfaces to timestamped pcap files (training captures, cron)")
    .requiredOption(
      "--iface <name>",
      "interface to capture (repeat for several)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .requiredOption("--duration <seconds>", "stop after this many seconds")
    .requiredOption("--out <dir>", "folder for the pcap files (created if missing)")
    .option("--label <name>", "label put in file names and sidecars", "capture")
    .option("--filter <bpf>", "BPF filter, tcpdump syntax")
    .option("--snaplen <bytes>", "bytes kept per packet", "262144")
    .option("--no-promisc", "do not put the interfaces in promiscuous mode")
    .addHelpText("after", EXIT_HELP)
    .exitOverride((error) => {
      if (error.exitCode === 0) Deno.exit(0);
      Deno.exit(CAPTURE_EXIT.usage);
    })
    .action(async (options) => {
      Deno.exitCode = await runCapture({
        interfaces: options.iface,
        durationSeconds: Number(options.duration),
        outDir: options.out,
        label: options.label,
        filter: options.filter,
        snapLength: Number(options.snaplen),
        promiscuous: options.promisc,
      });
    });
}

/** Options of one capture run. */
export interface CaptureRunOptions {
  interfaces: string[];
  durationSeconds: number;
  outDir: string;
  label: string;
  filter?: string;
  snapLength: number;
  promiscuous: boolean;
}

/** Runs a capture to completion and returns its exit code (see CAPTURE_EXIT). */
export async function runCapture(options: CaptureRunOptions): Promise<number> {
  const usage = validate(options);
  if (usage) {
    console.error(`error: ${usage}`);
    return CAPTURE_EXIT.usage;
  }
  try {
    Deno.mkdirSync(options.outDir, { recursive: true });
  } catch (error) {
    console.error(`error: cannot create ${options.outDir}: ${message(error)}`);
    return CAPTURE_EXIT.cannotWrite;
  }
  let lock: CaptureLock;
  try {
    lock = acquireCaptureLock(join(options.outDir, ".capture.lock"));
  } catch (error) {
    if (error instanceof LockHeldError) {
      console.error(`error: another capture is running: ${error.message}`);
      return CAPTURE_EXIT.locked;
    }
    console.error(`error: cannot create the lock in ${options.outDir}: ${message(error)}`);
    return CAPTURE_EXIT.cannotWrite;
  }
  try {
    return await captureLocked(options);
  } finally {
    lock.release();
  }
}

async function captureLocked(options: CaptureRunOptions): Promise<number> {
  let started = new Date();
  // Milliseconds in the name, and the name claimed atomically: runs started in the
  // same second (or the same millisecond) never share a file.
  const stamp = started.toISOString().replace(/[-:]/g, "");
  const runs = options.interfaces.map((interfaceName) => {
    const base = claimName(
      join(options.outDir, `${options.label}-${safeName(interfaceName)}-${stamp}`),
    );
    const worker = captureToFile({
      interfaceName,
      path: `${base}.pcap.part`,
      snapLength: options.snapLength,
      promiscuous: options.promiscuous,
      filter: options.filter,
      durationSeconds: options.durationSeconds,
    });
    return { interfaceName, base, worker, linkType: -1 };
  });
  let stopReason: "duration" | "signal" | "failed" = "duration";
  const removeSignalListeners = stopOnSignals(
    { stop: () => runs.forEach((run) => run.worker.stop()) },
    () => stopReason = "signal",
  );
  try {
    try {
      for (const run of runs) {
        run.linkType = (await run.worker.ready).linkType;
        console.error(`capturing on ${run.interfaceName} -> ${run.base}.pcap`);
      }
      // The duration runs from here (each worker counts from its own start).
      started = new Date();
    } catch (error) {
      for (const run of runs) run.worker.stop();
      await Promise.all(runs.map((run) => run.worker.finished));
      for (const run of runs) removeQuietly(`${run.base}.pcap.part`);
      console.error(`error: ${message(error)}`);
      return exitCodeFor(error);
    }
    await Promise.all(runs.map((run) => run.worker.finished));
  } finally {
    removeSignalListeners();
  }
  const ended = new Date();
  let exitCode: number = CAPTURE_EXIT.ok;
  for (const run of runs) {
    const stats = run.worker.stats();
    const failure = run.worker.failure;
    // A failed capture keeps what it wrote under a name that says it is partial.
    const file = failure ? `${run.base}.partial.pcap` : `${run.base}.pcap`;
    if (failure) {
      console.error(`error: ${failure.message} (partial file kept: ${file})`);
      exitCode = CAPTURE_EXIT.captureFailed;
    }
    try {
      Deno.renameSync(`${run.base}.pcap.part`, file);
      writeSidecar(
        run.base,
        file,
        options,
        run.interfaceName,
        run.linkType,
        started,
        ended,
        failure ? "failed" : stopReason,
        stats,
        failure?.message,
      );
    } catch (error) {
      console.error(`error: cannot finish ${run.base}.pcap: ${message(error)}`);
      exitCode = CAPTURE_EXIT.cannotWrite;
    }
    console.error(
      `${run.interfaceName}: ${stats.captured} packets written, ${stats.kernelDropped} dropped by the kernel, ` +
        `${stats.interfaceDropped} by the interface (${failure ? "failed" : stopReason})`,
    );
  }
  return exitCode;
}

function writeSidecar(
  base: string,
  file: string,
  options: CaptureRunOptions,
  interfaceName: string,
  linkType: number,
  started: Date,
  ended: Date,
  stopReason: string,
  stats: LiveInterfaceStats,
  error?: string,
): void {
  const sidecar = {
    file: file.slice(file.lastIndexOf("/") + 1),
    complete: error === undefined,
    interface: interfaceName,
    label: options.label,
    filter: options.filter ?? null,
    snapLength: options.snapLength,
    linkType,
    start: started.toISOString(),
    end: ended.toISOString(),
    requestedDurationSeconds: options.durationSeconds,
    stopReason,
    ...(error === undefined ? {} : { error }),
    packets: stats.captured,
    received: stats.received,
    kernelDropped: stats.kernelDropped,
    interfaceDropped: stats.interfaceDropped,
  };
  Deno.writeTextFileSync(`${base}.json`, JSON.stringify(sidecar, null, 2) + "\n");
}

/**
 * `base`, or `base-2`, `base-3`... : the first whose `.pcap.part` this call
 * creates (exclusively) and whose `.pcap` does not exist yet.
 */
function claimName(base: string): string {
  for (let n = 1;; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    try {
      Deno.statSync(`${name}.pcap`);
      continue;
    } catch {
      // Free so far.
    }
    try {
      Deno.openSync(`${name}.pcap.part`, { write: true, createNew: true }).close();
      return name;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

function validate(options: CaptureRunOptions): string | null {
  if (!(options.durationSeconds > 0)) return "--duration must be a positive number of seconds";
  if (!Number.isInteger(options.snapLength) || options.snapLength < 64) {
    return "--snaplen must be an integer of at least 64";
  }
  if (!/^[A-Za-z0-9._-]+$/.test(options.label)) {
    return "--label may hold only letters, digits, '.', '_' and '-'";
  }
  if (new Set(options.interfaces).size !== options.interfaces.length) {
    return "--iface given twice for the same interface";
  }
  return null;
}

function exitCodeFor(error: unknown): number {
  return error instanceof PcapError ? pcapExitCode(error) : CAPTURE_EXIT.captureFailed;
}

function safeName(interfaceName: string): string {
  return interfaceName.replace(/[^A-Za-z0-9._-]/g, "_");
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Nothing written yet, nothing to remove.
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
