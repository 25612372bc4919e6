/**
 * Live capture throughput on a veth pair: tcpreplay --topspeed replays a
 * capture from a network namespace while (a) openLiveCapture or (b) tcpdump
 * captures the other end. Prints what was sent, captured and dropped. Root.
 *
 *   deno run -A scripts/bench_live_capture.ts CAPTURE.pcap [ids|tcpdump|both] [senders] [bufferKiB]
 */
import { openLiveCapture } from "../src/capture/live_source.ts";
import { createVethPair, type VethPair } from "../tests/support/veth_pair.ts";

const [capturePath, mode = "both", sendersText = "1"] = Deno.args;
const senders = Number(sendersText);
const bufferKiB = Number(Deno.args[3] ?? 65536);
if (!capturePath) throw new Error("usage: bench_live_capture.ts CAPTURE.pcap [ids|tcpdump|both]");

/** Runs `senders` tcpreplay --topspeed --preload-pcap at once; sums what they report. */
async function replay(pair: VethPair): Promise<string> {
  const args = ["netns", "exec", pair.namespace, "tcpreplay", "--topspeed", "--preload-pcap"];
  const results = await Promise.all(
    Array.from({ length: senders }, () =>
      new Deno.Command("ip", {
        args: [...args, "-i", pair.peerSide, capturePath],
        stdout: "piped",
        stderr: "piped",
      }).output()),
  );
  let packets = 0;
  let pps = 0;
  for (const result of results) {
    const text = new TextDecoder().decode(result.stdout);
    packets += Number(text.match(/Actual: (\d+) packets/)?.[1] ?? NaN);
    pps += Number(text.match(/Rated:.*?([\d.]+) pps/)?.[1] ?? NaN);
  }
  return `${senders} tcpreplay sent ${packets} packets at ${Math.round(pps)} pps`;
}

async function benchIds(pair: VethPair): Promise<void> {
  const capture = openLiveCapture({ interfaces: [pair.captureSide], bufferBytes: bufferKiB << 10 });
  await capture.ready;
  let packets = 0;
  let first = 0;
  let last = 0;
  const consuming = (async () => {
    for await (const batch of capture) {
      if (packets === 0) first = performance.now();
      packets += batch.count;
      last = performance.now();
    }
  })();
  const sent = await replay(pair);
  await new Promise((resolve) => setTimeout(resolve, 500));
  capture.stop();
  await consuming;
  const [stats] = capture.stats();
  console.log(
    `ids-sensor live: ${sent}; captured ${packets} (${
      (packets / ((last - first) / 1000) / 1e6).toFixed(2)
    } Mpps over ${((last - first) / 1000).toFixed(2)} s), kernel received ${stats.received}, ` +
      `kernel dropped ${stats.kernelDropped}, ring overruns ${stats.ringOverruns}`,
  );
}

async function benchTcpdump(pair: VethPair): Promise<void> {
  const tcpdump = new Deno.Command("tcpdump", {
    args: ["-i", pair.captureSide, "-B", String(bufferKiB), "-s", "65535", "-w", "/dev/null"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const sent = await replay(pair);
  await new Promise((resolve) => setTimeout(resolve, 500));
  tcpdump.kill("SIGINT");
  const output = await tcpdump.output();
  const text = new TextDecoder().decode(output.stderr);
  const captured = text.match(/(\d+) packets captured/)?.[1];
  const dropped = text.match(/(\d+) packets dropped by kernel/)?.[1];
  console.log(`tcpdump -w /dev/null: ${sent}; captured ${captured}, kernel dropped ${dropped}`);
}

const pair = createVethPair();
try {
  if (mode === "ids" || mode === "both") await benchIds(pair);
  if (mode === "tcpdump" || mode === "both") await benchTcpdump(pair);
} finally {
  pair.remove();
}
