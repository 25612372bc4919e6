/**
 * The alert store over SQLite (node:sqlite, WAL): batched writes for the
 * sensor, and the console's queries (filtered pages, groups, one alert with
 * its evidence pcap, triage, suppressions, traffic, sensor status,
 * retention). A sensor writing and a console reading the same file at once
 * is the normal case: WAL lets readers run beside the writer, and every write
 * is one short `BEGIN IMMEDIATE` transaction with a busy timeout.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type Alert, migrateStore, REBUILD_GROUPS, type TrafficMinute } from "./schema.ts";

/** Triage state of an alert. */
export type AlertStatus = "new" | "acknowledged" | "escalated";
/** Every triage state, in order. */
export const ALERT_STATUSES: readonly AlertStatus[] = ["new", "acknowledged", "escalated"];

/** One alert to store, with where it came from and its evidence capture. */
export interface AlertToStore {
  alert: Alert;
  /** "sensor" (live or `analyze`) or "upload:<job id>" (default "sensor"). */
  source?: string;
  /** A pcap of the alerted flow group's packets, when the sensor kept any. */
  evidence?: { pcap: Uint8Array; packets: number } | null;
  /** Fleet: the sensor id that raised it (src/fleet). */
  sensor?: string;
  /** Fleet: the alert's fleet-wide id; an id already stored is skipped (exactly once). */
  eventId?: string;
}

/** An alert as the console lists it. */
export interface AlertRow {
  id: number;
  timestamp: string;
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
  proto: string;
  community_id: string;
  verdict: string;
  class: string;
  name: string;
  score: number;
  threshold: number;
  model: string;
  severity: number;
  count: number;
  source: string;
  /** Fleet: the sensor that raised it (null for local alerts). */
  sensor: string | null;
  status: AlertStatus;
  status_at: string | null;
  /** Bytes of the evidence pcap, 0 when there is none. */
  evidence_bytes: number;
}

/** Filters of the alert list, export and groups; every field optional, all must hold. */
export interface AlertFilter {
  /** Source or destination address equals this. */
  address?: string;
  src_ip?: string;
  dest_ip?: string;
  class?: string;
  verdict?: "known" | "unknown";
  /** Severity at most this (1 = only high). */
  severity?: number;
  status?: AlertStatus;
  /** "sensor", or an upload tag "upload:<job id>". */
  source?: string;
  /** Fleet sensor id. */
  sensor?: string;
  /** ISO timestamps, inclusive. */
  since?: string;
  until?: string;
  /** Text found in an address, class, name or Community ID. */
  q?: string;
}

/** One group of the alert list: same class, source and target. */
export interface AlertGroup {
  class: string;
  name: string;
  src_ip: string;
  dest_ip: string;
  /** Alert lines in the group. */
  alerts: number;
  /** Flows behind them. */
  flows: number;
  /** Highest severity (lowest number). */
  severity: number;
  first_seen: string;
  last_seen: string;
  /** Newest alert of the group (for the detail drawer). */
  latest_id: number;
  /** Alerts still in state "new". */
  new_alerts: number;
}

/** A suppression: alerts matching every non-null field are not emitted until it expires. */
export interface Suppression {
  id: number;
  class: string | null;
  src_ip: string | null;
  dest_ip: string | null;
  reason: string;
  created_at: string;
  /** ISO timestamp, or null for never. */
  expires_at: string | null;
}

/** A sensor's last reported status. */
export interface SensorStatusRow {
  sensor: string;
  updated_at: string;
  status: Record<string, unknown>;
}

/** Per-minute traffic as stored. */
export interface TrafficRow {
  minute: string;
  flows: number;
  packets: number;
  bytes: number;
  benign_flows: number;
  known_flows: number;
  unknown_flows: number;
  alerts: number;
}

/** Totals for the console's header. */
export interface StoreStats {
  alerts: number;
  flows_alerted: number;
  by_severity: Record<string, number>;
  by_status: Record<string, number>;
  by_class: { class: string; alerts: number }[];
  first_alert: string | null;
  last_alert: string | null;
  max_id: number;
  active_suppressions: number;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Milliseconds a write waits for another writer (default 5000). */
  busyTimeoutMs?: number;
}

const ALERT_COLUMNS = `a.id, a.timestamp, a.src_ip, a.src_port, a.dest_ip, a.dest_port, a.proto,
  a.community_id, a.verdict, a.class, a.name, a.score, a.threshold, a.model, a.severity, a.count,
  a.source, a.sensor, a.status, a.status_at, COALESCE(e.bytes, 0) AS evidence_bytes`;

