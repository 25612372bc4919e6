/**
 * One lab run: build the range, start the victim's services, capture on the
 * bridge, run benign clients for the whole duration and the scenario's
 * attacks at their planned times, then write capture.pcap, labels.csv and
 * manifest.json. The range is torn down on success, on error and on
 * Ctrl-C/SIGTERM; leftovers of a crashed run are removed before starting.
 */
import { createCaptureFileStats, readCaptureFile } from "../capture/mod.ts";
import { type AttackWindow, formatAttackWindows } from "../label/mod.ts";
import { type PersonaSet, runBenignClient } from "./benign.ts";
import { startAvahi, startDhcpClient } from "./network_services.ts";
import { ProcessGroup } from "./process_group.ts";
import { findScenario, type PlannedAttack } from "./scenarios.ts";
import { SeededRandom } from "./seeded_random.ts";
import { ensureTools, isRoot, missingTools, packagesFor, toolVersions } from "./tools.ts";
import {
  acquireLabLock,
  assertNoDefaultRoutes,
  BRIDGE,
  CLIENTS,
  createTopology,
  destroyTopology,
  HOSTS,
  LAB_PREFIX,
  LAB_SUBNET,
  setNamespaceSysctls,
  TAP_NAMESPACE,
} from "./topology.ts";
import { prepareVictim, startVictim } from "./victim_services.ts";

