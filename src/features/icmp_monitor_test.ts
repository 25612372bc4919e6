import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { FlowMeter, ICMP_TUNNEL_CONTENTS, type IcmpFinding } from "./mod.ts";
import { findingsOf } from "../../tests/support/packet_findings.ts";
import {
  batchOf,
  ethernet,
  icmp,
  ipv4,
  type TestPacket,
} from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/icmp/", import.meta.url).pathname;

async function monitorFile(file: string) {
  const { findings, meter } = await findingsOf(`${FIXTURES}${file}`, { icmp: true });
  return { findings: findings as IcmpFinding[], counters: meter.counters().icmp! };
}

for (const [file, what] of [["ptunnel.pcap", "a download"], ["ptunnel-upload.pcap", "an upload"]]) {
  Deno.test(`ICMP: ptunnel-ng carrying ${what} is a tunnel, named once from its client`, async () => {
    const { findings } = await monitorFile(file);
    assertEquals(findings.map((f) => [f.clientIp, f.serverIp, f.protocol]), [[
      "10.96.0.1",
      "10.96.0.2",
      1,
    ]]);
    ok(findings[0].contents >= ICMP_TUNNEL_CONTENTS, String(findings[0].contents));
  });
}

Deno.test("ICMP: pings of 1,400 bytes every 10 ms, of many sizes, with a pattern, both ways, are no tunnel", async () => {
  const { findings, counters } = await monitorFile("pings.pcap");
  assertEquals(findings, []);
  assertEquals([counters.echoRequests, counters.echoReplies], [334, 334]);
});

/** An echo request (8) or reply (0) of `payload` bytes whose bytes 16-47 are all `fill`. */
function echo(type: number, payload: number, fill: number, ts: number): TestPacket {
  const data = ethernet(0x0800, ipv4({ protocol: 1 }, icmp(type, 0, payload)));
  data.fill(fill, 14 + 20 + 8 + 16, Math.min(data.length, 14 + 20 + 8 + 48));
  return { data, ts };
}

Deno.test("ICMP: 100 echoes of one pattern are no tunnel; of 100 contents, one; under 32 kB, none", () => {
  const run = (fill: (i: number) => number, payload: number) => {
    const meter = new FlowMeter({ icmp: true });
    meter.push(
      batchOf(Array.from({ length: 100 }, (_, i) => echo(8, payload, fill(i), 1e12 + i * 1e4))),
    );
    meter.flush();
    return (meter.takeFindings() as IcmpFinding[]).length;
  };
  assertEquals(run(() => 7, 1000), 0);
  assertEquals(run((i) => i, 1000), 1);
  assertEquals(run((i) => i, 300), 0);
});
