import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  DECODE_OUTCOMES,
  DECODE_TUNNELS,
  DecodedPacket,
  decodePacket,
  type FlowBatch,
  FlowMeter,
  formatAddress,
  MAX_TUNNELS,
  meterFlows,
} from "./mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
import { batchOf, ethernet, ipv4, SYN, tcp } from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/tunnels/", import.meta.url).pathname;

function decodeOne(data: Uint8Array): { result: string; tunnel: string; p: DecodedPacket } {
  const p = new DecodedPacket();
  const result = decodePacket(batchOf([{ data, ts: 0 }]), 0, p);
  return { result: DECODE_OUTCOMES[result], tunnel: DECODE_TUNNELS[p.tunnel], p };
}

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const bytes = (...parts: ArrayLike<number>[]) =>
  Uint8Array.from(parts.flatMap((p) => Array.from(p)));

/** An inner Ethernet/IPv4/TCP SYN 192.168.5.1:4000 -> 192.168.5.2:22. */
const innerFrame = ethernet(
  0x0800,
  ipv4(
    { src: [192, 168, 5, 1], dst: [192, 168, 5, 2], protocol: 6 },
    tcp({ sport: 4000, dport: 22, flags: SYN }),
  ),
);

/** An outer IPv4/UDP datagram 10.0.0.1 -> 10.0.0.2 to `port` carrying `payload`. */
function overUdp(port: number, payload: Uint8Array): Uint8Array {
  const udp = bytes(u16(50000), u16(port), u16(8 + payload.length), [0, 0], payload);
  return ethernet(0x0800, ipv4({ protocol: 17 }, udp));
}

const vxlanHeader = (flags: number) => [flags, 0, 0, 0, 0, 0, 42, 0];

Deno.test("tunnels: VXLAN is opened and its inner packet metered; a datagram on the port without VXLAN's I flag stays UDP", () => {
  const open = decodeOne(overUdp(4789, bytes(vxlanHeader(0x08), innerFrame)));
  assertEquals([open.result, open.tunnel], ["metered", "vxlan"]);
  assertEquals(
    [formatAddress(open.p.srcAddr, 4), open.p.protocol, open.p.srcPort, open.p.dstPort],
    ["192.168.5.1", 6, 4000, 22],
  );
  // Linux's own default port (flannel) too.
  assertEquals(decodeOne(overUdp(8472, bytes(vxlanHeader(0x08), innerFrame))).tunnel, "vxlan");
  const plain = decodeOne(overUdp(4789, bytes(vxlanHeader(0x00), innerFrame)));
  assertEquals([plain.result, plain.tunnel, plain.p.protocol, plain.p.dstPort], [
    "metered",
    "none",
    17,
    4789,
  ]);
});

Deno.test("tunnels: a truncated inner packet is counted as truncated, not as a tunnel flow", () => {
  const cut = decodeOne(overUdp(4789, bytes(vxlanHeader(0x08), innerFrame.subarray(0, 30))));
  assertEquals([cut.result, cut.tunnel], ["truncated-ip-header", "vxlan"]);
});

Deno.test("tunnels: nesting is opened MAX_TUNNELS deep, then the packet is metered as the flow it is there", () => {
  // VXLAN in VXLAN in ...: one more level than opened.
  let frame = innerFrame;
  for (let level = 0; level <= MAX_TUNNELS; level++) {
    frame = overUdp(4789, bytes(vxlanHeader(0x08), frame));
  }
  const deep = decodeOne(frame);
  assertEquals([deep.result, deep.tunnel, deep.p.protocol, deep.p.dstPort], [
    "metered",
    "vxlan",
    17,
    4789,
  ]);
});

Deno.test("tunnels: GRE of another version (PPTP's enhanced GRE) and unknown GRE payloads stay protocol 47 flows", () => {
  const inner = [...innerFrame];
  const pptp = decodeOne(
    ethernet(0x0800, ipv4({ protocol: 47 }, bytes([0x30, 0x81, 0x88, 0x0b], inner))),
  );
  assertEquals([pptp.result, pptp.tunnel, pptp.p.protocol], ["metered", "none", 47]);
  const unknown = decodeOne(
    ethernet(0x0800, ipv4({ protocol: 47 }, bytes([0, 0, 0x88, 0x3e], inner))),
  );
  assertEquals([unknown.result, unknown.tunnel, unknown.p.protocol], ["metered", "none", 47]);
  const gretap = decodeOne(
    ethernet(0x0800, ipv4({ protocol: 47 }, bytes([0, 0, 0x65, 0x58], inner))),
  );
  assertEquals([gretap.result, gretap.tunnel, gretap.p.protocol, gretap.p.dstPort], [
    "metered",
    "gre",
    6,
    22,
  ]);
});

