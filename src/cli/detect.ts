/**
 * `ids-sensor detect` (the default command) and `ids-sensor analyze`: live
 * detection on interfaces and offline analysis of a capture file, both
 * through the same engine; they differ only in the packet source.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { learnBeforeDetecting } from "./learn.ts";
import {
  createCaptureFileStats,
  type LiveCapture,
  liveCapturePermitted,
  openResilientCapture,
  type PacketBatch,
  readCaptureFile,
} from "../capture/mod.ts";
import { defaultRouteInterface, peakResidentBytes } from "../ffi/mod.ts";
import {
  type AlertSink,
  createConsoleSink,
  createJsonlSink,
  createSqliteSink,
  oneSidedWarning,
  PATH_PROBE_MAX_TTL,
} from "../alert/mod.ts";
import {
  CaptureWorkerMeters,
  DEFAULT_MODEL_DIR,
  DEMO_CAPTURE,
  type DetectionProgress,
  type DetectionReport,
  loadSensorBundle,
  runDetection,
} from "../engine/mod.ts";
import {
  addServiceOptions,
  type SensorServices,
  type ServiceOptions,
  startSensorServices,
  useConfigFile,
} from "./sensor_services.ts";
import type { FlowMeterOptions } from "../features/mod.ts";
import type { SensorLink } from "../server/mod.ts";
import { addPublishOptions, type PublishOptionValues, startPublishing } from "./fleet.ts";
import { consoleLimits } from "./serve.ts";
import { watchStartup } from "./startup_watch.ts";
import { CliError, EXIT, UsageError } from "./exit.ts";
import { checkInputFile, checkSqliteFile, fileIdentity, prepareOutputFile } from "./files.ts";
import {
  addThresholdOptions,
  detectionThresholds,
  durationOption,
  modelOption,
  positiveInteger,
  positiveNumber,
  type ThresholdOptionValues,
  windowOption,
} from "./options.ts";

/** Options both commands share (added by addDetectionOptions). */
interface DetectionOptions extends ServiceOptions, ThresholdOptionValues, PublishOptionValues {
  model: string;
  alerts?: string;
  db?: string;
  /** `detect --ui [ADDR:PORT]`: serve the console while detecting. */
  ui?: string | true;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  retainDays?: string;
  window: number;
  flowMemcap?: number;
  quiet?: true;
  verbose?: true;
  /** analyze: identity of the capture (see fileIdentity), so `--db` keeps its minutes once. */
  runKey?: string;
}

/** Options of `detect` only. */
interface LiveOptions extends DetectionOptions {
  iface?: string[];
  learn?: string;
  learnOut?: string;
  duration: number;
  filter?: string;
  reopen?: true;
  captureWorkers: number;
  bufferMb: number;
}

// deno-lint-ignore no-explicit-any
function addDetectionOptions(command: Command<any, any, any>) {
  return addThresholdOptions(addPublishOptions(addServiceOptions(command)).addOption(modelOption()))
    .option("--alerts <file.jsonl>", "append alerts as EVE-style JSON lines to this file")
    .option("--db <file.sqlite>", "store alerts and per-minute traffic statistics in SQLite")
    .addOption(
      new Option(
        "--flow-memcap <MiB>",
        "memory for the flow table (default 64); at the bound flows are evicted, one-way first",
      ).argParser(positiveNumber("--flow-memcap")),
    )
    .addOption(windowOption())
    .option("--quiet", "no alert lines on the console")
    .option("-v, --verbose", "progress every few seconds and full counters at the end");
}

