import assert from "node:assert/strict";
import { FragmentHeaders } from "./fragment_headers.ts";
import { DecodedPacket, decodePacket } from "./decode.ts";
import { batchOf, SYN, tcp4 } from "../../tests/support/flow_packets.ts";

/** An IPv4 frame's fragments: its TCP bytes cut at `cuts` (byte offsets, multiples of 8). */
function fragments(frame: Uint8Array, cuts: number[], id = 4242): Uint8Array[] {
  const ip = frame.subarray(14), ihl = (ip[0] & 0x0f) * 4, l4 = ip.subarray(ihl);
  const edges = [0, ...cuts, l4.length];
  return edges.slice(0, -1).map((start, k) => {
    const part = l4.subarray(start, edges[k + 1]);
    const out = new Uint8Array(14 + ihl + part.length);
    out.set(frame.subarray(0, 14 + ihl));
    out.set(part, 14 + ihl);
    const total = ihl + part.length, field = (start / 8) | (k < edges.length - 2 ? 0x2000 : 0);
    out[14 + 2] = total >> 8, out[14 + 3] = total & 255;
    out[14 + 4] = id >> 8, out[14 + 5] = id & 255;
    out[14 + 6] = field >> 8, out[14 + 7] = field & 255;
    return out;
  });
}

Deno.test("fragment headers: a SYN split 8/8/4, in any order, is put together; ordinary fragments are left alone", () => {
  const syn = tcp4(1, 2, 40000, 443, SYN);
  for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
    const parts = fragments(syn, [8, 16]);
    const batch = batchOf(order.map((k, n) => ({ ts: 1e15 + n, data: parts[k] })));
    const f = new FragmentHeaders();
    const done = order.map((_, n) => f.offer(batch, n, batch.offset[n] + 14));
    assert.deepEqual(done, [false, false, true], `order ${order}`);
    const p = new DecodedPacket();
    assert.equal(decodePacket(f.packet, 0, p), 0);
    assert.deepEqual([p.srcPort, p.dstPort, p.tcpFlags, p.payloadBytes], [40000, 443, SYN, 0]);
    assert.equal(f.rebuilt, 1);
  }
  // A segment with 600 bytes of data cut at 512: its first fragment holds the header (decoded
  // as usual, never offered); its tail, far out, is not kept.
  const big = fragments(tcp4(1, 2, 40001, 443, SYN, 600), [512]);
  const batch = batchOf(big.map((data, n) => ({ ts: 1e15 + n, data })));
  const f = new FragmentHeaders();
  assert.equal(f.offer(batch, 1, batch.offset[1] + 14), false);
  assert.equal(f.rebuilt, 0);
});
