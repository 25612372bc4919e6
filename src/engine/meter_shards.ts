/**
 * One flow table per capture worker. With PACKET_FANOUT by host pair
 * (src/ffi/fanout_program.ts) the kernel hands every packet of a flow (both
 * directions, every connection of its two hosts) to the same worker,
 * so each worker's packets are metered by their own FlowMeter: no flow is
 * split across tables and no table is shared. Each table gets an equal share
 * of the memcap, so the whole stays within the one the user set.
 */
import type { PacketBatch } from "../capture/mod.ts";
import {
  type FlowBatch,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  type PacketFinding,
} from "../features/mod.ts";

/** A packet batch that may say which capture worker read it (live capture does). */
type ShardedPacketBatch = PacketBatch & { captureWorker?: number };

/** Several flow meters, one per capture worker, seen as one. */
export class FlowMeterShards {
  readonly meters: FlowMeter[];

  constructor(shards: number, options: FlowMeterOptions) {
    if (!Number.isInteger(shards) || shards < 1) {
      throw new RangeError(`flow table shards must be a whole number, 1 or more, got ${shards}`);
    }
    const share = shareOfMeter(options, shards);
    this.meters = Array.from({ length: shards }, () => new FlowMeter(share));
  }

  /** The meter of the worker that read `batch` (files and single workers: the first). */
  meterOf(batch: ShardedPacketBatch): FlowMeter {
    return this.meters[(batch.captureWorker ?? 0) % this.meters.length];
  }

  /** What every table's packet monitors found since the last call. */
  takeFindings(): PacketFinding[] {
    return this.meters.flatMap((meter) => meter.takeFindings());
  }

  /** Ends flows idle as of `nowMicros` in every table (quiet live link). */
  expire(nowMicros: number): void {
    for (const meter of this.meters) meter.expire(nowMicros);
  }

  /** Every table's counters, added up (flags: any table; emergency entries: summed). */
  counters(): FlowMeterCounters {
    const all = this.meters.map((meter) => meter.counters());
    return all.reduce((sum, c) => addCounters(sum, c));
  }
}

/**
 * Meters `batches` with one table per capture worker and yields completed
 * flows in batches (see meterFlows: a yielded batch is valid until the next
 * is asked for); at the end every table is flushed.
 */
export async function* meterFlowShards(
  batches: AsyncIterable<PacketBatch>,
  shards: FlowMeterShards,
): AsyncGenerator<FlowBatch> {
  for await (const batch of batches) {
    if (batch.count === 0) {
      // A wall-clock tick (withWallClockTicks): every table may have flows that timed out.
      for (const meter of shards.meters) yield* stepExpiry(meter);
      continue;
    }
    const meter = shards.meterOf(batch);
    meter.push(batch);
    yield* drained(meter);
    while (meter.continueExpiry()) yield* drained(meter);
  }
  for (const meter of shards.meters) {
    while (meter.flushStep()) yield* drained(meter);
    yield* drained(meter);
  }
}

function* stepExpiry(meter: FlowMeter): Generator<FlowBatch> {
  yield* drained(meter);
  while (meter.continueExpiry()) yield* drained(meter);
}

function* drained(meter: FlowMeter): Generator<FlowBatch> {
  for (const flows of meter.drain()) {
    yield flows;
    meter.recycle(flows);
  }
}

/** One of `shards` equal tables' options: its share of the memcap and of the flow bound. */
export function shareOfMeter(options: FlowMeterOptions, shards: number): FlowMeterOptions {
  const share: FlowMeterOptions = { ...options };
  if (options.memcapBytes !== undefined) share.memcapBytes = options.memcapBytes / shards;
  if (options.maxFlows !== undefined) {
    share.maxFlows = Math.max(1, Math.floor(options.maxFlows / shards));
  }
  return share;
}

/** Adds two counter trees: numbers sum, records add key by key, booleans or. */
export function addCounters<T>(a: T, b: T): T {
  if (typeof a === "number" && typeof b === "number") return (a + b) as T;
  if (typeof a === "boolean" && typeof b === "boolean") return (a || b) as T;
  if (a && b && typeof a === "object" && typeof b === "object") {
    const out: Record<string, unknown> = { ...a as Record<string, unknown> };
    for (const [key, value] of Object.entries(b as Record<string, unknown>)) {
      out[key] = key in out ? addCounters(out[key], value) : value;
    }
    return out as T;
  }
  return a;
}
