/**
 * SQLite sink (node:sqlite): table `alerts` (the main EVE fields as columns
 * plus the whole JSON) and table `traffic_minutes` (per-minute flows,
 * packets, bytes, verdict counts and alerts). WAL journal; buffered rows are
 * written in one transaction per flush.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Alert } from "../schema.ts";
import type { AlertSink, TrafficMinute } from "./sink.ts";

/** Options of the SQLite sink. */
export interface SqliteSinkOptions {
  /** Buffered rows that trigger a transaction (default 1000). */
  maxBufferedRows?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY,
  timestamp TEXT NOT NULL,
  src_ip TEXT NOT NULL,
  src_port INTEGER NOT NULL,
  dest_ip TEXT NOT NULL,
  dest_port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  community_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  class TEXT NOT NULL,
  name TEXT NOT NULL,
  score REAL NOT NULL,
  threshold REAL NOT NULL,
  model TEXT NOT NULL,
  severity INTEGER NOT NULL,
  count INTEGER NOT NULL,
  pkts_toserver INTEGER NOT NULL,
  pkts_toclient INTEGER NOT NULL,
  bytes_toserver REAL NOT NULL,
  bytes_toclient REAL NOT NULL,
  flow_start TEXT NOT NULL,
  flow_end TEXT NOT NULL,
  window_start TEXT NOT NULL,
  window_end TEXT NOT NULL,
  eve TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_timestamp ON alerts (timestamp);
CREATE INDEX IF NOT EXISTS alerts_src_ip ON alerts (src_ip);
CREATE TABLE IF NOT EXISTS traffic_minutes (
  minute TEXT PRIMARY KEY,
  flows INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  bytes REAL NOT NULL,
  benign_flows INTEGER NOT NULL,
  known_flows INTEGER NOT NULL,
  unknown_flows INTEGER NOT NULL,
  alerts INTEGER NOT NULL
);
`;

const INSERT_ALERT = `INSERT INTO alerts (timestamp, src_ip, src_port, dest_ip, dest_port, proto,
  community_id, verdict, class, name, score, threshold, model, severity, count, pkts_toserver,
  pkts_toclient, bytes_toserver, bytes_toclient, flow_start, flow_end, window_start, window_end, eve)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// A minute seen again (late flows, alerts emitted at window end) adds to its row.
const UPSERT_MINUTE = `INSERT INTO traffic_minutes (minute, flows, packets, bytes, benign_flows,
  known_flows, unknown_flows, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (minute) DO UPDATE SET flows = flows + excluded.flows,
  packets = packets + excluded.packets, bytes = bytes + excluded.bytes,
  benign_flows = benign_flows + excluded.benign_flows,
  known_flows = known_flows + excluded.known_flows,
  unknown_flows = unknown_flows + excluded.unknown_flows, alerts = alerts + excluded.alerts`;

/** Opens (creating if needed) the database at `path` and returns a sink writing to it. */
export function createSqliteSink(path: string, options: SqliteSinkOptions = {}): AlertSink {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  db.exec(SCHEMA);
  const insertAlert: StatementSync = db.prepare(INSERT_ALERT);
  const upsertMinute: StatementSync = db.prepare(UPSERT_MINUTE);
  const maxRows = options.maxBufferedRows ?? 1000;
  let alerts: Alert[] = [];
  let minutes: TrafficMinute[] = [];
  let closed = false;

  function writeOut(): void {
    if (alerts.length === 0 && minutes.length === 0) return;
    const a = alerts;
    const m = minutes;
    alerts = [];
    minutes = [];
    db.exec("BEGIN");
    try {
      for (const x of a) {
        insertAlert.run(
          x.timestamp,
          x.src_ip,
          x.src_port,
          x.dest_ip,
          x.dest_port,
          x.proto,
          x.community_id,
          x.alert.verdict,
          x.alert.class,
          x.alert.name,
          x.alert.score,
          x.alert.threshold,
          x.alert.model,
          x.alert.severity,
          x.alert.count,
          x.flow.pkts_toserver,
          x.flow.pkts_toclient,
          x.flow.bytes_toserver,
          x.flow.bytes_toclient,
          x.flow.start,
          x.flow.end,
          x.alert.window.start,
          x.alert.window.end,
          JSON.stringify(x),
        );
      }
      for (const t of m) {
        upsertMinute.run(
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
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
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
      for (const a of batch) alerts.push(a);
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
      db.close();
      return Promise.resolve();
    },
  };
}
