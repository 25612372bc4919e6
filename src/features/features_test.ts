/**
 * The row writer fills exactly the feature set's columns: every one of them,
 * and nothing past them, for a short flow (statistics folded into the
 * scratch row) and a long one (its own statistics row).
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { createPacketBatch } from "../capture/mod.ts";
import { DecodedPacket, decodePacket } from "./decode.ts";
import { createFlowBatch, writeFlowRow } from "./features.ts";
import { FlowTable, setFlowHash } from "./flow_table.ts";
import { FEATURE_COUNT, FEATURE_SET } from "./schema.ts";

/** Ethernet + IPv4 + TCP frame with `payload` zero bytes. */
function tcpFrame(
  src: number,
  dst: number,
  sport: number,
  dport: number,
  flags: number,
  payload = 0,
) {
  const frame = new Uint8Array(14 + 20 + 20 + payload);
  const view = new DataView(frame.buffer);
  view.setUint16(12, 0x0800);
  view.setUint8(14, 0x45);
  view.setUint16(16, 40 + payload);
  view.setUint8(22, 64);
  view.setUint8(23, 6);
  view.setUint32(26, src);
  view.setUint32(30, dst);
  view.setUint16(34, sport);
  view.setUint16(36, dport);
  view.setUint8(46, 0x50);
  view.setUint8(47, flags);
  view.setUint16(48, 1000);
  return frame;
}

Deno.test("row writer fills exactly the feature set's columns", () => {
  const spare = 3;
  const out = createFlowBatch(4, FEATURE_COUNT + spare);
  out.features.fill(NaN);
  const reasons: number[] = [];
  const table = new FlowTable({
    idleTimeoutMicros: 120e6,
    activeTimeoutMicros: 120e6,
    activityTimeoutMicros: 5e6,
    closeLingerMicros: 5e6,
    maxFlows: 16,
  }, (t, id, reason) => {
    writeFlowRow(t, id, reason, out, out.count++);
    reasons.push(reason);
  });
  const frames: Uint8Array[] = [tcpFrame(0x0a000001, 0x0a000002, 40000, 80, 0x02)];
  // A long flow: more packets than the flow row logs, so it gets a statistics row.
  for (let k = 0; k < 12; k++) {
    frames.push(
      k % 2 === 0
        ? tcpFrame(0x0a000003, 0x0a000004, 40001, 443, 0x18, 100 + k)
        : tcpFrame(0x0a000004, 0x0a000003, 443, 40001, 0x18, 1000 + k),
    );
  }
  const bytes = frames.reduce((n, f) => n + f.length, 0);
  const batch = createPacketBatch(frames.length, bytes);
  let at = 0;
  frames.forEach((f, i) => {
    batch.data.set(f, at);
    batch.offset[i] = at;
    batch.capturedLength[i] = batch.wireLength[i] = f.length;
    batch.timestampMicros[i] = 1.7e15 + i * 1000;
    batch.linkType[i] = 1;
    at += f.length;
  });
  batch.count = frames.length;
  const packet = new DecodedPacket();
  for (let i = 0; i < batch.count; i++) {
    assertEquals(decodePacket(batch, i, packet, new Map()), 0);
    setFlowHash(packet);
    table.add(packet);
  }
  table.flushAll(5);
  assertEquals(out.count, 2);
  assertEquals(FEATURE_SET.columns.length, FEATURE_COUNT);
  for (let row = 0; row < out.count; row++) {
    const cells = Array.from(out.features.subarray(row * out.width, (row + 1) * out.width));
    const unwritten = cells.slice(0, FEATURE_COUNT).flatMap((v, k) =>
      Number.isNaN(v) ? [FEATURE_SET.columns[k].name] : []
    );
    assertEquals(unwritten, [], `row ${row}: columns the writer left unwritten`);
    ok(
      cells.slice(FEATURE_COUNT).every(Number.isNaN),
      `row ${row}: the writer wrote past the feature set's ${FEATURE_COUNT} columns`,
    );
  }
  // The long flow: 12 packets, 6 each way.
  assertEquals([out.fwdPackets[1], out.bwdPackets[1]], [6, 6]);
});
