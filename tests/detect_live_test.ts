/**
 * Live detection end to end: two network namespaces joined by a veth pair;
 * `ids-sensor detect` captures in one (through the libpcap FFI path) while
 * nmap scans it from the other; the scan must come out as an alert in the
 * JSONL sink, written before the sensor exits at the end of --duration.
 */
import assert from "node:assert/strict";
import { isRoot, repoRoot, toolAvailable } from "./support/environment.ts";
import {
  createNamespacePair,
  spawnSensorIn,
  stderrUntil,
  synScanFrom,
} from "./support/namespace_pair.ts";

const MODEL = `${repoRoot}models/default`;

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (!isRoot()) return "needs root (namespaces, live capture)";
  if (!toolAvailable("ip")) return "needs iproute2";
  if (!toolAvailable("nmap")) return "needs nmap (apt-get install nmap)";
  try {
    Deno.statSync(`${MODEL}/bundle.json`);
  } catch {
    return "needs the bundled model in models/default";
  }
  return null;
}

const reason = whyNot();
if (reason) console.warn(`detect_live_test skipped: ${reason}`);

Deno.test({
  name: "detect: a live nmap SYN scan across a veth is alerted and flushed to JSONL",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pair = createNamespacePair("d", "10.77.0");
    const sensorNs = pair.sensorNamespace;
    const scannerNs = pair.peerNamespace;
    const sensorIf = pair.sensorInterface;
    const dir = await Deno.makeTempDir({ prefix: "ids-detect-live-" });
    try {
      const alertsPath = `${dir}/alerts.jsonl`;
      const sensor = spawnSensorIn(sensorNs, [
        "detect",
        "--iface",
        sensorIf,
        "--duration",
        "12",
        "--model",
        MODEL,
        "--alerts",
        alertsPath,
        "--quiet",
      ]);
      // The scan starts once the sensor captures (a loaded machine may take seconds to get
      // there), and its inference worker has had a moment to start.
      const said = await stderrUntil(sensor, "detecting on");
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const scan = await synScanFrom(scannerNs, "10.77.0.1", "1-600");
      assert.ok(scan.success, new TextDecoder().decode(scan.stderr));
      const status = await sensor.status;
      await said.done;
      await sensor.stdout.cancel();
      const stderr = said.text();
      assert.equal(status.code, 0, stderr);

      const alerts = (await Deno.readTextFile(alertsPath)).trim().split("\n").filter((l) => l)
        .map((line) => JSON.parse(line));
      const fromScanner = alerts.filter((a) => a.src_ip === "10.77.0.2");
      assert.ok(fromScanner.length > 0, `no alert from the scanner; sensor said:\n${stderr}`);
      // Every probe is one flow; the scan's alerts must account for most of the 600 ports.
      const ports = Math.max(...fromScanner.map((a) => a.alert.distinct_dest_ports ?? 0));
      const flows = fromScanner.reduce((sum, a) => sum + a.alert.count, 0);
      assert.ok(flows >= 300, `only ${flows} scan flows alerted; sensor said:\n${stderr}`);
      assert.ok(ports >= 300, `alerts name only ${ports} distinct ports`);
      assert.ok(
        fromScanner.some((a) => /scan/i.test(a.alert.name)),
        `the scan is not named a scan: ${fromScanner.map((a) => a.alert.name).join(", ")}`,
      );
    } finally {
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
