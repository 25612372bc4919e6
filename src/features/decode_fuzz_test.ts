/**
 * Property tests for the decoder and flow meter on hostile input: random
 * bytes under every link type, every truncation of real packets, random bit
 * flips. Nothing may throw or hang, and every packet must be accounted for
 * (metered + each not-metered reason = packets).
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { readCaptureFile } from "../capture/mod.ts";
import { FlowMeter, type FlowMeterCounters } from "./mod.ts";
import { sharedCaptures } from "../../tests/support/environment.ts";
import {
  ACK,
  batchOf,
  ethernet,
  ipv6,
  ipv6Extension,
  SYN,
  tcp4,
  type TestPacket,
  udp,
} from "../../tests/support/flow_packets.ts";

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105, 127];

let seed = 12345;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

/** Real packets: the tunnel fixtures, a few shared captures when present, and built ones. */
async function realPackets(): Promise<TestPacket[]> {
  const found: TestPacket[] = [];
  const wanted = [
    "ipv6_fragments",
    "ip_frag_source",
    "http_ip4and6",
    "dns_tcp",
    "icmp_traceroute",
    "arppoison",
  ];
  const paths = sharedCaptures().filter((p) => wanted.some((w) => p.includes(w)));
  if (paths.length === 0) {
    console.warn(
      "decode fuzz: shared captures absent, fuzzing the tunnel fixtures and built packets only",
    );
  }
  // Tunnelled packets (VXLAN, Geneve, GRE, ERSPAN, IP in IP, MPLS, PPPoE, nested): 30 of each.
  const tunnels = [
    "vxlan",
    "geneve",
    "gretap",
    "erspan2",
    "erspan3",
    "gre",
    "ipip",
    "mpls",
    "pppoe",
  ]
    .concat("vxlan-in-gre")
    .map((name) => new URL(`../../tests/fixtures/tunnels/${name}.pcap`, import.meta.url).pathname);
  for (const path of tunnels) await collect(path, found, found.length + 30);
  for (const path of paths) await collect(path, found, 700);
  found.push(
    { data: tcp4(1, 2, 1, 2, SYN), ts: 0 },
    { data: tcp4(2, 1, 2, 1, SYN | ACK, 100), ts: 1 },
    {
      data: ethernet(
        0x86dd,
        ipv6(
          0,
          new Uint8Array([...ipv6Extension(44, 1), 17, 0, 0, 1, 0, 0, 0, 1, ...udp(1, 2, 3)]),
        ),
      ),
      ts: 2,
    },
  );
  return found;
}

/** Appends the packets of `path` to `found` until it holds `limit`. */
async function collect(path: string, found: TestPacket[], limit: number): Promise<void> {
  for await (const batch of readCaptureFile(path)) {
    for (let i = 0; i < batch.count && found.length < limit; i++) {
      const start = batch.offset[i];
      found.push({
        data: batch.data.slice(start, start + batch.capturedLength[i]),
        ts: batch.timestampMicros[i],
        linkType: batch.linkType[i],
      });
    }
  }
}

function meterAll(packets: TestPacket[]): FlowMeterCounters {
  // The packet monitors read ARP messages and IPv4 fragments themselves: fuzzed too.
  const meter = new FlowMeter({ maxFlows: 64, flowBatchSize: 16, arp: true, ipAnomalies: true });
  for (let k = 0; k < packets.length; k += 256) {
    meter.push(batchOf(packets.slice(k, k + 256)));
    meter.drain();
    while (meter.continueExpiry()) meter.drain();
  }
  meter.flush();
  const flows = meter.drain().reduce((n, b) => n + b.count, 0);
  const c = meter.counters();
  const accounted = Object.values(c.decode.byOutcome).reduce((a, b) => a + b, 0);
  assertEquals(c.decode.packets, packets.length);
  assertEquals(accounted, packets.length, "metered + not metered = packets");
  assertEquals(c.flowsEnded, c.flowsCreated, "every created flow ended");
  assertEquals(c.flowsLive, 0);
  ok(flows <= c.flowsCreated);
  // Every ARP message the decoder set aside was read or counted as not readable.
  const arp = c.arp!;
  assertEquals(arp.requests + arp.replies + arp.notAnalysed <= c.decode.byOutcome.arp, true);
  ok(meter.takeFindings().length <= arp.findings + c.ipAnomalies!.findings);
  return c;
}

Deno.test("decode fuzz: random bytes under every link type", () => {
  const packets: TestPacket[] = [];
  for (let k = 0; k < 20000; k++) {
    const data = new Uint8Array(Math.floor(random() * 120));
    for (let b = 0; b < data.length; b++) data[b] = random() * 256;
    // Bias toward plausible headers so deeper code runs too.
    if (data.length > 20 && random() < 0.5) {
      data[random() < 0.5 ? 0 : 14] = random() < 0.5 ? 0x45 : 0x60;
    }
    if (data.length > 13 && random() < 0.5) {
      const pick = random();
      data[12] = 0x08, data[13] = pick < 0.4 ? 0x00 : pick < 0.8 ? 0x86 : 0x06;
      // ARP for Ethernet and IPv4, so the monitor reads past its header check.
      if (data[13] === 0x06 && data.length > 21 && random() < 0.7) {
        data.set([0, 1, 8, 0, 6, 4, 0, random() < 0.5 ? 1 : 2], 14);
      }
    }
    packets.push({ data, ts: k, linkType: LINK_TYPES[k % LINK_TYPES.length] });
  }
  const c = meterAll(packets);
  ok(c.arp!.requests + c.arp!.replies > 0, "the monitor read fuzzed ARP messages");
  ok(c.ipAnomalies!.fragments > 0, "and fuzzed IPv4 fragments");
});

Deno.test("decode fuzz: every truncation of real packets", async () => {
  const packets: TestPacket[] = [];
  for (const p of await realPackets()) {
    for (let length = 0; length <= p.data.length; length++) {
      packets.push({ data: p.data.subarray(0, length), ts: p.ts, linkType: p.linkType });
    }
  }
  meterAll(packets);
});

Deno.test("decode fuzz: random bit flips of real packets", async () => {
  const packets: TestPacket[] = [];
  for (const p of await realPackets()) {
    for (let trial = 0; trial < 40; trial++) {
      const data = p.data.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips && data.length > 0; f++) {
        // Flip mostly inside the first 80 bytes, where the headers are.
        const at = Math.floor(random() * Math.min(data.length, 80));
        data[at] ^= 1 << Math.floor(random() * 8);
      }
      packets.push({ data, ts: p.ts + trial, linkType: p.linkType });
    }
  }
  meterAll(packets);
});
