import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { DHCP_STARVATION_CLIENTS, type DhcpFinding, FlowMeter } from "./mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
import { findingsOf } from "../../tests/support/packet_findings.ts";
import { batchOf, ethernet, ipv4 } from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/dhcp/", import.meta.url).pathname;

/** Meters a capture with the DHCP monitor on; its findings and counters. */
async function monitor(file: string) {
  const { findings, meter } = await findingsOf(`${FIXTURES}${file}`, { dhcp: true });
  return { findings: findings as DhcpFinding[], counters: meter.counters().dhcp! };
}

Deno.test("DHCP: 30 clients booting at once under two servers that agree (split scope) is no finding", async () => {
  const { findings, counters } = await monitor("boot-split-scope.pcap");
  assertEquals(findings, []);
  assertEquals(counters.servers, 2);
  ok(counters.leaseRequests >= 30 && counters.agreeingAnswers > 0, JSON.stringify(counters));
});

Deno.test("DHCP: yersinia's DISCOVER flood is a starvation, named once at the threshold and closed at the end", async () => {
  const { findings, counters } = await monitor("starvation.pcap");
  assertEquals(findings.map((f) => f.kind === "dhcp-starvation" && f.stage), ["first", "final"]);
  const first = findings[0] as DhcpFinding & { kind: "dhcp-starvation" };
  assertEquals([first.clients, first.relay, first.vlan], [DHCP_STARVATION_CLIENTS, null, 0]);
  // Linear counting of 1,024 bits: within a few percent of the 596 forged addresses.
  const final = findings[1] as DhcpFinding & { kind: "dhcp-starvation" };
  ok(Math.abs(final.clients - 596) < 30, String(final.clients));
  assertEquals(counters.leaseRequests, 598);
});

Deno.test("DHCP: a home router plugged into the link offers another subnet, router and DNS: a rogue server", async () => {
  const { findings } = await monitor("rogue-home.pcap");
  assertEquals(findings.length, 1);
  const f = findings[0] as DhcpFinding & { kind: "dhcp-rogue-server" };
  assertEquals(
    [f.serverIp, f.router, f.subnet, f.knownServerIp, f.knownRouter, f.knownSubnet, f.differs],
    [
      "192.168.50.1",
      "192.168.50.1",
      "192.168.50.0/24",
      "10.93.0.1",
      "10.93.0.1",
      "10.93.0.0/24",
      ["router", "subnet", "dns"],
    ],
  );
});

Deno.test("DHCP: a server in the link's own subnet naming itself router and DNS (a man in the middle) is a rogue server", async () => {
  const { findings } = await monitor("rogue-mitm.pcap");
  assertEquals(findings.length, 1);
  const f = findings[0] as DhcpFinding & { kind: "dhcp-rogue-server" };
  assertEquals([f.serverIp, f.router, f.subnet, f.knownServerIp, f.differs], [
    "10.93.0.66",
    "10.93.0.66",
    "10.93.0.0/24",
    "10.93.0.1",
    ["router", "dns"],
  ]);
});

Deno.test("DHCP: a message cut before its client address, without the magic cookie, or with options past its end is counted, not analysed", () => {
  const bootp = (length: number, cookie = true, options: number[] = [53, 1, 1, 255]) => {
    const b = new Uint8Array(length);
    b[0] = 1, b[1] = 1, b[2] = 6;
    if (cookie && length >= 240) b.set([0x63, 0x82, 0x53, 0x63], 236);
    if (length >= 240 + options.length) b.set(options, 240);
    return b;
  };
  const udp = (payload: Uint8Array) => {
    const u = new Uint8Array(8 + payload.length);
    u.set([0, 68, 0, 67, (u.length >> 8) & 0xff, u.length & 0xff], 0);
    u.set(payload, 8);
    return ethernet(0x0800, ipv4({ protocol: 17 }, u));
  };
  const meter = new FlowMeter({ dhcp: true });
  meter.push(batchOf([
    { data: udp(bootp(30)), ts: 1 },
    { data: udp(bootp(300, false)), ts: 2 },
    { data: udp(bootp(300, true, [53, 200, 1])), ts: 3 },
    { data: udp(bootp(300)), ts: 4 },
  ]));
  meter.flush();
  const c = meter.counters().dhcp!;
  assertEquals([c.notAnalysed, c.leaseRequests], [3, 1]);
});

Deno.test("DHCP: cut to 128 bytes a packet (before the options), the starvation is still named from BOOTP's fixed fields; servers' answers are not read", async () => {
  const meter = new FlowMeter({ dhcp: true });
  const findings: DhcpFinding[] = [];
  for await (const batch of readCaptureFile(`${FIXTURES}starvation.pcap`)) {
    // A snap length of 128: the capture holds each packet's first 128 bytes.
    for (let i = 0; i < batch.count; i++) {
      batch.capturedLength[i] = Math.min(batch.capturedLength[i], 128);
    }
    meter.push(batch);
    meter.drain();
    findings.push(...(meter.takeFindings() as DhcpFinding[]));
  }
  meter.flush();
  findings.push(...(meter.takeFindings() as DhcpFinding[]));
  assertEquals(findings.map((f) => f.kind === "dhcp-starvation" && f.stage), ["first", "final"]);
  const c = meter.counters().dhcp!;
  assertEquals([c.leaseRequests, c.cutShort, c.serverAnswers, c.notAnalysed], [598, 598, 0, 2]);
});