const INSERT_ALERT = `INSERT INTO alerts (timestamp, src_ip, src_port, dest_ip, dest_port, proto,
  community_id, verdict, class, name, score, threshold, model, severity, count, pkts_toserver,
  pkts_toclient, bytes_toserver, bytes_toclient, flow_start, flow_end, window_start, window_end,
  eve, source, sensor, event_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (event_id) DO NOTHING`;

const UPSERT_GROUP = `INSERT INTO alert_groups (class, src_ip, dest_ip, name, alerts, flows,
  severity, first_seen, last_seen, latest_id, new_alerts) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, 1)
  ON CONFLICT (class, src_ip, dest_ip) DO UPDATE SET name = excluded.name,
  alerts = alerts + 1, flows = flows + excluded.flows, severity = MIN(severity, excluded.severity),
  first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen),
  latest_id = MAX(latest_id, excluded.latest_id), new_alerts = new_alerts + 1`;

// A minute seen again (late flows, alerts emitted at window end) adds to its row.
const UPSERT_MINUTE = `INSERT INTO traffic_minutes (minute, flows, packets, bytes, benign_flows,
  known_flows, unknown_flows, alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (minute) DO UPDATE SET flows = flows + excluded.flows,
  packets = packets + excluded.packets, bytes = bytes + excluded.bytes,
  benign_flows = benign_flows + excluded.benign_flows,
  known_flows = known_flows + excluded.known_flows,
  unknown_flows = unknown_flows + excluded.unknown_flows, alerts = alerts + excluded.alerts`;

