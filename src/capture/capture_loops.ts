/**
 * What a capture worker runs: opens the interface through libpcap and loops
 * on `pcap_dispatch` with `pcap_dump` as the callback, one FFI call per
 * batch, either into the shared ring's slots (live analysis), into a pcap
 * file (training captures), or into a private buffer whose packets a
 * consumer handles in the worker itself (metering in the capture worker, so
 * metering scales with workers). Control and counters live in shared memory;
 * the loop's own messages are "running", "failed" and "finished" (a consumer
 * may post its own).
 */
/// <reference lib="deno.worker" />
import {
  LiveHandle,
  type LiveHandleOptions,
  type MemoryDumpTarget,
  PcapError,
} from "../ffi/mod.ts";
import {
  COUNTER_BYTES_WRITTEN,
  COUNTER_INTERFACE_DROPPED,
  COUNTER_KERNEL_DROPPED,
  COUNTER_PACKETS_CAPTURED,
  COUNTER_RECEIVED,
  COUNTER_RING_OVERRUNS,
  HEAD,
  LINK_TYPE,
  type RingViews,
  ringViews,
  signalWakeup,
  SLOT_LENGTH_BASE,
  STATE,
  STOP,
  TAIL,
  WORKER_DONE,
  WORKER_FAILED,
  WORKER_RUNNING,
} from "./live_ring.ts";
import {
  parsePcapRecords,
  PCAP_RECORD_HEADER_BYTES,
  type PcapParseResult,
} from "./pcap_records.ts";
import { createPacketBatch, type PacketBatch } from "./packet_batch.ts";

/** The one message a capture worker receives. */
export interface CaptureWorkerRequest {
  handle: LiveHandleOptions;
  ring: SharedArrayBuffer;
  slotCount: number;
  slotBytes: number;
  wakeup: SharedArrayBuffer;
  /** Stop by itself after this long (0 = until stopped). */
  durationSeconds: number;
  /** Write a pcap file here instead of filling ring slots. */
  filePath?: string;
  /**
   * Hand packets to the worker's consumer (see serveCaptureRequests) instead
   * of filling ring slots; passed to its factory as they are.
   */
  consumerOptions?: unknown;
}

/**
 * Handles a capture worker's packets inside the worker. `consume` may block
 * (its own backpressure; call `stalled` each time it waits, counted as a ring
 * overrun): meanwhile the kernel buffer absorbs, and pcap_stats counts loss.
 */
export interface InWorkerPacketConsumer {
  /** Packets just captured; the batch and its bytes are reused after the call. */
  consume(batch: PacketBatch): void;
  /** Nothing arrived for a while (about every IDLE_TICK_MS): the wall clock is `nowMicros`. */
  idle(nowMicros: number): void;
  /** Capture is over (stopped, timed out or failed): hand over what is left. */
  finish(): void;
}

/** What a consumer factory gets besides its options. */
export interface InWorkerConsumerContext {
  /** True once a stop was asked for or the duration is over. */
  stopRequested(): boolean;
  /** Counts one wait of the consumer (reported as a ring overrun). */
  stalled(): void;
  /** Posts a message to the main thread (CaptureWorkerOptions.onMessage gets it). */
  post(message: unknown, transfer?: Transferable[]): void;
}

/** Makes the consumer of one capture worker. */
export type InWorkerConsumerFactory = (
  options: unknown,
  context: InWorkerConsumerContext,
) => InWorkerPacketConsumer;

/** What a capture worker reports. */
export type CaptureWorkerReply =
  | { type: "running"; linkType: number; snapLength: number }
  | { type: "failed"; kind: string; message: string }
  | { type: "finished" };

const POLL_MS = 100;
const BUSY_CONSUMER_POLL_MS = 2;
const COUNTER_REFRESH_MS = 250;
const FILE_FLUSH_MS = 1000;
/** Quiet time after which a consumer is told the wall clock (idle flows end without packets). */
const IDLE_TICK_MS = 500;
/** Packets per batch handed to a consumer. */
const CONSUMER_BATCH_PACKETS = 65536;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Makes this worker serve one CaptureWorkerRequest: the capture worker
 * modules call it at their top level, with the consumer factory of the
 * packets they handle themselves, if any.
 */
export function serveCaptureRequests(consumerFactory?: InWorkerConsumerFactory): void {
  self.onmessage = (event: MessageEvent<CaptureWorkerRequest>) =>
    serveCapture(event.data, consumerFactory);
}

