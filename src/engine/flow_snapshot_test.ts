import assert from "node:assert/strict";
import { createFlowBatch, type FlowBatch } from "../features/mod.ts";
import { FlowSnapshotRing, snapshotFlowBatch } from "./flow_snapshot.ts";

/** A batch of `count` rows whose every column holds `seed + row` (features: `seed + row + column / 100`). */
function batchOf(count: number, seed: number, width = 3): FlowBatch {
  const b = createFlowBatch(count + 5, width);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < width; c++) b.features[i * width + c] = seed + i + c / 100;
    b.srcAddr.fill(seed + i, i * 16, i * 16 + 16);
    b.dstAddr.fill(seed + i + 1, i * 16, i * 16 + 16);
    b.srcPort[i] = seed + i;
    b.dstPort[i] = seed + i + 2;
    b.protocol[i] = 6;
    b.ipVersion[i] = 4;
    b.vlan[i] = seed;
    b.startMicros[i] = seed * 1e6 + i;
    b.endMicros[i] = seed * 1e6 + i + 1;
    b.connState[i] = i % 13;
    b.endReason[i] = i % 3;
    b.fwdPackets[i] = seed + i;
    b.bwdPackets[i] = i;
    b.interim[i] = i % 2;
    b.exportSeq[i] = i % 5;
  }
  b.count = count;
  return b;
}

/** Every column of the valid rows, as plain arrays. */
function rowsOf(b: FlowBatch): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, value] of Object.entries(b)) {
    if (ArrayBuffer.isView(value)) {
      const per = name === "features" ? b.width : name.endsWith("Addr") ? 16 : 1;
      out[name] = Array.from((value as Float64Array).subarray(0, b.count * per));
    }
  }
  return out;
}

Deno.test("snapshot ring: copies are the batch's rows, and outlive the batch being overwritten", () => {
  const ring = new FlowSnapshotRing(10, 3);
  const input = batchOf(4, 7);
  const copy = ring.take(input)!;
  assert.deepEqual(rowsOf(copy), rowsOf(snapshotFlowBatch(input)));
  const expected = rowsOf(copy);
  input.features.fill(0);
  input.srcPort.fill(0);
  assert.deepEqual(rowsOf(copy), expected);
});

Deno.test("snapshot ring: full until the oldest is released, wraps, and refuses what cannot fit", () => {
  const ring = new FlowSnapshotRing(10, 3);
  const a = ring.take(batchOf(4, 10))!;
  const b = ring.take(batchOf(4, 20))!;
  assert.equal(ring.take(batchOf(3, 30)), null, "2 rows left at the end, none before the oldest");
  ring.release(b); // out of order: its rows stay held until a is released too
  assert.equal(ring.take(batchOf(3, 30)), null);
  ring.release(a);
  assert.equal(ring.held, 0);
  const c = ring.take(batchOf(6, 40))!;
  const d = ring.take(batchOf(4, 50))!;
  assert.equal(ring.take(batchOf(1, 60)), null, "exactly full");
  ring.release(c);
  // 6 rows free at the start, none at the end: a batch of 5 wraps to row 0.
  const e = ring.take(batchOf(5, 70))!;
  assert.deepEqual(rowsOf(d), rowsOf(batchOf(4, 50)));
  assert.deepEqual(rowsOf(e), rowsOf(batchOf(5, 70)));
  assert.equal(ring.take(batchOf(2, 80)), null, "1 row free before d");
  assert.equal(ring.take(batchOf(11, 90)), null, "larger than the ring");
  ring.release(d);
  ring.release(e);
  assert.equal(ring.held, 0);
  assert.ok(ring.take(batchOf(10, 100)));
  // A batch of another width, or one the ring did not make, is left alone.
  assert.equal(ring.take(batchOf(1, 1, 4)), null);
  ring.release(batchOf(1, 1));
  assert.equal(ring.held, 1);
});
