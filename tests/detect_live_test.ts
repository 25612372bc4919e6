/**
 * Live detection end to end: two network namespaces joined by a veth pair;
 * `ids-sensor detect` captures in one (through the libpcap FFI path) while
 * nmap scans it from the other; the scan must come out as an alert in the
 * JSONL sink, written before the sensor exits at the end of --duration.
 * Then nmap's ARP ping (-sn, its default on the local link) sweeps the /24:
 * no IP flow carries that finding (the capture worker's ARP monitor does),
 * and it must reach the sink as an "ARP sweep" line from the sweeping host.
 * Its IPv6 counterpart, nmap -6 -sn on the local link, sends neighbour
 * solicitations: the ND monitor's "IPv6 ND sweep" line.
 */
import assert from "node:assert/strict";
import { isRoot, repoRoot, toolAvailable } from "./support/environment.ts";
import { AlertSchema } from "../src/alert/mod.ts";
import {
  createNamespacePair,
  nmapFrom,
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

/** `ids-sensor detect` on `iface` in `namespace` for `seconds`, alerts to `alertsPath`. */
function detectIn(
  namespace: string,
  iface: string,
  seconds: number,
  alertsPath: string,
  captureWorkers = 1,
) {
  return spawnSensorIn(namespace, [
    "detect",
    "--iface",
    iface,
    "--duration",
    String(seconds),
    "--model",
    MODEL,
    "--alerts",
    alertsPath,
    "--capture-workers",
    String(captureWorkers),
    "--quiet",
  ]);
}

/** Waits for the sensor to end at its --duration; asserts exit 0 and returns what it said. */
async function exitedCleanly(
  sensor: Deno.ChildProcess,
  said: Awaited<ReturnType<typeof stderrUntil>>,
): Promise<string> {
  const status = await sensor.status;
  await said.done;
  await sensor.stdout.cancel();
  const stderr = said.text();
  assert.equal(status.code, 0, stderr);
  return stderr;
}

/** The alert lines the sensor wrote to `path`, each checked against the EVE schema. */
async function readAlerts(path: string) {
  return (await Deno.readTextFile(path)).trim().split("\n").filter((l) => l)
    .map((line) => AlertSchema.parse(JSON.parse(line)));
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
      const sensor = detectIn(sensorNs, sensorIf, 12, alertsPath);
      // The scan starts once the sensor captures (a loaded machine may take seconds to get
      // there), and its inference worker has had a moment to start.
      const said = await stderrUntil(sensor, "detecting on");
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const scan = await synScanFrom(scannerNs, "10.77.0.1", "1-600");
      assert.ok(scan.success, new TextDecoder().decode(scan.stderr));
      const stderr = await exitedCleanly(sensor, said);

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

// With two capture workers PACKET_FANOUT splits the packets by flow hash; the
// kernel's hash of an ARP frame has no addresses in it, so every ARP frame goes
// to one worker and its ARP monitor sees the whole sweep.
for (const workers of [1, 2]) {
  Deno.test({
    name:
      `detect: a live ARP sweep (nmap -sn on the local link) is alerted as an ARP sweep, ${workers} capture worker(s)`,
    ignore: reason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pair = createNamespacePair("a", "10.78.0");
      const dir = await Deno.makeTempDir({ prefix: "ids-arp-live-" });
      try {
        const alertsPath = `${dir}/alerts.jsonl`;
        const sensor = detectIn(
          pair.sensorNamespace,
          pair.sensorInterface,
          10,
          alertsPath,
          workers,
        );
        const said = await stderrUntil(sensor, "detecting on");
        const sweep = await nmapFrom(pair.peerNamespace, [
          "-n",
          "-sn",
          "--max-retries",
          "0",
          "10.78.0.0/24",
        ]);
        assert.ok(sweep.success, new TextDecoder().decode(sweep.stderr));
        const stderr = await exitedCleanly(sensor, said);
        const alerts = await readAlerts(alertsPath);
        const sweeps = alerts.filter((a) => a.alert.class === "arp-sweep");
        assert.ok(sweeps.length > 0, `no ARP sweep alert; sensor said:\n${stderr}`);
        assert.equal(sweeps[0].src_ip, "10.78.0.2");
        assert.equal(sweeps[0].proto, "ARP");
        assert.equal(sweeps[0].alert.name, "ARP sweep (host discovery)");
        assert.ok(
          Math.max(...sweeps.map((a) => a.alert.targets ?? 0)) >= 200,
          JSON.stringify(sweeps),
        );
        assert.match(stderr, /ARP monitor: \d+ requests/);
      } finally {
        pair.remove();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

// With two capture workers PACKET_FANOUT splits the packets by host pair, but a packet to a
// multicast group (a neighbour solicitation goes to its target's solicited-node address) by its
// source alone: the whole sweep reaches one worker's ND monitor (src/ffi/fanout_program.ts).
for (const workers of [1, 2]) {
  Deno.test({
    name:
      `detect: a live IPv6 ND sweep (nmap -6 -sn on the local link) is alerted as an ND sweep, ${workers} capture worker(s)`,
    ignore: reason !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const pair = createNamespacePair("n", "10.84.0");
      const dir = await Deno.makeTempDir({ prefix: "ids-nd-live-" });
      try {
        for (
          const [ns, dev, address] of [
            [pair.sensorNamespace, pair.sensorInterface, "fd00:84::1/64"],
            [pair.peerNamespace, pair.peerInterface, "fd00:84::2/64"],
          ]
        ) {
          // No duplicate address detection: the addresses are usable at once.
          const added = new Deno.Command("ip", {
            args: ["-n", ns, "addr", "add", address, "dev", dev, "nodad"],
            stderr: "piped",
          }).outputSync();
          assert.ok(added.success, new TextDecoder().decode(added.stderr));
        }
        const alertsPath = `${dir}/alerts.jsonl`;
        const sensor = detectIn(
          pair.sensorNamespace,
          pair.sensorInterface,
          10,
          alertsPath,
          workers,
        );
        const said = await stderrUntil(sensor, "detecting on");
        const sweep = await nmapFrom(pair.peerNamespace, [
          "-6",
          "-n",
          "-sn",
          "--max-retries",
          "0",
          "fd00:84::/120",
        ]);
        assert.ok(sweep.success, new TextDecoder().decode(sweep.stderr));
        const stderr = await exitedCleanly(sensor, said);
        const alerts = await readAlerts(alertsPath);
        const sweeps = alerts.filter((a) => a.alert.class === "nd-sweep");
        assert.ok(sweeps.length > 0, `no ND sweep alert; sensor said:\n${stderr}`);
        assert.equal(sweeps[0].src_ip, "fd00:84::2");
        assert.equal(sweeps[0].proto, "IPv6-ICMP");
        assert.equal(sweeps[0].alert.name, "IPv6 ND sweep (host discovery)");
        assert.ok(
          Math.max(...sweeps.map((a) => a.alert.targets ?? 0)) >= 200,
          JSON.stringify(sweeps),
        );
        assert.match(stderr, /ND monitor: \d+ neighbour solicitations/);
      } finally {
        pair.remove();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
