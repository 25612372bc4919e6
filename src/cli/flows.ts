/**
 * `ids-sensor flows <capture>` (or `--iface IF --duration S` for live
 * traffic): meters packets into flows and prints one row per flow (CSV
 * loadable where CIC-IDS2017 CSVs load, or JSON lines), with a summary of
 * every counter on stderr.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import {
  createCaptureFileStats,
  openLiveCapture,
  type PacketBatch,
  readCaptureFile,
} from "../capture/mod.ts";
import {
  AsciiBytes,
  flowCsvHeader,
  flowJsonLines,
  FlowMeter,
  type FlowMeterCounters,
  meterFlows,
  writeFlowCsv,
} from "../features/mod.ts";
import { DEFAULT_FILE_SHARDS, FileMeterShards } from "../engine/mod.ts";
import { exitCodeOf, UsageError } from "./exit.ts";
import { type AtomicOutput, checkInputFile, openAtomicOutput, writeToPipe } from "./files.ts";
import { durationOption, positiveInteger, positiveSeconds } from "./options.ts";

/** Registers the `flows` subcommand. */
export function registerFlows(program: Command): void {
  program
    .command("flows")
    .description(
      "Meter a capture file (pcap or pcapng) or live traffic into CICFlowMeter-style flow rows",
    )
    .argument("[capture]", "capture file (or use --iface)")
    .option("--iface <name>", "capture live on this interface instead of reading a file")
    .addOption(durationOption("with --iface: stop after this many seconds (0 = until Ctrl-C)"))
    .addOption(
      new Option("--format <format>", "output format").choices(["csv", "jsonl"] as const).default(
        "csv",
      ),
    )
    .option("--out <file>", "write rows to this file instead of stdout (replaced when complete)")
    .addOption(
      new Option("--max-flows <n>", "most flows held at once (least recently seen evicted beyond)")
        .argParser(positiveInteger("--max-flows")).default(1_000_000),
    )
    .addOption(
      new Option("--idle-timeout <seconds>", "end a flow after this long without packets")
        .argParser(positiveSeconds("--idle-timeout")).default(120),
    )
    .addOption(
      new Option(
        "--active-timeout <seconds>",
        "end a flow this long after its first packet (CIC flow timeout)",
      ).argParser(positiveSeconds("--active-timeout")).default(120),
    )
    .addOption(
      new Option("--activity-timeout <seconds>", "gap separating active and idle periods")
        .argParser(positiveSeconds("--activity-timeout")).default(5),
    )
    .addOption(
      new Option(
        "--shards <n>",
        "meter a capture file on this many worker threads, flows split by a symmetric hash " +
          "(same rows either way; each thread reads and decodes the whole file, see README)",
      ).argParser(positiveInteger("--shards")).default(DEFAULT_FILE_SHARDS),
    )
    .action(async (capture, options) => {
      if (capture === undefined && options.iface === undefined) {
        throw new UsageError(
          "give a capture file (`ids-sensor flows capture.pcap`) or a live interface " +
            "(`ids-sensor flows --iface eth0 --duration 30`)",
        );
      }
      if (capture !== undefined && options.iface !== undefined) {
        throw new UsageError("give either a capture file or --iface, not both");
      }
      if (options.shards > 1 && options.iface !== undefined) {
        throw new UsageError("--shards meters a capture file; live capture meters on one table");
      }
      if (options.shards > MAX_SHARDS) {
        throw new UsageError(`--shards must be at most ${MAX_SHARDS}, got ${options.shards}`);
      }
      // Inputs and outputs first: nothing is metered (or truncated) before both are usable.
      if (capture !== undefined) await checkInputFile(capture, "capture file");
      const output: AtomicOutput | null = options.out ? await openAtomicOutput(options.out) : null;
      const meterOptions = {
        maxFlows: options.maxFlows,
        idleTimeoutSeconds: options.idleTimeout,
        activeTimeoutSeconds: options.activeTimeout,
        activityTimeoutSeconds: options.activityTimeout,
      };
      const shards = capture === undefined ? 1 : options.shards;
      const stats = createCaptureFileStats(capture ?? `live:${options.iface}`);
      // Several shards: worker threads read the file themselves and meter a share of the flows each.
      const meter = shards > 1
        ? new FileMeterShards(capture!, shards, meterOptions, stats)
        : new FlowMeter(meterOptions);
      let source: AsyncIterable<PacketBatch> | null = null;
      let stopLive = () => {};
      try {
        if (options.iface !== undefined) {
          const live = openLiveCapture({
            interfaces: [options.iface],
            durationSeconds: options.duration,
          });
          await live.ready;
          // The line scripts and tests wait for before sending traffic (as detect's "detecting on").
          console.error(
            `ids-sensor: metering flows on ${options.iface}` +
              (options.duration > 0 ? ` for ${options.duration} s` : " until Ctrl-C"),
          );
          stopLive = () => live.stop();
          Deno.addSignalListener("SIGINT", stopLive);
          source = live;
        } else {
          if (meter instanceof FlowMeter) source = readCaptureFile(capture!, { stats });
        }
      } catch (error) {
        await output?.abort();
        throw error;
      }
      const writer = (output?.writable ?? Deno.stdout.writable).getWriter();
      const encoder = new TextEncoder();
      const csv = new AsciiBytes();
      const started = performance.now();
      let flows = 0;
      let failure: unknown = null;
      let pipeClosed = false;
      try {
        if (options.format === "csv") {
          pipeClosed = !await writeToPipe(writer, encoder.encode(flowCsvHeader() + "\n"));
        }
        if (!pipeClosed) {
          const metered = meter instanceof FileMeterShards
            ? meter.flows()
            : meterFlows(source!, {}, meter);
          for await (const batch of metered) {
            flows += batch.count;
            let bytes: Uint8Array;
            if (options.format === "csv") {
              csv.clear();
              writeFlowCsv(batch, csv);
              bytes = csv.take();
            } else {
              bytes = encoder.encode(flowJsonLines(batch));
            }
            if (!await writeToPipe(writer, bytes)) {
              // The reader went away (`| head`): stop quietly, as Unix tools do.
              pipeClosed = true;
              stopLive();
              break;
            }
          }
        }
      } catch (error) {
        failure = error;
      } finally {
        writer.releaseLock();
        if (options.iface !== undefined) Deno.removeSignalListener("SIGINT", stopLive);
      }
      // Rows up to a damaged record are complete and kept; the error is reported below.
      if (output) await output.commit();
      else await Deno.stdout.writable.close().catch(() => {});
      if (pipeClosed) return;
      const seconds = (performance.now() - started) / 1000;
      const counters = meter instanceof FileMeterShards
        ? meter.finishedCounters()
        : meter.counters();
      // A shard that failed outright leaves no counters to print; its error follows.
      if (counters) printSummary(stats.path, counters, flows, seconds, stats.skippedPackets);
      if (failure) {
        console.error(`error: ${failure instanceof Error ? failure.message : String(failure)}`);
        Deno.exitCode = exitCodeOf(failure);
      }
    });
}

