import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { FlowMeter, HTTP_FLOOD_RATE, HTTP_SCAN_TARGETS, type HttpFinding } from "./mod.ts";
import { findingsOf } from "../../tests/support/packet_findings.ts";
import { ACK, batchOf, PSH, tcp4, type TestPacket } from "../../tests/support/flow_packets.ts";

const FIXTURES = new URL("../../tests/fixtures/http/", import.meta.url).pathname;

async function monitorFile(file: string) {
  const { findings, meter } = await findingsOf(`${FIXTURES}${file}`, { http: true });
  return { findings: findings as HttpFinding[], counters: meter.counters().http! };
}

for (const tool of ["dirb", "ffuf"]) {
  Deno.test(`HTTP: ${tool}'s path scan over keep-alive is named once, from the client to the server's port`, async () => {
    const { findings } = await monitorFile(`${tool}.pcap`);
    assertEquals(findings.length, 1);
    const f = findings[0];
    assertEquals([f.clientIp, f.serverIp, f.serverPort, f.targets], [
      "10.95.0.1",
      "10.95.0.2",
      80,
      HTTP_SCAN_TARGETS,
    ]);
    ok(f.clientErrors >= 50 && f.example.startsWith("/"), JSON.stringify(f));
  });
}

Deno.test("HTTP: ab -k's request flood on 4 keep-alive connections is named once, at its 1,000th request", async () => {
  const { findings, counters } = await monitorFile("ab-keepalive.pcap");
  assertEquals(
    findings.map((f) => [f.kind, f.clientIp, f.serverIp, f.serverPort, f.requests, f.connections]),
    [["http-keepalive-flood", "10.81.0.1", "10.81.0.2", 80, 10 * HTTP_FLOOD_RATE, 4]],
  );
  assertEquals([findings[0].targets, findings[0].example], [1, "/index.html"]);
  assertEquals(counters.requests, 1100);
});

Deno.test("HTTP: a recursive mirror of a site with broken links, and page loads with missing icons, are no scan", async () => {
  const { findings, counters } = await monitorFile("crawl.pcap");
  assertEquals(findings, []);
  assertEquals([counters.requests, counters.responses], [227, 227]);
  ok(counters.clientErrors > 0 && counters.clientErrors < 50, String(counters.clientErrors));
});

/** A request from 10.0.0.1 to 10.0.0.2:80, or its answer, as one segment. */
function segment(text: string, toServer: boolean, ts: number): TestPacket {
  const payload = new TextEncoder().encode(text);
  const data = toServer
    ? tcp4(1, 2, 40000, 80, ACK | PSH, payload.length)
    : tcp4(2, 1, 80, 40000, ACK | PSH, payload.length);
  data.set(payload, data.length - payload.length);
  return { data, ts };
}

function exchange(paths: string[], status: (i: number) => number): TestPacket[] {
  return paths.flatMap((path, i) => [
    segment(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, true, 1e12 + i * 1000),
    segment(`HTTP/1.1 ${status(i)} X\r\n\r\n`, false, 1e12 + i * 1000 + 500),
  ]);
}

function monitorPackets(packets: TestPacket[]) {
  const meter = new FlowMeter({ http: true });
  meter.push(batchOf(packets));
  meter.flush();
  return { findings: meter.takeFindings() as HttpFinding[], counters: meter.counters().http! };
}

const paths = Array.from({ length: 150 }, (_, i) => `/p${i}`);

Deno.test("HTTP: 150 paths answered 404 is a scan; answered 200, 401 (a password guesser's), or the same path 150 times, none", () => {
  assertEquals(monitorPackets(exchange(paths, () => 404)).findings.length, 1);
  assertEquals(monitorPackets(exchange(paths, () => 200)).findings, []);
  assertEquals(monitorPackets(exchange(paths, () => 401)).findings, []);
  const same = monitorPackets(exchange(paths.map(() => "/missing"), () => 404));
  assertEquals([same.findings.length, same.counters.clientErrors], [0, 150]);
});

Deno.test("HTTP: a status line that is not one, or a segment too short, is not counted", () => {
  const { counters } = monitorPackets([
    segment("HTTP/1.1 4x4 X\r\n\r\n", false, 1),
    segment("HTTP/1.1 404", false, 2),
    segment("HTTP/1.", false, 3),
    segment("GETX /a HTTP/1.1\r\n\r\n", true, 4),
  ]);
  assertEquals([counters.requests, counters.responses, counters.clientErrors], [0, 1, 1]);
});

/** `n` requests for `path(i)` from client port `port(i)`, `gapMicros` apart. */
function requests(
  n: number,
  gapMicros: number,
  path: (i: number) => string = () => "/",
  port: (i: number) => number = () => 40000,
): TestPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const payload = new TextEncoder().encode(`GET ${path(i)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const data = tcp4(1, 2, port(i), 80, ACK | PSH, payload.length);
    data.set(payload, data.length - payload.length);
    return { data, ts: 1e12 + i * gapMicros };
  });
}

const floods = (packets: TestPacket[]) =>
  monitorPackets(packets).findings.filter((f) => f.kind === "http-keepalive-flood");

Deno.test("HTTP: 1,000 requests within 10 s on a few connections are a keep-alive flood; 999 are not", () => {
  const flood = floods(requests(1000, 9000, () => "/", (i) => 40000 + (i % 4)));
  assertEquals(flood.map((f) => [f.requests, f.connections, f.targets]), [[1000, 4, 1]]);
  assertEquals(floods(requests(999, 9000, () => "/", (i) => 40000 + (i % 4))), []);
});

Deno.test("HTTP: a client under 100 requests a second over the minute is no flood, however many requests", () => {
  // 95 a second for a minute: 5,700 requests, on one connection, for one path.
  assertEquals(floods(requests(5700, 1e6 / 95)), []);
  // 105 a second is one, named once.
  assertEquals(floods(requests(6300, 1e6 / 105)).length, 1);
});

Deno.test("HTTP: a connection per request (the host evidence names that) or a new page per request (a crawler) is no keep-alive flood", () => {
  assertEquals(floods(requests(3000, 100, () => "/", (i) => 1024 + i)), []);
  assertEquals(floods(requests(3000, 100, (i) => `/page${i}.html`)), []);
  // A flood on 200 connections (a sixth of its requests) is still one.
  assertEquals(floods(requests(1200, 100, () => "/", (i) => 1024 + (i % 200))).length, 1);
});
