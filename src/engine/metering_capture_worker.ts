/**
 * Capture worker module that meters its own packets (see capture_metering.ts):
 * libpcap -> private buffer -> FlowMeter, all in this worker; completed
 * flows are posted as FlowBatch copies (buffers transferred), the meter's
 * counters about twice a second and once more at the end.
 */
/// <reference lib="deno.worker" />
import {
  type InWorkerConsumerContext,
  type InWorkerPacketConsumer,
  type PacketBatch,
  serveCaptureRequests,
} from "../capture/mod.ts";
import { type FlowBatch, FlowMeter } from "../features/mod.ts";
import { snapshotFlowBatch } from "./flow_snapshot.ts";
import type { MeteringWorkerMessage, MeteringWorkerOptions } from "./capture_metering.ts";

serveCaptureRequests((options, context) =>
  meterInWorker(options as MeteringWorkerOptions, context)
);

function meterInWorker(
  options: MeteringWorkerOptions,
  context: InWorkerConsumerContext,
): InWorkerPacketConsumer {
  const meter = new FlowMeter(options.meter);
  const pending = new Int32Array(options.pending);
  let wireBytes = 0;
  let lastReport = performance.now();

  const post = (flows: FlowBatch, waitForRoom: boolean) => {
    if (waitForRoom && Atomics.load(pending, 0) >= options.maxPending) {
      context.stalled();
      let taken = Atomics.load(pending, 0);
      while (taken >= options.maxPending && !context.stopRequested()) {
        Atomics.wait(pending, 0, taken, 100);
        taken = Atomics.load(pending, 0);
      }
    }
    const copy = snapshotFlowBatch(flows);
    Atomics.add(pending, 0, 1);
    const message: MeteringWorkerMessage = { type: "flows", flows: copy };
    context.post(message, buffersOf(copy));
  };
  // At the end nothing waits: the main thread takes every batch until the last message.
  const drain = (waitForRoom = true) => {
    for (const flows of meter.drain()) {
      if (flows.count > 0) post(flows, waitForRoom);
      meter.recycle(flows);
    }
    const findings = meter.takeFindings();
    if (findings.length > 0) {
      const message: MeteringWorkerMessage = { type: "findings", findings };
      context.post(message);
    }
  };
  const drainExpiry = () => {
    drain();
    while (meter.continueExpiry()) drain();
  };
  const report = (final: boolean) => {
    const message: MeteringWorkerMessage = {
      type: "meter",
      counters: meter.counters(),
      wireBytes,
      final,
    };
    context.post(message);
    lastReport = performance.now();
  };

  return {
    consume(batch: PacketBatch) {
      const lengths = batch.wireLength;
      for (let i = 0; i < batch.count; i++) wireBytes += lengths[i];
      meter.push(batch);
      drainExpiry();
      if (performance.now() - lastReport >= options.reportMs) report(false);
    },
    idle(nowMicros: number) {
      meter.expire(nowMicros);
      drainExpiry();
      report(false);
    },
    finish() {
      while (meter.flushStep()) drain(false);
      drain(false);
      report(true);
    },
  };
}

function buffersOf(flows: FlowBatch): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const value of Object.values(flows)) {
    if (ArrayBuffer.isView(value)) buffers.push(value.buffer as ArrayBuffer);
  }
  return buffers;
}
