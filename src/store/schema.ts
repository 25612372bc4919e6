/**
 * The SQLite store's schema: alerts (main EVE fields as columns, the whole
 * JSON, where the alert came from and its triage state), evidence pcaps,
 * suppressions, per-minute traffic and the sensors' last status. Tables are
 * created if missing and older stores gain the new columns, so a store
 * written by an earlier sensor opens as is.
 */
import type { DatabaseSync } from "node:sqlite";

/**
 * The part of an EVE alert record (src/alert's `Alert`) the store reads. The
 * store takes it structurally, so it depends on the record's shape, not on
 * src/alert (which writes through the store).
 */
export interface Alert {
  timestamp: string;
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
  proto: string;
  community_id: string;
  flow: {
    pkts_toserver: number;
    pkts_toclient: number;
    bytes_toserver: number;
    bytes_toclient: number;
    start: string;
    end: string;
  };
  alert: {
    verdict: string;
    class: string;
    name: string;
    score: number;
    threshold: number;
    model: string;
    severity: number;
    count: number;
    window: { start: string; end: string };
  };
}

/** Traffic of one minute (by flow end time), as the detector counts it and the store keeps it. */
export interface TrafficMinute {
  /** Start of the minute, milliseconds since the epoch. */
  minuteMs: number;
  flows: number;
  packets: number;
  bytes: number;
  benignFlows: number;
  knownFlows: number;
  unknownFlows: number;
  /** Alert lines emitted whose timestamp falls in this minute. */
  alerts: number;
}

const TABLES = `
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
CREATE TABLE IF NOT EXISTS evidence (
  alert_id INTEGER PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  pcap BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS suppressions (
  id INTEGER PRIMARY KEY,
  class TEXT,
  src_ip TEXT,
  dest_ip TEXT,
  reason TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  expires_at TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  job TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sensor_status (
  sensor TEXT PRIMARY KEY,
  updated_at TEXT NOT NULL,
  status TEXT NOT NULL
);
`;

// The alert groups (class, source, target), kept up to date by every write
// and triage change, so the console's default view does not aggregate the
// whole alerts table on every refresh.
const GROUPS_TABLE = `
CREATE TABLE alert_groups (
  class TEXT NOT NULL,
  src_ip TEXT NOT NULL,
  dest_ip TEXT NOT NULL,
  name TEXT NOT NULL,
  alerts INTEGER NOT NULL,
  flows INTEGER NOT NULL,
  severity INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  latest_id INTEGER NOT NULL,
  new_alerts INTEGER NOT NULL,
  PRIMARY KEY (class, src_ip, dest_ip)
);
CREATE INDEX alert_groups_latest ON alert_groups (latest_id);
`;

/** Recomputes table alert_groups from the alerts (after migration and retention). */
export const REBUILD_GROUPS = `DELETE FROM alert_groups;
INSERT INTO alert_groups (class, src_ip, dest_ip, name, alerts, flows, severity, first_seen,
  last_seen, latest_id, new_alerts)
SELECT g.class, g.src_ip, g.dest_ip, (SELECT name FROM alerts WHERE id = g.latest_id), g.alerts,
  g.flows, g.severity, g.first_seen, g.last_seen, g.latest_id, g.new_alerts
FROM (SELECT class, src_ip, dest_ip, COUNT(*) AS alerts, SUM(count) AS flows,
  MIN(severity) AS severity, MIN(timestamp) AS first_seen, MAX(timestamp) AS last_seen,
  MAX(id) AS latest_id, SUM(status = 'new') AS new_alerts
  FROM alerts GROUP BY class, src_ip, dest_ip) g;`;

// Columns added after the first release of the store: name -> definition.
const ADDED_ALERT_COLUMNS: Record<string, string> = {
  source: "TEXT NOT NULL DEFAULT 'sensor'",
  status: "TEXT NOT NULL DEFAULT 'new'",
  status_at: "TEXT",
  // Fleet (src/fleet): the sensor that raised the alert and its fleet-wide alert id.
  sensor: "TEXT",
  event_id: "TEXT",
};

// One index per filter the console offers, plus the (source, id) pair the
// upload views page through.
const INDEXES = `
CREATE INDEX IF NOT EXISTS alerts_timestamp ON alerts (timestamp);
CREATE INDEX IF NOT EXISTS alerts_src_ip ON alerts (src_ip);
CREATE INDEX IF NOT EXISTS alerts_dest_ip ON alerts (dest_ip);
CREATE INDEX IF NOT EXISTS alerts_class ON alerts (class);
CREATE INDEX IF NOT EXISTS alerts_group ON alerts (class, src_ip, dest_ip, severity, timestamp);
CREATE INDEX IF NOT EXISTS alerts_severity ON alerts (severity, timestamp);
CREATE INDEX IF NOT EXISTS alerts_source ON alerts (source, id);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
CREATE INDEX IF NOT EXISTS suppressions_expires ON suppressions (expires_at);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_event_id ON alerts (event_id);
CREATE INDEX IF NOT EXISTS alerts_sensor ON alerts (sensor, id);
`;

/** Creates missing tables, columns and indexes. Safe to run on every open. */
export function migrateStore(db: DatabaseSync): void {
  // A sensor and a server opening the same new store at once: one migrates, the other waits.
  db.exec("BEGIN IMMEDIATE");
  try {
    migrateInTransaction(db);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function migrateInTransaction(db: DatabaseSync): void {
  db.exec(TABLES);
  const present = new Set(
    (db.prepare("PRAGMA table_info(alerts)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const [name, definition] of Object.entries(ADDED_ALERT_COLUMNS)) {
    if (!present.has(name)) db.exec(`ALTER TABLE alerts ADD COLUMN ${name} ${definition}`);
  }
  db.exec(INDEXES);
  const hasGroups = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_groups'",
  ).get();
  if (!hasGroups) {
    db.exec(GROUPS_TABLE);
    db.exec(REBUILD_GROUPS);
  }
}
