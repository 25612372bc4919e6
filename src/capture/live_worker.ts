/**
 * Capture worker: one per interface. Opens the interface through libpcap and
 * loops on `pcap_dispatch` with `pcap_dump` as the callback, one FFI call per
 * batch, either into the shared ring's slots (live analysis) or into a pcap
 * file (training captures). Control and counters live in shared memory; the
 * only messages are "running" and "failed".
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
import { PCAP_RECORD_HEADER_BYTES } from "./pcap_records.ts";

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
}

/** What a capture worker reports. */
export type CaptureWorkerReply =
  | { type: "running"; linkType: number; snapLength: number }
  | { type: "failed"; kind: string; message: string }
  | { type: "finished" };

const POLL_MS = 100;
const BUSY_CONSUMER_POLL_MS = 2;
const COUNTER_REFRESH_MS = 250;
const FILE_FLUSH_MS = 1000;

self.onmessage = (event: MessageEvent<CaptureWorkerRequest>) => {
  const request = event.data;
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
    else captureToRing(handle, ring, wakeup, deadline);
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
};

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
