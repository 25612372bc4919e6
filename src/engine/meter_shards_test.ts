import assert from "node:assert/strict";
import { FlowMeterShards, meterFlowShards } from "./meter_shards.ts";
import type { PacketBatch } from "../capture/mod.ts";
import { ACK, batchOf, FIN, SYN, tcp4 } from "../../tests/support/flow_packets.ts";

/** A batch read by capture worker `worker`. */
function fromWorker(worker: number, batch: PacketBatch): PacketBatch & { captureWorker: number } {
  return Object.assign(batch, { captureWorker: worker });
}

async function* batches(list: PacketBatch[]): AsyncGenerator<PacketBatch> {
  yield* list;
}

Deno.test("meter shards: each worker's packets in its own table, counters added, memcap shared", async () => {
  const shards = new FlowMeterShards(2, { memcapBytes: 8 * 2 ** 20 });
  const t = 1_700_000_000_000_000;
  // Worker 0 sees a whole connection; worker 1 two one-packet flows.
  const input = [
    fromWorker(0, batchOf([{ data: tcp4(1, 2, 1000, 80, SYN), ts: t }])),
    fromWorker(1, batchOf([{ data: tcp4(3, 4, 2000, 22, SYN), ts: t + 1 }])),
    fromWorker(0, batchOf([{ data: tcp4(2, 1, 80, 1000, SYN | ACK), ts: t + 2 }])),
    fromWorker(1, batchOf([{ data: tcp4(5, 4, 2001, 22, SYN), ts: t + 3 }])),
    fromWorker(
      0,
      batchOf([
        { data: tcp4(1, 2, 1000, 80, ACK | FIN), ts: t + 4 },
        { data: tcp4(2, 1, 80, 1000, ACK | FIN), ts: t + 5 },
      ]),
    ),
  ];
  let rows = 0;
  let twoWay = 0;
  for await (const flows of meterFlowShards(batches(input), shards)) {
    rows += flows.count;
    for (let i = 0; i < flows.count; i++) if (flows.bwdPackets[i] > 0) twoWay++;
  }
  assert.equal(rows, 3);
  assert.equal(twoWay, 1, "the connection's two directions met in worker 0's table");
  assert.equal(shards.meters[0].counters().decode.packets, 4);
  assert.equal(shards.meters[1].counters().decode.packets, 2);
  const total = shards.counters();
  assert.equal(total.decode.packets, 6);
  assert.equal(total.flowsCreated, 3);
  assert.equal(total.memcapBytes, 8 * 2 ** 20, "two halves of the memcap");
  assert.equal(shards.meters[0].counters().memcapBytes, 4 * 2 ** 20);
});

Deno.test("meter shards: refuses a count that is not a whole number of 1 or more", () => {
  assert.throws(() => new FlowMeterShards(0, {}), RangeError);
  assert.throws(() => new FlowMeterShards(1.5, {}), RangeError);
});
