/**
 * The main-thread side of one capture worker: spawns it, tracks its state
 * through the shared ring, stops it, and reads its counters.
 */
import { type LiveHandleOptions, PcapError, type PcapErrorKind } from "../ffi/mod.ts";
import {
  COUNTER_INTERFACE_DROPPED,
  COUNTER_KERNEL_DROPPED,
  COUNTER_PACKETS_CAPTURED,
  COUNTER_RECEIVED,
  COUNTER_RING_OVERRUNS,
  createRing,
  type RingViews,
  STATE,
  STOP,
  TAIL,
  WORKER_DONE,
  WORKER_FAILED,
} from "./live_ring.ts";
import type { CaptureWorkerReply, CaptureWorkerRequest } from "./capture_loops.ts";

/** Counters of one interface's capture. */
export interface LiveInterfaceStats {
  interfaceName: string;
  /** Packets the kernel received for this capture (pcap_stats ps_recv, after the filter). */
  received: number;
  /** Packets lost because the kernel capture buffer was full (ps_drop). */
  kernelDropped: number;
  /** Packets the interface or driver dropped (ps_ifdrop). */
  interfaceDropped: number;
  /** Times every ring slot was full and capture waited for the consumer. */
  ringOverruns: number;
  /** Packets libpcap handed to the ring or the file. */
  captured: number;
}

/** What the worker reported once the interface was open. */
export interface CaptureWorkerReady {
  linkType: number;
  snapLength: number;
}

/** Options for spawning one capture worker. */
export interface CaptureWorkerOptions {
  handle: LiveHandleOptions;
  slotCount: number;
  slotBytes: number;
  wakeup: SharedArrayBuffer;
  durationSeconds: number;
  filePath?: string;
  /**
   * A worker module that handles packets itself (it calls
   * serveCaptureRequests with a consumer factory), instead of live_worker.ts.
   */
  workerModule?: URL;
  /** Given to that module's consumer factory. */
  consumerOptions?: unknown;
  /** Gets the consumer's own messages, in the order it posted them. */
  onMessage?: (message: unknown) => void;
}

/** One capture worker seen from the main thread. */
export class CaptureWorker {
  readonly interfaceName: string;
  readonly ring: RingViews;
  /** Resolves once capturing; rejects with a PcapError saying why it could not start. */
  readonly ready: Promise<CaptureWorkerReady>;
  /** Resolves when the worker has finished (stopped, timed out, or failed). */
  readonly finished: Promise<void>;
  #failure: PcapError | null = null;
  #worker: Worker;

  constructor(options: CaptureWorkerOptions) {
    this.interfaceName = options.handle.interfaceName;
    this.ring = createRing(options.slotCount, options.slotBytes);
    const module = options.workerModule ?? new URL("./live_worker.ts", import.meta.url);
    this.#worker = new Worker(module.href, {
      type: "module",
    });
    let resolveReady!: (value: CaptureWorkerReady) => void;
    let rejectReady!: (error: PcapError) => void;
    let resolveFinished!: () => void;
    this.ready = new Promise((resolve, reject) => [resolveReady, rejectReady] = [resolve, reject]);
    this.ready.catch(() => {}); // callers who never await `ready` still see the failure via `failure`
    this.finished = new Promise((resolve) => resolveFinished = resolve);
    const fail = (error: PcapError) => {
      this.#failure ??= error;
      Atomics.store(this.ring.control, STATE, WORKER_FAILED);
      rejectReady(this.#failure);
      resolveFinished();
    };
    this.#worker.onmessage = (event: MessageEvent<CaptureWorkerReply | { type: "finished" }>) => {
      const reply = event.data;
      if (reply.type === "running") resolveReady(reply);
      else if (reply.type === "failed") {
        fail(new PcapError(reply.kind as PcapErrorKind, reply.message));
      } else if (reply.type === "finished") resolveFinished();
      else options.onMessage?.(reply);
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      fail(new PcapError("capture", `capture worker for ${this.interfaceName}: ${event.message}`));
    };
    this.finished.then(() => this.#worker.terminate());
    const request: CaptureWorkerRequest = {
      handle: options.handle,
      ring: this.ring.buffer,
      slotCount: options.slotCount,
      slotBytes: options.slotBytes,
      wakeup: options.wakeup,
      durationSeconds: options.durationSeconds,
      filePath: options.filePath,
      consumerOptions: options.consumerOptions,
    };
    this.#worker.postMessage(request);
  }

  /** The error that stopped this worker, once its message has arrived. */
  get failure(): PcapError | null {
    return this.#failure;
  }

  /** True once the worker will publish nothing more. */
  get done(): boolean {
    const state = Atomics.load(this.ring.control, STATE);
    return state === WORKER_DONE || state === WORKER_FAILED;
  }

  /** True when the worker failed (its message may still be in flight). */
  get failed(): boolean {
    return Atomics.load(this.ring.control, STATE) === WORKER_FAILED;
  }

  /** Asks the worker to stop; it drains what the kernel holds, then finishes. */
  stop(): void {
    Atomics.store(this.ring.control, STOP, 1);
    // Wake it if it is waiting for a free slot.
    Atomics.notify(this.ring.control, TAIL);
  }

  /** A snapshot of this interface's counters. */
  stats(): LiveInterfaceStats {
    const counters = this.ring.counters;
    return {
      interfaceName: this.interfaceName,
      received: counters[COUNTER_RECEIVED],
      kernelDropped: counters[COUNTER_KERNEL_DROPPED],
      interfaceDropped: counters[COUNTER_INTERFACE_DROPPED],
      ringOverruns: counters[COUNTER_RING_OVERRUNS],
      captured: counters[COUNTER_PACKETS_CAPTURED],
    };
  }
}
