/**
 * The live time-to-alert measurement (scripts/bench/time_to_alert.ts) works
 * end to end: a real nmap SYN scan and a real nmap UDP scan across the timing
 * lab's veth pair each reach the sensor's JSONL file as an alert of that
 * attack, named as the behaviour. The seconds are printed, never asserted
 * (the bench reports them; timed assertions on shared cores would be noise).
 */
import assert from "node:assert/strict";
import { isRoot, toolAvailable } from "./support/environment.ts";
import { TIMED_ATTACKS, TimingLab } from "../scripts/bench/time_to_alert.ts";

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (!isRoot()) return "needs root (namespaces, live capture)";
  for (const tool of ["ip", "nginx", "nmap"]) {
    if (!toolAvailable(tool)) return `needs ${tool} (see tools/debian-packages.txt)`;
  }
  return null;
}

const reason = whyNot();
if (reason) console.warn(`time_to_alert_test skipped: ${reason}`);

Deno.test({
  name: "time to alert: live nmap SYN and UDP scans are alerted while they run, named, timed",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await TimingLab.create();
    try {
      for (const name of ["syn-scan", "udp-scan"]) {
        const attack = TIMED_ATTACKS.find((a) => a.name === name)!;
        const result = await lab.measure(attack, 0, 60);
        console.log(`${name}: ${JSON.stringify(result)}`);
        assert.notEqual(result.jsonlSeconds, null, `${name}: no alert in the JSONL file`);
        assert.notEqual(result.consoleSeconds, null, `${name}: no alert line on stdout`);
        assert.notEqual(result.expectedSeconds, null, `${name}: no "${attack.expect}" alert`);
      }
    } finally {
      await lab.remove();
    }
  },
});
