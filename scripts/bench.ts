/**
 * `deno task bench`: throughput of the sensor's stages on one multi-million
 * packet capture, measured in the same run as the reference
 * (`tcpdump -r FILE -w /dev/null`), reported as medians and ratios.
 *
 *   deno task bench [--packets N] [--runs N] [--file CAPTURE] [--json]
 *
 * Without --file a deterministic synthetic capture is written to a temp dir.
 * Stages run in separate processes, interleaved run by run, so one stage's
 * garbage or JIT state cannot help or hurt another and noise spreads evenly.
 */
import { Command } from "@commander-js/extra-typings";
import { writeSyntheticCapture } from "./bench/synthetic_capture.ts";
import { writeSynFloodCapture } from "./bench/syn_flood_capture.ts";
import { type StageResult, STAGES } from "./bench/stages.ts";
import { type RoundResult, summarizeRounds } from "./bench/time_to_alert.ts";
import type { FanoutResult } from "./bench/live_fanout.ts";

const options = new Command()
  .name("bench")
  .option("--packets <n>", "packets in the synthetic capture", "2000000")
  .option("--flows <n>", "concurrent conversations in the synthetic capture", "20000")
  .option("--runs <n>", "runs per stage (median reported)", "5")
  .option("--file <capture>", "benchmark this capture instead of a synthetic one")
  .option("--stages <names>", `comma-separated subset of: ${Object.keys(STAGES).join(", ")}`)
  .option(
    "--concurrent-flows <n>",
    "flows held at once in the memory measurement; 0 skips it",
    "1000000",
  )
  .option(
    "--flood-packets <n>",
    "spoofed SYNs (distinct sources, 100 kpps) in the flood measurement; 0 skips it",
    "5000000",
  )
  .option(
    "--fanout-packets <n>",
    "packets tcpreplay offers per run in the live PACKET_FANOUT measurement " +
      "(scripts/bench/live_fanout.ts; root, tcpreplay); 0 skips it",
    "200000",
  )
  .option(
    "--alert-time-rounds <n>",
    "live time-to-alert rounds per attack (scripts/bench/time_to_alert.ts; root, nginx, nmap, hping3); 0 skips it",
    "3",
  )
  .option(
    "--flow-shards <n>",
    "worker threads the flows stage meters on (as `ids-sensor flows --shards`)",
    "1",
  )
  .option("--json", "print one JSON object")
  .parse(Deno.args, { from: "user" })
  .opts();

