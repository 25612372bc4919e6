import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { createSqliteSink } from "./sqlite.ts";
import type { TrafficMinute } from "./sink.ts";
import type { Alert } from "../schema.ts";
import { sampleAlert } from "../../../tests/support/sample_alert.ts";

const minute = (k: number, flows: number): TrafficMinute => ({
  minuteMs: Date.UTC(2026, 0, 2, 3, k),
  flows,
  packets: flows * 10,
  bytes: flows * 1000,
  benignFlows: flows - 1,
  knownFlows: 1,
  unknownFlows: 0,
  alerts: 1,
});

async function analyse(db: string, runKey: string | undefined, minutes: TrafficMinute[]) {
  const sink = createSqliteSink(db, { runKey });
  // Two writes of one minute within a run add up (late flows, alerts at window end).
  await sink.writeTraffic!(minutes.slice(0, 1));
  await sink.writeTraffic!(minutes.slice(1));
  await sink.close();
}

function totals(db: string) {
  const conn = new DatabaseSync(db);
  try {
    return conn.prepare(
      "SELECT minute, flows, packets, alerts FROM traffic_minutes ORDER BY minute",
    ).all();
  } finally {
    conn.close();
  }
}

Deno.test("sqlite sink: the same input analysed twice keeps its traffic minutes once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_runs_" });
  try {
    const db = join(dir, "ids.sqlite");
    const minutes = [minute(0, 5), minute(0, 2), minute(1, 7)];
    await analyse(db, "capture-a", minutes);
    const once = totals(db);
    assert.deepEqual(once.map((r) => r.flows), [7, 7]);
    await analyse(db, "capture-a", minutes);
    assert.deepEqual(totals(db), once);
    // Another input over the same minutes adds to them; live runs (no key) add too.
    await analyse(db, "capture-b", [minute(1, 3)]);
    await analyse(db, undefined, [minute(2, 1)]);
    assert.deepEqual(totals(db).map((r) => r.flows), [7, 10, 1]);
    // Re-analysing capture-b replaces only its own share.
    await analyse(db, "capture-b", [minute(1, 3)]);
    assert.deepEqual(totals(db).map((r) => r.flows), [7, 10, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite sink: the same input analysed twice keeps its alerts once; another input or a live run adds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_run_alerts_" });
  try {
    const db = join(dir, "ids.sqlite");
    const scan = sampleAlert({ src_ip: "10.0.0.66" });
    const flood = sampleAlert({ src_ip: "10.0.0.67", timestamp: "2026-12-01T10:00:05.000Z" });
    const write = async (runKey: string | undefined, alerts: Alert[]) => {
      const sink = createSqliteSink(db, { runKey });
      await sink.write(alerts);
      await sink.close();
    };
    const stored = () => {
      const conn = new DatabaseSync(db);
      try {
        return conn.prepare("SELECT src_ip FROM alerts ORDER BY id").all().map((r) => r.src_ip);
      } finally {
        conn.close();
      }
    };
    // One run may hold two identical lines: both kept.
    await write("capture-a", [scan, flood, scan]);
    assert.deepEqual(stored(), ["10.0.0.66", "10.0.0.67", "10.0.0.66"]);
    await write("capture-a", [scan, flood, scan]);
    assert.deepEqual(stored(), ["10.0.0.66", "10.0.0.67", "10.0.0.66"]);
    // A new alert of the same input (another model) is added; other inputs and live runs add.
    const other = sampleAlert({ src_ip: "10.0.0.68" });
    await write("capture-a", [scan, other]);
    await write("capture-b", [scan]);
    await write(undefined, [scan]);
    assert.deepEqual(stored(), [
      "10.0.0.66",
      "10.0.0.67",
      "10.0.0.66",
      "10.0.0.68",
      "10.0.0.66",
      "10.0.0.66",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite sink: a file that is not SQLite is refused with its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sqlite_bad_" });
  try {
    const path = join(dir, "notes.txt");
    await Deno.writeTextFile(path, "this is not a database, just some text\n".repeat(100));
    assert.throws(
      () => createSqliteSink(path),
      new RegExp(`^Error: ${path.replaceAll("/", "\\/")}: cannot open as the alert store`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
