/**
 * Live capture at the highest rate tcpreplay reaches here: `ids-sensor detect`
 * on one end of a veth pair, tcpreplay --topspeed on the other (inside a
 * network namespace), once with one tcpreplay and once with two offering
 * together; for each capture-worker count, the offered rate (tcpreplay's own
 * "Rated" pps, summed) and the sensor's kernel drops (pcap_stats, its summary).
 *
 *   deno run -A scripts/bench/live_fanout.ts [--packets N] [--workers 1,2] [--buffer-mb 32] [--json]
 *
 * Needs root, iproute2 and tcpreplay.
 */
import { Command } from "@commander-js/extra-typings";
import { writeSyntheticCapture } from "./synthetic_capture.ts";

/** One measured run. */
export interface FanoutResult {
  captureWorkers: number;
  replayers: number;
  bufferMb: number;
  /** Packets tcpreplay sent, all replayers. */
  sent: number;
  /** Sum of each replayer's own rate, packets per second. */
  offeredPps: number;
  /** Packets the kernel gave the sensor's sockets (pcap_stats ps_recv, summed over workers). */
  received: number;
  kernelDropped: number;
  ringOverruns: number;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** Longest any one step may take (start, replay, stop) before the run is called stuck. */
const STEP_TIMEOUT_MS = 120_000;
const TIMED_OUT = Symbol("timed out");

/** `promise`'s value, or TIMED_OUT after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function sh(args: string[], quiet = false): string {
  const out = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success && !quiet) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A veth pair: `capture` here, `peer` in namespace `ns`; remove() deletes both. */
function createLink(): { capture: string; peer: string; ns: string; remove(): void } {
  const tag = (Deno.pid % 65536).toString(16);
  const capture = `idsfc${tag}`;
  const peer = `idsfp${tag}`;
  const ns = `ids-fanout-${Deno.pid}`;
  const remove = () => {
    sh(["ip", "netns", "del", ns], true);
    sh(["ip", "link", "del", capture], true);
  };
  try {
    sh(["ip", "netns", "add", ns]);
    sh(["ip", "link", "add", capture, "type", "veth", "peer", "name", peer]);
    sh(["ip", "link", "set", peer, "netns", ns]);
    sh(["ip", "link", "set", capture, "up"]);
    sh(["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"]);
  } catch (error) {
    remove();
    throw error;
  }
  return { capture, peer, ns, remove };
}

/** Runs the sensor on `iface`, replays `file` with `replayers` tcpreplay processes at once, stops it. */
async function measure(
  link: ReturnType<typeof createLink>,
  file: string,
  captureWorkers: number,
  replayers: number,
  bufferMb: number,
): Promise<FanoutResult> {
  const sensor = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "detect",
      "--iface",
      link.capture,
      "--capture-workers",
      String(captureWorkers),
      "--buffer-mb",
      String(bufferMb),
      "--quiet",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = sensor.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  // A run that hangs names the step it hung in (with the sensor's stderr) instead of the bench waiting forever.
  const stuck = (step: string) => {
    sensor.kill("SIGKILL");
    return new Error(
      `${captureWorkers} capture worker(s), ${replayers} tcpreplay: ${step}; ` +
        `sensor stderr:\n${stderr.slice(-2000)}`,
    );
  };
  // Wait for the "detecting on" line: capture (and inference) are up.
  const started = withTimeout(
    (async () => {
      while (!stderr.includes("detecting on")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`sensor ended before capturing: ${stderr}`);
        stderr += value;
      }
    })(),
    STEP_TIMEOUT_MS,
  );
  if (await started === TIMED_OUT) {
    throw stuck(`no "detecting on" within ${STEP_TIMEOUT_MS / 1000} s`);
  }
  const rest = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      stderr += value;
    }
  })();
  const replayProcesses = Array.from({ length: replayers }, () =>
    new Deno.Command("ip", {
      args: ["netns", "exec", link.ns, "tcpreplay", "--topspeed", "-i", link.peer, file],
      stdout: "piped",
      stderr: "piped",
    }).spawn());
  const replays = await withTimeout(
    Promise.all(replayProcesses.map((p) => p.output())),
    STEP_TIMEOUT_MS,
  );
  if (replays === TIMED_OUT) {
    for (const p of replayProcesses) p.kill("SIGKILL");
    throw stuck(`tcpreplay did not finish within ${STEP_TIMEOUT_MS / 1000} s`);
  }
  let sent = 0;
  let offeredPps = 0;
  for (const replay of replays) {
    const text = new TextDecoder().decode(replay.stdout);
    if (!replay.success) throw new Error(`tcpreplay: ${new TextDecoder().decode(replay.stderr)}`);
    sent += Number(text.match(/Actual: (\d+) packets/)?.[1] ?? NaN);
    offeredPps += Number(text.match(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/)?.[1] ?? NaN);
  }
  // Let the sensor take in what is in its rings, then stop it as Ctrl-C would.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  sensor.kill("SIGINT");
  if (await withTimeout(sensor.status, STEP_TIMEOUT_MS) === TIMED_OUT) {
    throw stuck(`the sensor did not stop within ${STEP_TIMEOUT_MS / 1000} s of SIGINT`);
  }
  await rest;
  let received = 0;
  let kernelDropped = 0;
  let ringOverruns = 0;
  for (
    const m of stderr.matchAll(
      /(\d+) received, (\d+) dropped by the kernel, \d+ by the interface, (\d+) ring overruns/g,
    )
  ) {
    received += Number(m[1]);
    kernelDropped += Number(m[2]);
    ringOverruns += Number(m[3]);
  }
  return {
    captureWorkers,
    replayers,
    bufferMb,
    sent,
    offeredPps: Math.round(offeredPps),
    received,
    kernelDropped,
    ringOverruns,
  };
}

if (import.meta.main) {
  const options = new Command()
    .name("live_fanout")
    .option("--packets <n>", "packets in the replayed capture", "500000")
    .option("--workers <list>", "capture-worker counts to measure", "1,2")
    .option("--buffer-mb <n>", "kernel buffer per capture worker, MiB", "32")
    .option("--json", "print one JSON array")
    .parse(Deno.args, { from: "user" })
    .opts();
  if (Deno.uid() !== 0) throw new Error("needs root (network namespace, live capture)");
  const dir = await Deno.makeTempDir({ prefix: "ids-fanout-" });
  const link = createLink();
  try {
    const file = `${dir}/replay.pcap`;
    await writeSyntheticCapture(file, { packets: Number(options.packets), concurrentFlows: 2000 });
    const results: FanoutResult[] = [];
    for (const workers of options.workers.split(",").map(Number)) {
      for (const replayers of [1, 2]) {
        const result = await measure(link, file, workers, replayers, Number(options.bufferMb));
        results.push(result);
        if (!options.json) {
          console.log(
            `${workers} capture worker(s), ${replayers} tcpreplay --topspeed: ${result.sent} ` +
              `packets offered at ${result.offeredPps} pps (sum of tcpreplay's own rates); ` +
              `kernel: ${result.received} received, ${result.kernelDropped} dropped; ` +
              `${result.ringOverruns} ring overruns (buffer ${result.bufferMb} MiB per worker)`,
          );
        }
      }
    }
    if (options.json) console.log(JSON.stringify(results, null, 2));
  } finally {
    link.remove();
    await Deno.remove(dir, { recursive: true });
  }
}
