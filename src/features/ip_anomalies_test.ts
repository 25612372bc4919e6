import assert from "node:assert/strict";
import { readCaptureFile } from "../capture/mod.ts";
import {
  batchOf,
  ethernet,
  icmp,
  ipv4,
  ipv6,
  tcp,
  type TestPacket,
  udp,
} from "../../tests/support/flow_packets.ts";
import { sharedDataDir } from "../../tests/support/environment.ts";
import { FlowMeter, type IpAnomalyFinding, meterFlows } from "./mod.ts";

const at = (second: number) => 1_700_000_000e6 + second * 1e6;
const V = [10, 0, 0, 9], A = [10, 0, 0, 66];

/** Meters `packets` with the IP anomaly monitor; its findings and counters. */
function monitor(packets: TestPacket[]) {
  const meter = new FlowMeter({ ipAnomalies: true });
  meter.push(batchOf(packets));
  while (meter.continueExpiry());
  meter.flush();
  return {
    findings: meter.takeFindings() as IpAnomalyFinding[],
    counters: meter.counters().ipAnomalies!,
  };
}

/** An IPv4 fragment of `bytes` payload bytes at byte `offset` of datagram `id`. */
function fragment(id: number, offset: number, bytes: number, more: boolean, protocol = 17) {
  return ethernet(
    0x0800,
    ipv4({
      src: A,
      dst: V,
      protocol,
      id,
      moreFragments: more,
      fragmentOffset8: offset / 8,
    }, new Uint8Array(bytes)),
  );
}

Deno.test("land attack: a SYN from an address and port to the same is found once; other SYNs are not", () => {
  const land = ethernet(
    0x0800,
    ipv4({ src: V, dst: V, protocol: 6 }, tcp({ sport: 139, dport: 139, flags: 0x02 })),
  );
  const packets: TestPacket[] = [
    { data: land, ts: at(0) },
    { data: land, ts: at(1) },
    // Same address, other ports; same ports, other addresses; a SYN-ACK to itself.
    {
      data: ethernet(
        0x0800,
        ipv4({ src: V, dst: V, protocol: 6 }, tcp({ sport: 1000, dport: 139, flags: 0x02 })),
      ),
      ts: at(2),
    },
    {
      data: ethernet(
        0x0800,
        ipv4({ src: A, dst: V, protocol: 6 }, tcp({ sport: 139, dport: 139, flags: 0x02 })),
      ),
      ts: at(3),
    },
    {
      data: ethernet(
        0x0800,
        ipv4({ src: A, dst: A, protocol: 6 }, tcp({ sport: 80, dport: 80, flags: 0x12 })),
      ),
      ts: at(4),
    },
  ];
  const { findings, counters } = monitor(packets);
  assert.equal(counters.land, 2);
  assert.equal(findings.length, 1, "the repeat is the same finding");
  assert.deepEqual(findings[0], {
    kind: "land",
    atMicros: at(0),
    srcIp: "10.0.0.9",
    dstIp: "10.0.0.9",
    protocol: 6,
    srcPort: 139,
    dstPort: 139,
    ipId: 0,
    fragmentStart: 0,
    fragmentEnd: 0,
    protocols: 0,
    vlan: 0,
  });
});

Deno.test("fragments: past 65,535 bytes (ping of death) and overlapping (teardrop) are found; ordinary fragmentation is not", () => {
  const packets: TestPacket[] = [
    // An ordinary datagram in three fragments, one of them sent twice (a duplicate is no overlap).
    { data: fragment(7, 0, 1480, true), ts: at(0) },
    { data: fragment(7, 1480, 1480, true), ts: at(0.001) },
    { data: fragment(7, 1480, 1480, true), ts: at(0.002) },
    { data: fragment(7, 2960, 100, false), ts: at(0.003) },
    // Teardrop: the second fragment starts inside the first and ends before it.
    { data: fragment(9, 0, 48, true), ts: at(1) },
    { data: fragment(9, 24, 4, false), ts: at(1.001) },
    // Ping of death: the last fragment ends past 65,535 bytes.
    { data: fragment(11, 65528, 100, false, 1), ts: at(2) },
  ];
  const { findings, counters } = monitor(packets);
  assert.equal(counters.fragments, 7);
  assert.equal(counters.fragmentOverlaps, 1);
  assert.equal(counters.fragmentOverruns, 1);
  assert.deepEqual(findings.map((f) => [f.kind, f.ipId, f.fragmentStart, f.fragmentEnd]), [
    ["fragment-overlap", 9, 24, 28],
    ["fragment-overrun", 11, 65528, 65628],
  ]);
  assert.equal(findings[1].protocol, 1);
  assert.equal(findings[1].srcIp, "10.0.0.66");
});

Deno.test("IP anomalies: unfragmented traffic of every kind is none; off by default", () => {
  const packets: TestPacket[] = [
    { data: ethernet(0x0800, ipv4({ src: A, dst: V, protocol: 17 }, udp(53, 53, 40))), ts: at(0) },
    { data: ethernet(0x0800, ipv4({ src: A, dst: V, protocol: 1 }, icmp(8, 0, 56))), ts: at(0) },
    {
      data: ethernet(
        0x0800,
        ipv4({ src: A, dst: V, protocol: 6 }, tcp({ sport: 80, dport: 80, flags: 0x02 })),
      ),
      ts: at(0),
    },
  ];
  const { findings, counters } = monitor(packets);
  assert.deepEqual(findings, []);
  assert.equal(counters.fragments + counters.land, 0);
  assert.equal(new FlowMeter().anomalies, null);
});

