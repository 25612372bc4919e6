/**
 * The sensor's publisher: alerts, stats and feature rows to JetStream, as an
 * AlertSink that only enqueues (detection never waits for NATS). Messages go
 * out in order with publish acknowledgements; each carries an id
 * (Nats-Msg-Id) so a retry is de-duplicated by JetStream. While NATS is
 * unreachable, or when the memory queue is full, messages go to a bounded
 * on-disk buffer, which drains first, in order, when NATS returns. What the
 * buffer has to drop (oldest first) is counted.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { Alert, AlertSink } from "../alert/mod.ts";
import { type BufferedMessage, type DiskBuffer, openDiskBuffer } from "./disk_buffer.ts";
import { connectNats, type NatsSettings, redactNatsUrl } from "./connection.ts";
import { ensureFleetStreams } from "./streams.ts";
import { fleetSubject } from "./subjects.ts";
import {
  FLEET_PAYLOAD_VERSION,
  type FleetAlert,
  FleetAlertSchema,
  type FleetFlows,
  FleetFlowsSchema,
  type FleetStats,
  FleetStatsSchema,
} from "./schemas.ts";

/** Options of {@link createFleetPublisher}. */
export interface FleetPublisherOptions {
  nats: NatsSettings;
  /** The sensor id (subject token). */
  sensor: string;
  /** Folder of the on-disk buffer (one per sensor id). */
  bufferDir: string;
  /** Most bytes the disk buffer keeps (default 256 MiB). */
  maxBufferBytes?: number;
  /** Messages held in memory before spilling to disk (default 10 000). */
  memoryMessages?: number;
  /** Messages published concurrently before waiting for their acks (default 256). */
  window?: number;
  /** How long a publish waits for its ack, ms (default 5000). */
  ackTimeoutMs?: number;
  /** How long close() waits for the queue to drain before leaving the rest on disk, ms (default 15 000). */
  closeTimeoutMs?: number;
  /** Messages about the connection (default console.error). */
  log?: (line: string) => void;
}

/** Counters of a publisher. */
export interface FleetPublisherStats {
  /** Messages JetStream acknowledged (duplicates included: they were already stored). */
  published: number;
  /** Of those, acknowledged as duplicates of a message JetStream already had. */
  duplicates: number;
  /** Messages waiting in memory and on disk. */
  buffered: number;
  /** Bytes in the disk buffer. */
  bufferBytes: number;
  /** Messages the disk buffer dropped (full), ever. */
  dropped: number;
  /** Alerts handed over this run. */
  alertsSent: number;
  /** Payloads refused by their schema before leaving (a bug: counted, never sent). */
  invalid: number;
  connected: boolean;
}

/** The publisher: an AlertSink plus stats and feature rows. */
export interface FleetPublisher extends AlertSink {
  readonly sensor: string;
  /** This run's id (part of every alert id). */
  readonly run: string;
  /** Queues a stats message (fields the publisher knows are filled in). */
  publishStats(
    stats: Omit<
      FleetStats,
      "v" | "sensor" | "run" | "time" | "published" | "buffered" | "dropped" | "alerts_sent"
    >,
  ): void;
  /** Queues a batch of feature rows. */
  publishFlows(flows: Omit<FleetFlows, "v" | "sensor" | "run" | "time">): void;
  stats(): FleetPublisherStats;
  /** Resolves when nothing waits in memory or on disk (or `timeoutMs` passed: false). */
  drained(timeoutMs: number): Promise<boolean>;
}