/** Most --shards accepted (each shard is a worker thread reading the whole file). */
const MAX_SHARDS = 64;

function printSummary(
  capture: string,
  counters: FlowMeterCounters,
  flows: number,
  seconds: number,
  readerSkipped: Record<string, number>,
): void {
  const d = counters.decode;
  const lines = [
    `${capture}: ${d.packets} packets, ${flows} flows in ${seconds.toFixed(2)} s ` +
    `(${Math.round(d.packets / Math.max(seconds, 1e-9))} packets/s)`,
    `  packets by outcome: ${formatCounts(d.byOutcome)}`,
  ];
  if (Object.keys(d.unsupportedLinkTypes).length > 0) {
    lines.push(`  unsupported link types: ${formatCounts(d.unsupportedLinkTypes)}`);
  }
  if (Object.keys(d.tunnels).length > 0) {
    lines.push(`  read from inside tunnels: ${formatCounts(d.tunnels as Record<string, number>)}`);
  }
  if (Object.keys(readerSkipped).length > 0) {
    lines.push(`  skipped by the reader: ${formatCounts(readerSkipped)}`);
  }
  lines.push(
    `  flows created ${counters.flowsCreated}, ended ${counters.flowsEnded}: ${
      formatCounts(counters.flowsEndedByReason)
    }`,
  );
  console.error(lines.join("\n"));
}

function formatCounts(counts: Record<string | number, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([name, n]) => `${name} ${n}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}
