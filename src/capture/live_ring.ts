/**
 * The shared-memory ring between one capture worker and the main thread.
 * The worker's libpcap writes pcap records straight into a slot (through
 * fmemopen), publishes the slot by bumping `head`, and the main thread parses
 * the slot in place and releases it by bumping `tail`. No copy, no message per
 * batch: only Atomics on a few integers.
 *
 * Layout of the SharedArrayBuffer:
 * - bytes [0, 256): Int32 control words (indexes below), then slot lengths
 * - bytes [256, 512): Float64 counters (indexes below)
 * - bytes [4096, ...): `slotCount` slots of `slotBytes` each
 */

/** Control word: slots published by the worker (monotonic). */
export const HEAD = 0;
/** Control word: slots released by the consumer (monotonic). */
export const TAIL = 1;
/** Control word: worker state, one of the WORKER_* values. */
export const STATE = 2;
/** Control word: non-zero once a stop is requested. */
export const STOP = 3;
/** Control word: link type (DLT) of the interface, valid once running. */
export const LINK_TYPE = 4;
/** Control word: first of `slotCount` slot lengths in bytes. */
export const SLOT_LENGTH_BASE = 16;
/** Most slots a ring may have. */
export const MAX_SLOTS = 48;

/** Worker state: opening the interface. */
export const WORKER_STARTING = 0;
/** Worker state: capturing. */
export const WORKER_RUNNING = 1;
/** Worker state: finished; everything published. */
export const WORKER_DONE = 2;
/** Worker state: failed (a message says why). */
export const WORKER_FAILED = 3;

/** Counter: packets the kernel received (pcap_stats ps_recv). */
export const COUNTER_RECEIVED = 0;
/** Counter: packets the kernel dropped, buffer full (pcap_stats ps_drop). */
export const COUNTER_KERNEL_DROPPED = 1;
/** Counter: packets the interface dropped (pcap_stats ps_ifdrop). */
export const COUNTER_INTERFACE_DROPPED = 2;
/** Counter: times the worker found every slot full and had to wait. */
export const COUNTER_RING_OVERRUNS = 3;
/** Counter: packets libpcap handed over (written to slots or the file). */
export const COUNTER_PACKETS_CAPTURED = 4;
/** Counter: bytes of pcap records written. */
export const COUNTER_BYTES_WRITTEN = 5;

const CONTROL_BYTES = 256;
const COUNTER_COUNT = 8;
const SLOTS_OFFSET = 4096;

/** Typed views over one ring's SharedArrayBuffer, built identically on both sides. */
export interface RingViews {
  buffer: SharedArrayBuffer;
  control: Int32Array;
  counters: Float64Array;
  slots: Uint8Array[];
  slotBytes: number;
}

/** Allocates a ring of `slotCount` slots of `slotBytes` bytes. */
export function createRing(slotCount: number, slotBytes: number): RingViews {
  if (slotCount > MAX_SLOTS) throw new RangeError(`at most ${MAX_SLOTS} ring slots`);
  return ringViews(
    new SharedArrayBuffer(SLOTS_OFFSET + slotCount * slotBytes),
    slotCount,
    slotBytes,
  );
}

/** Builds the views over an existing ring buffer (used by the worker). */
export function ringViews(
  buffer: SharedArrayBuffer,
  slotCount: number,
  slotBytes: number,
): RingViews {
  const slots: Uint8Array[] = [];
  for (let i = 0; i < slotCount; i++) {
    slots.push(new Uint8Array(buffer, SLOTS_OFFSET + i * slotBytes, slotBytes));
  }
  return {
    buffer,
    control: new Int32Array(buffer, 0, CONTROL_BYTES / 4),
    counters: new Float64Array(buffer, CONTROL_BYTES, COUNTER_COUNT),
    slots,
    slotBytes,
  };
}

/** Bumps the shared wakeup word and wakes whoever waits on it. */
export function signalWakeup(wakeup: Int32Array): void {
  Atomics.add(wakeup, 0, 1);
  Atomics.notify(wakeup, 0);
}