/** Starts the publisher; the connection is made in the background (buffering until then). */
export async function createFleetPublisher(
  options: FleetPublisherOptions,
): Promise<FleetPublisher> {
  const log = options.log ?? ((line: string) => console.error(line));
  const sensor = options.sensor;
  const run = Date.now().toString(36);
  const memoryMax = Math.max(1, options.memoryMessages ?? 10_000);
  const windowSize = Math.max(1, options.window ?? 256);
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  const disk: DiskBuffer = await openDiskBuffer(options.bufferDir, {
    maxBytes: options.maxBufferBytes,
  });
  const subjects = {
    alerts: fleetSubject(sensor, "alerts"),
    stats: fleetSubject(sensor, "stats"),
    flows: fleetSubject(sensor, "flows"),
  };
  const counters = { published: 0, duplicates: 0, alertsSent: 0, invalid: 0 };
  let alertSeq = 0;
  let statsSeq = 0;
  let flowsSeq = 0;
  let memory: BufferedMessage[] = [];
  // "memory" while connected and the disk buffer is empty; else new messages go to disk.
  let mode: "memory" | "disk" = disk.size > 0 ? "disk" : "memory";
  let connection: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let connected = false;
  let closed = false;
  let wake: (() => void) | null = null;
  const kick = () => {
    wake?.();
    wake = null;
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  function enqueue(messages: BufferedMessage[]): void {
    if (messages.length === 0) return;
    if (mode === "memory" && connected && memory.length + messages.length <= memoryMax) {
      memory.push(...messages);
    } else {
      // Everything older than these must be on disk before them, so memory spills too.
      mode = "disk";
      const spill = memory;
      memory = [];
      disk.append([...spill, ...messages]).catch((error) => log(`fleet: buffer: ${error}`));
    }
    kick();
  }

  /** Publishes in order; returns how many from the front were acknowledged. */
  async function publishAll(messages: readonly BufferedMessage[]): Promise<number> {
    const client = js;
    if (!client) return 0;
    let done = 0;
    while (done < messages.length) {
      const slice = messages.slice(done, done + windowSize);
      const results = await Promise.allSettled(
        slice.map((m) => client.publish(m.subject, m.data, { msgID: m.id, timeout: ackTimeoutMs })),
      );
      for (const result of results) {
        if (result.status === "rejected") return done;
        counters.published++;
        if (result.value.duplicate) counters.duplicates++;
        done++;
      }
    }
    return done;
  }

  async function pump(): Promise<void> {
    while (true) {
      // After close() what is left stays on disk for the next run.
      if (closed) return;
      if (!connected || !js) {
        await sleep(250);
        continue;
      }
      if (disk.size > 0) {
        const segment = await disk.peek();
        if (!segment) {
          await sleep(20); // an append is still being written
          continue;
        }
        const sent = await publishAll(segment.records);
        await disk.settle(segment.seq, segment.records.slice(sent));
        if (sent < segment.records.length) await sleep(500);
        continue;
      }
      if (memory.length > 0) {
        const batch = memory.splice(0, windowSize * 4);
        const sent = await publishAll(batch);
        if (sent < batch.length) {
          mode = "disk";
          const rest = [...batch.slice(sent), ...memory];
          memory = [];
          await disk.prepend(rest);
          await sleep(500);
        }
        continue;
      }
      if (mode === "disk" && connected) mode = "memory";
      await sleep(1000);
    }
  }

  // Connect in the background: the sensor starts detecting at once and buffers meanwhile.
  const connecting = (async () => {
    try {
      let nc: NatsConnection | null = null;
      let reported = false;
      // The client's own waitOnFirstConnect cannot be cancelled; this loop stops on close().
      while (!nc) {
        try {
          nc = await connectNats(
            { ...options.nats, name: `ids-sensor ${sensor}` },
            { waitOnFirstConnect: false },
          );
        } catch (error) {
          if (closed) return;
          if (!reported) log(`fleet: NATS not reachable yet (${describe(error)}); buffering`);
          reported = true;
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (closed) return;
        }
      }
      connection = nc;
      try {
        await ensureFleetStreams(await jetstreamManager(nc));
      } catch (error) {
        log(`fleet: streams not checked (${describe(error)}); publishing anyway`);
      }
      js = jetstream(nc);
      connected = true;
      log(`fleet: publishing as sensor "${sensor}" to ${redactNatsUrl(options.nats.url)}`);
      kick();
      (async () => {
        for await (const status of nc.status()) {
          if (status.type === "disconnect") {
            connected = false;
            log(`fleet: NATS disconnected; buffering (${disk.dir})`);
          } else if (status.type === "reconnect") {
            connected = true;
            log(`fleet: NATS reconnected; draining ${memory.length + disk.size} messages`);
            kick();
          }
        }
      })().catch(() => {});
    } catch (error) {
      if (!closed) log(`fleet: cannot connect to NATS: ${describe(error)}`);
    }
  })();
  const pumping = pump().catch((error) => log(`fleet: publisher stopped: ${describe(error)}`));

  function check<T>(schema: { safeParse(x: unknown): { success: boolean } }, payload: T) {
    if (schema.safeParse(payload).success) return true;
    counters.invalid++;
    return false;
  }

  function stats(): FleetPublisherStats {
    return {
      ...counters,
      buffered: memory.length + disk.size,
      bufferBytes: disk.bytes,
      dropped: disk.dropped,
      connected,
    };
  }

  async function drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (memory.length + disk.size > 0) {
      if (Date.now() >= deadline) return false;
      kick();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  }

  return {
    name: "fleet",
    sensor,
    run,
    write(alerts: readonly Alert[]) {
      if (closed || alerts.length === 0) return;
      const messages: BufferedMessage[] = [];
      for (const alert of alerts) {
        alertSeq++;
        const id = `${sensor}-${run}-${alertSeq}`;
        const payload: FleetAlert = {
          v: FLEET_PAYLOAD_VERSION,
          id,
          sensor,
          seq: alertSeq,
          run,
          alert,
        };
        if (!check(FleetAlertSchema, payload)) continue;
        counters.alertsSent++;
        messages.push({ subject: subjects.alerts, id, data: JSON.stringify(payload) });
      }
      enqueue(messages);
    },
    publishStats(values) {
      if (closed) return;
      statsSeq++;
      const s = stats();
      const payload: FleetStats = {
        v: FLEET_PAYLOAD_VERSION,
        sensor,
        run,
        time: new Date().toISOString(),
        ...values,
        published: s.published,
        // This message itself is waiting too.
        buffered: s.buffered + 1,
        dropped: s.dropped,
        alerts_sent: counters.alertsSent,
      };
      if (!check(FleetStatsSchema, payload)) return;
      enqueue([{
        subject: subjects.stats,
        id: `${sensor}-${run}-s${statsSeq}`,
        data: JSON.stringify(payload),
      }]);
    },
    publishFlows(values) {
      if (closed || values.flows.length === 0) return;
      flowsSeq++;
      const payload: FleetFlows = {
        v: FLEET_PAYLOAD_VERSION,
        sensor,
        run,
        time: new Date().toISOString(),
        ...values,
      };
      if (!check(FleetFlowsSchema, payload)) return;
      enqueue([{
        subject: subjects.flows,
        id: `${sensor}-${run}-f${flowsSeq}`,
        data: JSON.stringify(payload),
      }]);
    },
    stats,
    drained,
    flush: () => Promise.resolve(),
    async close() {
      if (closed) return;
      const timeoutMs = options.closeTimeoutMs ?? 15_000;
      const complete = connected ? await drained(timeoutMs) : false;
      closed = true;
      if (!complete && memory.length > 0) {
        // Whatever NATS did not take waits on disk for the next run.
        const rest = memory;
        memory = [];
        await disk.append(rest);
      }
      kick();
      await Promise.race([pumping, new Promise((r) => setTimeout(r, 1000))]);
      const nc = connection as NatsConnection | null;
      if (nc) await nc.close().catch(() => {});
      await connecting;
      const left = memory.length + disk.size;
      if (left > 0) log(`fleet: ${left} messages left in ${disk.dir} for the next run`);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
