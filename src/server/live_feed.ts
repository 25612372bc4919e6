/**
 * Server-sent events for the dashboard: one poller reads new alerts from the
 * store (whoever wrote them: this process, a sensor in another process, an
 * upload job) and the sensors' status, and fans them out to every client.
 * Alerts carry their id as the event id, so a client that reconnects with
 * `Last-Event-ID` gets every alert it missed from the store: none is lost.
 * A client that stops reading is dropped once its queue is full (it
 * reconnects and catches up) rather than holding memory without bound.
 */
import type { AlertRow, AlertStore } from "../store/mod.ts";

/** Options of the feed. */
export interface LiveFeedOptions {
  /** How often the store is polled for new alerts, ms (default 250). */
  pollMs?: number;
  /** How often status and traffic are sent, ms (default 2000). */
  statusMs?: number;
  /** Bytes queued for one client before it is dropped (default 16 MiB). */
  maxQueuedBytes?: number;
  /** Alerts read per poll at most (default 5,000). */
  maxAlertsPerPoll?: number;
  /** Extra fields of every status event (server uptime, job counts, ...). */
  extraStatus?: () => Record<string, unknown>;
}

interface EncodedPage {
  count: number;
  lastId: number;
  bytes: Uint8Array;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Highest alert id sent to this client. */
  lastId: number;
  closed: boolean;
}

const encoder = new TextEncoder();

/** Formats one SSE event. */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${
    JSON.stringify(data)
  }\n\n`;
}

/** The fan-out. Start it once per server; `close` ends every stream. */
export class LiveFeed {
  readonly #store: AlertStore;
  readonly #options: Required<Omit<LiveFeedOptions, "extraStatus">>;
  readonly #extraStatus?: () => Record<string, unknown>;
  readonly #clients = new Set<Client>();
  #lastId: number;
  #pollTimer?: ReturnType<typeof setInterval>;
  #statusTimer?: ReturnType<typeof setInterval>;
  #dropped = 0;
  #sent = 0;

  constructor(store: AlertStore, options: LiveFeedOptions = {}) {
    this.#store = store;
    this.#options = {
      pollMs: options.pollMs ?? 250,
      statusMs: options.statusMs ?? 2000,
      maxQueuedBytes: options.maxQueuedBytes ?? 16 * 1024 * 1024,
      maxAlertsPerPoll: options.maxAlertsPerPoll ?? 5_000,
    };
    this.#extraStatus = options.extraStatus;
    this.#lastId = store.maxAlertId();
  }

  /** Starts polling. */
  start(): void {
    this.#pollTimer ??= setInterval(() => this.poll(), this.#options.pollMs);
    this.#statusTimer ??= setInterval(() => this.#broadcastStatus(), this.#options.statusMs);
  }

  /** Clients connected, alert events sent, clients dropped for not reading. */
  stats(): { clients: number; alertEventsSent: number; clientsDropped: number } {
    return {
      clients: this.#clients.size,
      alertEventsSent: this.#sent,
      clientsDropped: this.#dropped,
    };
  }

  /** The status event's payload: sensors' last status and recent traffic. */
  status(): Record<string, unknown> {
    return {
      sensors: this.#store.sensorStatuses(),
      traffic: this.#store.recentTraffic(60),
      max_alert_id: this.#lastId,
      ...(this.#extraStatus ? this.#extraStatus() : {}),
    };
  }

  /**
   * A new client stream. `afterId`: the last alert id it has (from
   * Last-Event-ID); missed alerts are replayed from the store first. Without
   * one, only alerts from now on are sent.
   */
  connect(afterId?: number): ReadableStream<Uint8Array> {
    let client: Client;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = { controller, lastId: afterId ?? this.#lastId, closed: false };
        this.#clients.add(client);
        // A comment line first so proxies and browsers see the stream open; retry hint in ms.
        controller.enqueue(encoder.encode(`retry: 2000\n: connected\n\n`));
        this.#send(client, sseEvent("status", this.status()));
        this.#catchUp(client);
      },
      cancel: () => this.#remove(client),
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.#options.maxQueuedBytes }));
  }

  /** Reads new alerts and sends them; also called by tests and after writes. */
  poll(): void {
    if (this.#clients.size === 0) {
      this.#lastId = this.#store.maxAlertId();
      return;
    }
    for (const client of this.#clients) this.#catchUp(client);
    this.#lastId = Math.max(this.#lastId, ...[...this.#clients].map((c) => c.lastId));
  }

  // Sends `client` every alert past its last id, in pages. A page is read and
  // encoded once and the same bytes go to every client at that position (the
  // usual case: all of them), as one chunk.
  #catchUp(client: Client): void {
    while (!client.closed) {
      const page = this.#page(client.lastId);
      if (page.count === 0) return;
      if (!this.#sendBytes(client, page.bytes)) return;
      this.#sent += page.count;
      client.lastId = page.lastId;
      if (page.count < this.#options.maxAlertsPerPoll) return;
    }
  }

  #pageCache: { after: number; at: number; page: EncodedPage } | null = null;

  #page(after: number): EncodedPage {
    const now = performance.now();
    const cached = this.#pageCache;
    if (cached && cached.after === after && now - cached.at < this.#options.pollMs / 2) {
      return cached.page;
    }
    const rows: AlertRow[] = this.#store.alertsAfter(after, this.#options.maxAlertsPerPoll);
    const text = rows.map((row) => sseEvent("alert", row, row.id)).join("");
    const page = {
      count: rows.length,
      lastId: rows.length ? rows[rows.length - 1].id : after,
      bytes: encoder.encode(text),
    };
    this.#pageCache = { after, at: now, page };
    return page;
  }

  #broadcastStatus(): void {
    if (this.#clients.size === 0) return;
    const text = sseEvent("status", this.status());
    for (const client of this.#clients) this.#send(client, text);
  }

  #send(client: Client, text: string): boolean {
    return this.#sendBytes(client, encoder.encode(text));
  }

  // False when the client is gone or was dropped for not reading.
  #sendBytes(client: Client, bytes: Uint8Array): boolean {
    if (client.closed) return false;
    const desired = client.controller.desiredSize;
    if (desired !== null && desired <= 0) {
      this.#dropped++;
      this.#remove(client);
      try {
        client.controller.close();
      } catch { /* already closed */ }
      return false;
    }
    try {
      client.controller.enqueue(bytes);
      return true;
    } catch {
      this.#remove(client);
      return false;
    }
  }

  #remove(client: Client): void {
    client.closed = true;
    this.#clients.delete(client);
  }

  /** Stops polling and ends every stream. */
  close(): void {
    clearInterval(this.#pollTimer);
    clearInterval(this.#statusTimer);
    for (const client of this.#clients) {
      this.#remove(client);
      try {
        client.controller.close();
      } catch { /* already closed */ }
    }
  }
}
