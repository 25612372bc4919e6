/**
 * Flow metering inside the capture workers. At line rate one main thread
 * cannot meter every capture worker's packets and score too: instead each
 * capture worker meters its own packets in its own flow table (with
 * PACKET_FANOUT by host pair it sees whole flows, both directions) and posts
 * completed flows as FlowBatch rows; the main thread only scores and alerts.
 * Each table gets an equal share of the memcap, as FlowMeterShards does.
 *
 * Backpressure: a worker holds at most `MAX_PENDING_BATCHES` posted batches
 * the main thread has not taken yet; at the bound it waits (counted as a ring
 * overrun) while the kernel buffer absorbs, and pcap_stats counts any loss.
 */
import type { InWorkerConsumerOptions } from "../capture/mod.ts";
import {
  DETECTION_METER_DEFAULTS,
  type FlowBatch,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  type PacketFinding,
} from "../features/mod.ts";
import { addCounters, shareOfMeter } from "./meter_shards.ts";

/** What each metering capture worker's consumer gets. */
export interface MeteringWorkerOptions {
  meter: FlowMeterOptions;
  /** Int32 word: batches posted and not yet taken by the main thread. */
  pending: SharedArrayBuffer;
  maxPending: number;
  /** Milliseconds between counter reports while packets flow. */
  reportMs: number;
}

/** What a metering capture worker posts. */
export type MeteringWorkerMessage =
  | { type: "flows"; flows: FlowBatch }
  | { type: "findings"; findings: PacketFinding[] }
  | { type: "meter"; counters: FlowMeterCounters; wireBytes: number; final: boolean };

/** Flow batches a worker may have posted and the main thread not yet taken (about 1.3 MB each at most). */
export const MAX_PENDING_BATCHES = 16;

/** Live capture workers that meter their own packets, seen as one flow source. */
export class CaptureWorkerMeters {
  /** Give this to the live capture (LiveCaptureOptions.inWorker). */
  readonly inWorker: InWorkerConsumerOptions;
  readonly #share: FlowMeterOptions;
  readonly #memcapBytes: number;
  readonly #pending: Int32Array[];
  readonly #queue: { worker: number; flows: FlowBatch }[] = [];
  #findings: PacketFinding[] = [];
  /** Latest counters of each running worker, and the sum of workers that finished. */
  readonly #running = new Map<number, FlowMeterCounters>();
  #finished: FlowMeterCounters | null = null;
  readonly #runningBytes = new Map<number, number>();
  #finishedBytes = 0;
  #zero: FlowMeterCounters | null = null;
  #wake: (() => void) | null = null;

  /** `workers`: capture workers in all (interfaces times workers per interface). */
  constructor(workers: number, options: FlowMeterOptions = {}) {
    const meter = { ...DETECTION_METER_DEFAULTS, ...options };
    this.#share = shareOfMeter(meter, workers);
    this.#memcapBytes = meter.memcapBytes ?? Infinity;
    this.#pending = Array.from({ length: workers }, () => new Int32Array(new SharedArrayBuffer(4)));
    this.inWorker = {
      module: new URL("./metering_capture_worker.ts", import.meta.url),
      options: (worker): MeteringWorkerOptions => ({
        meter: this.#share,
        pending: this.#pending[worker].buffer as SharedArrayBuffer,
        maxPending: MAX_PENDING_BATCHES,
        reportMs: 500,
      }),
      onMessage: (worker, message) => this.#receive(worker, message as MeteringWorkerMessage),
    };
  }

  #receive(worker: number, message: MeteringWorkerMessage): void {
    if (message.type === "flows") this.#queue.push({ worker, flows: message.flows });
    else if (message.type === "findings") this.#findings.push(...message.findings);
    else if (message.final) {
      this.#finished = this.#finished
        ? addCounters(this.#finished, message.counters)
        : message.counters;
      this.#finishedBytes += message.wireBytes;
      this.#running.delete(worker);
      this.#runningBytes.delete(worker);
    } else {
      this.#running.set(worker, message.counters);
      this.#runningBytes.set(worker, message.wireBytes);
    }
    this.#wake?.();
  }

  /**
   * Completed flows from every worker, until `capture` ends and every
   * worker's last batch has arrived. Iterating drives `capture` (it yields
   * no packets: the workers keep them); a consumer that stops early stops it.
   */
  async *flows(capture: AsyncIterable<unknown>, stop: () => void): AsyncGenerator<FlowBatch> {
    let ended = false;
    let failure: unknown = null;
    const driving = (async () => {
      for await (const _ of capture) { /* the workers keep the packets */ }
    })().then(
      () => ended = true,
      (error) => [ended, failure] = [true, error],
    ).finally(() => this.#wake?.());
    try {
      while (true) {
        const next = this.#queue.shift();
        if (next) {
          yield next.flows;
          const pending = this.#pending[next.worker];
          Atomics.sub(pending, 0, 1);
          Atomics.notify(pending, 0);
          continue;
        }
        if (ended) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = null;
      }
    } finally {
      if (!ended) stop();
      await driving;
    }
  }

  /** What the workers' packet monitors found since the last call. */
  takeFindings(): PacketFinding[] {
    const out = this.#findings;
    if (out.length > 0) this.#findings = [];
    return out;
  }

  /** Every worker's meter counters, added up (the live table's figures from running workers only). */
  counters(): FlowMeterCounters {
    const running = [...this.#running.values()];
    const all = this.#finished ? [this.#finished, ...running] : running;
    this.#zero ??= new FlowMeter({ ...this.#share, maxFlows: 1 }).counters();
    const sum = all.reduce((a, b) => addCounters(a, b), this.#zero);
    // Gauges describe the tables that exist now; the memcap is the one the user set.
    sum.flowsLive = running.reduce((n, c) => n + c.flowsLive, 0);
    sum.tableBytes = running.reduce((n, c) => n + c.tableBytes, 0);
    sum.tableBytesInUse = running.reduce((n, c) => n + c.tableBytesInUse, 0);
    sum.emergency = running.some((c) => c.emergency);
    sum.memcapBytes = this.#memcapBytes;
    return sum;
  }

  /** Wire bytes of the packets metered so far. */
  get wireBytes(): number {
    let bytes = this.#finishedBytes;
    for (const n of this.#runningBytes.values()) bytes += n;
    return bytes;
  }
}