const runs = Number(options.runs);
const tempDir = await Deno.makeTempDir({ prefix: "ids-bench-" });
try {
  let file = options.file;
  if (!file) {
    file = `${tempDir}/synthetic.pcap`;
    const summary = await writeSyntheticCapture(file, {
      packets: Number(options.packets),
      concurrentFlows: Number(options.flows),
    });
    log(`wrote ${file}: ${summary.packets} packets, ${summary.conversations} conversations`);
  }
  const names = options.stages ? options.stages.split(",") : Object.keys(STAGES);
  for (const name of names) if (!(name in STAGES)) throw new Error(`unknown stage ${name}`);
  // Warm the page cache so the first stage does not pay for the disk.
  await runStage("read", file);

  const results: Record<string, StageResult[]> = {};
  for (const name of names) results[name] = [];
  const reference: { seconds: number; cpuSeconds: number }[] = [];
  for (let run = 0; run < runs; run++) {
    reference.push(await timeTcpdump(file));
    for (const name of names) results[name].push(await runStage(name, file));
    log(`run ${run + 1}/${runs} done`);
  }

  // Memory with a million flows held at once: one-packet flows (a spoofed
  // flood), five-packet flows (within the flow row's packet log), a mix
  // where one flow in ten is long (100 packets: it has a statistics row), one
  // where every other flow is past the row's log (8 packets: a log chunk),
  // and one where every other flow is long (20 packets: a statistics row),
  // the most a flow costs.
  const concurrent = Number(options.concurrentFlows);
  const memory: Record<string, MemoryResult> = {};
  const mixes = [
    { name: "1-packet flows", packetsPerFlow: 1 },
    { name: "5-packet flows", packetsPerFlow: 5 },
    {
      name: "flows, 1 in 10 long (100 packets)",
      packetsPerFlow: 1,
      longEvery: 10,
      longPackets: 100,
    },
    {
      name: "flows, 1 in 2 past the row's log (8 packets)",
      packetsPerFlow: 1,
      longEvery: 2,
      longPackets: 8,
    },
    {
      name: "flows, 1 in 2 long (20 packets)",
      packetsPerFlow: 1,
      longEvery: 2,
      longPackets: 20,
    },
  ];
  for (const mix of concurrent > 0 ? mixes : []) {
    const concurrentFile = `${tempDir}/concurrent.pcap`;
    const longFlows = mix.longEvery ? Math.ceil(concurrent / mix.longEvery) : 0;
    await writeSyntheticCapture(concurrentFile, {
      packets: concurrent * mix.packetsPerFlow + longFlows * ((mix.longPackets ?? 1) - 1),
      concurrentFlows: concurrent,
      openOnly: true,
      ...mix,
    });
    memory[mix.name] = await runChild(["concurrent-flows", concurrentFile, String(concurrent)]);
    await Deno.remove(concurrentFile);
  }

  // A spoofed SYN flood through the whole detection path.
  let flood: FloodResult | null = null;
  const floodPackets = Number(options.floodPackets);
  if (floodPackets > 0) {
    const floodFile = `${tempDir}/flood.pcap`;
    await writeSynFloodCapture(floodFile, { packets: floodPackets });
    // The reference reads the same flood file in the same run.
    const floodReference = await timeTcpdump(floodFile);
    try {
      const result = await runChild(["flood", floodFile]);
      flood = { ...result, completed: true, tcpdumpSeconds: floodReference.seconds };
    } catch (error) {
      flood = failedFlood(error, floodReference.seconds);
    }
    await Deno.remove(floodFile);
  }

  // Live capture with PACKET_FANOUT: tcpreplay across a veth, kernel drops per worker count.
  const fanout = await measureFanout(Number(options.fanoutPackets));

  // Live time to alert: real attack tools against a live sensor in namespaces.
  const alertTime = await measureAlertTime(Number(options.alertTimeRounds), tempDir);

  const tcpdumpSeconds = median(reference.map((r) => r.seconds));
  const tcpdumpCpu = median(reference.map((r) => r.cpuSeconds));
  const packets = results[names[0]]?.[0]?.packets ?? 0;
  const report = {
    file,
    packets,
    runs,
    reference: {
      command: `tcpdump -r ${file} -w /dev/null`,
      medianSeconds: round(tcpdumpSeconds),
      medianCpuSeconds: round(tcpdumpCpu),
      mpps: round(packets / tcpdumpSeconds / 1e6),
    },
    stages: Object.fromEntries(names.map((name) => {
      const list = results[name];
      const seconds = median(list.map((r) => r.seconds));
      const extra: Record<string, number> = {};
      for (const key of Object.keys(list[0].extra)) {
        extra[key] = round(median(list.map((r) => r.extra[key])));
      }
      const cpu = median(list.map((r) => r.cpuSeconds));
      return [name, {
        description: STAGES[name].description,
        medianSeconds: round(seconds),
        mpps: round(list[0].packets / seconds / 1e6),
        ratioToTcpdump: round(tcpdumpSeconds / seconds),
        medianCpuSeconds: round(cpu),
        cpuRatioToTcpdump: round(tcpdumpCpu / cpu),
        packetsPerCpuSecond: Math.round(list[0].packets / cpu),
        peakRssMiB: round(median(list.map((r) => r.peakRssBytes)) / 2 ** 20),
        ...extra,
      }];
    })),
    concurrentFlows: Object.fromEntries(
      Object.entries(memory).map(([name, m]) => [name, {
        heldAtOnce: m.peakLive,
        tableMiB: round(m.tableBytes / 2 ** 20),
        bytesPerFlow: round(m.bytesPerFlow),
        logChunks: m.logChunks,
        statisticsRows: m.statisticsRows,
        peakRssMiB: round(m.peakRssBytes / 2 ** 20),
      }]),
    ),
    flood: flood && {
      completed: flood.completed,
      failure: flood.failure,
      packets: flood.packets,
      seconds: round(flood.seconds),
      tcpdumpSeconds: round(flood.tcpdumpSeconds),
      ratioToTcpdump: round(flood.tcpdumpSeconds / flood.seconds),
      peakRssMiB: round(flood.peakRssBytes / 2 ** 20),
      alerts: flood.alerts,
      firstAlertAfterSeconds: round(flood.firstAlertAfterSeconds),
      evicted: flood.evicted,
      interimRows: flood.interimRows,
      scored: flood.scored,
      shedRows: flood.shedRows,
    },
    fanout,
    alertTime,
  };
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else printTable(report);
} finally {
  await Deno.remove(tempDir, { recursive: true });
}

