import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { DNS_TUNNEL_NAMES, type DnsFinding, FlowMeter } from "./mod.ts";
import { findingsOf } from "../../tests/support/packet_findings.ts";
import { batchOf, ethernet, ipv4, type TestPacket } from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/dns/", import.meta.url).pathname;

async function monitorFile(file: string) {
  const { findings, meter } = await findingsOf(`${FIXTURES}${file}`, { dns: true });
  return { findings: findings as DnsFinding[], counters: meter.counters().dns! };
}

Deno.test("DNS: iodine's tunnel (NULL queries under t.example.com) is named once, from the client", async () => {
  const { findings, counters } = await monitorFile("iodine.pcap");
  assertEquals(findings.length, 1);
  const f = findings[0];
  assertEquals([f.clientIp, f.serverIp, f.domain, f.names], [
    "10.94.0.1",
    "10.94.0.2",
    "example.com",
    DNS_TUNNEL_NAMES,
  ]);
  // At most 120 characters: the start of the subdomain, then the domain it is under.
  ok(f.example.length <= 120 && f.example.endsWith("...example.com"), f.example);
  assertEquals(counters.notAnalysed, 0);
});

Deno.test("DNS: exfiltration by hand (dig, base32 in 60-character labels) is named", async () => {
  const { findings } = await monitorFile("dig-exfil.pcap");
  assertEquals(findings.map((f) => [f.clientIp, f.domain]), [["10.94.0.1", "exfil-drop.test"]]);
});

Deno.test("DNS: a busy client (660 queries: hosts, hashed CDN names, load balancers, SPF and DKIM TXT, reverse lookups) is no tunnel", async () => {
  const { findings, counters } = await monitorFile("busy-client.pcap");
  assertEquals(findings, []);
  assertEquals([counters.queries, counters.ignoredNames], [660, 200]);
  ok(counters.dataNames < DNS_TUNNEL_NAMES, String(counters.dataNames));
});

/** A DNS query from 10.0.0.1 to 10.0.0.2 for `labels` (type `type`), at `ts`. */
function query(labels: string[], ts: number, type = 1, id = 1): TestPacket {
  const name = labels.flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  const dns = [id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 0, type, 0, 1];
  const udp = [0xc3, 0x50, 0, 53, 0, 8 + dns.length, 0, 0, ...dns];
  return { data: ethernet(0x0800, ipv4({ protocol: 17 }, new Uint8Array(udp))), ts };
}

function monitorPackets(packets: TestPacket[]) {
  const meter = new FlowMeter({ dns: true });
  meter.push(batchOf(packets));
  meter.flush();
  return { findings: meter.takeFindings() as DnsFinding[], counters: meter.counters().dns! };
}

const chunk = (i: number) => `${i}-${"a".repeat(45)}`;

Deno.test("DNS: names are counted once whatever their letter case (0x20 randomisation), per domain under a country's co.", () => {
  // 40 data-carrying names, each asked twice in other cases: 40 distinct, one domain.
  const packets: TestPacket[] = [];
  for (let i = 0; i < 40; i++) {
    packets.push(query([chunk(i), "drop", "example", "co", "uk"], 1e12 + i * 1000));
    packets.push(
      query([chunk(i).toUpperCase(), "drop", "EXAMPLE", "co", "uk"], 1e12 + i * 1000 + 1),
    );
  }
  const { findings } = monitorPackets(packets);
  assertEquals(findings.map((f) => [f.domain, f.names, f.queries]), [["example.co.uk", 30, 59]]);
});

Deno.test("DNS: names spread over a minute and more, or under different domains, are no tunnel", () => {
  // 20 a minute: 30 distinct names never fall within one minute.
  const slow = Array.from(
    { length: 40 },
    (_, i) => query([chunk(i), "example", "com"], 1e12 + i * 3e6),
  );
  assertEquals(monitorPackets(slow).findings, []);
  const spread = Array.from(
    { length: 40 },
    (_, i) => query([chunk(i), `site${i}`, "com"], 1e12 + i * 1000),
  );
  assertEquals(monitorPackets(spread).findings, []);
});

Deno.test("DNS: a compressed or overlong name, a response, a query cut short: counted, not analysed", () => {
  const compressed = query(["x", "example", "com"], 1);
  compressed.data[14 + 20 + 8 + 12] = 0xc0; // the first label's length byte becomes a pointer
  const response = query(["x", "example", "com"], 2);
  response.data[14 + 20 + 8 + 2] |= 0x80;
  const cut = { data: query(["x", "example", "com"], 3).data.subarray(0, 14 + 20 + 8 + 10), ts: 3 };
  const long = query(Array.from({ length: 5 }, () => "b".repeat(60)).concat("com"), 4);
  const { counters } = monitorPackets([compressed, response, cut, long]);
  assertEquals([counters.notAnalysed, counters.queries], [4, 0]);
});
