import assert from "node:assert/strict";
import {
  createPacketLabeller,
  type LabelledPacketFields,
  PACKET_ATTACKER_OUTSIDE,
  PACKET_BENIGN,
  parseAttackWindows,
} from "./mod.ts";

/** Packet rows as the extractor writes them: 16 address bytes a row, IPv4 in the last four. */
function rows(packets: { ts: number; src: string; dst: string }[]): LabelledPacketFields {
  const n = packets.length;
  const out = {
    count: n,
    timestampMicros: new Float64Array(n),
    srcAddr: new Uint8Array(16 * n),
    dstAddr: new Uint8Array(16 * n),
    ipVersion: new Uint8Array(n),
  };
  const put = (bytes: Uint8Array, at: number, text: string) => {
    if (text.includes(".")) {
      bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], at);
      bytes.set(text.split(".").map(Number), at + 12);
      return 4;
    }
    // Test addresses are written in full (8 groups).
    text.split(":").forEach((g, i) => {
      const v = parseInt(g, 16);
      bytes[at + 2 * i] = v >> 8, bytes[at + 2 * i + 1] = v & 0xff;
    });
    return 6;
  };
  packets.forEach((p, i) => {
    out.timestampMicros[i] = p.ts * 1e6;
    out.ipVersion[i] = put(out.srcAddr, i * 16, p.src);
    put(out.dstAddr, i * 16, p.dst);
  });
  return out;
}

function label(csv: string, packets: { ts: number; src: string; dst: string }[]): number[] {
  const labeller = createPacketLabeller(parseAttackWindows(csv));
  const out = new Int16Array(packets.length);
  labeller.label(rows(packets), out);
  return [...out];
}

const CSV = "attacker,start,end,attack\n" +
  "10.66.0.66,100.5,110.25,syn-scan\n" +
  "10.66.0.67,200,210,syn-flood\n" +
  "10.66.0.66,300,301,syn-scan\n";

Deno.test("packet labels: window edges are inside (closed interval), a microsecond past is not", () => {
  const a = "10.66.0.66", v = "10.0.0.5";
  assert.deepEqual(
    label(CSV, [
      { ts: 100.499999, src: a, dst: v },
      { ts: 100.5, src: a, dst: v },
      { ts: 105, src: a, dst: v },
      { ts: 110.25, src: a, dst: v },
      { ts: 110.250001, src: a, dst: v },
      { ts: 300.5, src: a, dst: v }, // the attacker's second window of the same attack
    ]),
    [PACKET_ATTACKER_OUTSIDE, 0, 0, 0, PACKET_ATTACKER_OUTSIDE, 0],
  );
});

Deno.test("packet labels: the attacker as destination (the victim's replies) counts; others are benign", () => {
  assert.deepEqual(
    label(CSV, [
      { ts: 205, src: "10.0.0.5", dst: "10.66.0.67" },
      { ts: 205, src: "10.66.0.67", dst: "10.0.0.5" },
      { ts: 205, src: "10.0.0.5", dst: "10.0.0.6" }, // inside a window, not the attacker
      { ts: 205, src: "10.66.0.66", dst: "10.0.0.5" }, // another attacker outside its windows
      { ts: 205, src: "10.66.0.66", dst: "10.66.0.67" }, // to an attacker inside its window
      { ts: 205, src: "10.0.0.66", dst: "10.0.0.67" }, // same last octets, other addresses
    ]),
    [1, 1, PACKET_BENIGN, PACKET_ATTACKER_OUTSIDE, 1, PACKET_BENIGN],
  );
});

Deno.test("packet labels: IPv6 attackers, written compressed or in full", () => {
  const csv = "attacker,start,end,attack\n2001:DB8::66,10,20,udp-scan\n";
  assert.deepEqual(
    label(csv, [
      { ts: 15, src: "2001:db8:0:0:0:0:0:66", dst: "2001:db8:0:0:0:0:0:1" },
      { ts: 15, src: "2001:db8:0:0:0:0:0:1", dst: "2001:db8:0:0:0:0:0:66" },
      { ts: 15, src: "2001:db8:0:0:0:0:0:1", dst: "2001:db8:0:0:0:0:0:2" },
      // An IPv4 packet whose last four bytes happen to match is not the IPv6 attacker.
      { ts: 15, src: "0.0.0.102", dst: "10.0.0.1" },
    ]),
    [0, 0, PACKET_BENIGN, PACKET_BENIGN],
  );
  assert.throws(
    () => createPacketLabeller([{ attacker: "10.0.0.300", start: 0, end: 1, attack: "x" }]),
    /is not an address/,
  );
});
