import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type DnsSpoofFinding, FlowMeter } from "./mod.ts";
import { findingsOf } from "../../tests/support/packet_findings.ts";
import { batchOf, ethernet, ipv4, type TestPacket } from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/dns/", import.meta.url).pathname;

async function monitorFile(file: string) {
  const { findings, meter } = await findingsOf(`${FIXTURES}${file}`, { dnsSpoof: true });
  return { findings: findings as DnsSpoofFinding[], counters: meter.counters().dnsSpoof! };
}

Deno.test("DNS spoof: dnsspoof's forged answers racing dnsmasq's are one finding with both answers", async () => {
  const { findings, counters } = await monitorFile("dnsspoof.pcap");
  assertEquals(
    findings.map((f) => [f.serverIp, f.clientIp, f.name, f.firstAnswer, f.secondAnswer]),
    [["10.98.0.2", "10.98.0.10", "www.bank.test", ["10.98.0.50"], ["10.98.0.66"]]],
  );
  assertEquals([counters.responses, counters.conflictingAnswers], [30, 10]);
});

Deno.test("DNS spoof: a slow resolver's answers to dig's retries are no spoofing", async () => {
  const { findings, counters } = await monitorFile("slow-resolver-retries.pcap");
  assertEquals([findings, counters.conflictingAnswers], [[], 0]);
});

/** A response from `server` to 10.0.0.1:40000, ID 7, for a.test with A records `addresses`. */
function response(server: number, addresses: number[][], ts: number, rcode = 0): TestPacket {
  const question = [1, 97, 4, 116, 101, 115, 116, 0, 0, 1, 0, 1];
  const answers = addresses.flatMap((a) => [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...a]);
  const dns = [
    0,
    7,
    0x81,
    0x80 | rcode,
    0,
    1,
    0,
    addresses.length,
    0,
    0,
    0,
    0,
    ...question,
    ...answers,
  ];
  const udp = [0, 53, 0x9c, 0x40, 0, 8 + dns.length, 0, 0, ...dns];
  return {
    data: ethernet(
      0x0800,
      ipv4({ src: [10, 0, 0, server], dst: [10, 0, 0, 1], protocol: 17 }, new Uint8Array(udp)),
    ),
    ts,
  };
}

function run(packets: TestPacket[]) {
  const meter = new FlowMeter({ dnsSpoof: true });
  meter.push(batchOf(packets));
  meter.flush();
  return (meter.takeFindings() as DnsSpoofFinding[]).length;
}

Deno.test("DNS spoof: the same addresses in another order, or answers 6 s apart, or from two servers, are none", () => {
  const a = [1, 2, 3, 4], b = [5, 6, 7, 8];
  assertEquals(run([response(2, [a, b], 1e12), response(2, [b, a], 1e12 + 1000)]), 0);
  assertEquals(run([response(2, [a], 1e12), response(2, [b], 1e12 + 6e6)]), 0);
  assertEquals(run([response(2, [a], 1e12), response(3, [b], 1e12 + 1000)]), 0);
  assertEquals(run([response(2, [a], 1e12), response(2, [b], 1e12 + 1000)]), 1);
  // A forged "no such name" against a real answer.
  assertEquals(run([response(2, [a], 1e12), response(2, [], 1e12 + 1000, 3)]), 1);
});