/** Registers `detect` (default) and `analyze`. */
export function registerDetect(program: Command): void {
  const detect = program
    .command("detect", { isDefault: true })
    .description(
      "Detect attacks live (needs root); with no --iface, the interface of the default route",
    )
    .addOption(
      new Option("--iface <name>", "interface to capture on (repeat for several)")
        .argParser((value, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(durationOption())
    .option("--filter <bpf>", "BPF capture filter (tcpdump syntax)")
    .addOption(
      new Option(
        "--capture-workers <n>",
        "capture workers per interface; above 1 they share its packets by PACKET_FANOUT " +
          "(by host pair: a pair's packets, both directions, to one worker); each worker meters " +
          "its own packets in its own flow table, with an equal share of --flow-memcap",
      ).argParser(positiveInteger("--capture-workers")).default(1),
    )
    .addOption(
      new Option(
        "--buffer-mb <n>",
        "kernel capture buffer per capture worker, MiB (pcap_set_buffer_size); a larger one " +
          "rides out longer bursts before the kernel drops",
      ).argParser(positiveInteger("--buffer-mb")).default(32),
    )
    .option(
      "--reopen",
      "when an interface vanishes, wait for it to come back and capture again " +
        "(default: end and score every open flow, flush the sinks, report the fault, exit 74)",
    )
    .option(
      "--ui [addr:port]",
      "serve the console (dashboard, API) while detecting, default 127.0.0.1:8080; " +
        "uses --db (default ids.sqlite)",
    )
    .option("--token-file <file>", "console bearer token file (default <db>.token)")
    .option("--tls-cert <file.pem>", "console over HTTPS with this certificate")
    .option("--tls-key <file.pem>", "private key of --tls-cert")
    .option("--retain-days <n>", "console: delete alerts older than this (checked hourly)")
    .option(
      "--learn <seconds>",
      "first learn this network's normal traffic for SECONDS (see `learn`), then detect with " +
        "the learned bundle (built on --model)",
    )
    .option("--learn-out <dir>", "where --learn writes its bundle (default: a temporary folder)");
  addDetectionOptions(detect).action(async (...args) => {
    const options = args[0] as LiveOptions;
    const command = args.at(-1) as unknown as Command;
    const interfaces = options.iface ?? [];
    const duplicate = interfaces.find((name, i) => interfaces.indexOf(name) !== i);
    if (duplicate !== undefined) {
      throw new UsageError(`--iface ${duplicate} given twice: name each interface once`);
    }
    if (options.db) await checkSqliteFile(options.db);
    if (interfaces.length === 0 && !liveCapturePermitted()) {
      // The prototypes' "just run it" experience belongs to the bare command
      // only: anything more is a real run, and a demo must never feed its sinks.
      if (!isBareInvocation(command)) {
        throw new CliError(
          "live capture needs root (or CAP_NET_RAW and CAP_NET_ADMIN): run " +
            "`sudo ids-sensor detect --iface IF`, or analyse a capture file with " +
            "`ids-sensor analyze FILE` (`ids-sensor` with no arguments shows a demo)",
          EXIT.noPermission,
        );
      }
      await runDemo(options, command);
      return;
    }
    await prepareOutputs(options);
    if (interfaces.length === 0) {
      const route = defaultRouteInterface();
      if (!route) {
        throw new UsageError(
          "no --iface given and no default route to pick an interface from; " +
            "see `ids-sensor interfaces`, or analyse a capture with `ids-sensor analyze FILE`",
        );
      }
      interfaces.push(route);
    }
    const duration = options.duration;
    if (options.learn !== undefined) {
      options.model = await learnBeforeDetecting({ ...options, learn: options.learn }, interfaces);
    }
    const bundle = await loadSensorBundle(options.model);
    // Each capture worker meters its own packets unless the store keeps packets for evidence
    // pcaps (--db, --ui): those need every packet on this thread (src/forensics).
    // Packet members (bundle.json packetMembers) read every packet on this thread too.
    const meters = options.db || options.ui || bundle.json.packetMembers.length > 0
      ? undefined
      : new CaptureWorkerMeters(interfaces.length * options.captureWorkers, meterOptions(options));
    const starting = watchStartup();
    const live = openResilientCapture(
      // The duration runs from the "detecting on" line below, not from the capture
      // workers' start: services and the inference workers take seconds to come up in between.
      {
        interfaces,
        filter: options.filter,
        workersPerInterface: options.captureWorkers,
        bufferBytes: options.bufferMb * 2 ** 20,
        inWorker: meters?.inWorker,
      },
      { reopen: Boolean(options.reopen) },
    );
    await starting.step(
      `the capture workers on ${interfaces.join(", ")} (${options.captureWorkers} per interface)`,
      live.ready,
    );
    const services = await starting.step(
      "the sensor's services (outputs, notifications, metrics)",
      startServices(options, command),
    );
    starting.stage("the inference workers");
    services.setCapture(() => live.stats());
    if (meters) services.metrics.addByteCount(() => meters.wireBytes);
    const stop = () => live.stop();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const signal of signals) Deno.addSignalListener(signal, stop);
    let deadline: ReturnType<typeof setTimeout> | undefined;
    // Once the inference workers are up: what is captured from here on is scored without waiting.
    const detecting = () => {
      starting.done();
      console.error(
        `ids-sensor: detecting on ${interfaces.join(", ")} with ${describeModel(options.model)}` +
          (duration > 0 ? ` for ${duration} s` : " until Ctrl-C"),
      );
      if (duration > 0) deadline = setTimeout(stop, duration * 1000);
    };
    let report: DetectionReport | undefined;
    try {
      report = await run(options, live, true, bundle, services, meters, detecting);
      const workers = options.captureWorkers;
      const drops = live.stats().map((s, i) =>
        `${s.interfaceName}${workers > 1 ? ` worker ${i % workers}` : ""}: ${s.received} ` +
        `received, ${s.kernelDropped} dropped by the kernel, ${s.interfaceDropped} by the ` +
        `interface, ${s.ringOverruns} ring overruns`
      );
      if (live.reopened > 0) drops.push(`capture reopened ${live.reopened} times (--reopen)`);
      printReport(`live ${interfaces.join(",")}`, report, Boolean(options.verbose), drops);
      if (live.fault) {
        console.error(
          `ids-sensor: fault: ${live.fault.message}; every open flow was ended and scored, ` +
            `every sink flushed`,
        );
        Deno.exitCode = EXIT.ioError;
      }
    } finally {
      starting.done();
      clearTimeout(deadline);
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
      await services.close(report);
    }
  });

  const analyze = program
    .command("analyze")
    .alias("analyse")
    .description(
      "Detect attacks in a capture file (pcap or pcapng), as fast as it can be read; " +
        "with no file, the bundled demo capture",
    )
    .argument("[capture]", "capture file", DEMO_CAPTURE);
  addDetectionOptions(analyze).action(async (...args) => {
    const [capture, options, command] = args as unknown as [string, DetectionOptions, Command];
    await analyzeCapture(capture, options, command);
  });
  configCommands.push(detect, analyze);
  useConfigFile(configCommands);
}

/** The commands sharing the config file's keys. */
// deno-lint-ignore no-explicit-any
const configCommands: Command<any, any, any>[] = [];

function startServices(options: DetectionOptions, command: Command): Promise<SensorServices> {
  return startSensorServices(options, { command, configCommands });
}

/** `ids-sensor` alone, without root: the bundled capture, console only, said loudly. */
async function runDemo(options: DetectionOptions, command: Command): Promise<void> {
  const banner = [
    "ids-sensor: DEMO: live capture needs root (or CAP_NET_RAW and CAP_NET_ADMIN), so this run",
    `analyses the bundled demo capture ${DEMO_CAPTURE}: the alerts below come from that`,
    "recording, not from your network, and nothing is written anywhere.",
    "Detect live: `sudo ids-sensor detect --iface IF`; analyse a file: `ids-sensor analyze FILE`.",
  ].join("\n  ");
  console.error(banner);
  // Bare means no --alerts, --db or --config: only the console sink, by construction.
  await analyzeCapture(DEMO_CAPTURE, { ...options, alerts: undefined, db: undefined }, command);
  console.error("ids-sensor: DEMO over: the alerts above are the bundled capture's.");
}

/** `ids-sensor` with no argument at all (commander keeps the raw arguments on the program). */
function isBareInvocation(command: Command): boolean {
  const program = command.parent as unknown as { rawArgs?: string[] } | null;
  return program?.rawArgs?.length === 0;
}

/** Checks --db and makes the folders of --alerts and --db, before any work. */
async function prepareOutputs(options: DetectionOptions): Promise<void> {
  if (options.alerts) await prepareOutputFile(options.alerts, "--alerts");
  if (options.db) {
    await checkSqliteFile(options.db);
    await prepareOutputFile(options.db, "--db");
  }
}

/** Offline analysis of one capture file; a damaged file is analysed up to the damage. */
async function analyzeCapture(
  capture: string,
  options: DetectionOptions,
  command: Command,
): Promise<void> {
  // Inputs and outputs first, each named when unusable.
  await checkInputFile(capture, "capture file");
  await prepareOutputs(options);
  // Analysing the same file again into one --db replaces its traffic minutes.
  options = { ...options, runKey: await fileIdentity(capture) };
  const bundle = await loadSensorBundle(options.model);
  const stats = createCaptureFileStats(capture);
  console.error(`ids-sensor: analysing ${capture} with ${describeModel(options.model)}`);
  const services = await startServices(options, command);
  const source = readCaptureFile(capture, { stats, onError: "stop" });
  let report: DetectionReport | undefined;
  try {
    report = await run(options, source, false, bundle, services);
  } finally {
    await services.close(report);
  }
  const notes: string[] = [];
  const skipped = Object.entries(stats.skippedPackets);
  if (skipped.length > 0) {
    notes.push(`skipped by the reader: ${skipped.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }
  if (stats.truncatedTail) {
    notes.push(
      `the file ends inside a record at byte ${stats.truncatedTail.offset} ` +
        `(${stats.truncatedTail.missingBytes} bytes missing): the capture was cut short`,
    );
  }
  printReport(capture, report, Boolean(options.verbose), notes);
  if (stats.error) {
    console.error(`error: ${stats.error.message}; everything before it was analysed`);
    Deno.exitCode = EXIT.dataError;
  }
}

/**
 * The console's side of a run with a store (`--db`, `--ui`): evidence pcaps,
 * suppressions applied while running, status heartbeat, the console itself.
 */
async function run(
  options: DetectionOptions,
  source: AsyncIterable<PacketBatch>,
  live: boolean,
  bundle: Awaited<ReturnType<typeof loadSensorBundle>>,
  services: SensorServices,
  meters?: CaptureWorkerMeters,
  onDetecting?: () => void,
): Promise<DetectionReport> {
  const dbPath = options.db ?? (options.ui ? "ids.sqlite" : undefined);
  if (!dbPath) {
    return await runEngine(options, source, live, bundle, services, null, meters, onDetecting);
  }
  const capture = live ? source as unknown as LiveCapture : null;
  const interfaces = capture?.stats().map((s) => s.interfaceName) ?? [];
  // The console's side (store, evidence ring, --ui's server) is loaded only with a store.
  const { openSensorLink } = await import("../server/mod.ts");
  const link = await openSensorLink({
    dbPath,
    sensorName: live ? `live ${interfaces.join(",")}` : "analyze",
    interfaces,
    modelDir: options.model,
    captureStats: capture ? () => capture.stats() : undefined,
    ui: options.ui === true ? "127.0.0.1:8080" : options.ui,
    tokenFile: options.tokenFile,
    certFile: options.tlsCert,
    keyFile: options.tlsKey,
    metricsHandler: services.metrics.handler(),
    ...consoleLimits({ maxUploadMb: "256", retainDays: options.retainDays }),
  });
  let report: DetectionReport | undefined;
  try {
    report = await runEngine(
      { ...options, db: dbPath },
      source,
      live,
      bundle,
      services,
      link,
      meters,
      onDetecting,
    );
    return report;
  } finally {
    link.close(report);
    if (link.gate.suppressed > 0) {
      console.error(`  alerts held back by console suppressions: ${link.gate.suppressed}`);
    }
    await link.console?.shutdown();
  }
}

/** The shared part: sinks, thresholds, the engine. */
async function runEngine(
  options: DetectionOptions,
  source: AsyncIterable<PacketBatch>,
  live: boolean,
  bundle: Awaited<ReturnType<typeof loadSensorBundle>>,
  services: SensorServices,
  link: SensorLink | null,
  meters?: CaptureWorkerMeters,
  onDetecting?: () => void,
): Promise<DetectionReport> {
  const sinks: AlertSink[] = [];
  if (!options.quiet) sinks.push(createConsoleSink());
  if (options.alerts) sinks.push(await createJsonlSink(options.alerts));
  if (options.db) {
    sinks.push(createSqliteSink(options.db, { ...link?.sinkOptions, runKey: options.runKey }));
  }
  sinks.push(...services.sinks);
  // --user: root is given up once the capture, the outputs and the console's store are open.
  await services.dropPrivileges();
  // --publish: the fleet's publisher, flow tap and remote scoring (src/fleet).
  const fleet = await startPublishing(options);
  if (fleet) sinks.push(fleet.sink);
  if (fleet && live) fleet.setCapture(() => (source as unknown as LiveCapture).stats());
  const print = options.verbose ? everyFewSeconds(printProgress, live ? 5 : 2) : undefined;
  // Live: said once, when the interface turns out to see mostly one side of its conversations.
  let warnedOneSided = !live;
  let report: DetectionReport | undefined;
  try {
    return report = await runDetection({
      source: services.wrapSource(source),
      packetRing: link?.packetRing,
      alertGate: link ? (alert) => link.gate.allows(alert) : undefined,
      live,
      bundle,
      sinks,
      thresholds: detectionThresholds(options),
      windowSeconds: options.window,
      meter: meterOptions(options),
      // PACKET_FANOUT gives each capture worker whole flows: one table per worker.
      flowTables: live ? captureWorkerCount(source) : 1,
      onDetecting,
      captureMeters: meters && { meters, stop: () => (source as unknown as LiveCapture).stop() },
      onProgress: (progress) => {
        services.onProgress(progress);
        link?.onProgress(progress);
        fleet?.onProgress(progress);
        print?.(progress);
        const warning = warnedOneSided ? null : oneSidedWarning(progress.detector.oneSided);
        if (warning) {
          warnedOneSided = true;
          console.error(`ids-sensor: ${warning}`);
        }
      },
      onBatchDecided: services.onBatchDecided,
      onSwapReady: (swap) => {
        // The console's status names the model running now, not the one it started with.
        const swapAndShow = async (next: Awaited<ReturnType<typeof loadSensorBundle>>) => {
          await swap(next);
          link?.setModel(next.dir);
        };
        services.onSwapReady(swapAndShow);
        fleet?.onSwapReady(swapAndShow);
      },
      tapFlows: fleet?.tapFlows,
      createPool: fleet?.createPool,
    });
  } finally {
    await fleet?.close(report);
  }
}

function meterOptions(options: DetectionOptions): FlowMeterOptions | undefined {
  return options.flowMemcap === undefined
    ? undefined
    : { memcapBytes: options.flowMemcap * 2 ** 20 };
}

/** Capture workers of a live source when there are several per interface, else 1 (one shared table). */
function captureWorkerCount(source: AsyncIterable<PacketBatch>): number {
  const stats = (source as unknown as LiveCapture).stats();
  const interfaces = new Set(stats.map((s) => s.interfaceName)).size;
  return stats.length > interfaces ? stats.length : 1;
}

function describeModel(dir: string): string {
  return dir === DEFAULT_MODEL_DIR ? "the bundled model (models/default)" : `model ${dir}`;
}

function everyFewSeconds(
  print: (progress: DetectionProgress) => void,
  seconds: number,
): (progress: DetectionProgress) => void {
  let last = 0;
  return (progress) => {
    if (progress.elapsedSeconds - last < seconds) return;
    last = progress.elapsedSeconds;
    print(progress);
  };
}

function printProgress(p: DetectionProgress): void {
  const d = p.detector;
  console.error(
    `[${p.elapsedSeconds.toFixed(0)} s] ${p.meter.decode.packets} packets, ` +
      `${p.meter.flowsLive} flows open, ${d.flows} scored: ${d.benign} benign, ${d.known} known, ` +
      `${d.unknown} unknown; ${d.alerts} alerts`,
  );
}

function printReport(
  source: string,
  report: DetectionReport,
  verbose: boolean,
  notes: string[],
): void {
  const d = report.detector;
  const m = report.meter;
  const lines = [
    `${source}: ${m.decode.packets} packets, ${d.flows} flows in ${
      report.elapsedSeconds.toFixed(2)
    } s ` +
    `(${Math.round(report.packetsPerSecond)} packets/s, ${
      Math.round(report.flowsPerSecond)
    } flows/s)`,
    `  verdicts: ${d.benign} benign, ${d.known} known attack, ${d.unknown} unknown (anomalous); ` +
    `${d.alerts} alerts after aggregation`,
  ];
  if (d.unknownSuppressedGroups > 0) {
    lines.push(
      `  flagged flows without the evidence an alert needs (no behaviour, fan-out, rate or ` +
        `strong anomaly): ${d.unknownSuppressedFlows} flows in ` +
        `${d.unknownSuppressedGroups} vote groups, not alerted`,
    );
  }
  if (d.unknownBulkFlows > 0) {
    // Transfers anomalous for their size alone (vote_rule.ts isBulkTransfer).
    lines.push(
      `  bulk transfers (one side's payload 1 MiB or more, the other's 1/64 of it or less): ` +
        `${d.unknownBulkFlows} flagged flows not counted as strong anomalies or toward a rate`,
    );
  }
  const o = d.oneSided;
  if (o.proofFlows + o.excusedFlows > 0 || verbose) {
    // Conversations whose return path this capture does not see (one_sided.ts).
    lines.push(
      `  one-sided: ${o.proofFlows} TCP connections seen one side only, ${o.twoWayTcpFlows} ` +
        `both ways; ${o.pairs} host pairs proven one-way now; ` +
        `${o.excusedFlows} flows whose missing answers (or requests) were not counted as ` +
        `evidence, ${o.excusedVotes} of their model votes not counted` +
        (o.pairsCleared > 0 ? `; ${o.pairsCleared} pairs seen both ways again` : "") +
        (o.pairsEvicted > 0 ? `; ${o.pairsEvicted} entries evicted (table full)` : ""),
    );
  }
  const v = d.alertVolume;
  if (v.suppressedLines > 0 || v.foldedFlows > 0 || verbose) {
    lines.push(
      `  alert path: ${v.lines} lines for ${v.groups} alert groups; ${v.suppressedLines} lines ` +
        `(${v.suppressedFlows} flows) held back by --max-alerts-per-minute; ${v.foldedFlows} ` +
        `flagged flows folded into behaviour alerts; ${v.errorReplies} ICMP errors counted for ` +
        `the probes they answer; ${v.evidenceEvictions} evidence entries evicted ` +
        `(tables ${(v.evidenceBytes / 1048576).toFixed(0)} MiB)`,
    );
  }
  if (v.pathProbes > 0) {
    lines.push(
      `  path probes (traceroute: UDP or TCP probes sent with a TTL of ${PATH_PROBE_MAX_TTL} or less): ` +
        `${v.pathProbes} flows not counted as scan probes, ${v.pathProbeVotes} of their model ` +
        `votes not counted`,
    );
  }
  if (d.unscoredProtocol > 0) {
    lines.push(
      `  flows not scored (protocols other than TCP, UDP, ICMP, ICMPv6): ${d.unscoredProtocol}`,
    );
  }
  const notMetered = Object.entries(m.decode.byOutcome).filter(([name, n]) =>
    n > 0 && name !== "metered"
  );
  if (notMetered.length > 0) {
    lines.push(
      `  packets not metered: ${notMetered.map(([name, n]) => `${name} ${n}`).join(", ")}`,
    );
  }
  const tunnels = Object.entries(m.decode.tunnels);
  if (tunnels.length > 0) {
    // Metered as the packets they carry (a mirroring or overlay link), not as tunnel flows.
    lines.push(
      `  packets read from inside tunnels: ${
        tunnels.map(([name, n]) => `${name} ${n}`).join(", ")
      }`,
    );
  }
  const rebuilt = m.fragmentHeaders;
  if (rebuilt && rebuilt.rebuilt + rebuilt.evicted > 0) {
    // Their fragments are counted above; the segments put together from them are metered.
    lines.push(
      `  TCP headers put together from IPv4 fragments and metered: ${rebuilt.rebuilt}` +
        (rebuilt.evicted > 0 ? ` (${rebuilt.evicted} datagrams evicted, table full)` : ""),
    );
  }
  const resegmented = m.resegmented;
  if (resegmented && resegmented.frames > 0) {
    // Frames no wire carries (the capturing host's segmentation offload): metered as the wire's.
    lines.push(
      `  TCP frames longer than the wire's 1,500 bytes (segmentation offload) metered as ` +
        `${resegmented.segments} wire-sized segments: ${resegmented.frames}`,
    );
  }
  const arp = m.arp;
  if (arp && arp.requests + arp.replies + arp.notAnalysed > 0) {
    // ARP is not metered into flows; the ARP monitor reads it (sweeps, spoofing).
    lines.push(
      `  ARP monitor: ${arp.requests} requests, ${arp.replies} replies ` +
        `(${arp.probesAndAnnouncements} probes and announcements, ${arp.unsolicitedReplies} ` +
        `unsolicited` +
        (arp.unverifiableReplies > 0
          ? `, ${arp.unverifiableReplies} of them to hosts never seen speaking ARP (requests unseen)`
          : "") +
        (arp.knownTargetRequests > 0
          ? `; ${arp.knownTargetRequests} requests for addresses known already, not discovery`
          : "") +
        `), ${arp.notAnalysed} not IPv4 over Ethernet or cut short; ` +
        `${arp.findings} findings` +
        (arp.findingsDropped > 0 ? ` (${arp.findingsDropped} dropped, too many at once)` : "") +
        (arp.sendersEvicted > 0 ? `; ${arp.sendersEvicted} senders evicted (table full)` : ""),
    );
  }
  const dhcp = m.dhcp;
  if (dhcp && dhcp.leaseRequests + dhcp.serverAnswers + dhcp.notAnalysed > 0) {
    lines.push(
      `  DHCP monitor: ${dhcp.leaseRequests} lease requests, ${dhcp.otherClientMessages} other ` +
        `client messages, ${dhcp.serverAnswers} offers and acknowledgements from ${dhcp.servers} ` +
        `servers (${dhcp.agreeingAnswers} from a second server agreeing with the first), ` +
        `${dhcp.notAnalysed} not BOOTP over Ethernet or cut short` +
        (dhcp.cutShort > 0 ? ` (${dhcp.cutShort} requests read without their options)` : "") +
        `; ${dhcp.findings} findings` +
        (dhcp.findingsDropped > 0 ? ` (${dhcp.findingsDropped} dropped, too many at once)` : "") +
        (dhcp.slotsEvicted > 0 ? `; ${dhcp.slotsEvicted} slots evicted (table full)` : ""),
    );
  }
  const dns = m.dns;
  if (dns && dns.queries + dns.notAnalysed > 0) {
    lines.push(
      `  DNS monitor: ${dns.queries} queries (${dns.dataNames} names carrying data, ` +
        `${dns.ignoredNames} reverse or .local), ${dns.notAnalysed} not standard queries or cut ` +
        `short; ${dns.findings} findings` +
        (dns.findingsDropped > 0 ? ` (${dns.findingsDropped} dropped, too many at once)` : "") +
        (dns.slotsEvicted > 0 ? `; ${dns.slotsEvicted} client-domain slots evicted` : ""),
    );
  }
  const spoof = m.dnsSpoof;
  if (spoof && spoof.responses + spoof.notAnalysed > 0) {
    lines.push(
      `  DNS spoof monitor: ${spoof.responses} responses, ${spoof.repeatedAnswers} repeated ` +
        `answers, ${spoof.conflictingAnswers} conflicting; ${spoof.notAnalysed} not read; ` +
        `${spoof.findings} findings` +
        (spoof.findingsDropped > 0 ? ` (${spoof.findingsDropped} dropped, too many at once)` : ""),
    );
  }
  const http = m.http;
  if (http && http.requests + http.responses > 0) {
    lines.push(
      `  HTTP monitor: ${http.requests} cleartext requests, ${http.responses} responses ` +
        `(${http.clientErrors} client errors); ${http.findings} findings` +
        (http.findingsDropped > 0 ? ` (${http.findingsDropped} dropped, too many at once)` : "") +
        (http.slotsEvicted > 0 ? `; ${http.slotsEvicted} client-server slots evicted` : ""),
    );
  }
  const icmp = m.icmp;
  if (icmp && icmp.echoRequests + icmp.echoReplies > 0) {
    lines.push(
      `  ICMP monitor: ${icmp.echoRequests} echo requests, ${icmp.echoReplies} replies; ` +
        `${icmp.findings} findings` +
        (icmp.findingsDropped > 0 ? ` (${icmp.findingsDropped} dropped, too many at once)` : "") +
        (icmp.slotsEvicted > 0 ? `; ${icmp.slotsEvicted} pair slots evicted` : ""),
    );
  }
  const macFlood = m.macFlood;
  if (macFlood && macFlood.findings + macFlood.framesOfOtherVlans > 0) {
    lines.push(
      `  MAC flood monitor: ${macFlood.frames} Ethernet frames; ${macFlood.findings} findings` +
        (macFlood.framesOfOtherVlans > 0
          ? `; ${macFlood.framesOfOtherVlans} frames of VLANs past the first 16 not counted`
          : ""),
    );
  }
  const nd = m.nd;
  if (nd && nd.solicitations + nd.advertisements + nd.routerAdvertisements + nd.notAnalysed > 0) {
    lines.push(
      `  ND monitor: ${nd.solicitations} neighbour solicitations (${nd.dadProbes} duplicate ` +
        `address probes` +
        (nd.unicastSolicitations > 0
          ? `, ${nd.unicastSolicitations} to a known neighbour's unicast address, not discovery`
          : "") +
        `), ${nd.advertisements} advertisements (${nd.overrideConflicts} overriding ` +
        `another MAC's address), ${nd.routerAdvertisements} router advertisements ` +
        `(${nd.rogueRouterAdvertisements} from a new or forged router), ${nd.notAnalysed} ` +
        `not hop limit 255 or cut short; ${nd.findings} findings` +
        (nd.findingsDropped > 0 ? ` (${nd.findingsDropped} dropped, too many at once)` : "") +
        (nd.sendersEvicted > 0 ? `; ${nd.sendersEvicted} senders evicted (table full)` : "") +
        (nd.routersNotKept > 0 ? `; ${nd.routersNotKept} routers not kept (table full)` : ""),
    );
  }
  const ip = m.ipAnomalies;
  if (ip && ip.fragments + ip.land + ip.otherProtocolPackets + ip.synFinRst > 0) {
    lines.push(
      `  IP anomaly monitor: ${ip.fragments} IP fragments checked; land ${ip.land}, ` +
        `fragments past 65,535 bytes ${ip.fragmentOverruns}, overlapping ${ip.fragmentOverlaps}, ` +
        `tiny ${ip.tinyFragments}; ` +
        `${ip.otherProtocolPackets} packets of other protocols, ${ip.protocolScans} protocol scans; ` +
        `TCP SYN with FIN or RST ${ip.synFinRst}; ` +
        `${ip.findings} findings` +
        (ip.findingsDropped > 0 ? ` (${ip.findingsDropped} dropped, too many at once)` : "") +
        (ip.datagramsEvicted > 0 ? `; ${ip.datagramsEvicted} datagrams evicted (table full)` : ""),
    );
  }
  if (m.flowsEndedByReason.evicted > 0) {
    const kinds = Object.entries(m.evictedByKind).filter(([, n]) => n > 0);
    const bound = Number.isFinite(m.memcapBytes)
      ? `its ${Number((m.memcapBytes / 2 ** 20).toPrecision(3))} MiB memcap`
      : "its capacity";
    lines.push(
      `  flows evicted early, the flow table at ${bound}: ${m.flowsEndedByReason.evicted} ` +
        `(${kinds.map(([k, n]) => `${k} ${n}`).join(", ")}); ` +
        `emergency mode entered ${m.emergencyEntered} times`,
    );
  }
  if (d.shed.finalRows + d.shed.interimRows > 0) {
    lines.push(
      `  not scored, inference fell behind (shed): ${d.shed.finalRows} flows, ` +
        `${d.shed.interimRows} interim rows of open flows`,
    );
  }
  if (d.packetMembers) {
    const p = d.packetMembers;
    lines.push(
      `  packet members: ${p.packets} packets; ` +
        p.members.map((m) =>
          `${m.name} scored ${m.scored}, flagged ${m.flagged} (${
            (100 * m.flagged / Math.max(1, m.scored)).toFixed(2)
          }%), voted on ${m.flowVotes} flows`
        ).join("; ") +
        `; ${p.flowsMadeUnknown} otherwise benign flows made unknown by their votes`,
    );
    const t = p.tables;
    lines.push(
      `  packet state tables: ${t.entries} entries (${
        (t.bytes / 2 ** 20).toFixed(1)
      } MiB), ${t.evicted} evicted at the memcap, ${t.pruned} idle recycled`,
    );
  }
  for (const note of notes) lines.push(`  ${note}`);
  if (verbose) {
    lines.push(
      `  flows ended by reason: ${
        Object.entries(m.flowsEndedByReason).map(([k, n]) => `${k} ${n}`).join(", ")
      }`,
      `  interim rows of open flows: ${m.interimRows} (${m.endedWithoutFinalRow} flows ended ` +
        `with nothing new since their last one)`,
      `  inference: ${JSON.stringify(d.inference)}`,
      `  flow end to verdict (ms): p50 ${d.decisionLatencyMs.p50.toFixed(1)}, ` +
        `p99 ${d.decisionLatencyMs.p99.toFixed(1)}`,
      `  memory: peak RSS ${(peakResidentBytes() / 2 ** 20).toFixed(0)} MiB (VmHWM, every ` +
        `thread: capture, meter, inference)`,
    );
  }
  // Last, on a line of its own: alerts of such a capture read differently.
  const warning = oneSidedWarning(d.oneSided);
  if (warning) lines.push(`ids-sensor: ${warning}`);
  console.error(lines.join("\n"));
}
