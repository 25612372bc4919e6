/**
 * The flow table's bounds and interim rows: evictions at the memcap go to
 * closed flows first, then one-way flows (a spoofed flood), then two-way
 * ones, each counted by kind; emergency mode ends one-way flows early; long
 * flows are exported while open, marked interim, with a sequence number; a
 * full table is flushed a step at a time.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { type FlowBatch, FlowMeter, type FlowMeterOptions, flowRecordAt } from "./mod.ts";
import {
  ACK,
  batchOf,
  FIN,
  PSH,
  SYN,
  tcp4,
  type TestPacket,
} from "../../tests/support/flow_packets.ts";

const S = 1_000_000;
/** Bytes of a flow without a statistics row, and of a statistics row (flow_layout.ts). */
const FLOW_COST = 152, STATS_COST = 320;

function run(packets: TestPacket[], options: FlowMeterOptions, batch = 3) {
  const m = new FlowMeter(options);
  const rows: { batch: FlowBatch; i: number }[] = [];
  const take = () => {
    for (const b of m.drain()) for (let i = 0; i < b.count; i++) rows.push({ batch: b, i });
  };
  for (let k = 0; k < packets.length; k += batch) {
    m.push(batchOf(packets.slice(k, k + batch)));
    take();
    while (m.continueExpiry()) take();
  }
  const beforeFlush = rows.length;
  while (m.flushStep()) take();
  take();
  return {
    rows: rows.map(({ batch, i }) => ({
      ...flowRecordAt(batch, i),
      interim: batch.interim[i],
      exportSeq: batch.exportSeq[i],
    })),
    beforeFlush,
    counters: m.counters(),
  };
}

Deno.test("flow memcap: closed flows go first, then one-way flows, then two-way flows, each counted", () => {
  const packets: TestPacket[] = [];
  let t = 0;
  // Two two-way conversations (ports 1000, 1001), one closed by FIN both ways (1002).
  for (const port of [1000, 1001, 1002]) {
    packets.push({ ts: t++, data: tcp4(1, 2, port, 80, SYN) });
    packets.push({ ts: t++, data: tcp4(2, 1, 80, port, SYN | ACK) });
  }
  packets.push({ ts: t++, data: tcp4(1, 2, 1002, 80, FIN | ACK) });
  packets.push({ ts: t++, data: tcp4(2, 1, 80, 1002, FIN | ACK) });
  // Then a flood of spoofed SYNs, one packet each, from other hosts.
  for (let k = 0; k < 20; k++) packets.push({ ts: t++, data: tcp4(100 + k, 2, 5000 + k, 80, SYN) });
  // Room for 8 short flows.
  const { rows, counters } = run(packets, { memcapBytes: 8 * FLOW_COST });
  assertEquals(counters.evictedByKind, {
    "closed": 1,
    "one-way": 14,
    "two-way": 0,
    "emergency-idle": 0,
  });
  assertEquals(counters.flowsEndedByReason.evicted, 15);
  ok(counters.emergencyEntered >= 1);
  const evicted = rows.filter((r) => r.endReason === "evicted").map((r) => r.srcPort);
  // The closed conversation, then the oldest spoofed SYNs; both conversations survive.
  assertEquals(evicted, [1002, ...Array.from({ length: 14 }, (_, k) => 5000 + k)]);
  ok(counters.tableBytesInUse <= 8 * FLOW_COST);

  // With nothing one-way or closed left, the least recently seen two-way flow goes.
  const twoWay: TestPacket[] = [];
  for (let k = 0; k < 5; k++) {
    twoWay.push({ ts: 2 * k, data: tcp4(1, 2, 2000 + k, 80, SYN) });
    twoWay.push({ ts: 2 * k + 1, data: tcp4(2, 1, 80, 2000 + k, SYN | ACK) });
  }
  const second = run(twoWay, { maxFlows: 3 });
  assertEquals(second.counters.evictedByKind["two-way"], 2);
});

Deno.test("flow memcap: one-way flows past their share are evicted, oldest first, each counted", () => {
  const packets: TestPacket[] = [];
  let t = 0;
  // Three conversations (one closed by FIN both ways), then 20 spoofed SYNs.
  for (const port of [1000, 1001, 1002]) {
    packets.push({ ts: t++, data: tcp4(1, 2, port, 80, SYN) });
    packets.push({ ts: t++, data: tcp4(2, 1, 80, port, SYN | ACK) });
  }
  packets.push({ ts: t++, data: tcp4(1, 2, 1002, 80, FIN | ACK) });
  packets.push({ ts: t++, data: tcp4(2, 1, 80, 1002, FIN | ACK) });
  for (let k = 0; k < 20; k++) packets.push({ ts: t++, data: tcp4(100 + k, 2, 5000 + k, 80, SYN) });
  // Room for 8 short flows, half of it for one-way flows: the flood keeps 4, never the memcap.
  const { rows, counters } = run(packets, { memcapBytes: 8 * FLOW_COST, oneWayShare: 0.5 });
  assertEquals(counters.evictedByKind, {
    "closed": 0,
    "one-way": 16,
    "two-way": 0,
    "emergency-idle": 0,
  });
  ok(counters.emergencyEntered >= 1);
  const evicted = rows.filter((r) => r.endReason === "evicted").map((r) => r.srcPort);
  assertEquals(evicted, Array.from({ length: 16 }, (_, k) => 5000 + k));
  // Every flow still ends once: the conversations and the 4 newest SYNs at the end of input.
  assertEquals(rows.filter((r) => r.interim === 0).length, 3 + 20);
});

