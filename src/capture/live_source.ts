/**
 * Live capture: one worker per interface fills a shared ring through
 * libpcap's `pcap_dump` (one FFI call per batch); this side parses the ring's
 * slots in place into PacketBatch values and merges the interfaces.
 */
import { type FanoutGroup, publishFanoutId } from "../ffi/mod.ts";
import { createPacketBatch, type PacketBatch } from "./packet_batch.ts";
import { parsePcapRecords, type PcapParseResult } from "./pcap_records.ts";
import { HEAD, LINK_TYPE, signalWakeup, SLOT_LENGTH_BASE, TAIL } from "./live_ring.ts";
import {
  CaptureWorker,
  type CaptureWorkerReady,
  type LiveInterfaceStats,
} from "./live_worker_client.ts";

export type { LiveInterfaceStats } from "./live_worker_client.ts";

/** Options for openLiveCapture. */
export interface LiveCaptureOptions {
  /** Interfaces to capture on, merged into one stream of batches. */
  interfaces: string[];
  /** Bytes kept per packet (default 65535: every header, most payloads). */
  snapLength?: number;
  /** Promiscuous mode (default true). */
  promiscuous?: boolean;
  /** Per-packet delivery instead of per kernel block (default false). */
  immediate?: boolean;
  /** Kernel capture buffer per capture worker in bytes (default 32 MiB). */
  bufferBytes?: number;
  /**
   * Capture workers per interface (default 1). With more, each interface's
   * handles join one PACKET_FANOUT group by host pair: the kernel gives each
   * worker whole host pairs (the hash is the same both ways), each its own ring.
   */
  workersPerInterface?: number;
  /** BPF filter, tcpdump syntax. */
  filter?: string;
  /** Stop by itself after this many seconds. */
  durationSeconds?: number;
  /** Ring slots per interface (default 4). */
  ringSlots?: number;
  /** Bytes per ring slot (default 8 MiB). */
  ringSlotBytes?: number;
  /** Most packets per yielded batch (default 65536). */
  batchCapacity?: number;
  /**
   * Packets handled inside the capture workers instead of yielded here: each
   * worker runs `module` (which calls serveCaptureRequests with a consumer
   * factory) and its consumer gets `options(worker)`; the consumer's messages
   * reach `onMessage` with the worker's position (0 to workers-1, the same
   * position again after a reopen). The capture then yields no batch: its
   * iteration ends when every worker has finished and its last message arrived.
   */
  inWorker?: InWorkerConsumerOptions;
}

/** See LiveCaptureOptions.inWorker. */
export interface InWorkerConsumerOptions {
  module: URL;
  options: (worker: number) => unknown;
  onMessage: (worker: number, message: unknown) => void;
}

/** A batch from a live capture, tagged with its interface. */
export interface LivePacketBatch extends PacketBatch {
  /** Interface the packets came from. */
  interfaceName: string;
  /** Which capture worker read them (0 to workers-1): a flow's packets all come from one. */
  captureWorker: number;
}