Deno.test("IP anomalies on real captures: none on the shared captures (fragmented IPv4 and IPv6 among them) but nmap -O's probe in activeosfingerprinting", async () => {
  const data = sharedDataDir();
  if (data === null) {
    console.log("skipped: ../shared/data is absent (real captures)");
    return;
  }
  const dir = `${data}pcaps/chrissanders`;
  let fragments = 0;
  for (const entry of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    const meter = new FlowMeter({ ipAnomalies: true });
    const findings = [];
    for await (const _ of meterFlows(readCaptureFile(`${dir}/${entry}`), {}, meter)) {
      findings.push(...meter.takeFindings());
    }
    findings.push(...meter.takeFindings());
    const kinds = findings.map((f) =>
      `${(f as IpAnomalyFinding).kind} ${(f as IpAnomalyFinding).srcIp}`
    );
    assert.deepEqual(
      kinds,
      entry === "activeosfingerprinting.pcapng" ? ["syn-fin-rst 172.16.16.128"] : [],
      entry,
    );
    fragments += meter.counters().ipAnomalies!.fragments;
  }
  assert.ok(fragments > 0, "the shared captures hold IPv4 fragments (ip_frag_source.pcapng)");
});

Deno.test("IP protocol scan: 10 protocols other than TCP, UDP and ICMP to one host within 10 s; fewer, or slower, are none", () => {
  const packets: TestPacket[] = [];
  // A scanner trying protocols 20..31 on V in a second; a host speaking GRE, ESP, IGMP, OSPF
  // and VRRP to A all the time; a slow prober trying 20 protocols one every 2 s.
  for (let k = 0; k < 12; k++) {
    packets.push({
      data: ethernet(0x0800, ipv4({ src: A, dst: V, protocol: 20 + k }, new Uint8Array(20))),
      ts: at(k * 0.05),
    });
  }
  for (let s = 0; s < 30; s++) {
    for (const protocol of [47, 50, 2, 89, 112]) {
      packets.push({
        data: ethernet(0x0800, ipv4({ src: V, dst: A, protocol }, new Uint8Array(20))),
        ts: at(s + 0.5),
      });
    }
  }
  for (let k = 0; k < 20; k++) {
    packets.push({
      data: ethernet(
        0x0800,
        ipv4({ src: [10, 0, 0, 7], dst: V, protocol: 100 + k }, new Uint8Array(20)),
      ),
      ts: at(k * 2 + 0.7),
    });
  }
  packets.sort((a, b) => a.ts - b.ts);
  const { findings, counters } = monitor(packets);
  assert.equal(counters.otherProtocolPackets, 12 + 150 + 20);
  assert.deepEqual(findings.map((f) => [f.kind, f.srcIp, f.dstIp, f.protocols]), [
    ["protocol-scan", "10.0.0.66", "10.0.0.9", 10],
  ]);
});

Deno.test("IPv6 fragments: overlapping ones and one past 65,535 bytes are found; an ordinary fragmented datagram is not", () => {
  /** An IPv6 fragment of `bytes` bytes at byte `offset` of datagram `id` (UDP inside). */
  const fragment6 = (id: number, offset: number, bytes: number, more: boolean) =>
    ethernet(
      0x86dd,
      ipv6(
        44,
        new Uint8Array([
          17,
          0,
          ((offset / 8) << 3) >> 8,
          (((offset / 8) << 3) & 0xff) | (more ? 1 : 0),
          0,
          0,
          id >> 8,
          id & 0xff,
          ...new Array(bytes).fill(0),
        ]),
      ),
    );
  const packets: TestPacket[] = [
    { data: fragment6(1, 0, 1232, true), ts: at(0) },
    { data: fragment6(1, 1232, 1232, true), ts: at(0.001) },
    { data: fragment6(1, 2464, 80, false), ts: at(0.002) },
    { data: fragment6(2, 0, 64, true), ts: at(1) },
    { data: fragment6(2, 32, 16, false), ts: at(1.001) },
    { data: fragment6(3, 65528, 100, false), ts: at(2) },
  ];
  const { findings, counters } = monitor(packets);
  assert.equal(counters.fragments, 6);
  assert.deepEqual(findings.map((f) => [f.kind, f.ipId, f.fragmentStart, f.fragmentEnd, f.srcIp]), [
    ["fragment-overlap", 2, 32, 48, "2001:db8::1"],
    ["fragment-overrun", 3, 65528, 65628, "2001:db8::1"],
  ]);
});

Deno.test("TCP SYN with FIN or RST (OS fingerprinting): found once per pair; SYN, SYN-ACK, FIN-ACK, RST-ACK, ECN SYNs are not", () => {
  const segment = (flags: number, sport = 40000) =>
    ethernet(0x0800, ipv4({ src: A, dst: V, protocol: 6 }, tcp({ sport, dport: 80, flags })));
  const { findings, counters } = monitor([
    { data: segment(0x02), ts: at(0) }, // SYN
    { data: segment(0x12), ts: at(1) }, // SYN-ACK
    { data: segment(0x11), ts: at(2) }, // FIN-ACK
    { data: segment(0x14), ts: at(3) }, // RST-ACK
    { data: segment(0xc2), ts: at(4) }, // SYN with ECE and CWR (ECN setup)
    { data: segment(0x2b, 40001), ts: at(5) }, // SYN FIN PSH URG (nmap -O's T3)
    { data: segment(0x03, 40002), ts: at(6) }, // SYN FIN (hping3 -SF)
    { data: segment(0x06, 40003), ts: at(7) }, // SYN RST
  ]);
  assert.deepEqual(findings.map((f) => [f.kind, f.srcPort, f.dstPort]), [[
    "syn-fin-rst",
    40001,
    80,
  ]]);
  assert.equal(counters.synFinRst, 3);
});
