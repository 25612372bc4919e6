/**
 * Worker module of FileMeterShards (file_meter_shards.ts): reads the whole
 * capture file itself (no packets cross threads), meters the flows of its
 * shard (FlowMeterOptions.shard: every packet advances its clock, only its
 * shard's packets are added) and copies completed rows, with their merge
 * keys, into its shared row slots in turn, then posts its counters (and,
 * shard 0, the reader's statistics).
 */
/// <reference lib="deno.worker" />
import { CaptureFileError, createCaptureFileStats, readCaptureFile } from "../capture/mod.ts";
import { FlowMeter, type ShardedFlowBatch } from "../features/mod.ts";
import {
  appendRows,
  type FileShardError,
  type FileShardMessage,
  type FileShardStart,
  sharedFlowBatch,
} from "./file_meter_shards.ts";

self.onmessage = async (event: MessageEvent<FileShardStart>) => {
  const start = event.data;
  const pending = new Int32Array(start.pending);
  const slots = start.slots.map((buffer) => sharedFlowBatch(start.slotRows, buffer));
  const meter = new FlowMeter({
    ...start.meter,
    shard: { index: start.index, count: start.count },
  });
  const stats = createCaptureFileStats(start.path);
  const post = (message: FileShardMessage) => self.postMessage(message);

  // Rows are gathered into full slots: the meter cuts a batch at every 250 ms
  // grid line of packet time, thousands of small ones on a long capture.
  let filled = 0;
  let slot = slots[0];
  const send = () => {
    post({ type: "flows", slot: filled % slots.length, count: slot.count });
    filled++;
    // The next slot is free once the merge holds fewer than all of them (it takes them in turn).
    Atomics.add(pending, 0, 1);
    let taken = Atomics.load(pending, 0);
    while (taken >= slots.length) {
      Atomics.wait(pending, 0, taken, 1000);
      taken = Atomics.load(pending, 0);
    }
    slot = slots[filled % slots.length];
    slot.count = 0;
  };
  const drain = () => {
    for (const flows of meter.drain()) {
      const order = (flows as ShardedFlowBatch).order;
      let from = 0;
      while (from < flows.count) {
        const n = Math.min(flows.count - from, start.slotRows - slot.count);
        appendRows(flows, order, from, n, slot, slot.count);
        slot.count += n;
        from += n;
        if (slot.count === start.slotRows) send();
      }
      meter.recycle(flows);
    }
  };

  let error: FileShardError = null;
  try {
    for await (const batch of readCaptureFile(start.path, { stats })) {
      meter.push(batch);
      drain();
      while (meter.continueExpiry()) drain();
    }
    while (meter.flushStep()) drain();
    drain();
  } catch (caught) {
    // Rows up to the damaged record are sent; the main thread rethrows after them.
    error = caught instanceof CaptureFileError
      ? {
        kind: "capture-file",
        path: caught.path,
        offset: caught.offset,
        reason: caught.reason,
        packetsBefore: caught.packetsBefore,
        message: caught.message,
      }
      : { kind: "other", message: caught instanceof Error ? caught.message : String(caught) };
  }
  if (slot.count > 0) post({ type: "flows", slot: filled % slots.length, count: slot.count });
  stats.error = null;
  post({
    type: "done",
    counters: meter.counters(),
    stats: start.index === 0 ? stats : null,
    error,
  });
};