/** Builds the WHERE clause of a filter (alias `a` for alerts). */
export function filterClause(filter: AlertFilter): { sql: string; params: SQLInputValue[] } {
  const parts: string[] = [];
  const params: SQLInputValue[] = [];
  const equal = (column: string, value: string | number | undefined) => {
    if (value === undefined || value === "") return;
    parts.push(`a.${column} = ?`);
    params.push(value);
  };
  if (filter.address) {
    parts.push("(a.src_ip = ? OR a.dest_ip = ?)");
    params.push(filter.address, filter.address);
  }
  equal("src_ip", filter.src_ip);
  equal("dest_ip", filter.dest_ip);
  equal("class", filter.class);
  equal("verdict", filter.verdict);
  equal("status", filter.status);
  equal("source", filter.source);
  equal("sensor", filter.sensor);
  if (filter.severity !== undefined) {
    parts.push("a.severity <= ?");
    params.push(filter.severity);
  }
  if (filter.since) {
    parts.push("a.timestamp >= ?");
    params.push(filter.since);
  }
  if (filter.until) {
    parts.push("a.timestamp <= ?");
    params.push(filter.until);
  }
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    parts.push(
      "(a.src_ip LIKE ? ESCAPE '\\' OR a.dest_ip LIKE ? ESCAPE '\\' OR a.class LIKE ? ESCAPE '\\' " +
        "OR a.name LIKE ? ESCAPE '\\' OR a.community_id LIKE ? ESCAPE '\\')",
    );
    params.push(like, like, like, like, like);
  }
  return { sql: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

/** True when `s` covers `alert` (every non-null field equal) and has not expired at `nowIso`. */
export function suppressionCovers(s: Suppression, alert: Alert, nowIso: string): boolean {
  if (s.expires_at !== null && s.expires_at <= nowIso) return false;
  if (s.class !== null && s.class !== alert.alert.class) return false;
  if (s.src_ip !== null && s.src_ip !== alert.src_ip) return false;
  if (s.dest_ip !== null && s.dest_ip !== alert.dest_ip) return false;
  return s.class !== null || s.src_ip !== null || s.dest_ip !== null;
}

/** The store: one connection; open one per process (or per role) on the same file. */
export class AlertStore {
  readonly db: DatabaseSync;
  readonly path: string;
  #insertAlert: StatementSync;
  #insertEvidence: StatementSync;
  #upsertMinute: StatementSync;
  #upsertGroup: StatementSync;
  #closed = false;

  constructor(path: string, options: OpenStoreOptions = {}) {
    this.path = path;
    this.db = new DatabaseSync(path);
    this.db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; ` +
        `PRAGMA busy_timeout = ${Math.max(0, Math.round(options.busyTimeoutMs ?? 5000))}; ` +
        `PRAGMA foreign_keys = ON;`,
    );
    migrateStore(this.db);
    this.#insertAlert = this.db.prepare(INSERT_ALERT);
    this.#insertEvidence = this.db.prepare(
      "INSERT OR REPLACE INTO evidence (alert_id, packets, bytes, pcap) VALUES (?, ?, ?, ?)",
    );
    this.#upsertMinute = this.db.prepare(UPSERT_MINUTE);
    this.#upsertGroup = this.db.prepare(UPSERT_GROUP);
  }

  /** Runs `work` in one write transaction (rolled back if it throws). */
  transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  /**
   * Writes alerts (with evidence) and traffic minutes in one transaction; returns the ids of
   * the alerts stored (a fleet alert whose id is already stored is skipped).
   */
  write(alerts: readonly AlertToStore[], minutes: readonly TrafficMinute[] = []): number[] {
    if (alerts.length === 0 && minutes.length === 0) return [];
    return this.transaction(() => {
      const ids: number[] = [];
      for (const item of alerts) {
        const x = item.alert;
        const result = this.#insertAlert.run(
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
          item.source ?? "sensor",
          item.sensor ?? null,
          item.eventId ?? null,
        );
        // A fleet alert id already stored: delivered again after a reconnect, kept once.
        if (Number(result.changes) === 0) continue;
        const id = Number(result.lastInsertRowid);
        ids.push(id);
        this.#upsertGroup.run(
          x.alert.class,
          x.src_ip,
          x.dest_ip,
          x.alert.name,
          x.alert.count,
          x.alert.severity,
          x.timestamp,
          x.timestamp,
          id,
        );
        if (item.evidence) {
          this.#insertEvidence.run(
            id,
            item.evidence.packets,
            item.evidence.pcap.byteLength,
            item.evidence.pcap,
          );
        }
      }
      for (const t of minutes) {
        this.#upsertMinute.run(
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
      return ids;
    });
  }

  /** A page of alerts, newest first, and how many match in all. */
  listAlerts(
    filter: AlertFilter,
    page: { limit: number; offset?: number },
  ): { total: number; alerts: AlertRow[] } {
    const where = filterClause(filter);
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM alerts a ${where.sql}`)
      .get(...where.params) as { n: number }).n;
    const alerts = this.db.prepare(
      `SELECT ${ALERT_COLUMNS} FROM alerts a LEFT JOIN evidence e ON e.alert_id = a.id
       ${where.sql} ORDER BY a.id DESC LIMIT ? OFFSET ?`,
    ).all(...where.params, page.limit, page.offset ?? 0) as unknown as AlertRow[];
    return { total, alerts };
  }

  /** Every alert matching `filter`, oldest first, at most `limit` (export). */
  *iterateAlerts(filter: AlertFilter, limit: number): Generator<AlertRow & { eve: string }> {
    const where = filterClause(filter);
    const statement = this.db.prepare(
      `SELECT ${ALERT_COLUMNS}, a.eve FROM alerts a LEFT JOIN evidence e ON e.alert_id = a.id
       ${where.sql} ORDER BY a.id LIMIT ?`,
    );
    for (const row of statement.iterate(...where.params, limit)) {
      yield row as unknown as AlertRow & { eve: string };
    }
  }

  /** Alerts with an id above `afterId`, oldest first (the live feed). */
  alertsAfter(afterId: number, limit: number): AlertRow[] {
    return this.db.prepare(
      `SELECT ${ALERT_COLUMNS} FROM alerts a LEFT JOIN evidence e ON e.alert_id = a.id
       WHERE a.id > ? ORDER BY a.id LIMIT ?`,
    ).all(afterId, limit) as unknown as AlertRow[];
  }

  /** Highest alert id (0 when empty). */
  maxAlertId(): number {
    return (this.db.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM alerts").get() as {
      id: number;
    }).id;
  }

  /** Alerts grouped by class, source and target; groups with the newest alert first. */
  alertGroups(filter: AlertFilter, limit: number): AlertGroup[] {
    const where = filterClause(filter);
    if (where.params.length === 0) {
      // Unfiltered (the dashboard's default): the maintained groups, no aggregation.
      return this.db.prepare(
        `SELECT class, name, src_ip, dest_ip, alerts, flows, severity, first_seen, last_seen,
         latest_id, new_alerts FROM alert_groups ORDER BY latest_id DESC LIMIT ?`,
      ).all(limit) as unknown as AlertGroup[];
    }
    // The group's name is its newest alert's, as in the maintained table.
    return this.db.prepare(
      `SELECT g.class, (SELECT name FROM alerts WHERE id = g.latest_id) AS name, g.src_ip,
         g.dest_ip, g.alerts, g.flows, g.severity, g.first_seen, g.last_seen, g.latest_id,
         g.new_alerts
       FROM (SELECT a.class, a.src_ip, a.dest_ip, COUNT(*) AS alerts, SUM(a.count) AS flows,
         MIN(a.severity) AS severity, MIN(a.timestamp) AS first_seen,
         MAX(a.timestamp) AS last_seen, MAX(a.id) AS latest_id,
         SUM(a.status = 'new') AS new_alerts
         FROM alerts a ${where.sql} GROUP BY a.class, a.src_ip, a.dest_ip
         ORDER BY latest_id DESC LIMIT ?) g ORDER BY g.latest_id DESC`,
    ).all(...where.params, limit) as unknown as AlertGroup[];
  }

  /** One alert with its EVE record, or null. */
  getAlert(id: number): (AlertRow & { eve: Alert; evidence_packets: number }) | null {
    const row = this.db.prepare(
      `SELECT ${ALERT_COLUMNS}, COALESCE(e.packets, 0) AS evidence_packets, a.eve
       FROM alerts a LEFT JOIN evidence e ON e.alert_id = a.id WHERE a.id = ?`,
    ).get(id) as (AlertRow & { eve: string; evidence_packets: number }) | undefined;
    if (!row) return null;
    return { ...row, eve: JSON.parse(row.eve) as Alert };
  }

  /** The evidence pcap of an alert, or null. */
  evidence(id: number): Uint8Array | null {
    const row = this.db.prepare("SELECT pcap FROM evidence WHERE alert_id = ?").get(id) as
      | { pcap: Uint8Array }
      | undefined;
    return row ? row.pcap : null;
  }

  /** Sets an alert's triage state; false when there is no such alert. */
  setStatus(id: number, status: AlertStatus, now = new Date()): boolean {
    return this.transaction(() => {
      const before = this.db.prepare(
        "SELECT status, class, src_ip, dest_ip FROM alerts WHERE id = ?",
      ).get(id) as { status: string; class: string; src_ip: string; dest_ip: string } | undefined;
      if (!before) return false;
      this.db.prepare("UPDATE alerts SET status = ?, status_at = ? WHERE id = ?")
        .run(status, now.toISOString(), id);
      const change = (status === "new" ? 1 : 0) - (before.status === "new" ? 1 : 0);
      if (change !== 0) {
        this.db.prepare(
          `UPDATE alert_groups SET new_alerts = new_alerts + ?
           WHERE class = ? AND src_ip = ? AND dest_ip = ?`,
        ).run(change, before.class, before.src_ip, before.dest_ip);
      }
      return true;
    });
  }

  /** Every suppression, newest first (expired ones too, marked by their expiry). */
  suppressions(): Suppression[] {
    return this.db.prepare("SELECT * FROM suppressions ORDER BY id DESC")
      .all() as unknown as Suppression[];
  }

  /** Suppressions in force at `now`. */
  activeSuppressions(now = new Date()): Suppression[] {
    return this.db.prepare(
      "SELECT * FROM suppressions WHERE expires_at IS NULL OR expires_at > ? ORDER BY id",
    ).all(now.toISOString()) as unknown as Suppression[];
  }

  /** Adds a suppression; at least one of class, source and target must be set. */
  addSuppression(
    s: {
      class?: string | null;
      src_ip?: string | null;
      dest_ip?: string | null;
      reason?: string;
      expires_at?: string | null;
    },
    now = new Date(),
  ): Suppression {
    if (!s.class && !s.src_ip && !s.dest_ip) {
      throw new Error("a suppression needs at least one of class, src_ip and dest_ip");
    }
    const id = this.transaction(() =>
      Number(
        this.db.prepare(
          `INSERT INTO suppressions (class, src_ip, dest_ip, reason, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        ).run(
          s.class || null,
          s.src_ip || null,
          s.dest_ip || null,
          s.reason ?? "",
          now.toISOString(),
          s.expires_at ?? null,
        ).lastInsertRowid,
      )
    );
    return this.db.prepare("SELECT * FROM suppressions WHERE id = ?").get(
      id,
    ) as unknown as Suppression;
  }

  /** Deletes a suppression; false when there was none. */
  deleteSuppression(id: number): boolean {
    return this.transaction(() =>
      Number(this.db.prepare("DELETE FROM suppressions WHERE id = ?").run(id).changes) > 0
    );
  }

  /** Records a sensor's status (a heartbeat the console shows). */
  writeSensorStatus(sensor: string, status: Record<string, unknown>, now = new Date()): void {
    this.transaction(() =>
      this.db.prepare(
        `INSERT INTO sensor_status (sensor, updated_at, status) VALUES (?, ?, ?)
         ON CONFLICT (sensor) DO UPDATE SET updated_at = excluded.updated_at,
         status = excluded.status`,
      ).run(sensor, now.toISOString(), JSON.stringify(status))
    );
  }

  /** Every sensor's last status. */
  sensorStatuses(): SensorStatusRow[] {
    return (this.db.prepare("SELECT * FROM sensor_status ORDER BY sensor").all() as {
      sensor: string;
      updated_at: string;
      status: string;
    }[]).map((r) => ({ ...r, status: JSON.parse(r.status) }));
  }

  /** Per-minute traffic from `sinceIso` on. */
  traffic(sinceIso: string): TrafficRow[] {
    return this.db.prepare(
      "SELECT * FROM traffic_minutes WHERE minute >= ? ORDER BY minute",
    ).all(sinceIso) as unknown as TrafficRow[];
  }

  /** The newest `minutes` rows of per-minute traffic, oldest first. */
  recentTraffic(minutes: number): TrafficRow[] {
    return this.db.prepare(
      "SELECT * FROM (SELECT * FROM traffic_minutes ORDER BY minute DESC LIMIT ?) ORDER BY minute",
    ).all(minutes) as unknown as TrafficRow[];
  }

  /** Totals for the console header. */
  stats(now = new Date()): StoreStats {
    const totals = this.db.prepare(
      // Each part reads an index or the small groups table, never every alert row.
      `SELECT (SELECT COUNT(*) FROM alerts) AS alerts,
       (SELECT COALESCE(SUM(flows), 0) FROM alert_groups) AS flows,
       (SELECT MIN(timestamp) FROM alerts) AS first, (SELECT MAX(timestamp) FROM alerts) AS last,
       (SELECT COALESCE(MAX(id), 0) FROM alerts) AS max_id`,
    ).get() as {
      alerts: number;
      flows: number;
      first: string | null;
      last: string | null;
      max_id: number;
    };
    const by = (column: string) =>
      Object.fromEntries(
        (this.db.prepare(`SELECT ${column} AS k, COUNT(*) AS n FROM alerts GROUP BY ${column}`)
          .all() as { k: string | number; n: number }[]).map((r) => [String(r.k), r.n]),
      );
    return {
      alerts: totals.alerts,
      flows_alerted: totals.flows,
      by_severity: by("severity"),
      by_status: by("status"),
      by_class: this.db.prepare(
        `SELECT class, SUM(alerts) AS alerts FROM alert_groups GROUP BY class
         ORDER BY alerts DESC LIMIT 50`,
      ).all() as unknown as { class: string; alerts: number }[],
      first_alert: totals.first,
      last_alert: totals.last,
      max_id: totals.max_id,
      active_suppressions: this.activeSuppressions(now).length,
    };
  }

  /** Deletes alerts (with their evidence) and traffic older than `days` days; returns alerts deleted. */
  prune(days: number, now = new Date()): number {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    return this.transaction(() => {
      this.db.prepare(
        "DELETE FROM evidence WHERE alert_id IN (SELECT id FROM alerts WHERE timestamp < ?)",
      ).run(cutoff);
      const deleted = Number(
        this.db.prepare("DELETE FROM alerts WHERE timestamp < ?").run(cutoff).changes,
      );
      this.db.prepare("DELETE FROM traffic_minutes WHERE minute < ?").run(cutoff);
      this.db.prepare("DELETE FROM suppressions WHERE expires_at IS NOT NULL AND expires_at < ?")
        .run(cutoff);
      if (deleted > 0) this.db.exec(REBUILD_GROUPS);
      return deleted;
    });
  }

  /** Saves a console job's record (JSON), replacing an earlier save. */
  saveJob(id: string, createdAt: string, job: unknown): void {
    this.transaction(() =>
      this.db.prepare(
        "INSERT INTO jobs (id, created_at, job) VALUES (?, ?, ?) " +
          "ON CONFLICT (id) DO UPDATE SET job = excluded.job",
      ).run(id, createdAt, JSON.stringify(job))
    );
  }

  /** The newest `limit` job records, oldest first; older ones are deleted. */
  loadJobs(limit: number): unknown[] {
    return this.transaction(() => {
      this.db.prepare(
        "DELETE FROM jobs WHERE id NOT IN (SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)",
      ).run(limit);
      return (this.db.prepare("SELECT job FROM jobs ORDER BY created_at").all() as {
        job: string;
      }[]).map((r) => JSON.parse(r.job));
    });
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }
}

/** Opens (creating and migrating if needed) the store at `path`. */
export function openStore(path: string, options: OpenStoreOptions = {}): AlertStore {
  return new AlertStore(path, options);
}