/** Live time-to-alert per attack (seconds from its first packet to the JSONL line), or why not. */
async function measureAlertTime(
  rounds: number,
  dir: string,
): Promise<ReturnType<typeof summarizeRounds> | { skipped: string }> {
  if (rounds <= 0) return { skipped: "--alert-time-rounds 0" };
  if (Deno.uid() !== 0) return { skipped: "needs root (network namespaces, live capture)" };
  const out = `${dir}/alert-time.json`;
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./bench/time_to_alert.ts", import.meta.url).pathname,
      "--rounds",
      String(rounds),
      "--attacks",
      "syn-scan,udp-scan,syn-flood",
      "--json",
      out,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!child.success) {
    return { skipped: new TextDecoder().decode(child.stderr).trim().split("\n").pop() ?? "" };
  }
  const { results } = JSON.parse(await Deno.readTextFile(out)) as { results: RoundResult[] };
  return summarizeRounds(results);
}

/** Live capture figures from scripts/bench/live_fanout.ts, or why they were not taken. */
async function measureFanout(packets: number): Promise<FanoutResult[] | { skipped: string }> {
  if (packets <= 0) return { skipped: "--fanout-packets 0" };
  if (Deno.uid() !== 0) return { skipped: "needs root (network namespace, live capture)" };
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./bench/live_fanout.ts", import.meta.url).pathname,
      "--packets",
      String(packets),
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!child.success) {
    return { skipped: new TextDecoder().decode(child.stderr).trim().split("\n").pop() ?? "" };
  }
  return JSON.parse(new TextDecoder().decode(child.stdout)) as FanoutResult[];
}

/** A flood run that did not complete: why, and every figure NaN. */
function failedFlood(error: unknown, tcpdumpSeconds: number): FloodResult {
  return {
    completed: false,
    failure: String(error),
    tcpdumpSeconds,
    packets: NaN,
    seconds: NaN,
    peakRssBytes: NaN,
    alerts: NaN,
    firstAlertAfterSeconds: NaN,
    evicted: NaN,
    interimRows: NaN,
    scored: NaN,
    shedRows: NaN,
  };
}

/** What the flood child reports, with the reference and whether it completed. */
interface FloodResult {
  completed: boolean;
  failure?: string;
  tcpdumpSeconds: number;
  shedRows: number;
  packets: number;
  seconds: number;
  peakRssBytes: number;
  alerts: number;
  firstAlertAfterSeconds: number;
  evicted: number;
  interimRows: number;
  scored: number;
}

/** What the concurrent-flows child reports. */
interface MemoryResult {
  peakLive: number;
  tableBytes: number;
  bytesPerFlow: number;
  /** Flows holding a log chunk (7-14 packets) and a statistics row (more). */
  logChunks: number;
  statisticsRows: number;
  peakRssBytes: number;
}

function runStage(name: string, file: string): Promise<StageResult> {
  return runChild([name, file]) as Promise<StageResult>;
}