Deno.test("flow memcap: emergency mode ends one-way flows after the emergency idle time", () => {
  const packets: TestPacket[] = [];
  // A conversation that keeps talking, then 12 spoofed SYNs a second apart.
  packets.push({ ts: 0, data: tcp4(1, 2, 1000, 80, SYN) });
  packets.push({ ts: 1, data: tcp4(2, 1, 80, 1000, SYN | ACK) });
  for (let k = 0; k < 12; k++) {
    packets.push({ ts: (k + 1) * S, data: tcp4(100 + k, 2, 5000 + k, 80, SYN) });
    packets.push({ ts: (k + 1) * S + 1, data: tcp4(1, 2, 1000, 80, ACK | PSH, 10) });
  }
  const { counters, rows } = run(
    packets,
    { memcapBytes: 4 * FLOW_COST + 2 * STATS_COST, emergencyIdleSeconds: 2 },
    2,
  );
  ok(counters.evictedByKind["emergency-idle"] > 0, JSON.stringify(counters.evictedByKind));
  assertEquals(counters.evictedByKind["two-way"], 0);
  // The conversation is one flow to the end.
  assertEquals(rows.filter((r) => r.srcPort === 1000).length, 1);
});

Deno.test("interim rows: a long flow is exported while open, at doubling gaps, then once more at its end", () => {
  const packets: TestPacket[] = [];
  packets.push({ ts: 0, data: tcp4(1, 2, 1000, 80, SYN) });
  packets.push({ ts: 1000, data: tcp4(2, 1, 80, 1000, SYN | ACK) });
  // A packet every half second for 20 s.
  for (let k = 1; k <= 40; k++) {
    packets.push({ ts: k * S / 2, data: tcp4(1, 2, 1000, 80, ACK | PSH, 10) });
  }
  // A one-packet probe at 1 s: one interim row, then no final row (nothing new).
  packets.push({ ts: 1 * S, data: tcp4(9, 2, 7000, 22, SYN) });
  packets.sort((a, b) => a.ts - b.ts);
  const { rows, counters } = run(packets, { interimExportSeconds: 2 });
  const flow = rows.filter((r) => r.srcPort === 1000);
  const interim = flow.filter((r) => r.interim === 1);
  // Due at age 2 s, then 4 s and 8 s after the row before. The meter expires on a grid of
  // packet time (250 ms), before the packet on the grid line: each row holds the packets
  // before 2, 6 and 14 s, whatever the input batches (3 packets here).
  assertEquals(interim.map((r) => r.exportSeq), [0, 1, 2]);
  ok(interim.every((r) => r.endReason === "interim"));
  assertEquals(interim.map((r) => (r.endMicros - r.startMicros) / S), [1.5, 5.5, 13.5]);
  // Cumulative: each row holds more packets than the one before.
  const packetsOf = (r: typeof flow[number]) => r.fwdPackets + r.bwdPackets;
  ok(
    packetsOf(interim[0]) < packetsOf(interim[1]) && packetsOf(interim[1]) < packetsOf(interim[2]),
  );
  const final = flow.filter((r) => r.interim === 0);
  assertEquals(final.length, 1);
  assertEquals([final[0].exportSeq, final[0].endReason, packetsOf(final[0])], [
    3,
    "end-of-input",
    42,
  ]);
  const probe = rows.filter((r) => r.srcPort === 7000);
  assertEquals(probe.map((r) => [r.interim, r.exportSeq]), [[1, 0]]);
  assertEquals(counters.interimRows, 4);
  assertEquals(counters.endedWithoutFinalRow, 1);
  assertEquals(counters.flowsEnded, 2);
});

Deno.test("flush: a full table ends a few batches at a time", () => {
  const packets: TestPacket[] = [];
  for (let k = 0; k < 5000; k++) {
    packets.push({ ts: k, data: tcp4(1 + (k >> 12), 2, 1024 + (k & 0xfff), 80, SYN) });
  }
  const m = new FlowMeter({ flowBatchSize: 100 });
  m.push(batchOf(packets));
  assertEquals(m.drain().length, 0);
  let steps = 0, flows = 0;
  while (m.flushStep()) {
    steps++;
    const batches = m.drain();
    ok(batches.length <= 2, `a flush step made ${batches.length} batches`);
    for (const b of batches) flows += b.count;
  }
  for (const b of m.drain()) flows += b.count;
  assertEquals(flows, 5000);
  ok(steps >= 20);
});