function serveCapture(
  request: CaptureWorkerRequest,
  consumerFactory: InWorkerConsumerFactory | undefined,
): void {
  const ring = ringViews(request.ring, request.slotCount, request.slotBytes);
  const wakeup = new Int32Array(request.wakeup);
  let handle: LiveHandle | null = null;
  try {
    handle = LiveHandle.open({ timeoutMs: POLL_MS, ...request.handle });
    Atomics.store(ring.control, LINK_TYPE, handle.linkType);
    Atomics.store(ring.control, STATE, WORKER_RUNNING);
    self.postMessage({ type: "running", linkType: handle.linkType, snapLength: handle.snapLength });
    const deadline = request.durationSeconds > 0
      ? performance.now() + request.durationSeconds * 1000
      : Infinity;
    if (request.filePath) captureToFile(handle, request.filePath, ring, deadline);
    else if (consumerFactory && request.consumerOptions !== undefined) {
      const consumer = consumerFactory(request.consumerOptions, {
        stopRequested: () => stopRequested(ring, deadline),
        stalled: () => ring.counters[COUNTER_RING_OVERRUNS]++,
        post: (message, transfer) => self.postMessage(message, { transfer }),
      });
      captureToConsumer(handle, ring, consumer, deadline);
    } else captureToRing(handle, ring, wakeup, deadline);
    refreshCounters(handle, ring);
    Atomics.store(ring.control, STATE, WORKER_DONE);
  } catch (error) {
    Atomics.store(ring.control, STATE, WORKER_FAILED);
    self.postMessage({
      type: "failed",
      kind: error instanceof PcapError ? error.kind : "capture",
      message: error instanceof Error ? error.message : String(error),
    });
  } finally {
    handle?.close();
    signalWakeup(wakeup);
    self.postMessage({ type: "finished" });
    self.close();
  }
}

function stopRequested(ring: RingViews, deadline: number): boolean {
  return Atomics.load(ring.control, STOP) !== 0 || performance.now() >= deadline;
}

function refreshCounters(handle: LiveHandle, ring: RingViews): void {
  const counters = handle.counters();
  ring.counters[COUNTER_RECEIVED] = counters.received;
  ring.counters[COUNTER_KERNEL_DROPPED] = counters.kernelDropped;
  ring.counters[COUNTER_INTERFACE_DROPPED] = counters.interfaceDropped;
}

/**
 * Fills slots in turn. A slot is published when it could not hold another
 * full-size record, at stop, or when libpcap has nothing more waiting and the
 * consumer has released every earlier slot.
 * When every slot is full the worker waits for the consumer (counted as an
 * overrun); the kernel buffer absorbs the burst and pcap_stats counts any loss.
 */
function captureToRing(
  handle: LiveHandle,
  ring: RingViews,
  wakeup: Int32Array,
  deadline: number,
): void {
  const control = ring.control;
  const slotCount = ring.slots.length;
  const targets: MemoryDumpTarget[] = ring.slots.map((slot) => handle.openMemoryDumper(slot));
  const largestRecord = PCAP_RECORD_HEADER_BYTES + handle.snapLength;
  // One byte stays free for the NUL fmemopen appends.
  const usable = ring.slotBytes - 1;
  let head = Atomics.load(control, HEAD);
  let lastCounters = performance.now();
  let draining = false;
  try {
    while (true) {
      // Wait for a free slot.
      let tail = Atomics.load(control, TAIL);
      if (head - tail >= slotCount) {
        ring.counters[COUNTER_RING_OVERRUNS]++;
        while (head - tail >= slotCount && !stopRequested(ring, deadline)) {
          Atomics.wait(control, TAIL, tail, POLL_MS);
          tail = Atomics.load(control, TAIL);
        }
        if (head - tail >= slotCount) break;
      }
      const slot = head % slotCount;
      const target = targets[slot];
      target.rewind();
      let used = 0;
      while (true) {
        const room = Math.floor((usable - used) / largestRecord);
        if (room < 1) break;
        const count = handle.dispatchToDumper(target.dumper, room);
        if (count > 0) {
          used = target.flushedEnd();
          ring.counters[COUNTER_PACKETS_CAPTURED] += count;
          continue;
        }
        if (draining) break;
        if (used > 0) {
          // Publish at once when the consumer is idle; while it is busy with
          // an earlier slot, keep filling this one: bigger batches, and the
          // ring only fills when the consumer is truly slower than capture.
          if (Atomics.load(control, TAIL) === head || stopRequested(ring, deadline)) break;
          handle.waitReadable(BUSY_CONSUMER_POLL_MS);
          continue;
        }
        if (stopRequested(ring, deadline)) {
          // One last look: packets already in a kernel block still pending
          // retirement show up within one read timeout.
          draining = true;
          handle.waitReadable(POLL_MS + 20);
          continue;
        }
        handle.waitReadable(POLL_MS);
      }
      if (used > 0) {
        control[SLOT_LENGTH_BASE + slot] = used;
        ring.counters[COUNTER_BYTES_WRITTEN] += used;
        head++;
        Atomics.store(control, HEAD, head);
        signalWakeup(wakeup);
      }
      const now = performance.now();
      if (now - lastCounters >= COUNTER_REFRESH_MS) {
        refreshCounters(handle, ring);
        lastCounters = now;
      }
      if (draining) break;
      if (used === 0 && stopRequested(ring, deadline)) draining = true;
    }
  } finally {
    for (const target of targets) target.close();
  }
}

