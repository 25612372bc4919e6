/**
 * What the service features cost on the detection path, each against its
 * reference in the same run (medians of interleaved rounds):
 *
 * 1. reading a capture with and without the metrics' byte counter
 *    (`SensorMetrics.countBytes`, one typed-array pass per batch);
 * 2. handing alerts to a notifier whose target is dead (write only queues;
 *    the overflow goes to the spool off the path) against a sink that
 *    drops them.
 *
 * deno run -A scripts/notify_bench.ts [capture.pcap] [rounds]
 */
import { readCaptureFile } from "../src/capture/mod.ts";
import { SensorMetrics } from "../src/metrics/mod.ts";
import { createNotifier } from "../src/notify/mod.ts";
import { numberedAlert } from "../tests/support/sample_alert.ts";

const capture = Deno.args[0] ?? new URL("../models/demo/capture.pcap", import.meta.url).pathname;
const rounds = Number(Deno.args[1] ?? 7);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function readAll(wrap: boolean): Promise<{ ms: number; packets: number }> {
  const metrics = new SensorMetrics();
  const source = readCaptureFile(capture);
  const started = performance.now();
  let packets = 0;
  for await (const batch of wrap ? metrics.countBytes(source) : source) packets += batch.count;
  return { ms: performance.now() - started, packets };
}

const plain: number[] = [];
const counted: number[] = [];
let packets = 0;
await readAll(false); // warm the page cache and the JIT
for (let r = 0; r < rounds; r++) {
  // Alternating which goes first, so neither always runs on a warmer cache.
  const first = r % 2 === 0;
  const a = first ? await readAll(false) : null;
  const b = await readAll(true);
  const a2 = a ?? await readAll(false);
  plain.push(a2.ms);
  counted.push(b.ms);
  packets = a2.packets;
}
const mpps = (ms: number) => (packets / ms / 1000).toFixed(2);
console.log(
  `read ${capture} (${packets} packets), ${rounds} rounds, medians: ` +
    `plain ${median(plain).toFixed(1)} ms (${mpps(median(plain))} Mpps), ` +
    `with byte counter ${median(counted).toFixed(1)} ms (${mpps(median(counted))} Mpps), ` +
    `ratio ${(median(counted) / median(plain)).toFixed(3)}`,
);

const ALERTS = 5_000;
const alerts = Array.from({ length: ALERTS }, (_, k) => numberedAlert(k % 1000));
const spoolRoot = await Deno.makeTempDir({ prefix: "notify-bench-" });
const dropped: number[] = [];
const notified: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    let sink = 0;
    let started = performance.now();
    for (let i = 0; i < ALERTS; i += 10) sink += alerts.slice(i, i + 10).length;
    dropped.push(performance.now() - started);
    const notifier = await createNotifier(`http://127.0.0.1:9/bench?rate=1000000/60`, {
      spoolDir: `${spoolRoot}/${r}`,
      log: () => {},
      closeTimeoutMs: 0,
    });
    started = performance.now();
    for (let i = 0; i < ALERTS; i += 10) notifier.write(alerts.slice(i, i + 10));
    notified.push(performance.now() - started);
    await notifier.close();
    if (sink !== ALERTS) throw new Error("reference lost alerts");
  }
} finally {
  await Deno.remove(spoolRoot, { recursive: true });
}
console.log(
  `${ALERTS} alerts in batches of 10, ${rounds} rounds, medians: reference (slice, no sink) ` +
    `${median(dropped).toFixed(2)} ms, notifier to a dead target ${
      median(notified).toFixed(2)
    } ms ` +
    `(${(median(notified) * 1000 / ALERTS).toFixed(2)} us per alert on the detection path)`,
);
