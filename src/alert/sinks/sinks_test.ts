import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { type Alert, AlertSchema } from "../schema.ts";
import {
  createConsoleSink,
  createJsonlSink,
  createSqliteSink,
  formatAlertLine,
  readJsonlAlerts,
  type TrafficMinute,
} from "./mod.ts";

function alert(k: number): Alert {
  const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + k * 1000).toISOString();
  return AlertSchema.parse({
    timestamp: t,
    event_type: "alert",
    src_ip: `10.0.${k >> 8 & 255}.${k & 255}`,
    src_port: 40000 + (k % 1000),
    dest_ip: "2001:db8::1",
    dest_port: 22,
    proto: "TCP",
    community_id: "1:abcdefghijklmnopqrstuvwxyz0=",
    flow: {
      pkts_toserver: 10 + k,
      pkts_toclient: 8,
      bytes_toserver: 900,
      bytes_toclient: 1500,
      start: t,
      end: t,
      state: "SF",
    },
    alert: {
      verdict: k % 2 ? "known" : "unknown",
      class: k % 2 ? "SSH-Patator" : "unknown",
      name: "SSH brute force",
      score: 0.97,
      threshold: 0.5,
      model: "forest",
      severity: 1,
      top_features: [{ name: "Flow Duration", value: 2e6, baseline: 1e5, zscore: 4.2 }],
      count: k + 1,
      window: { start: t, end: t, seconds: 60 },
      distinct_dest_ports: 1,
    },
  });
}

const N = 2500;

Deno.test("JSONL: write N alerts in small and large batches, close, read back N identical objects", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "alerts.jsonl");
    const sink = await createJsonlSink(path, { maxBufferedLines: 1000 });
    const alerts = Array.from({ length: N }, (_, k) => alert(k));
    for (let k = 0; k < N; k += 7) await sink.write(alerts.slice(k, k + 7));
    await sink.close();
    const back = await readJsonlAlerts(path);
    assert.equal(back.length, N);
    assert.deepEqual(back, alerts);
    for (const a of back.slice(0, 10)) assert(AlertSchema.safeParse(a).success);
    assert.throws(() => sink.write([alerts[0]]), /closed/);
    // Appends, like eve.json, when opened again.
    const again = await createJsonlSink(path);
    await again.write([alerts[0]]);
    await again.close();
    assert.equal((await readJsonlAlerts(path)).length, N + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQLite: N alerts and traffic minutes survive close; WAL; minutes seen twice add up", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ids.db");
    const sink = createSqliteSink(path, { maxBufferedRows: 1000 });
    const alerts = Array.from({ length: N }, (_, k) => alert(k));
    for (let k = 0; k < N; k += 100) await sink.write(alerts.slice(k, k + 100));
    const minute = (m: number, flows: number): TrafficMinute => ({
      minuteMs: Date.UTC(2026, 0, 2, 3, m),
      flows,
      packets: flows * 10,
      bytes: flows * 1000,
      benignFlows: flows - 1,
      knownFlows: 1,
      unknownFlows: 0,
      alerts: 1,
    });
    await sink.writeTraffic!([minute(4, 100), minute(5, 50)]);
    await sink.writeTraffic!([minute(5, 25)]);
    await sink.close();

    const db = new DatabaseSync(path);
    try {
      assert.equal(
        (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
        "wal",
      );
      const count = db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number };
      assert.equal(count.n, N);
      const rows = db.prepare("SELECT eve FROM alerts ORDER BY id").all() as { eve: string }[];
      assert.deepEqual(rows.map((r) => JSON.parse(r.eve)), alerts);
      const last = db.prepare(
        "SELECT src_ip, count, verdict, name FROM alerts ORDER BY id DESC LIMIT 1",
      ).get();
      assert.deepEqual({ ...last }, {
        src_ip: alerts[N - 1].src_ip,
        count: N,
        verdict: alerts[N - 1].alert.verdict,
        name: "SSH brute force",
      });
      const minutes = db.prepare(
        "SELECT minute, flows, packets, bytes, alerts FROM traffic_minutes ORDER BY minute",
      ).all();
      assert.deepEqual(minutes.map((m) => ({ ...m })), [
        { minute: "2026-01-02T03:04:00.000Z", flows: 100, packets: 1000, bytes: 100000, alerts: 1 },
        { minute: "2026-01-02T03:05:00.000Z", flows: 75, packets: 750, bytes: 75000, alerts: 2 },
      ]);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console: one line per alert, colour only when asked", async () => {
  const chunks: Uint8Array[] = [];
  const writer = {
    writeSync(b: Uint8Array) {
      chunks.push(b.slice());
      return b.length;
    },
    isTerminal: () => false,
  };
  const sink = createConsoleSink({ writer });
  await sink.write([alert(1), alert(2)]);
  await sink.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /sev1 SSH brute force 10\.0\.0\.1:40001 -> \[2001:db8::1\]:22 TCP \(known SSH-Patator/,
  );
  assert(!text.includes("\x1b["), "no escape codes when not a terminal");
  assert(formatAlertLine(alert(1), true).includes("\x1b[31m"));
});
