/**
 * SQLite sink: alerts, their evidence pcaps and per-minute traffic go into
 * the console's store (`src/store`: table `alerts` with the main EVE fields
 * as columns plus the whole JSON, `evidence`, `traffic_minutes`). WAL
 * journal; buffered rows are written in one transaction per flush.
 */
import { createHash } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { type AlertStore, type AlertToStore, openStore } from "../../store/mod.ts";
import type { Alert } from "../schema.ts";
import type { AlertSink, TrafficMinute } from "./sink.ts";

/** Options of the SQLite sink. */
export interface SqliteSinkOptions {
  /** Buffered rows that trigger a transaction (default 1000). */
  maxBufferedRows?: number;
  /** Tag stored with every alert: "sensor" (default) or "upload:<job id>". */
  source?: string;
  /**
   * Called once per batch of alerts as it reaches the sink (while the packets
   * are still held): per alert, the pcap of the alerted flow group, or null.
   */
  evidence?: (alerts: readonly Alert[]) => ({ pcap: Uint8Array; packets: number } | null)[];
  /**
   * Identity of the input (a capture file's path, size and time) when the
   * same input may be analysed again into this store: its earlier traffic
   * minutes are taken out first, so a second run replaces them instead of
   * doubling `traffic_minutes`, and each alert gets an event id from the key
   * and its content, so the same alert of a second run is kept once (with
   * its triage). Absent (live capture): minutes and alerts add up.
   */
  runKey?: string;
}

/** Opens (creating if needed) the store at `path` and returns a sink writing to it. */
export function createSqliteSink(path: string, options: SqliteSinkOptions = {}): AlertSink {
  let store: AlertStore;
  try {
    store = openStore(path);
  } catch (error) {
    // node:sqlite says only "file is not a database": name the file.
    throw new Error(
      `${path}: cannot open as the alert store (SQLite): ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const runs = options.runKey === undefined ? null : trafficRuns(store, options.runKey);
  const maxRows = options.maxBufferedRows ?? 1000;
  let alerts: AlertToStore[] = [];
  let minutes: TrafficMinute[] = [];
  let closed = false;
  /** Per content digest: how often this run wrote it (identical lines of one run stay apart). */
  const seen = new Map<string, number>();
  const eventIdOf = (alert: Alert): string | undefined => {
    if (options.runKey === undefined) return undefined;
    const digest = createHash("sha256").update(JSON.stringify(alert)).digest("base64url");
    const n = (seen.get(digest) ?? 0) + 1;
    seen.set(digest, n);
    return `run:${options.runKey}:${digest}:${n}`;
  };

  function writeOut(): void {
    if (alerts.length === 0 && minutes.length === 0) return;
    const a = alerts;
    const m = minutes;
    alerts = [];
    minutes = [];
    try {
      store.write(a, m);
      runs?.add(m);
    } catch (error) {
      // Keep the rows for the next try rather than lose them.
      alerts = a.concat(alerts);
      minutes = m.concat(minutes);
      throw error;
    }
  }

  function check(): void {
    if (closed) throw new Error(`sqlite sink ${path} is closed`);
  }

  return {
    name: "sqlite",
    write(batch) {
      check();
      const evidence = options.evidence && batch.length > 0 ? options.evidence(batch) : [];
      batch.forEach((alert, k) => {
        alerts.push({
          alert,
          source: options.source,
          evidence: evidence[k] ?? null,
          eventId: eventIdOf(alert),
        });
      });
      if (alerts.length + minutes.length >= maxRows) writeOut();
    },
    writeTraffic(batch) {
      check();
      for (const t of batch) minutes.push(t);
      if (alerts.length + minutes.length >= maxRows) writeOut();
    },
    flush() {
      writeOut();
      return Promise.resolve();
    },
    close() {
      if (closed) return Promise.resolve();
      writeOut();
      closed = true;
      store.close();
      return Promise.resolve();
    },
  };
}

const MINUTE_COLUMNS = [
  "flows",
  "packets",
  "bytes",
  "benign_flows",
  "known_flows",
  "unknown_flows",
  "alerts",
] as const;

/**
 * Each keyed run's share of `traffic_minutes` (table `traffic_runs`): opening
 * a run whose key is already there subtracts its old share, so the minutes
 * hold each input once however often it is analysed.
 */
function trafficRuns(store: AlertStore, runKey: string) {
  const db: DatabaseSync = store.db;
  db.exec(`CREATE TABLE IF NOT EXISTS traffic_runs (
    run TEXT NOT NULL, minute TEXT NOT NULL, ${
    MINUTE_COLUMNS.map((c) => `${c} REAL NOT NULL`).join(", ")
  }, PRIMARY KEY (run, minute))`);
  store.transaction(() => {
    db.prepare(
      `UPDATE traffic_minutes SET ${
        MINUTE_COLUMNS.map((c) => `${c} = traffic_minutes.${c} - r.${c}`).join(", ")
      } FROM traffic_runs AS r WHERE r.run = ? AND r.minute = traffic_minutes.minute`,
    ).run(runKey);
    db.prepare(
      `DELETE FROM traffic_minutes WHERE ${MINUTE_COLUMNS.map((c) => `${c} <= 0`).join(" AND ")}`,
    ).run();
    db.prepare("DELETE FROM traffic_runs WHERE run = ?").run(runKey);
  });
  const upsert = db.prepare(
    `INSERT INTO traffic_runs (run, minute, ${MINUTE_COLUMNS.join(", ")})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run, minute) DO UPDATE SET ${
      MINUTE_COLUMNS.map((c) => `${c} = traffic_runs.${c} + excluded.${c}`).join(", ")
    }`,
  );
  return {
    add(minutes: readonly TrafficMinute[]): void {
      if (minutes.length === 0) return;
      store.transaction(() => {
        for (const t of minutes) {
          upsert.run(
            runKey,
            new Date(t.minuteMs).toISOString(),
            t.flows,
            t.packets,
            t.bytes,
            t.benignFlows,
            t.knownFlows,
            t.unknownFlows,
            t.alerts,
          );
        }
      });
    },
  };
}