Deno.test("tunnels: a fragment of a tunnel datagram is not opened (its inner packet is not all there)", () => {
  const udp = bytes(u16(50000), u16(4789), u16(8 + 8 + innerFrame.length), [0, 0]);
  const payload = bytes(udp, vxlanHeader(0x08), innerFrame);
  const first = decodeOne(ethernet(0x0800, ipv4({ protocol: 17, moreFragments: true }, payload)));
  assertEquals([first.result, first.tunnel, first.p.dstPort], ["metered", "none", 4789]);
});

Deno.test("tunnels: PPPoE with PPP's protocol in two bytes or compressed to one", () => {
  const ip = [...innerFrame.subarray(14)];
  const session = (protocol: number[]) =>
    bytes([0x11, 0, 0, 0x11], u16(protocol.length + ip.length), protocol, ip);
  for (const protocol of [[0x00, 0x21], [0x21]]) {
    const { result, tunnel, p } = decodeOne(ethernet(0x8864, session(protocol)));
    assertEquals([result, tunnel, p.dstPort], ["metered", "pppoe", 22]);
  }
});

async function rowsOf(path: string): Promise<{ rows: string[]; tunnels: object }> {
  const meter = new FlowMeter();
  const rows: string[] = [];
  for await (const b of meterFlows(readCaptureFile(path), {}, meter)) rows.push(...rowStrings(b));
  return { rows, tunnels: meter.counters().decode.tunnels };
}

function rowStrings(b: FlowBatch): string[] {
  const out: string[] = [];
  const width = b.width;
  for (let i = 0; i < b.count; i++) {
    const features = Array.from(b.features.subarray(i * width, (i + 1) * width));
    out.push(`${b.srcPort[i]}>${b.dstPort[i]}/${b.protocol[i]} ${features.join(",")}`);
  }
  return out;
}

// Each fixture wraps every frame of inner.pcap (real traffic: pings, an HTTP fetch and a SYN scan
// across a Linux VXLAN, captured on the overlay device) in another tunnel, at the same times
// (tests/fixtures/tunnels/wrap.py): its flows must be inner.pcap's, row for row, feature for feature.
const WRAPPED: [string, string, number][] = [
  ["geneve.pcap", "geneve", 219],
  ["gretap.pcap", "gre", 219],
  ["erspan2.pcap", "erspan", 219],
  ["erspan3.pcap", "erspan", 219],
  ["gre.pcap", "gre", 217], // IP only: the two ARP frames are not carried
  ["ipip.pcap", "ip-in-ip", 217],
  ["mpls.pcap", "mpls", 217],
  ["pppoe.pcap", "pppoe", 217],
  ["vxlan-in-gre.pcap", "vxlan", 219],
];

Deno.test("tunnels: every wrapped capture meters to the inner capture's rows", async () => {
  const inner = await rowsOf(`${FIXTURES}inner.pcap`);
  assertEquals(inner.rows.length, 102);
  assertEquals(inner.tunnels, {});
  for (const [file, tunnel, packets] of WRAPPED) {
    const wrapped = await rowsOf(`${FIXTURES}${file}`);
    assertEquals(wrapped.tunnels, { [tunnel]: packets }, file);
    assertEquals(wrapped.rows, inner.rows, file);
  }
});

Deno.test("tunnels: a real VXLAN underlay capture meters to the flows captured on its two overlay devices", async () => {
  // Captured at the same moment on the underlay veth and on the VXLAN devices (VNI 42 on port 4789,
  // VNI 1 on 8472): packet times differ by microseconds, so compare keys, packets and bytes.
  const summary = (rows: string[]) =>
    rows.map((r) => {
      const [key, features] = r.split(" ");
      return `${key} ${features.split(",").slice(1, 5).join(",")}`;
    }).sort();
  const underlay = await rowsOf(`${FIXTURES}vxlan.pcap`);
  assertEquals(underlay.tunnels, { vxlan: 732 });
  const overlay = [
    ...(await rowsOf(`${FIXTURES}inner-vni42.pcap`)).rows,
    ...(await rowsOf(`${FIXTURES}inner.pcap`)).rows,
  ];
  assertEquals(underlay.rows.length, 312);
  assertEquals(summary(underlay.rows), summary(overlay));
});