/** A running live capture. */
export interface LiveCapture extends AsyncIterable<LivePacketBatch> {
  /**
   * Resolves once every interface is capturing; rejects with a PcapError
   * (bad interface, bad filter, no permission) otherwise. Iterating throws
   * the same error.
   */
  readonly ready: Promise<CaptureWorkerReady[]>;
  /** Stops capturing; iteration ends after what was already captured. */
  stop(): void;
  /** Counters per interface. */
  stats(): LiveInterfaceStats[];
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const WAIT_MS = 200;

/**
 * Starts capturing on every interface in `options.interfaces`. The batch
 * yielded is reused and its bytes live in the shared ring: finish with a
 * batch before asking for the next.
 */
export function openLiveCapture(options: LiveCaptureOptions): LiveCapture {
  if (options.interfaces.length === 0) throw new Error("openLiveCapture: no interface given");
  const wakeupBuffer = new SharedArrayBuffer(4);
  const wakeup = new Int32Array(wakeupBuffer);
  // In-worker consumers read into one private slot; the ring only carries control and counters.
  const slotCount = options.inWorker ? 1 : options.ringSlots ?? 4;
  const slotBytes = options.ringSlotBytes ?? 8 << 20;
  const perInterface = options.workersPerInterface ?? 1;
  if (!Number.isInteger(perInterface) || perInterface < 1) {
    throw new RangeError(
      `workersPerInterface must be a whole number, 1 or more, got ${perInterface}`,
    );
  }
  const inWorker = options.inWorker;
  const fanoutGroups: FanoutGroup[] = [];
  const workers = options.interfaces.flatMap((interfaceName, interfaceIndex) => {
    // The first worker creates the interface's group with an id the kernel picks; the rest join.
    const fanoutShared = perInterface > 1 ? new SharedArrayBuffer(4) : undefined;
    if (fanoutShared) fanoutGroups.push({ shared: fanoutShared, create: false });
    return Array.from({ length: perInterface }, (_, member) => {
      const position = interfaceIndex * perInterface + member;
      return new CaptureWorker({
        handle: {
          interfaceName,
          snapLength: options.snapLength ?? 65535,
          promiscuous: options.promiscuous,
          immediate: options.immediate,
          bufferBytes: options.bufferBytes ?? 32 << 20,
          filter: options.filter,
          fanout: fanoutShared && { shared: fanoutShared, create: member === 0 },
        },
        slotCount,
        slotBytes,
        wakeup: wakeupBuffer,
        durationSeconds: options.durationSeconds ?? 0,
        workerModule: inWorker?.module,
        consumerOptions: inWorker?.options(position),
        onMessage: inWorker && ((message) => inWorker.onMessage(position, message)),
      });
    });
  });
  // Workers waiting to join a group whose creator failed or never started must not wait forever.
  const abandonFanout = () => {
    for (const group of fanoutGroups) {
      if (Atomics.compareExchange(new Int32Array(group.shared), 0, 0, -1) === 0) {
        publishFanoutId(group, -1);
      }
    }
  };
  const ready = Promise.all(workers.map((worker) => worker.ready));
  ready.catch(() => {
    abandonFanout();
    workers.forEach((worker) => worker.stop());
  });
  const stop = () => {
    abandonFanout();
    for (const worker of workers) worker.stop();
    signalWakeup(wakeup);
  };
  return {
    ready,
    stop,
    stats: () => workers.map((worker) => worker.stats()),
    [Symbol.asyncIterator]: () =>
      iterateRings(workers, wakeup, options.batchCapacity ?? 65536, stop),
  };
}

/** Per-worker read position in its ring. */
interface RingCursor {
  worker: CaptureWorker;
  /** The worker's position in the list (LivePacketBatch.captureWorker). */
  index: number;
  /** Slots released so far (mirror of TAIL). */
  tail: number;
  /** Read position in the current slot, or -1 when no slot is open. */
  position: number;
  end: number;
}

async function* iterateRings(
  workers: CaptureWorker[],
  wakeup: Int32Array,
  batchCapacity: number,
  stop: () => void,
): AsyncGenerator<LivePacketBatch> {
  const cursors: RingCursor[] = workers.map((worker, index) => ({
    worker,
    index,
    tail: Atomics.load(worker.ring.control, TAIL),
    position: -1,
    end: 0,
  }));
  const batch: LivePacketBatch = {
    ...createPacketBatch(batchCapacity, 0),
    interfaceName: "",
    captureWorker: 0,
  };
  const parse: PcapParseResult = { consumed: 0, corruptAt: -1, corruptReason: "" };
  let next = 0;
  try {
    while (true) {
      const seenWakeup = Atomics.load(wakeup, 0);
      let yielded = false;
      for (let step = 0; step < cursors.length && !yielded; step++) {
        const cursor = cursors[(next + step) % cursors.length];
        const control = cursor.worker.ring.control;
        if (cursor.position < 0) {
          if (Atomics.load(control, HEAD) === cursor.tail) continue;
          const slot = cursor.tail % cursor.worker.ring.slots.length;
          cursor.position = 0;
          cursor.end = control[SLOT_LENGTH_BASE + slot];
        }
        const slot = cursor.tail % cursor.worker.ring.slots.length;
        const bytes = cursor.worker.ring.slots[slot];
        batch.count = 0;
        batch.data = bytes;
        batch.interfaceName = cursor.worker.interfaceName;
        batch.captureWorker = cursor.index;
        parsePcapRecords(
          bytes,
          cursor.position,
          cursor.end,
          batch,
          Atomics.load(control, LINK_TYPE),
          HOST_LITTLE_ENDIAN,
          false,
          parse,
        );
        cursor.position += parse.consumed;
        if (parse.corruptAt >= 0) {
          // libpcap wrote it, so this is a bug, not bad input: stop loudly.
          throw new Error(
            `live capture on ${cursor.worker.interfaceName}: ring slot corrupt: ${parse.corruptReason}`,
          );
        }
        if (batch.count > 0) {
          yielded = true;
          next = (next + step + 1) % cursors.length;
          yield batch;
        }
        // The yielded batch points into the slot: release it only now.
        if (cursor.position >= cursor.end || batch.count === 0) {
          cursor.position = -1;
          cursor.tail++;
          Atomics.store(control, TAIL, cursor.tail);
          Atomics.notify(control, TAIL);
        }
      }
      if (yielded) continue;
      const failed = cursors.find((cursor) => cursor.worker.failed);
      if (failed) {
        await failed.worker.finished;
        stop();
        throw failed.worker.failure;
      }
      const allDone = cursors.every((cursor) =>
        cursor.worker.done && Atomics.load(cursor.worker.ring.control, HEAD) === cursor.tail
      );
      if (allDone) return;
      await waitForWakeup(wakeup, seenWakeup);
    }
  } finally {
    // Covers a consumer that breaks out of the loop early.
    stop();
    await Promise.all(workers.map((worker) => worker.finished));
  }
}

async function waitForWakeup(wakeup: Int32Array, seen: number): Promise<void> {
  const waiter = Atomics.waitAsync(wakeup, 0, seen, WAIT_MS);
  if (!waiter.async) return;
  // waitAsync's own timeout does not keep Deno's event loop alive; a timer does.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    waiter.value,
    new Promise((resolve) => timer = setTimeout(resolve, WAIT_MS)),
  ]);
  clearTimeout(timer);
}
