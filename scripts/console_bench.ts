/**
 * Console benchmark (not a test): a writer process puts alerts into the store
 * at a fixed rate (default 1,000/s, in 100 ms batches through the sensor's
 * SQLite sink) while the real console (`ids-sensor serve`, a child process)
 * serves 20 SSE clients and an API client measures request latency.
 * Reports: alerts lost per client (must be 0), delivery latency (write to
 * client), API p50/p99 under load, and the same API requests on the idle
 * server first (the reference, same run) with the ratio.
 *
 *   deno task bench:console [-- --rate 1000 --seconds 20 --clients 20 --json]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createSqliteSink } from "../src/alert/mod.ts";
import { readCaptureFile } from "../src/capture/mod.ts";
import { PacketRing } from "../src/forensics/mod.ts";
import { openStore } from "../src/store/mod.ts";
import { sampleAlert } from "../tests/support/sample_alert.ts";
import { startConsoleProcess } from "../tests/support/console_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "20" },
    clients: { type: "string", default: "20" },
    json: { type: "boolean", default: false },
    writer: { type: "string" },
    "ring-copies": { type: "string", default: "150" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const clients = Number(values.clients);

const CLASSES = ["syn-scan", "syn-flood", "udp-scan", "slowloris", "http-brute-force", "unknown"];

/** Writer mode: `--writer DB`; prints the number written when done. */
async function writer(db: string): Promise<void> {
  const sink = createSqliteSink(db, { maxBufferedRows: 1_000_000 });
  const perTick = Math.max(1, Math.round(rate / 10));
  const total = Math.round(rate * seconds);
  let written = 0;
  const started = performance.now();
  while (written < total) {
    const batch = [];
    const n = Math.min(perTick, total - written);
    const now = new Date().toISOString();
    for (let k = 0; k < n; k++) {
      const i = written + k;
      batch.push(sampleAlert({
        timestamp: now,
        src_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        dest_ip: `192.168.0.${i % 50}`,
      }, { class: CLASSES[i % CLASSES.length], severity: 1 + (i % 3) }));
    }
    await sink.write(batch);
    await sink.flush();
    written += n;
    // Next tick at its scheduled time, so the rate holds even when a write is slow.
    const due = started + (written / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await sink.close();
  const elapsed = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ written, seconds: elapsed }));
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

interface Sse {
  received: Set<number>;
  delays: number[];
  done: Promise<void>;
  cancel(): Promise<void>;
}

