/**
 * A notifier: an AlertSink for one target whose `write` only filters and
 * enqueues (no I/O), so detection never waits for a receiver. A delivery
 * loop sends in order; a failed send is retried with backoff, then the
 * message (and everything queued behind it) goes to the on-disk spool, which
 * drains, oldest first, when the target answers again. Past the target's
 * rate limit alerts are held back and one digest per window summarises them.
 */
import { join } from "node:path";
import type { Alert, AlertSink } from "../alert/mod.ts";
import { makeDigest, type NotifyMessage } from "./message.ts";
import { openSpool, type Spool } from "./spool.ts";
import { type NotifyTarget, parseNotifyTarget } from "./target.ts";
import { createTransport, RejectedError, type Transport } from "./transport.ts";

/** Options of a notifier. */
export interface NotifierOptions {
  /** Folder holding one spool folder per target. */
  spoolDir: string;
  /** Most messages a target's spool keeps (default 10 000). */
  spoolMaxMessages?: number;
  /** Waits between the attempts of a fresh message before it is spooled (default 500, 2000, 8000 ms). */
  retryDelaysMs?: number[];
  /** Longest wait between attempts while a target is down (default 60 000 ms; doubles up to it). */
  maxBackoffMs?: number;
  /** Messages held in memory before the rest is spooled (default 1000). */
  queueLimit?: number;
  /** `close` waits this long for the queue to be delivered, then spools the rest (default 5000 ms). */
  closeTimeoutMs?: number;
  /** A send taking longer fails (default 10 000 ms). */
  sendTimeoutMs?: number;
  /** Where state changes are reported (default: console.error). */
  log?: (line: string) => void;
  /** Opens the transport (tests substitute nothing here; kept for other senders). */
  transport?: (target: NotifyTarget) => Transport;
}

/** Counters of one notifier. */
export interface NotifierStats {
  target: string;
  kind: NotifyTarget["kind"];
  /** Messages delivered. */
  sent: number;
  /** Send attempts that failed (each retry counts). */
  failures: number;
  /** Messages the receiver refused for good (HTTP 4xx): counted, not retried. */
  rejected: number;
  /** Alerts below the target's minimum severity. */
  belowSeverity: number;
  /** Alerts over the rate limit, summarised in digests instead. */
  heldBack: number;
  digests: number;
  /** Messages waiting in memory. */
  queued: number;
  /** Messages ever moved to the spool. */
  spooled: number;
  /** Messages in the spool now. */
  spoolSize: number;
  /** Messages the full spool discarded (oldest first). */
  spoolDropped: number;
  /** Whether the last attempt failed. */
  down: boolean;
}

/** A notifier sink with its counters. */
export interface Notifier extends AlertSink {
  readonly target: NotifyTarget;
  stats(): NotifierStats;
}

const DIGEST_SAMPLE = 1000;

/**
 * A stable folder name for a target's spool: the kind and a hash of the URL
 * without `rate` and `min_severity` (secrets stay out of paths).
 */
export async function spoolFolderName(target: NotifyTarget): Promise<string> {
  // Where messages go, not how many or which: a new rate= or min_severity= keeps the spool.
  const where = new URL(target.url);
  where.searchParams.delete("rate");
  where.searchParams.delete("min_severity");
  where.searchParams.sort();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(where.href));
  const hex = [...new Uint8Array(digest)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `${target.kind}-${hex}`;
}