/** Options of a lab run. */
export interface LabOptions {
  /** Scenario name (see SCENARIOS). */
  scenario: string;
  /** Seconds of traffic. */
  seconds: number;
  /** Output directory (created). */
  outDir: string;
  /** Seed of every random choice (default: from the clock). */
  seed?: number;
  /** Traffic scale: 1 = normal; lower gives smaller captures. */
  intensity?: number;
  /** Bytes kept of each packet (default 256: all headers plus the start of payloads). */
  snaplen?: number;
  /** Benign client personas: `office` (default, the training world), `other` or `guest`. */
  personas?: PersonaSet;
  /** Seconds to wait for another lab run to finish (default 1800). */
  lockWaitSeconds?: number;
  /** Install missing Debian packages when root (default true). */
  install?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** One attack as run: the plan and what really happened. */
export interface AttackRecord extends AttackWindow {
  tool: string;
  argv: string[];
  exitCode: number;
  plannedStartOffset: number;
  maxSeconds: number;
  /** Kernel settings of the attacker's namespace during the attack, if any. */
  sysctls?: Record<string, string>;
}

/** The manifest written next to the capture. */
export interface LabManifest {
  scenario: string;
  seed: number;
  intensity: number;
  personas: PersonaSet;
  snaplen: number;
  requestedSeconds: number;
  captureStart: number;
  captureEnd: number;
  durationSeconds: number;
  subnet: string;
  captureInterface: string;
  hosts: { name: string; role: string; ip: string }[];
  attacks: AttackRecord[];
  benignActivities: Record<string, number>;
  packets: {
    inFile: number;
    captured?: number;
    receivedByFilter?: number;
    droppedByKernel?: number;
  };
  captureBytes: number;
  tools: Record<string, string>;
  files: { capture: string; labels: string; manifest: string };
}

/** Paths and manifest of a finished run. */
export interface LabResult {
  capturePath: string;
  labelsPath: string;
  manifestPath: string;
  manifest: LabManifest;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Runs a scenario end to end; see the module comment. Needs root. */
export async function runLab(options: LabOptions): Promise<LabResult> {
  const log = options.log ?? ((line: string) => console.error(`[lab] ${line}`));
  const scenario = findScenario(options.scenario);
  if (!(options.seconds >= 5 && options.seconds <= 3600)) {
    throw new Error(`--seconds must be between 5 and 3600, got ${options.seconds}`);
  }
  if (!isRoot()) {
    const missing = missingTools();
    throw new Error(
      "the lab needs root (network namespaces, raw sockets, packet capture)" +
        (missing.length > 0
          ? `; missing tools: ${missing.join(", ")} (as root it installs them: ` +
            `apt-get install --no-install-recommends ${packagesFor(missing).join(" ")})`
          : ""),
    );
  }
  if (options.install === false) ensureToolsWithoutInstall();
  else await ensureTools(log);

  const seed = options.seed ?? (Date.now() % 2 ** 31);
  const intensity = options.intensity ?? 1;
  const snaplen = options.snaplen ?? 256;
  const rng = new SeededRandom(seed);
  const outDir = options.outDir;
  await Deno.mkdir(outDir, { recursive: true });
  const capturePath = `${outDir}/capture.pcap`;
  const labelsPath = `${outDir}/labels.csv`;
  const manifestPath = `${outDir}/manifest.json`;

  const group = new ProcessGroup();
  let interrupted: string | undefined;
  const onSignal = (sig: Deno.Signal) => () => {
    if (interrupted) return;
    interrupted = sig;
    log(`${sig}: stopping and cleaning up`);
    group.stopAll(500);
  };
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
  ];
  const releaseLock = await acquireLabLock(options.lockWaitSeconds, log);
  for (const [sig, fn] of signals) Deno.addSignalListener(sig, fn);
  let workDir = "";
  try {
    await destroyTopology(); // A crashed run's leftovers.
    workDir = await Deno.makeTempDir({ prefix: LAB_PREFIX });
    await Deno.chmod(workDir, 0o755); // nginx workers (nobody) read the sites.
    log(
      `scenario ${scenario.name}, ${options.seconds} s, seed ${seed}, intensity ${intensity}, ` +
        `personas ${options.personas ?? "office"}`,
    );
    await createTopology();
    const access = await prepareVictim(workDir, rng.fork("victim"));
    const lifetime = options.seconds + 60;
    await startVictim(group, workDir, lifetime, access);
    log(
      "victim services up: nginx (HTTP/1.1, TLS, HTTP/2), sshd, dnsmasq (DNS, DHCP), redis, " +
        "iperf3, radvd, chrony, avahi, postfix, dovecot, postgres, samba",
    );

    const tcpdump = group.spawnIn(TAP_NAMESPACE, [
      "tcpdump",
      "-i",
      BRIDGE,
      "-w",
      capturePath,
      "-s",
      `${snaplen}`,
      "-n",
      "-U",
      "-Z",
      "root",
      "-B",
      "8192",
      "ip or ip6 or arp",
    ], { timeoutSeconds: lifetime, collectOutput: true });
    await waitForCaptureHeader(capturePath, tcpdump.done);
    await sleep(300);
    const captureStart = Date.now() / 1000;
    const deadlineMs = Date.now() + options.seconds * 1000;
    log(`capturing on ${BRIDGE}`);
    // Client-side chatter, started on the wire as a host boots: mDNS responders announcing
    // themselves and DHCP clients taking, then renewing, leases.
    for (const client of CLIENTS.slice(0, 3)) startAvahi(group, client, workDir, lifetime);
    startDhcpClient(group, CLIENTS[0], workDir, lifetime, 4);
    startDhcpClient(group, CLIENTS[3], workDir, lifetime, 4);
    startDhcpClient(group, CLIENTS[1], workDir, lifetime, 6);

    const counts: Record<string, number> = {};
    const cancelled = () => interrupted !== undefined;
    const personas = options.personas ?? "office";
    const benignCtx = {
      group,
      access,
      deadlineMs,
      intensity,
      workDir,
      counts,
      cancelled,
      personas,
    };
    const clients = CLIENTS.map((client, i) =>
      runBenignClient(client, i, benignCtx, rng.fork(`client-${client.name}`)).catch((error) => {
        if (!cancelled()) throw error;
      })
    );
    const plan = scenario.plan(options.seconds, rng.fork("plan"));
    const attacks = runAttacks(
      plan,
      group,
      captureStart,
      deadlineMs,
      intensity,
      workDir,
      rng,
      log,
      cancelled,
    );
    let attackRecords: AttackRecord[];
    try {
      [attackRecords] = await Promise.all([attacks, ...clients]);
    } catch (error) {
      if (interrupted) throw new Error(`interrupted by ${interrupted}`);
      throw error;
    }
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);

    await assertNoDefaultRoutes(); // Router advertisements must not have added one.
    await sleep(1000); // Late replies and FINs reach the capture.
    const tcpdumpResult = await tcpdump.stop();
    const captureEnd = Date.now() / 1000;
    await group.stopAll();

