import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DECODE_OUTCOMES, DecodedPacket, decodePacket, formatAddress } from "./mod.ts";
import {
  ACK,
  batchOf,
  ethernet,
  icmp,
  ipv4,
  ipv6,
  ipv6Extension,
  PSH,
  SYN,
  tcp,
  udp,
} from "../../tests/support/flow_packets.ts";

const outcome = (name: string) => DECODE_OUTCOMES.indexOf(name as typeof DECODE_OUTCOMES[number]);

function decodeOne(data: Uint8Array, linkType = 1): { result: string; p: DecodedPacket } {
  const p = new DecodedPacket();
  const result = decodePacket(batchOf([{ data, ts: 0, linkType }]), 0, p);
  return { result: DECODE_OUTCOMES[result], p };
}

const tcpSegment = tcp({ sport: 1234, dport: 80, flags: SYN, window: 29200, mss: 1460 });
const ip4Tcp = ipv4({ src: [192, 168, 1, 2], dst: [8, 8, 4, 4], protocol: 6 }, tcpSegment);

Deno.test("decode: Ethernet IPv4 TCP with MSS option", () => {
  const { result, p } = decodeOne(ethernet(0x0800, ip4Tcp));
  assertEquals(result, "metered");
  assertEquals(formatAddress(p.srcAddr, p.ipVersion), "192.168.1.2");
  assertEquals(formatAddress(p.dstAddr, p.ipVersion), "8.8.4.4");
  assertEquals([p.protocol, p.srcPort, p.dstPort, p.tcpFlags, p.tcpWindow], [
    6,
    1234,
    80,
    SYN,
    29200,
  ]);
  assertEquals([p.tcpMss, p.l4HeaderBytes, p.payloadBytes, p.vlan], [1460, 24, 0, 0]);
});

Deno.test("decode: every supported link type reaches the same IPv4 packet", () => {
  const cooked1 = new Uint8Array([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]);
  const cooked2 = new Uint8Array([
    0x08,
    0x00,
    0,
    0,
    0,
    0,
    0,
    2,
    0,
    1,
    0,
    6,
    1,
    2,
    3,
    4,
    5,
    6,
    0,
    0,
  ]);
  const nullLe = new Uint8Array([2, 0, 0, 0]);
  const nullBe = new Uint8Array([0, 0, 0, 2]);
  const loop = new Uint8Array([0, 0, 0, 2]);
  const cases: [number, Uint8Array][] = [
    [1, ethernet(0x0800, ip4Tcp)],
    [113, new Uint8Array([...cooked1, ...ip4Tcp])],
    [276, new Uint8Array([...cooked2, ...ip4Tcp])],
    [101, ip4Tcp],
    [12, ip4Tcp],
    [14, ip4Tcp],
    [228, ip4Tcp],
    [0, new Uint8Array([...nullLe, ...ip4Tcp])],
    [0, new Uint8Array([...nullBe, ...ip4Tcp])],
    [108, new Uint8Array([...loop, ...ip4Tcp])],
  ];
  for (const [linkType, data] of cases) {
    const { result, p } = decodeOne(data, linkType);
    assertEquals(result, "metered", `link type ${linkType}`);
    assertEquals([p.srcPort, p.dstPort, p.tcpMss], [1234, 80, 1460], `link type ${linkType}`);
  }
});

Deno.test("decode: raw IPv6 (229, 101) and BSD loopback AF_INET6 values", () => {
  const ip6 = ipv6(17, udp(5353, 53, 10));
  for (
    const [linkType, data] of [[229, ip6], [101, ip6], [0, new Uint8Array([30, 0, 0, 0, ...ip6])], [
      0,
      new Uint8Array([10, 0, 0, 0, ...ip6]),
    ]] as [number, Uint8Array][]
  ) {
    const { result, p } = decodeOne(data, linkType);
    assertEquals(result, "metered");
    assertEquals([p.ipVersion, p.protocol, p.srcPort, p.dstPort, p.payloadBytes], [
      6,
      17,
      5353,
      53,
      10,
    ]);
    assertEquals(formatAddress(p.srcAddr, 6), "2001:db8::1");
  }
});

