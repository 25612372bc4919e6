/**
 * The console's side of the fleet (`serve --nats`): a durable JetStream
 * consumer reads every sensor's alerts and stats into the store. A batch is
 * written in one transaction and acknowledged only after it committed; an
 * alert delivered again (reconnect, redelivery after a crash) meets the
 * store's unique index on its fleet id and is skipped, so the store holds it
 * exactly once. A payload that fails its schema is counted and acknowledged
 * (retrying would never make it valid).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import type { AlertStore, AlertToStore } from "../store/mod.ts";
import { connectNats, type NatsSettings, redactNatsUrl } from "./connection.ts";
import { FleetAlertSchema, FleetStatsSchema } from "./schemas.ts";
import { ensureFleetStreams } from "./streams.ts";
import { DEFAULT_DURABLE, EVENTS_STREAM, parseFleetSubject } from "./subjects.ts";

/** Options of {@link startFleetCollector}. */
export interface FleetCollectorOptions {
  nats: NatsSettings;
  /** The console's store (the collector writes alerts and sensor status into it). */
  store: AlertStore;
  /** Durable consumer name (default "ids-console"): one per store. */
  durable?: string;
  /** Messages fetched (and written in one transaction) at most at once (default 500). */
  batch?: number;
  log?: (line: string) => void;
}

/** What the collector did. */
export interface FleetCollectorStats {
  /** Alerts newly stored. */
  alertsStored: number;
  /** Alerts delivered again and skipped (already stored). */
  alertsDuplicate: number;
  statsMessages: number;
  /** Messages refused by their schema (acknowledged, not stored). */
  invalid: number;
  connected: boolean;
  /** Sensors heard from, by id: messages received. */
  sensors: Record<string, number>;
}

/** A running collector. */
export interface FleetCollector {
  stats(): FleetCollectorStats;
  close(): Promise<void>;
}

/** Prefix of fleet sensors' rows in the store's sensor_status table. */
export const FLEET_STATUS_PREFIX = "fleet:";

/** Starts consuming in the background (connecting, and reconnecting, as needed). */
export function startFleetCollector(options: FleetCollectorOptions): FleetCollector {
  const log = options.log ?? ((line: string) => console.error(line));
  const durable = options.durable ?? DEFAULT_DURABLE;
  const batchSize = Math.max(1, options.batch ?? 500);
  const counters: FleetCollectorStats = {
    alertsStored: 0,
    alertsDuplicate: 0,
    statsMessages: 0,
    invalid: 0,
    connected: false,
    sensors: {},
  };
  let closed = false;
  let connection: NatsConnection | null = null;
  const decoder = new TextDecoder();

  /** Writes one fetched batch; returns when it is committed. */
  function store(messages: JsMsg[]): void {
    const alerts: AlertToStore[] = [];
    const statuses = new Map<string, Record<string, unknown>>();
    for (const message of messages) {
      const where = parseFleetSubject(message.subject);
      let payload: unknown;
      try {
        payload = JSON.parse(decoder.decode(message.data));
      } catch {
        counters.invalid++;
        continue;
      }
      if (where?.kind === "alerts") {
        const parsed = FleetAlertSchema.safeParse(payload);
        if (!parsed.success || parsed.data.sensor !== where.sensor) {
          counters.invalid++;
          continue;
        }
        alerts.push({
          alert: parsed.data.alert,
          source: "fleet",
          sensor: parsed.data.sensor,
          eventId: parsed.data.id,
        });
      } else if (where?.kind === "stats") {
        const parsed = FleetStatsSchema.safeParse(payload);
        if (!parsed.success || parsed.data.sensor !== where.sensor) {
          counters.invalid++;
          continue;
        }
        counters.statsMessages++;
        // Newest wins; stats of a sensor arrive in order on its subject.
        statuses.set(parsed.data.sensor, { ...parsed.data, received_at: new Date().toISOString() });
      } else {
        counters.invalid++;
        continue;
      }
      const sensor = where.sensor;
      counters.sensors[sensor] = (counters.sensors[sensor] ?? 0) + 1;
    }
    if (alerts.length > 0) {
      const stored = options.store.write(alerts).length;
      counters.alertsStored += stored;
      counters.alertsDuplicate += alerts.length - stored;
    }
    for (const [sensor, status] of statuses) {
      options.store.writeSensorStatus(FLEET_STATUS_PREFIX + sensor, status);
    }
  }

  async function consume(): Promise<void> {
    let reported = false;
    while (!closed) {
      try {
        connection ??= await connectNats({ ...options.nats, name: "ids-sensor console" }, {
          waitOnFirstConnect: false,
        });
        const nc = connection;
        const jsm = await jetstreamManager(nc);
        await ensureFleetStreams(jsm);
        try {
          await jsm.consumers.info(EVENTS_STREAM, durable);
        } catch {
          await jsm.consumers.add(EVENTS_STREAM, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ack_wait: 30_000_000_000,
            max_ack_pending: 20_000,
          });
        }
        const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, durable);
        if (!counters.connected) {
          log(
            `fleet: collecting alerts and stats from ${redactNatsUrl(options.nats.url)} ` +
              `(durable consumer "${durable}")`,
          );
        }
        counters.connected = true;
        reported = false;
        while (!closed) {
          const fetched = await consumer.fetch({ max_messages: batchSize, expires: 1000 });
          const messages: JsMsg[] = [];
          for await (const message of fetched) messages.push(message);
          if (messages.length === 0) continue;
          store(messages);
          // Acknowledged after the commit: a crash in between means a redelivery, which the
          // unique index turns into a skip.
          for (const message of messages) message.ack();
          await nc.flush();
        }
      } catch (error) {
        counters.connected = false;
        if (closed) return;
        if (!reported) log(`fleet: collector waiting for NATS (${describe(error)})`);
        reported = true;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
  const running = consume();

  return {
    stats: () => ({ ...counters, sensors: { ...counters.sensors } }),
    async close() {
      closed = true;
      await Promise.race([running, new Promise((r) => setTimeout(r, 2500))]);
      await connection?.close().catch(() => {});
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