function sseClient(url: string, token: string): Promise<Sse> {
  return fetch(`${url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } })
    .then((response) => {
      if (!response.ok) throw new Error(`events: ${response.status}`);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const received = new Set<number>();
      const delays: number[] = [];
      let buffer = "";
      const done = (async () => {
        while (true) {
          const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
          if (done) return;
          buffer += value;
          // Only whole events; the tail waits for the next chunk. Parsing stays
          // light (one regex pass, every 20th event timed) so the 20 clients in
          // this one process keep up and measure the server, not themselves.
          const cut = buffer.lastIndexOf("\n\n");
          if (cut < 0) continue;
          const text = buffer.slice(0, cut + 2);
          buffer = buffer.slice(cut + 2);
          const now = Date.now();
          for (const match of text.matchAll(EVENT)) {
            const id = Number(match[1]);
            received.add(id);
            if (id % 20 === 0) delays.push(now - Date.parse(match[2]));
          }
        }
      })();
      return { received, delays, done, cancel: () => reader.cancel().catch(() => {}) };
    });
}

// id line, event line, data line starting with the row's id and timestamp (AlertRow's field order).
const EVENT = /^id: (\d+)\nevent: alert\ndata: \{"id":\d+,"timestamp":"([^"]+)"/gm;

const API_PATHS = [
  "/api/v1/alerts?limit=50",
  "/api/v1/alerts/groups?limit=100",
  "/api/v1/stats",
  "/api/v1/alerts?severity=1&limit=50",
];

async function sampleApi(
  url: string,
  token: string,
  until: () => boolean,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = {};
  for (const p of API_PATHS) samples[p] = [];
  let k = 0;
  while (!until()) {
    const path = API_PATHS[k++ % API_PATHS.length];
    const t0 = performance.now();
    const response = await fetch(`${url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    samples[path].push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  return samples;
}

function summarise(samples: Record<string, number[]>) {
  const all = Object.values(samples).flat().sort((a, b) => a - b);
  const per = Object.fromEntries(
    Object.entries(samples).map(([path, xs]) => {
      const s = [...xs].sort((a, b) => a - b);
      return [path, { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99) }];
    }),
  );
  return { n: all.length, p50: quantile(all, 0.5), p99: quantile(all, 0.99), per };
}

/**
 * The evidence ring's cost on the packet path: reading a capture alone (the
 * reference) against reading it and keeping every batch in the ring,
 * alternating, three rounds each; medians.
 */
async function ringBench(dir: string) {
  const fixture = await Deno.readFile(
    new URL("../tests/fixtures/lab/mixed/capture.pcap", import.meta.url),
  );
  const copies = Number(values["ring-copies"]);
  const path = join(dir, "ring-bench.pcap");
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  await file.write(fixture.subarray(0, 24));
  for (let k = 0; k < copies; k++) await file.write(fixture.subarray(24));
  file.close();
  const run = async (ring: PacketRing | null) => {
    const t0 = performance.now();
    let packets = 0;
    for await (const batch of readCaptureFile(path)) {
      ring?.keep(batch);
      packets += batch.count;
    }
    return { packets, seconds: (performance.now() - t0) / 1000 };
  };
  // The ring is allocated once per sensor run: its first lap also pays for
  // fresh memory (page faults, slow on these machines), later laps only copy.
  const ring = new PacketRing();
  const cold = await run(ring);
  const read: number[] = [];
  const kept: number[] = [];
  let packets = 0;
  for (let round = 0; round < 3; round++) {
    const a = await run(null);
    const b = await run(ring);
    packets = a.packets;
    read.push(a.packets / a.seconds);
    kept.push(b.packets / b.seconds);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1];
  await Deno.remove(path);
  return {
    packets,
    read_mpps: Number((median(read) / 1e6).toFixed(2)),
    read_and_keep_mpps: Number((median(kept) / 1e6).toFixed(2)),
    ratio: Number((median(kept) / median(read)).toFixed(2)),
    first_lap_mpps: Number((cold.packets / cold.seconds / 1e6).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "console-bench-" });
  const ring = await ringBench(dir);
  const db = join(dir, "ids.sqlite");
  openStore(db).close();
  const server = await startConsoleProcess(db);
  try {
    // Reference: the same API requests on the idle server, no clients, no writer.
    const idleEnd = performance.now() + 5000;
    const idle = summarise(
      await sampleApi(server.url, server.token, () => performance.now() > idleEnd),
    );

    const streams = await Promise.all(
      Array.from({ length: clients }, () => sseClient(server.url, server.token)),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--writer",
        db,
        "--rate",
        String(rate),
        "--seconds",
        String(seconds),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let writing = true;
    const output = child.output().then((o) => {
      writing = false;
      return o;
    });
    const loaded = summarise(await sampleApi(server.url, server.token, () => !writing));
    const result = await output;
    if (!result.success) throw new Error("the writer failed");
    const written = JSON.parse(new TextDecoder().decode(result.stdout));
    // Let the feed catch up, then count.
    const deadline = Date.now() + 30_000;
    while (
      Date.now() < deadline && streams.some((s) => s.received.size < written.written)
    ) await new Promise((r) => setTimeout(r, 200));
    const lost = streams.map((s) => written.written - s.received.size);
    const delays = streams.flatMap((s) => s.delays).sort((a, b) => a - b);
    const stats = await (await fetch(`${server.url}/api/v1/stats`, {
      headers: { authorization: `Bearer ${server.token}` },
    })).json();
    for (const s of streams) await s.cancel();
    const report = {
      rate_target: rate,
      seconds_target: seconds,
      alerts_written: written.written,
      write_seconds: Number(written.seconds.toFixed(2)),
      achieved_rate: Math.round(written.written / written.seconds),
      alerts_in_store: stats.alerts,
      sse_clients: clients,
      alerts_lost_per_client: lost,
      clients_dropped_by_server: stats.server.live_feed.clientsDropped,
      delivery_ms: { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99), max: delays.at(-1) },
      api_idle_ms: idle,
      api_loaded_ms: loaded,
      api_p50_ratio: Number((loaded.p50 / idle.p50).toFixed(2)),
      api_p99_ratio: Number((loaded.p99 / idle.p99).toFixed(2)),
      evidence_ring: ring,
    };
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      const ms = (x: number) => x.toFixed(1);
      console.log(
        [
          `console bench: ${report.alerts_written} alerts in ${report.write_seconds} s ` +
          `(${report.achieved_rate}/s, target ${rate}/s), ${clients} SSE clients`,
          `  store holds ${report.alerts_in_store}; lost per client: max ${Math.max(...lost)} ` +
          `(sum ${
            lost.reduce((a, b) => a + b, 0)
          }); clients dropped by the server: ${report.clients_dropped_by_server}`,
          `  delivery (write -> client): p50 ${ms(report.delivery_ms.p50)} ms, p99 ${
            ms(report.delivery_ms.p99)
          } ms`,
          `  API idle (reference): p50 ${ms(idle.p50)} ms, p99 ${
            ms(idle.p99)
          } ms over ${idle.n} requests`,
          `  API under load:       p50 ${ms(loaded.p50)} ms, p99 ${
            ms(loaded.p99)
          } ms over ${loaded.n} requests ` +
          `(x${report.api_p50_ratio} / x${report.api_p99_ratio})`,
          ...Object.entries(loaded.per).map(([path, s]) =>
            `    ${path}: p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms (n ${s.n}); idle p50 ${
              ms(idle.per[path].p50)
            } ms`
          ),
          `  evidence ring, ${ring.packets} packets from a file: read ${ring.read_mpps} Mpps ` +
          `(reference), read and keep ${ring.read_and_keep_mpps} Mpps (x${ring.ratio}), ` +
          `medians of 3; the ring's first lap (fresh memory): ${ring.first_lap_mpps} Mpps`,
        ].join("\n"),
      );
    }
    if (lost.some((n) => n !== 0)) Deno.exitCode = 1;
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  if (values.writer) await writer(values.writer);
  else await main();
}
