/**
 * Monitoring pollers and health checks against real sweeps, through
 * `ids-sensor analyze` with the bundled model (captures: tests/fixtures/pollers).
 * A poller revisits the same answered targets; a sweep discovers. The poller's
 * first round looks like a sweep of a live range and is still named once (its
 * first and closing lines); its later rounds must raise nothing, and a sweep
 * from the same host while it polls must still be named.
 */
import assert from "node:assert/strict";
import { repoRoot } from "./support/environment.ts";
import { analyzeCapture } from "./support/analyze_cli.ts";

const FIXTURES = `${repoRoot}tests/fixtures/pollers`;

interface AlertLine {
  timestamp: string;
  src_ip: string;
  alert: { class: string; stage?: string; targets?: number };
}

async function analyze(capture: string): Promise<AlertLine[]> {
  return (await analyzeCapture<AlertLine>(capture)).alerts;
}

/** Class, stage and seconds after `start` of each line. */
function lines(alerts: AlertLine[], start: string): string[] {
  const t0 = Date.parse(start);
  return alerts.map((a) =>
    `${a.alert.class} ${a.alert.stage} +${Math.floor((Date.parse(a.timestamp) - t0) / 1000)}s`
  );
}

Deno.test("pollers: ping -c1 of 50 hosts every 20 s for 3 minutes is named at its start only", async () => {
  const alerts = await analyze(`${FIXTURES}/ping-loop-20s.pcap`);
  // Before: 8 ARP sweep lines (the kernel's refreshes every 30-40 s) and an ICMP sweep line each
  // time the echo flows start anew (active timeout, 120 s).
  assert.deepEqual(lines(alerts, "2026-12-03T17:13:46Z"), [
    "arp-sweep first +0s",
    "icmp-sweep first +0s",
    "arp-sweep final +40s",
  ]);
});

Deno.test("pollers: HAProxy-style TCP checks (connect, then RST) of 30 backends every 10 s are named in their first window only", async () => {
  const alerts = await analyze(`${FIXTURES}/tcp-checks-rst-10s.pcap`);
  // Before: a "TCP SYN sweep" line (and the previous one's summary) every minute.
  assert.deepEqual(lines(alerts, "2026-12-03T17:23:48Z"), [
    "arp-sweep first +0s",
    "tcp-syn-sweep first +0s",
    "tcp-syn-sweep final +20s",
    "arp-sweep final +40s",
  ]);
});

Deno.test("pollers: nmap -sn of the /24 from a host that pings 50 of its hosts every 15 s is named", async () => {
  const alerts = await analyze(`${FIXTURES}/fping-15s-then-nmap-sn.pcap`);
  // fping starts at +0 s; nmap's first ARP request (for 10.87.0.2) is at 17:25:48.93.
  assert.deepEqual(lines(alerts, "2026-12-03T17:23:38Z"), [
    "arp-sweep first +1s",
    "icmp-sweep first +1s",
    "arp-sweep final +45s",
    "arp-sweep first +130s",
    "arp-sweep final +165s",
  ]);
  const nmap = alerts[4];
  assert.ok((nmap.alert.targets ?? 0) >= 200, JSON.stringify(nmap));
});

Deno.test("pollers: fping -g over a /24 with 50 live hosts is still an ICMP and an ARP sweep", async () => {
  const alerts = await analyze(`${FIXTURES}/fping-g-24.pcap`);
  const classes = new Set(alerts.map((a) => a.alert.class));
  assert.deepEqual([...classes].sort(), ["arp-sweep", "icmp-sweep"]);
  const arp = alerts.filter((a) => a.alert.class === "arp-sweep");
  assert.ok(Math.max(...arp.map((a) => a.alert.targets ?? 0)) >= 250, JSON.stringify(arp));
});