    const windows: AttackWindow[] = attackRecords.map(({ attacker, start, end, attack }) => ({
      attacker,
      start,
      end,
      attack,
    }));
    await Deno.writeTextFile(labelsPath, formatAttackWindows(windows));
    const manifest: LabManifest = {
      scenario: scenario.name,
      seed,
      intensity,
      personas,
      snaplen,
      requestedSeconds: options.seconds,
      captureStart,
      captureEnd,
      durationSeconds: Math.round((captureEnd - captureStart) * 1000) / 1000,
      subnet: LAB_SUBNET,
      captureInterface: `${TAP_NAMESPACE}/${BRIDGE}`,
      hosts: HOSTS.map(({ name, role, ip }) => ({ name, role, ip })),
      attacks: attackRecords,
      benignActivities: counts,
      packets: {
        inFile: await countCapturePackets(capturePath),
        ...tcpdumpStats(tcpdumpResult.stderr),
      },
      captureBytes: (await Deno.stat(capturePath)).size,
      tools: await toolVersions(),
      files: { capture: "capture.pcap", labels: "labels.csv", manifest: "manifest.json" },
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    log(
      `wrote ${capturePath} (${manifest.packets.inFile} packets), ${labelsPath}, ${manifestPath}`,
    );
    return { capturePath, labelsPath, manifestPath, manifest };
  } finally {
    await group.stopAll(500);
    await destroyTopology();
    if (workDir) await Deno.remove(workDir, { recursive: true }).catch(() => {});
    for (const [sig, fn] of signals) Deno.removeSignalListener(sig, fn);
    await releaseLock();
  }
}

function ensureToolsWithoutInstall(): void {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(
      `missing tools: ${missing.join(", ")} (apt-get install ${packagesFor(missing).join(" ")})`,
    );
  }
}

async function runAttacks(
  plan: PlannedAttack[],
  group: ProcessGroup,
  captureStart: number,
  deadlineMs: number,
  intensity: number,
  workDir: string,
  rng: SeededRandom,
  log: (line: string) => void,
  cancelled: () => boolean,
): Promise<AttackRecord[]> {
  const records: AttackRecord[] = [];
  for (const [index, planned] of plan.entries()) {
    await sleep(captureStart * 1000 + planned.startOffset * 1000 - Date.now());
    if (cancelled()) break;
    // Never past the end of the run.
    const maxSeconds = Math.min(planned.maxSeconds, (deadlineMs - Date.now()) / 1000 - 4);
    if (maxSeconds < 2) break;
    const argv = await planned.attack.command({
      maxSeconds,
      intensity,
      workDir,
      rng: rng.fork(`attack-${index}`),
    });
    log(`attack ${planned.attack.name} from ${planned.attacker.ip}: ${argv.join(" ")}`);
    const sysctls = planned.attack.sysctls ?? {};
    const restore = await setNamespaceSysctls(planned.attacker.namespace, sysctls);
    const start = Date.now() / 1000;
    // The tools bound themselves to maxSeconds; `timeout` is the backstop.
    const result = await group.runIn(planned.attacker.namespace, argv, {
      timeoutSeconds: maxSeconds + 3,
      cwd: workDir,
    });
    const end = Date.now() / 1000;
    await restore().catch((error) => {
      if (!cancelled()) throw error;
    });
    if (cancelled()) break;
    records.push({
      attacker: planned.attacker.ip,
      start,
      end,
      attack: planned.attack.name,
      tool: planned.attack.tool,
      argv,
      exitCode: result.code,
      plannedStartOffset: Math.round(planned.startOffset * 1000) / 1000,
      maxSeconds: Math.round(maxSeconds * 1000) / 1000,
      ...(planned.attack.sysctls ? { sysctls: { ...planned.attack.sysctls } } : {}),
    });
    log(`attack ${planned.attack.name} ran ${(end - start).toFixed(1)} s (exit ${result.code})`);
  }
  return records;
}

async function waitForCaptureHeader(path: string, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !gone) {
    const size = await Deno.stat(path).then((s) => s.size, () => 0);
    if (size >= 24) return;
    await sleep(100);
  }
  const result = await Promise.race([exited, sleep(0).then(() => undefined)]) as
    | { stderr: string }
    | undefined;
  throw new Error(`tcpdump did not start${result ? `: ${result.stderr.trim()}` : ""}`);
}

function tcpdumpStats(stderr: string): {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
} {
  const grab = (what: string) => {
    const m = new RegExp(`(\\d+) packets? ${what}`).exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  return {
    captured: grab("captured"),
    receivedByFilter: grab("received by filter"),
    droppedByKernel: grab("dropped by kernel"),
  };
}

/**
 * Packets in a capture file, read by the sensor's own capture reader (so the
 * manifest counts what `analyze` and `label` will see). A damaged file throws.
 */
export async function countCapturePackets(path: string): Promise<number> {
  const stats = createCaptureFileStats(path);
  for await (const _batch of readCaptureFile(path, { stats })) {
    // Only the count is wanted; the batches are reused by the reader.
  }
  return stats.packets;
}
