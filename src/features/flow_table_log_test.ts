/**
 * The flow table logs a few packets per flow in the flow row and folds them
 * into a statistics row later (when the log fills, or when the flow ends).
 * These tests drive flows longer than the log through eviction and idle
 * expiry, where statistics rows are freed and reused, and check every flow
 * against a brute-force computation from the packets it was given.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { type FlowBatch, FlowMeter, type FlowMeterOptions, flowRecordAt } from "./mod.ts";
import { ACK, batchOf, PSH, tcp4, type TestPacket } from "../../tests/support/flow_packets.ts";

interface Expected {
  fwdPackets: number;
  bwdPackets: number;
  fwdBytes: number;
  bwdBytes: number;
}

function meterAll(packets: TestPacket[], options: FlowMeterOptions) {
  const m = new FlowMeter(options);
  const flows: { batch: FlowBatch; i: number }[] = [];
  for (let k = 0; k < packets.length; k += 7) {
    m.push(batchOf(packets.slice(k, k + 7)));
    for (const b of m.drain()) for (let i = 0; i < b.count; i++) flows.push({ batch: b, i });
  }
  m.flush();
  for (const b of m.drain()) for (let i = 0; i < b.count; i++) flows.push({ batch: b, i });
  return flows.map(({ batch, i }) => ({
    record: flowRecordAt(batch, i),
    fwdBytes: batch.features[i * batch.width + 3],
    bwdBytes: batch.features[i * batch.width + 4],
  }));
}

Deno.test("flow table log: long flows keep their own statistics through eviction and row reuse", () => {
  // 12 client ports talk to one server, interleaved at random; the table holds 8 flows,
  // so flows are evicted mid-way (their statistics rows freed and reused) and start again.
  let seed = 11;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const packets: TestPacket[] = [];
  // A flow is one run of a port between evictions; the expectation is rebuilt from
  // the order flows end in, so only per-port sums over all runs are checked here.
  const perPort = new Map<number, Expected>();
  let t = 1e15;
  for (let k = 0; k < 3000; k++) {
    const port = 20000 + Math.floor(random() * 12);
    const forward = random() < 0.6;
    const size = Math.floor(random() * 900);
    t += 1 + Math.floor(random() * 50);
    packets.push({
      ts: t,
      data: forward
        ? tcp4(1, 2, port, 443, ACK | PSH, size)
        : tcp4(2, 1, 443, port, ACK | PSH, size),
    });
    const e = perPort.get(port) ?? { fwdPackets: 0, bwdPackets: 0, fwdBytes: 0, bwdBytes: 0 };
    // Direction relative to the flow's first packet is checked below through totals both ways.
    if (forward) e.fwdPackets++, e.fwdBytes += size;
    else e.bwdPackets++, e.bwdBytes += size;
    perPort.set(port, e);
  }
  const rows = meterAll(packets, { maxFlows: 8 });
  const got = new Map<number, Expected>();
  let evicted = 0, long = 0;
  for (const { record, fwdBytes, bwdBytes } of rows) {
    if (record.endReason === "evicted") evicted++;
    if (record.fwdPackets + record.bwdPackets > 8) long++;
    // Orient each flow as client -> server (its first packet may have come from the server).
    const clientFirst = record.dstPort === 443;
    const port = clientFirst ? record.srcPort : record.dstPort;
    const e = got.get(port) ?? { fwdPackets: 0, bwdPackets: 0, fwdBytes: 0, bwdBytes: 0 };
    e.fwdPackets += clientFirst ? record.fwdPackets : record.bwdPackets;
    e.bwdPackets += clientFirst ? record.bwdPackets : record.fwdPackets;
    e.fwdBytes += clientFirst ? fwdBytes : bwdBytes;
    e.bwdBytes += clientFirst ? bwdBytes : fwdBytes;
    got.set(port, e);
  }
  ok(evicted > 100, `expected heavy eviction, got ${evicted}`);
  ok(long > 20, `expected many flows longer than the log, got ${long}`);
  assertEquals(got, perPort);
});

Deno.test("flow table log: flows longer than the log end idle with every packet counted", () => {
  // 30 flows of 3..30 packets each, then a long silence: all end idle at the next batch.
  const packets: TestPacket[] = [];
  const expected = new Map<number, number>();
  let t = 0;
  for (let round = 0; round < 30; round++) {
    for (let flow = 0; flow < 30; flow++) {
      if (round >= 3 + flow) continue;
      t += 10;
      packets.push({ ts: t, data: tcp4(1, 2, 30000 + flow, 80, ACK, round) });
      expected.set(30000 + flow, (expected.get(30000 + flow) ?? 0) + 1);
    }
  }
  packets.push({ ts: t + 300e6, data: tcp4(3, 4, 1, 2, ACK) });
  const rows = meterAll(packets, { idleTimeoutSeconds: 60 });
  const idle = rows.filter((r) => r.record.endReason === "idle");
  assertEquals(idle.length, 30);
  assertEquals(
    new Map(idle.map((r) => [r.record.srcPort, r.record.fwdPackets])),
    expected,
  );
});

Deno.test("flow table log: flows past the log cost a chunk, then a statistics row; short flows neither", () => {
  const m = new FlowMeter({ maxFlows: 1000 });
  const short = m.bytesPerFlow();
  ok(short < m.maxBytesPerFlow());
  // 100 flows of one packet: no chunks or statistics rows yet.
  const packets: TestPacket[] = [];
  for (let k = 0; k < 100; k++) packets.push({ ts: k, data: tcp4(1, 2, 40000 + k, 80, ACK) });
  m.push(batchOf(packets));
  const round = (r: number) =>
    m.push(batchOf(packets.map((p, k) => ({ ts: r * 1000 + k, data: p.data }))));
  assertEquals(m.bytesPerFlow(), short);
  // Five more packets each: the row's log holds six.
  for (let r = 1; r <= 5; r++) round(r);
  assertEquals(m.bytesPerFlow(), short);
  // A seventh packet each: every flow takes a 64-byte log chunk, and holds it up to 14 packets.
  round(6);
  assertEquals([m.logChunksLive(), m.statisticsRowsLive()], [100, 0]);
  assertEquals(m.bytesPerFlow(), short + 64);
  for (let r = 7; r <= 13; r++) round(r);
  assertEquals([m.logChunksLive(), m.statisticsRowsLive()], [100, 0]);
  // The fifteenth: the chunk is folded into a statistics row and freed.
  round(14);
  assertEquals([m.logChunksLive(), m.statisticsRowsLive()], [0, 100]);
  assertEquals(m.counters().flowsLive, 100);
  assertEquals(m.bytesPerFlow(), m.maxBytesPerFlow());
  // Every packet is in the rows the flows end with.
  m.flush();
  const rows = m.drain().flatMap((b) =>
    Array.from({ length: b.count }, (_, i) => flowRecordAt(b, i))
  );
  assertEquals(rows.length, 100);
  ok(rows.every((r) => r.fwdPackets === 15 && r.bwdPackets === 0));
});
