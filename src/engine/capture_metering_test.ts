import assert from "node:assert/strict";
import { createFlowBatch, FlowMeter, type FlowMeterCounters } from "../features/mod.ts";
import { CaptureWorkerMeters, type MeteringWorkerOptions } from "./capture_metering.ts";

function countersWith(packets: number, flowsLive: number): FlowMeterCounters {
  const c = new FlowMeter({ maxFlows: 1 }).counters();
  c.decode.packets = packets;
  c.flowsCreated = packets;
  c.flowsLive = flowsLive;
  return c;
}

Deno.test("capture worker meters: counters add running and finished workers; gauges from running ones", () => {
  const meters = new CaptureWorkerMeters(2, { memcapBytes: 8 << 20 });
  const zero = meters.counters();
  assert.equal(zero.decode.packets, 0);
  assert.equal(zero.memcapBytes, 8 << 20, "the memcap the user set, not a worker's share");
  const options = meters.inWorker.options(1) as MeteringWorkerOptions;
  assert.equal(options.meter.memcapBytes, 4 << 20, "each worker gets an equal share");
  const send = meters.inWorker.onMessage;
  send(0, { type: "meter", counters: countersWith(10, 3), wireBytes: 600, final: false });
  send(1, { type: "meter", counters: countersWith(5, 2), wireBytes: 300, final: false });
  assert.equal(meters.counters().decode.packets, 15);
  assert.equal(meters.counters().flowsLive, 5);
  // Worker 0's capture ends (a vanished interface) and a reopened worker 0 starts from zero.
  send(0, { type: "meter", counters: countersWith(12, 0), wireBytes: 700, final: true });
  send(0, { type: "meter", counters: countersWith(4, 1), wireBytes: 200, final: false });
  const after = meters.counters();
  assert.equal(after.decode.packets, 12 + 5 + 4);
  assert.equal(after.flowsCreated, 12 + 5 + 4);
  assert.equal(after.flowsLive, 2 + 1, "live flows of the running tables only");
  assert.equal(after.memcapBytes, 8 << 20);
  assert.equal(meters.wireBytes, 700 + 300 + 200);
});

Deno.test("capture worker meters: flows in arrival order, each taken batch released to its worker", async () => {
  const meters = new CaptureWorkerMeters(2);
  const pending = [0, 1].map((w) =>
    new Int32Array((meters.inWorker.options(w) as MeteringWorkerOptions).pending)
  );
  const batch = (count: number) => {
    const b = createFlowBatch(count);
    b.count = count;
    return b;
  };
  let endCapture!: () => void;
  const captureEnded = new Promise<void>((resolve) => endCapture = resolve);
  // A live capture whose workers keep the packets: it yields nothing, then ends.
  const capture = {
    async *[Symbol.asyncIterator]() {
      await captureEnded;
      yield* [];
    },
  };
  let stopped = 0;
  const flows = meters.flows(capture, () => stopped++);
  // As the workers do: count a batch as pending, then post it.
  Atomics.add(pending[1], 0, 1);
  meters.inWorker.onMessage(1, { type: "flows", flows: batch(3) });
  Atomics.add(pending[0], 0, 1);
  meters.inWorker.onMessage(0, { type: "flows", flows: batch(2) });
  const first = await flows.next();
  assert.equal(first.done, false);
  assert.equal((first.value as { count: number }).count, 3);
  assert.equal(Atomics.load(pending[1], 0), 1, "held until the consumer asks for the next");
  const second = await flows.next();
  assert.equal((second.value as { count: number }).count, 2);
  assert.equal(Atomics.load(pending[1], 0), 0);
  const third = flows.next();
  Atomics.add(pending[0], 0, 1);
  setTimeout(() => meters.inWorker.onMessage(0, { type: "flows", flows: batch(1) }), 10);
  assert.equal(((await third).value as { count: number }).count, 1, "waits for a late batch");
  const end = flows.next();
  endCapture();
  assert.equal((await end).done, true, "ends when the capture ends and the queue is empty");
  assert.deepEqual([...pending.map((p) => Atomics.load(p, 0))], [0, 0]);
  assert.equal(stopped, 0, "a capture that ended is not stopped");
});
