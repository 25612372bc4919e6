/**
 * `ids-sensor flows <capture>` (or `--iface IF --duration S` for live
 * traffic): meters packets into flows and prints one row per flow (CSV
 * loadable where CIC-IDS2017 CSVs load, or JSON lines), with a summary of
 * every counter on stderr.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { createCaptureFileStats, readCaptureFile } from "../capture/mod.ts";
import { openLiveCapture } from "../capture/live_source.ts";
import type { PacketBatch } from "../capture/packet_batch.ts";
import { FlowMeter, type FlowMeterCounters, meterFlows } from "../features/mod.ts";
import { flowCsvHeader, flowCsvLines, flowJsonLines } from "../features/flow_output.ts";

/** Registers the `flows` subcommand. */
export function registerFlows(program: Command): void {
  program
    .command("flows")
    .description(
      "Meter a capture file (pcap or pcapng) or live traffic into CICFlowMeter-style flow rows",
    )
    .argument("[capture]", "capture file (or use --iface)")
    .option("--iface <name>", "capture live on this interface instead of reading a file")
    .option(
      "--duration <seconds>",
      "with --iface: stop after this many seconds (default: until Ctrl-C)",
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["csv", "jsonl"] as const).default(
        "csv",
      ),
    )
    .option("--out <file>", "write rows to this file instead of stdout")
    .option(
      "--max-flows <n>",
      "most flows held at once (least recently seen evicted beyond)",
      "1000000",
    )
    .option("--idle-timeout <seconds>", "end a flow after this long without packets", "120")
    .option(
      "--active-timeout <seconds>",
      "end a flow this long after its first packet (CIC flow timeout)",
      "120",
    )
    .option("--activity-timeout <seconds>", "gap separating active and idle periods", "5")
    .action(async (capture, options) => {
      const meter = new FlowMeter({
        maxFlows: positive(options.maxFlows, "--max-flows"),
        idleTimeoutSeconds: positive(options.idleTimeout, "--idle-timeout"),
        activeTimeoutSeconds: positive(options.activeTimeout, "--active-timeout"),
        activityTimeoutSeconds: positive(options.activityTimeout, "--activity-timeout"),
      });
      if ((capture === undefined) === (options.iface === undefined)) {
        throw new Error("give either a capture file or --iface, not both");
      }
      const stats = createCaptureFileStats(capture ?? `live:${options.iface}`);
      let source: AsyncIterable<PacketBatch>;
      let stopLive = () => {};
      if (options.iface !== undefined) {
        const live = openLiveCapture({
          interfaces: [options.iface],
          durationSeconds: options.duration ? positive(options.duration, "--duration") : 0,
        });
        await live.ready;
        stopLive = () => live.stop();
        Deno.addSignalListener("SIGINT", stopLive);
        source = live;
      } else {
        source = readCaptureFile(capture!, { stats });
      }
      const file = options.out
        ? await Deno.open(options.out, { write: true, create: true, truncate: true })
        : null;
      const writer = (file ?? Deno.stdout).writable.getWriter();
      const encoder = new TextEncoder();
      const started = performance.now();
      let flows = 0;
      let failure: unknown = null;
      try {
        if (options.format === "csv") await writer.write(encoder.encode(flowCsvHeader() + "\n"));
        for await (const batch of meterFlows(source, {}, meter)) {
          flows += batch.count;
          const text = options.format === "csv" ? flowCsvLines(batch) : flowJsonLines(batch);
          await writer.write(encoder.encode(text));
        }
      } catch (error) {
        failure = error;
      } finally {
        await writer.close().catch(() => {});
        if (options.iface !== undefined) Deno.removeSignalListener("SIGINT", stopLive);
      }
      const seconds = (performance.now() - started) / 1000;
      printSummary(stats.path, meter.counters(), flows, seconds, stats.skippedPackets);
      if (failure) {
        console.error(`error: ${failure instanceof Error ? failure.message : String(failure)}`);
        Deno.exitCode = 1;
      }
    });
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag} must be a positive number, got "${text}"`);
  return value;
}

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
