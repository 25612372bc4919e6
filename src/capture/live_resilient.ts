/**
 * A live capture that survives its interface vanishing (a USB adapter
 * pulled, a VM's NIC detached, a veth deleted). Without `reopen` the stream
 * simply ends at the fault and `fault` says what happened, so the consumer
 * ends every open flow, scores it, flushes its sinks and reports, instead of
 * dying with flows in flight. With `reopen` it waits for the interfaces to
 * come back (polling once a second, until stopped) and captures again; a
 * duration counts from the first start.
 */
import {
  type LiveCapture,
  type LiveCaptureOptions,
  type LiveInterfaceStats,
  type LivePacketBatch,
  openLiveCapture,
} from "./live_source.ts";
import type { CaptureWorkerReady } from "./live_worker_client.ts";

/** What to do when capture fails while running. */
export interface ResilienceOptions {
  /** Wait for the interfaces to return and capture again (default false: end the stream). */
  reopen?: boolean;
  /** Called with a one-line message at a fault and at each reopening. */
  log?: (message: string) => void;
  /** How often to look for the interfaces while they are gone (default 1000 ms). */
  pollMs?: number;
}

/** A LiveCapture that reports faults instead of throwing them mid-stream. */
export interface ResilientLiveCapture extends LiveCapture {
  /** The fault that ended the stream (null: it ended by duration or stop()). */
  readonly fault: Error | null;
  /** Faults survived by reopening. */
  readonly reopened: number;
}

/**
 * Opens a live capture whose stream ends (or, with `reopen`, pauses) at a
 * fault rather than throwing; the first open's errors (no such interface,
 * bad filter, no permission) still reject `ready`, as openLiveCapture's do.
 */
export function openResilientCapture(
  options: LiveCaptureOptions,
  resilience: ResilienceOptions = {},
): ResilientLiveCapture {
  const log = resilience.log ?? ((message: string) => console.error(message));
  const pollMs = resilience.pollMs ?? 1000;
  const startedMs = performance.now();
  const durationMs = (options.durationSeconds ?? 0) * 1000;
  let current = openLiveCapture(options);
  let stopped = false;
  let fault: Error | null = null;
  let reopened = 0;
  /** Counters of captures that ended, by capture worker position, added to the current one's. */
  const earlier = new Map<number, LiveInterfaceStats>();
  /** True while `current` has failed and its counters sit in `earlier`. */
  let currentKept = false;
  let wake: (() => void) | null = null;

  const remainingSeconds = () =>
    durationMs > 0 ? Math.max(0, (durationMs - (performance.now() - startedMs)) / 1000) : 0;
  const present = () =>
    options.interfaces.every((name) => {
      try {
        Deno.statSync(`/sys/class/net/${name}`);
        return true;
      } catch {
        return false;
      }
    });
  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  const keepStats = (capture: LiveCapture) => {
    capture.stats().forEach((s, worker) => {
      const before = earlier.get(worker);
      earlier.set(worker, before ? addStats(before, s) : { ...s });
    });
    currentKept = true;
  };

  async function* stream(): AsyncGenerator<LivePacketBatch> {
    while (true) {
      try {
        for await (const batch of current) yield batch;
        return;
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        keepStats(current);
        if (!resilience.reopen || stopped) {
          fault = failure;
          log(`ids-sensor: capture failed: ${failure.message}`);
          return;
        }
        log(
          `ids-sensor: capture failed: ${failure.message}; waiting for ` +
            `${options.interfaces.join(", ")} to come back (--reopen)`,
        );
      }
      // Reopen: wait for the interfaces, then try until an open succeeds.
      while (!stopped) {
        if (durationMs > 0 && remainingSeconds() === 0) return;
        if (present()) {
          const next = openLiveCapture({ ...options, durationSeconds: remainingSeconds() });
          try {
            await next.ready;
            current = next;
            currentKept = false;
            reopened++;
            log(`ids-sensor: capturing again on ${options.interfaces.join(", ")}`);
            break;
          } catch {
            next.stop();
          }
        }
        await sleep();
      }
      if (stopped) return;
    }
  }

  return {
    ready: current.ready as Promise<CaptureWorkerReady[]>,
    stop() {
      stopped = true;
      current.stop();
      wake?.();
    },
    stats() {
      if (currentKept) return [...earlier.values()];
      return current.stats().map((s, worker) => {
        const before = earlier.get(worker);
        return before ? addStats(before, s) : s;
      });
    },
    get fault() {
      return fault;
    },
    get reopened() {
      return reopened;
    },
    [Symbol.asyncIterator]: () => stream(),
  };
}

/** Counters of two captures by one capture worker (same interface), added. */
function addStats(a: LiveInterfaceStats, b: LiveInterfaceStats): LiveInterfaceStats {
  const sum = { ...b };
  for (const key of Object.keys(b) as (keyof LiveInterfaceStats)[]) {
    if (typeof a[key] === "number" && typeof b[key] === "number") {
      (sum as Record<string, unknown>)[key] = (a[key] as number) + (b[key] as number);
    }
  }
  return sum;
}