/** Runs scripts/bench/stages.ts in a fresh process and parses its last JSON line. */
// deno-lint-ignore no-explicit-any
async function runChild(args: string[]): Promise<any> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // As the sensor runs (deno.json start and compile, deploy/launcher.sh): a 1 MB young generation.
      "--v8-flags=--max-semi-space-size=1",
      new URL("./bench/stages.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
    env: { IDS_BENCH_FLOW_SHARDS: options.flowShards },
  }).output();
  if (!output.success) throw new Error(`bench child ${args[0]} failed`);
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Wall and CPU seconds of `tcpdump -r FILE -w /dev/null` (CPU through /usr/bin/time when present). */
async function timeTcpdump(file: string): Promise<{ seconds: number; cpuSeconds: number }> {
  const timed = await exists("/usr/bin/time");
  const start = performance.now();
  const output = await new Deno.Command(timed ? "/usr/bin/time" : "tcpdump", {
    args: [...(timed ? ["-f", "cpu %U %S", "tcpdump"] : []), "-r", file, "-w", "/dev/null"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`tcpdump failed: ${stderr}`);
  const cpu = stderr.match(/cpu ([\d.]+) ([\d.]+)/);
  return { seconds, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function log(message: string): void {
  console.error(`bench: ${message}`);
}

function printTable(report: {
  packets: number;
  runs: number;
  reference: { command: string; medianSeconds: number; medianCpuSeconds: number; mpps: number };
  stages: Record<string, Record<string, number | string>>;
  concurrentFlows: Record<string, Record<string, number>>;
  // deno-lint-ignore no-explicit-any
  flood: Record<string, any> | null;
  fanout: FanoutResult[] | { skipped: string };
  alertTime:
    | Record<string, { rounds: number; alerted: number; p50: number | null; p95: number | null }>
    | {
      skipped: string;
    };
}): void {
  console.log(`${report.packets} packets, median of ${report.runs} runs`);
  console.log(
    `reference  ${report.reference.command}: ${report.reference.medianSeconds} s ` +
      `(CPU ${report.reference.medianCpuSeconds} s), ${report.reference.mpps} Mpps`,
  );
  for (const [name, stage] of Object.entries(report.stages)) {
    const {
      description,
      medianSeconds,
      mpps,
      ratioToTcpdump,
      medianCpuSeconds,
      cpuRatioToTcpdump,
      packetsPerCpuSecond,
      peakRssMiB,
      ...extra
    } = stage;
    const more = Object.entries(extra).map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(
      `${name.padEnd(10)} ${description}: ${medianSeconds} s, ${mpps} Mpps, ` +
        `ratio to tcpdump ${ratioToTcpdump} (CPU ${medianCpuSeconds} s, ratio ${cpuRatioToTcpdump}, ` +
        `${packetsPerCpuSecond} packets per CPU second), ` +
        `peak RSS ${peakRssMiB} MiB${more ? `, ${more}` : ""}`,
    );
  }
  for (const [name, c] of Object.entries(report.concurrentFlows)) {
    console.log(
      `memory     ${c.heldAtOnce} ${name} held at once: table ${c.tableMiB} MiB ` +
        `(${c.bytesPerFlow} bytes/flow, ${c.logChunks} with a log chunk, ` +
        `${c.statisticsRows} with a statistics row), ` +
        `peak RSS ${c.peakRssMiB} MiB`,
    );
  }
  if (report.flood) {
    const f = report.flood;
    console.log(
      f.completed
        ? `flood      ${f.packets} spoofed SYNs (distinct sources, 100 kpps) through detection: ` +
          `completed in ${f.seconds} s (tcpdump ${f.tcpdumpSeconds} s on the same file, ratio ` +
          `${f.ratioToTcpdump}), peak RSS ${f.peakRssMiB} MiB, ${f.alerts} alert lines, first ` +
          `alert ${f.firstAlertAfterSeconds} s (capture time) after the flood began; ${f.scored} ` +
          `rows scored, ${f.interimRows} interim, ${f.evicted} flows evicted, ${f.shedRows} rows shed`
        : `flood      did not complete: ${f.failure}`,
    );
  }
  if ("skipped" in report.fanout) {
    console.log(`fanout     live PACKET_FANOUT measurement skipped: ${report.fanout.skipped}`);
  } else {
    for (const r of report.fanout) {
      console.log(
        `fanout     ${r.captureWorkers} capture worker(s), ${r.replayers} tcpreplay --topspeed ` +
          `on a veth: ${r.offeredPps} pps offered, ${r.sent} sent, ${r.received} received, ` +
          `${r.kernelDropped} dropped by the kernel, ${r.ringOverruns} ring overruns ` +
          `(--buffer-mb ${r.bufferMb})`,
      );
    }
  }
  if ("skipped" in report.alertTime) {
    console.log(`alert time live time-to-alert skipped: ${report.alertTime.skipped}`);
  } else {
    for (const [name, a] of Object.entries(report.alertTime)) {
      const s = (v: number | null) => (v === null ? "never" : `${round(v)} s`);
      console.log(
        `alert time live ${name} (real tool, veth in namespaces): first alert line ${
          s(a.p50)
        } p50, ${
          s(a.p95)
        } p95 after the attack's first packet (${a.alerted}/${a.rounds} rounds alerted)`,
      );
    }
  }
}
