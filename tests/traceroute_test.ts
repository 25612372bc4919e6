/**
 * Traceroutes are path probes, not scans, through `ids-sensor analyze` with
 * the bundled model (captures: tests/fixtures/traceroute). A tracer's UDP
 * datagrams go to a new port each, as many as a UDP scan's; what tells them
 * apart is their TTLs, small and stepping through the hops
 * (PATH_PROBE_MAX_TTL, PATH_PROBE_TTLS in src/evidence/host_evidence.ts).
 */
import assert from "node:assert/strict";
import { repoRoot } from "./support/environment.ts";
import { analyzeCapture } from "./support/analyze_cli.ts";

const FIXTURES = `${repoRoot}tests/fixtures/traceroute`;

interface AlertLine {
  src_ip: string;
  alert: { class: string; stage?: string; distinct_dest_ports?: number };
}

Deno.test("traceroute: UDP, ICMP and TCP traceroutes through two routers raise nothing", async () => {
  const { alerts, stderr } = await analyzeCapture<AlertLine>(`${FIXTURES}/traceroutes.pcap`);
  // Before: two "UDP scan" lines (16 and 18 ports: the tracer's run from 33434).
  assert.deepEqual(alerts.map((a) => a.alert.class), []);
  assert.match(stderr, /path probes \(traceroute: .*\): 132 flows not counted as scan probes/);
});

Deno.test("traceroute: SYN and UDP scans sent with one small TTL are still named", async () => {
  const { alerts, stderr } = await analyzeCapture<AlertLine>(`${FIXTURES}/low-ttl-scans.pcap`);
  assert.deepEqual(alerts.map((a) => `${a.alert.class} ${a.alert.stage}`).sort(), [
    "tcp-syn-scan first",
    "udp-scan first",
  ]);
  assert.doesNotMatch(stderr, /path probes/);
});
