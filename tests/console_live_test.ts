/**
 * Triage reaching a running sensor, end to end: `ids-sensor detect --db`
 * captures live in one network namespace while nmap scans it from another;
 * the console (`ids-sensor serve`, in the root namespace, on the same store)
 * shows the scan's alert with its evidence pcap, and so does the sensor's own
 * console (`--ui`, with its Prometheus /metrics); a suppression of the
 * scanner is made through the API; a second scan is then held back by the
 * sensor that is still running (no restart), and the sensor reports it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../src/store/mod.ts";
import { isRoot, repoRoot, toolAvailable } from "./support/environment.ts";
import { createNamespacePair, spawnSensorIn, synScanFrom } from "./support/namespace_pair.ts";
import { startConsoleProcess } from "./support/console_server.ts";

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (!isRoot()) return "needs root (namespaces, live capture)";
  if (!toolAvailable("ip")) return "needs iproute2";
  if (!toolAvailable("nmap")) return "needs nmap (apt-get install nmap)";
  return null;
}

const reason = whyNot();
if (reason) console.warn(`console_live_test skipped: ${reason}`);

async function until<T>(what: string, seconds: number, probe: () => T | null): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

Deno.test({
  name: "console: a suppression made in the API holds back a running sensor's alerts, no restart",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pair = createNamespacePair("con", "10.78.0", { quiet: true });
    const dir = await Deno.makeTempDir({ prefix: "console-live-" });
    const db = join(dir, "ids.sqlite");
    openStore(db).close();
    const server = await startConsoleProcess(db);
    const sensor = spawnSensorIn(pair.sensorNamespace, [
      "detect",
      "--iface",
      pair.sensorInterface,
      "--duration",
      "45",
      "--model",
      `${repoRoot}models/default`,
      "--db",
      db,
      "--window",
      "5",
      "--quiet",
      // The console inside the sensor's process too (reachable only in its namespace).
      "--ui",
      "127.0.0.1:18777",
      "--token-file",
      join(dir, "ui.token"),
    ]);
    const store = openStore(db);
    const fromPeer = () =>
      store.listAlerts({ src_ip: pair.peerAddress }, { limit: 100 }).alerts.filter((a) =>
        a.dest_ip === pair.sensorAddress
      );
    try {
      await until(
        "the sensor's first heartbeat",
        30,
        () => store.sensorStatuses().length > 0 ? true : null,
      );
      await new Promise((r) => setTimeout(r, 2000));
      const first = await synScanFrom(pair.peerNamespace, pair.sensorAddress, "1-400");
      assert.ok(first.success, new TextDecoder().decode(first.stderr));
      const alerts = await until("the first scan's alert", 30, () => {
        const rows = fromPeer();
        return rows.length > 0 ? rows : null;
      });
      // The console sees it, with the packets of the scan as evidence.
      const headers = { authorization: `Bearer ${server.token}` };
      const detail = await (await fetch(`${server.url}/api/v1/alerts/${alerts[0].id}`, { headers }))
        .json();
      assert.ok(detail.evidence_packets > 0, `evidence kept: ${JSON.stringify(detail)}`);
      const status = store.sensorStatuses()[0].status;
      assert.deepEqual(status.interfaces, [pair.sensorInterface]);
      // detect --ui: the same store through the sensor's own console, and its metrics.
      const uiToken = (await Deno.readTextFile(join(dir, "ui.token"))).trim();
      const inSensorNs = async (path: string, token: string | null) => {
        const out = await new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            pair.sensorNamespace,
            "curl",
            "-s",
            "-w",
            "\n%{http_code}",
            ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
            `http://127.0.0.1:18777${path}`,
          ],
          stdout: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        const cut = text.lastIndexOf("\n");
        return { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) };
      };
      const uiAlert = await inSensorNs(`/api/v1/alerts/${alerts[0].id}`, uiToken);
      assert.equal(uiAlert.status, 200, uiAlert.body);
      assert.equal(JSON.parse(uiAlert.body).id, alerts[0].id);
      const metrics = await inSensorNs("/metrics", uiToken);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^ids_sensor_/m);
      assert.equal((await inSensorNs("/metrics", null)).status, 401);

      const made = await fetch(`${server.url}/api/v1/suppressions`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ src_ip: pair.peerAddress, expires_in_seconds: 600, reason: "test" }),
      });
      assert.equal(made.status, 201, await made.text());
      // The sensor re-reads suppressions every 2 s: from then on nothing from the scanner passes.
      const inForce = new Date(Date.now() + 2500).toISOString();
      await new Promise((r) => setTimeout(r, 3000));
      const second = await synScanFrom(pair.peerNamespace, pair.sensorAddress, "401-800");
      assert.ok(second.success);
      await until("the sensor to count the held-back alert", 30, () => {
        const s = store.sensorStatuses()[0]?.status as { suppressed?: number } | undefined;
        return s && (s.suppressed ?? 0) > 0 ? true : null;
      });
      const result = await sensor.output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      assert.match(stderr, /alerts held back by console suppressions: [1-9]/);
      const after = fromPeer().filter((a) => a.timestamp > inForce);
      assert.deepEqual(after, [], "no alert from the suppressed scanner after the suppression");
    } finally {
      try {
        sensor.kill("SIGTERM");
      } catch { /* exited */ }
      await sensor.status;
      store.close();
      await server.stop();
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
