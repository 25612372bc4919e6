/**
 * SQLite sink: alerts, their evidence pcaps and per-minute traffic go into
 * the console's store (`src/store`: table `alerts` with the main EVE fields
 * as columns plus the whole JSON, `evidence`, `traffic_minutes`). WAL
 * journal; buffered rows are written in one transaction per flush.
 */
import { type AlertToStore, openStore } from "../../store/mod.ts";
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
}

/** Opens (creating if needed) the store at `path` and returns a sink writing to it. */
export function createSqliteSink(path: string, options: SqliteSinkOptions = {}): AlertSink {
  const store = openStore(path);
  const maxRows = options.maxBufferedRows ?? 1000;
  let alerts: AlertToStore[] = [];
  let minutes: TrafficMinute[] = [];
  let closed = false;

  function writeOut(): void {
    if (alerts.length === 0 && minutes.length === 0) return;
    const a = alerts;
    const m = minutes;
    alerts = [];
    minutes = [];
    try {
      store.write(a, m);
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
        alerts.push({ alert, source: options.source, evidence: evidence[k] ?? null });
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