/** Creates the notifier for `target` (a URL or a parsed target) and starts its delivery loop. */
export async function createNotifier(
  target: NotifyTarget | string,
  options: NotifierOptions,
): Promise<Notifier> {
  const t = typeof target === "string" ? parseNotifyTarget(target) : target;
  const spool: Spool = await openSpool(join(options.spoolDir, await spoolFolderName(t)), {
    maxMessages: options.spoolMaxMessages,
  });
  const transport = (options.transport ?? ((x) =>
    createTransport(x, {
      timeoutMs: options.sendTimeoutMs,
    })))(t);
  const retryDelays = options.retryDelaysMs ?? [500, 2000, 8000];
  const maxBackoff = options.maxBackoffMs ?? 60_000;
  const queueLimit = options.queueLimit ?? 1000;
  const log = options.log ?? ((line: string) => console.error(line));
  const name = `ids-sensor: notify ${t.label}`;

  const counts = {
    sent: 0,
    failures: 0,
    rejected: 0,
    belowSeverity: 0,
    heldBack: 0,
    digests: 0,
    spooled: 0,
  };
  const queue: NotifyMessage[] = [];
  /** True while queue[0] is being sent from memory. */
  let headInFlight = false;
  let down = false;
  let closing = false;
  let abandon = false;
  /** Set when close gave up waiting: the queue (in-flight message included) is close's now. */
  let detached = false;
  let loopDone = false;
  let closed = false;

  // Rate limit: fixed windows of `rate.seconds` starting at the first alert.
  let windowStart = 0;
  let windowSent = 0;
  let held: Alert[] = [];
  let heldCount = 0;

  // New work wakes an idle loop; only close cuts a backoff wait short.
  let idleWake: (() => void) | null = null;
  let sleepWake: (() => void) | null = null;
  const wake = () => {
    idleWake?.();
    idleWake = null;
  };
  const interrupt = () => {
    wake();
    sleepWake?.();
    sleepWake = null;
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        sleepWake = null;
        resolve();
      }, ms);
      sleepWake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  function closeWindow(now: number) {
    if (heldCount > 0) {
      queue.push({
        type: "digest",
        digest: makeDigest(held, heldCount, windowStart, windowStart + t.rate.seconds * 1000),
      });
      counts.digests++;
      held = [];
      heldCount = 0;
      wake();
    }
    windowStart = now;
    windowSent = 0;
  }

  // A digest is due when its window ends, even if no alert follows.
  const windowTimer = setInterval(() => {
    const now = Date.now();
    if (heldCount > 0 && now >= windowStart + t.rate.seconds * 1000) closeWindow(now);
  }, Math.min(1000, t.rate.seconds * 1000));
  Deno.unrefTimer(windowTimer);

  let spilling: Promise<void> = Promise.resolve();
  function spillQueue() {
    // Memory is bounded: what is queued behind the message being sent goes to disk, in order.
    const keep = headInFlight ? 1 : 0;
    const moved = queue.splice(keep);
    if (moved.length === 0) return;
    counts.spooled += moved.length;
    spilling = spilling.then(() => spool.append(moved)).catch((e) => log(`${name}: spool: ${e}`));
  }

  async function sendWithRetries(message: NotifyMessage): Promise<"sent" | "rejected" | "failed"> {
    for (let attempt = 0;; attempt++) {
      try {
        await transport.send(message);
        return "sent";
      } catch (error) {
        counts.failures++;
        if (error instanceof RejectedError) {
          counts.rejected++;
          log(`${name}: the receiver refused a message (${error.message}); not retried`);
          return "rejected";
        }
        if (!down) log(`${name}: delivery failed (${describe(error)}); retrying`);
        down = true;
        if (attempt >= retryDelays.length || closing) return "failed";
        await sleep(retryDelays[attempt]);
      }
    }
  }

  async function deliveryLoop() {
    let backoff = retryDelays[0] ?? 500;
    while (true) {
      await spilling;
      if (spool.size > 0) {
        if (closing && (down || abandon)) break;
        if (down && queue.length > 0) {
          // While the target is away everything new goes behind the spooled messages.
          counts.spooled += queue.length;
          await spool.append(queue.splice(0));
        }
        const message = await spool.peek();
        if (!message) continue;
        try {
          await transport.send(message);
          counts.sent++;
          await spool.shift();
          if (detached) return;
          if (down) log(`${name}: delivering again; ${spool.size} spooled messages left`);
          down = false;
          backoff = retryDelays[0] ?? 500;
        } catch (error) {
          counts.failures++;
          if (detached) return;
          if (error instanceof RejectedError) {
            counts.rejected++;
            log(`${name}: the receiver refused a spooled message (${error.message}); dropped`);
            await spool.shift();
            continue;
          }
          if (!down) log(`${name}: delivery failed (${describe(error)}); spooling`);
          down = true;
          if (closing) break;
          await sleep(backoff);
          backoff = Math.min(backoff * 2, maxBackoff);
        }
        continue;
      }
      if (queue.length > 0) {
        if (closing && abandon) break;
        headInFlight = true;
        const message = queue[0];
        const outcome = await sendWithRetries(message);
        if (detached) {
          if (outcome === "sent") counts.sent++;
          return;
        }
        queue.shift();
        headInFlight = false;
        if (outcome === "sent") {
          counts.sent++;
          if (down) log(`${name}: delivering again`);
          down = false;
        } else if (outcome === "failed") {
          await spilling;
          counts.spooled += 1 + queue.length;
          await spool.prepend(message);
          await spool.append(queue.splice(0));
          log(`${name}: target unreachable; ${spool.size} messages spooled in ${spool.dir}`);
          if (closing) break;
        }
        continue;
      }
      if (closing) break;
      await new Promise<void>((resolve) => (idleWake = resolve));
    }
  }
  const loop = deliveryLoop()
    .catch((error) => log(`${name}: delivery stopped: ${error}`))
    .finally(() => (loopDone = true));

  return {
    name: `notify ${t.label}`,
    target: t,
    write(alerts) {
      if (closed || closing) throw new Error(`${name} is closed`);
      const now = Date.now();
      for (const alert of alerts) {
        if (alert.alert.severity > t.minSeverity) {
          counts.belowSeverity++;
          continue;
        }
        if (now >= windowStart + t.rate.seconds * 1000) closeWindow(now);
        if (windowSent < t.rate.count) {
          windowSent++;
          queue.push({ type: "alert", alert });
        } else {
          counts.heldBack++;
          heldCount++;
          if (held.length < DIGEST_SAMPLE) held.push(alert);
        }
      }
      if (queue.length > queueLimit) spillQueue();
      wake();
    },
    flush() {
      // Delivery is asynchronous by design: the detector never waits for a receiver.
      return Promise.resolve();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(windowTimer);
      if (heldCount > 0) closeWindow(Date.now());
      closing = true;
      interrupt();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        loop,
        new Promise<void>((resolve) =>
          timer = setTimeout(() => {
            abandon = true;
            interrupt();
            resolve();
          }, options.closeTimeoutMs ?? 5000)
        ),
      ]);
      clearTimeout(timer);
      // A send still hanging at the deadline is not waited for: its message is spooled with
      // the rest (delivery is at least once: it may arrive twice, it is never lost).
      if (!loopDone) detached = true;
      else await loop;
      await spilling;
      if (queue.length > 0) {
        counts.spooled += queue.length;
        await spool.append(queue.splice(0));
      }
      if (spool.size > 0) {
        log(`${name}: ${spool.size} undelivered messages kept in ${spool.dir} for the next run`);
      }
      await transport.close();
    },
    stats() {
      return {
        target: t.label,
        kind: t.kind,
        ...counts,
        queued: queue.length,
        spoolSize: spool.size,
        spoolDropped: spool.dropped,
        down,
      };
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