Deno.test("decode: unsupported link types are counted by number, never fatal", () => {
  const p = new DecodedPacket();
  const other = new Map<number, number>();
  const batch = batchOf([{ data: new Uint8Array(40), ts: 0, linkType: 127 }, {
    data: new Uint8Array(40),
    ts: 0,
    linkType: 105,
  }]);
  assertEquals(decodePacket(batch, 0, p, other), outcome("unsupported-link-type"));
  assertEquals(decodePacket(batch, 1, p, other), outcome("unsupported-link-type"));
  assertEquals(Object.fromEntries(other), { 127: 1, 105: 1 });
});

Deno.test("decode: 802.1Q, QinQ (0x88a8 and 0x9100) keep the outer VLAN id", () => {
  for (
    const tags of [[[0x8100, 100]], [[0x88a8, 200], [0x8100, 300]], [[0x9100, 7], [0x8100, 8]]] as [
      number,
      number,
    ][][]
  ) {
    const { result, p } = decodeOne(ethernet(0x0800, ip4Tcp, tags));
    assertEquals(result, "metered");
    assertEquals(p.vlan, tags[0][1]);
    assertEquals(p.dstPort, 80);
  }
});

Deno.test("decode: IPv4 options are skipped to reach the ports", () => {
  const withOptions = ipv4(
    { protocol: 17, options: [0x94, 0x04, 0, 0, 1, 1, 0] },
    udp(1000, 2000, 4),
  );
  const { result, p } = decodeOne(ethernet(0x0800, withOptions));
  assertEquals(result, "metered");
  assertEquals([p.srcPort, p.dstPort, p.payloadBytes], [1000, 2000, 4]);
});

Deno.test("decode: first IPv4 fragment carries the ports and the whole UDP length; later ones are counted", () => {
  const datagram = udp(4000, 5000, 3000);
  const first = ipv4({ protocol: 17, moreFragments: true, id: 9 }, datagram.subarray(0, 1480));
  const second = ipv4({ protocol: 17, fragmentOffset8: 185, id: 9 }, datagram.subarray(1480));
  const a = decodeOne(ethernet(0x0800, first));
  assertEquals(a.result, "metered");
  assertEquals([a.p.srcPort, a.p.payloadBytes, a.p.firstFragment], [4000, 3000, true]);
  assertEquals(decodeOne(ethernet(0x0800, second)).result, "ip-fragment-non-first");
});

Deno.test("decode: IPv6 extension headers (hop-by-hop, routing, destination, AH, fragment)", () => {
  const segment = tcp({ sport: 443, dport: 50000, flags: ACK | PSH, payload: 100 });
  const ah = [6, 4, 0, 0, ...new Array(20).fill(0)]; // (4 + 2) * 4 = 24 bytes, next TCP
  const chain = [...ipv6Extension(43, 1), ...ipv6Extension(60, 2), ...ipv6Extension(51, 1), ...ah];
  const { result, p } = decodeOne(
    ethernet(0x86dd, ipv6(0, new Uint8Array([...chain, ...segment]))),
  );
  assertEquals(result, "metered");
  assertEquals([p.srcPort, p.dstPort, p.payloadBytes, p.tcpFlags], [443, 50000, 100, ACK | PSH]);

  const fragFirst = [17, 0, 0, 1, 0, 0, 0, 7]; // offset 0, M=1
  const fragLater = [17, 0, 0x05, 0xa8, 0, 0, 0, 7]; // offset 181
  const d = udp(53, 53, 2000);
  assertEquals(
    decodeOne(ethernet(0x86dd, ipv6(44, new Uint8Array([...fragFirst, ...d.subarray(0, 1448)])))).p
      .payloadBytes,
    2000,
  );
  assertEquals(
    decodeOne(ethernet(0x86dd, ipv6(44, new Uint8Array([...fragLater, ...d.subarray(1448)]))))
      .result,
    "ip-fragment-non-first",
  );
});

