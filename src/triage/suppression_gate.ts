/**
 * Applies the console's suppressions to a running sensor: the gate re-reads
 * the active suppressions from the store every few seconds (its own
 * connection, one small query), so a suppression made in the dashboard takes
 * effect without a restart. It sits at the emitted-alert boundary: sinks see
 * only the alerts no suppression covers; the rest are counted.
 */
import type { Alert, AlertSink } from "../alert/mod.ts";
import { type AlertStore, openStore, type Suppression, suppressionCovers } from "../store/mod.ts";

/** Options of the gate. */
export interface SuppressionGateOptions {
  /** Seconds between two reads of the suppressions (default 2). */
  refreshSeconds?: number;
  /** Wall clock, ms (tests). */
  nowMs?: () => number;
}

/** Decides per alert whether it goes out. */
export class SuppressionGate {
  readonly #store: AlertStore;
  readonly #ownStore: boolean;
  readonly #refreshMs: number;
  readonly #now: () => number;
  #active: Suppression[] = [];
  #readAt = -Infinity;
  #suppressed = 0;
  #readErrors = 0;

  /** `store`: a path (the gate opens its own connection) or an open store. */
  constructor(store: string | AlertStore, options: SuppressionGateOptions = {}) {
    this.#ownStore = typeof store === "string";
    this.#store = typeof store === "string" ? openStore(store) : store;
    this.#refreshMs = (options.refreshSeconds ?? 2) * 1000;
    this.#now = options.nowMs ?? Date.now;
  }

  /** Alerts held back so far. */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Failed reads of the suppressions (the last list read stays in force). */
  get readErrors(): number {
    return this.#readErrors;
  }

  /** Suppressions in force at the last read. */
  active(): readonly Suppression[] {
    this.#refresh();
    return this.#active;
  }

  #refresh(): void {
    const now = this.#now();
    if (now - this.#readAt < this.#refreshMs) return;
    this.#readAt = now;
    try {
      this.#active = this.#store.activeSuppressions(new Date(now));
    } catch {
      // A busy or briefly locked store must not stop detection.
      this.#readErrors++;
    }
  }

  // The same alert asked about twice (sinks and the onAlert callback) is decided and counted once.
  readonly #decided = new WeakMap<Alert, boolean>();

  /** True when no active suppression covers `alert` (else it is counted, once). */
  allows(alert: Alert): boolean {
    let verdict = this.#decided.get(alert);
    if (verdict === undefined) {
      verdict = this.#decide(alert);
      this.#decided.set(alert, verdict);
    }
    return verdict;
  }

  #decide(alert: Alert): boolean {
    this.#refresh();
    if (this.#active.length === 0) return true;
    const nowIso = new Date(this.#now()).toISOString();
    for (const s of this.#active) {
      if (suppressionCovers(s, alert, nowIso)) {
        this.#suppressed++;
        return false;
      }
    }
    return true;
  }

  /** Keeps the alerts of `alerts` the gate allows. */
  filter(alerts: readonly Alert[]): Alert[] {
    return alerts.filter((a) => this.allows(a));
  }

  /** Closes the gate's own connection. */
  close(): void {
    if (this.#ownStore) this.#store.close();
  }
}

/** Wraps sinks so they only see the alerts `allows` lets through. */
export function gateSinks(sinks: AlertSink[], allows: (alert: Alert) => boolean): AlertSink[] {
  return sinks.map((sink) => ({
    name: sink.name,
    write(alerts) {
      const pass = alerts.filter(allows);
      return pass.length > 0 ? sink.write(pass) : undefined;
    },
    writeTraffic: sink.writeTraffic ? (minutes) => sink.writeTraffic!(minutes) : undefined,
    flush: () => sink.flush(),
    close: () => sink.close(),
  }));
}