/** Writes every packet to a pcap file through pcap_dump, flushing every second. */
function captureToFile(handle: LiveHandle, path: string, ring: RingViews, deadline: number): void {
  const file = handle.openFileDumper(path);
  let lastFlush = performance.now();
  let lastCounters = lastFlush;
  let draining = false;
  try {
    while (true) {
      const count = handle.dispatchToDumper(file.dumper, -1);
      ring.counters[COUNTER_PACKETS_CAPTURED] += count;
      const now = performance.now();
      if (now - lastFlush >= FILE_FLUSH_MS) {
        file.flush();
        lastFlush = now;
      }
      if (now - lastCounters >= COUNTER_REFRESH_MS) {
        refreshCounters(handle, ring);
        lastCounters = now;
      }
      if (count > 0) continue;
      if (draining) break;
      if (stopRequested(ring, deadline)) {
        draining = true;
        handle.waitReadable(POLL_MS + 20);
        continue;
      }
      handle.waitReadable(POLL_MS);
    }
  } finally {
    file.close();
  }
}

/**
 * Reads into the first ring slot, used as this worker's private buffer, and
 * hands each read's packets to `consumer` before reading more: the worker
 * does the consumer's work itself, and the kernel buffer holds what arrives
 * meanwhile. The consumer finishes even when capture fails (the interface
 * vanished), so what it holds is not lost.
 */
function captureToConsumer(
  handle: LiveHandle,
  ring: RingViews,
  consumer: InWorkerPacketConsumer,
  deadline: number,
): void {
  const buffer = ring.slots[0];
  const target = handle.openMemoryDumper(buffer);
  const linkType = handle.linkType;
  const largestRecord = PCAP_RECORD_HEADER_BYTES + handle.snapLength;
  const usable = ring.slotBytes - 1; // one byte for the NUL fmemopen appends
  const batch = createPacketBatch(CONSUMER_BATCH_PACKETS, 0);
  batch.data = buffer;
  const parse: PcapParseResult = { consumed: 0, corruptAt: -1, corruptReason: "" };
  let lastCounters = performance.now();
  let lastPacket = lastCounters;
  let lastIdle = lastCounters;
  let draining = false;
  try {
    while (true) {
      target.rewind();
      let used = 0;
      while (Math.floor((usable - used) / largestRecord) >= 1) {
        const count = handle.dispatchToDumper(
          target.dumper,
          Math.floor((usable - used) / largestRecord),
        );
        if (count <= 0) break;
        used = target.flushedEnd();
        ring.counters[COUNTER_PACKETS_CAPTURED] += count;
      }
      for (let position = 0; position < used;) {
        batch.count = 0;
        parsePcapRecords(buffer, position, used, batch, linkType, HOST_LITTLE_ENDIAN, false, parse);
        if (parse.corruptAt >= 0) {
          // libpcap wrote it, so this is a bug, not bad input: stop loudly.
          throw new PcapError("capture", `capture buffer corrupt: ${parse.corruptReason}`);
        }
        if (parse.consumed === 0) break;
        position += parse.consumed;
        consumer.consume(batch);
      }
      ring.counters[COUNTER_BYTES_WRITTEN] += used;
      const now = performance.now();
      if (now - lastCounters >= COUNTER_REFRESH_MS) {
        refreshCounters(handle, ring);
        lastCounters = now;
      }
      if (used > 0) {
        lastPacket = now;
        continue;
      }
      if (draining) break;
      if (stopRequested(ring, deadline)) {
        // One last look: packets already in a kernel block still pending
        // retirement show up within one read timeout.
        draining = true;
        handle.waitReadable(POLL_MS + 20);
        continue;
      }
      if (now - lastPacket >= IDLE_TICK_MS && now - lastIdle >= IDLE_TICK_MS) {
        consumer.idle(Date.now() * 1000);
        lastIdle = now;
      }
      handle.waitReadable(POLL_MS);
    }
  } finally {
    target.close();
    consumer.finish();
  }
}