Deno.test("decode: ICMP echo request and reply map to mirrored ports (Community ID convention)", () => {
  const request = decodeOne(ethernet(0x0800, ipv4({ protocol: 1 }, icmp(8, 0, 56)))).p;
  assertEquals([request.srcPort, request.dstPort, request.payloadBytes], [8, 0, 56]);
  const reply = decodeOne(ethernet(0x0800, ipv4({ protocol: 1 }, icmp(0, 0, 56)))).p;
  assertEquals([reply.srcPort, reply.dstPort], [0, 8]);
  const unreachable = decodeOne(ethernet(0x0800, ipv4({ protocol: 1 }, icmp(3, 3, 28)))).p;
  assertEquals([unreachable.srcPort, unreachable.dstPort, unreachable.icmpOneWay], [3, 3, true]);
  const ns = decodeOne(ethernet(0x86dd, ipv6(58, icmp(135, 0, 16)))).p;
  assertEquals([ns.protocol, ns.srcPort, ns.dstPort], [58, 135, 136]);
});

Deno.test("decode: truncated and malformed packets are counted by reason", () => {
  const good = ethernet(0x0800, ip4Tcp);
  const badIhl = good.slice();
  badIhl[14] = 0x43; // IHL 3
  const badVersion = good.slice();
  badVersion[14] = 0x55;
  const badTotal = good.slice();
  badTotal[16] = 0, badTotal[17] = 10; // total length 10 < 20
  const badTcpOffset = good.slice();
  badTcpOffset[14 + 20 + 12] = 0x20; // data offset 2
  const badUdp = ethernet(0x0800, ipv4({ protocol: 17 }, udp(1, 2, 4)));
  badUdp[14 + 20 + 4] = 0, badUdp[14 + 20 + 5] = 4; // UDP length 4 < 8
  const cases: [Uint8Array, string][] = [
    [good.subarray(0, 10), "truncated-link-header"],
    [ethernet(0x8100, new Uint8Array([0, 1])), "truncated-link-header"],
    [good.subarray(0, 14 + 12), "truncated-ip-header"],
    [good.subarray(0, 14 + 20 + 10), "truncated-tcp-header"],
    [badIhl, "bad-ip-header-length"],
    [badVersion, "bad-ip-version"],
    [badTotal, "bad-ip-total-length"],
    [badTcpOffset, "bad-tcp-header-length"],
    [badUdp, "bad-udp-length"],
    [ethernet(0x0800, ipv4({ protocol: 17 }, new Uint8Array(4))), "truncated-udp-header"],
    [ethernet(0x0800, ipv4({ protocol: 1 }, new Uint8Array(2))), "truncated-icmp-header"],
    [ethernet(0x86dd, ipv6(0, new Uint8Array([6, 200]))), "bad-ip-total-length"],
    [
      ethernet(0x86dd, ipv6(0, new Uint8Array(0))).subarray(0, 14 + 40),
      "truncated-ipv6-extension-header",
    ],
    [ethernet(0x0806, new Uint8Array(28)), "arp"],
    [ethernet(0x88cc, new Uint8Array(28)), "other-ethertype"],
  ];
  for (const [data, expected] of cases) assertEquals(decodeOne(data).result, expected, expected);
});

Deno.test("decode: payload size comes from IP lengths, not the snap length", () => {
  const full = ethernet(
    0x0800,
    ipv4({ protocol: 6 }, tcp({ sport: 1, dport: 2, flags: ACK, payload: 1000 })),
  );
  const { result, p } = decodeOne(full.subarray(0, 14 + 20 + 20 + 10));
  assertEquals(result, "metered");
  assertEquals(p.payloadBytes, 1000);
});
