import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { FlowMeter, MAC_FLOOD_SOURCES, type MacFloodFinding } from "./mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
import { batchOf, ethernet, ipv4, type TestPacket, udp } from "../../tests/support/flow_packets.ts";

Deno.test("MAC flood: macof's first 5,300 frames (forged sources, not valid IP) are one finding on VLAN 0", async () => {
  const meter = new FlowMeter({ macFlood: true });
  const path = new URL("../../tests/fixtures/mac-flood/macof.pcap", import.meta.url).pathname;
  for await (const batch of readCaptureFile(path)) meter.push(batch), meter.drain();
  meter.flush();
  const findings = meter.takeFindings() as MacFloodFinding[];
  assertEquals(findings.map((f) => [f.kind, f.vlan]), [["mac-flood", 0]]);
  ok(findings[0].sources >= MAC_FLOOD_SOURCES, String(findings[0].sources));
  assertEquals(meter.counters().macFlood!.frames, 5300);
});

/** `n` frames, each from source MAC (i % macs), `spacing` microseconds apart. */
function frames(n: number, macs: number, spacing: number): TestPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const data = ethernet(0x0800, ipv4({ protocol: 17 }, udp(1000, 2000)));
    const m = i % macs;
    data.set([2, 0, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff, 1], 6);
    return { data, ts: 1e12 + i * spacing };
  });
}

Deno.test("MAC flood: 4,000 hosts talking, or 6,000 sources spread over a minute, are none", () => {
  const run = (packets: TestPacket[]) => {
    const meter = new FlowMeter({ macFlood: true, maxFlows: 1024 });
    meter.push(batchOf(packets));
    meter.flush();
    return (meter.takeFindings() as MacFloodFinding[]).length;
  };
  assertEquals(run(frames(20_000, 4000, 100)), 0);
  assertEquals(run(frames(6000, 6000, 10_000)), 0);
  assertEquals(run(frames(6000, 6000, 100)), 1);
});
