/**
 * Live flows end to end: two network namespaces joined by a veth pair;
 * `ids-sensor flows --iface` meters what crosses it (libpcap FFI path, capture
 * worker, shared ring, flow table) while known traffic runs: UDP exchanges
 * with exact datagram counts each way, and TCP connections that must each be
 * one SF flow whose packet counts equal tcpdump's on the same link.
 */
import assert from "node:assert/strict";
import { isRoot, repoRoot, toolAvailable } from "./support/environment.ts";
import { createNamespacePair, spawnSensorIn, stderrUntil } from "./support/namespace_pair.ts";

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (!isRoot()) return "needs root (namespaces, live capture)";
  if (!toolAvailable("ip")) return "needs iproute2";
  if (!toolAvailable("tcpdump")) return "needs tcpdump (the reference count)";
  return null;
}

/** A `flows --format jsonl` line: the flow record's fields, the CIC features under `features`. */
type Flow = Record<string, unknown> & { features: Record<string, number> };

const reason = whyNot();
if (reason) console.warn(`flows_live_test skipped: ${reason}`);

/** Runs a script with this Deno inside a namespace. */
function denoIn(namespace: string, script: string): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", namespace, Deno.execPath(), "eval", "--unstable-net", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const SERVER = `
const udp = Deno.listenDatagram({ transport: "udp", hostname: "10.78.0.1", port: 5353 });
(async () => {
  // Three replies to each client, after its fifth datagram.
  const seen = new Map();
  for await (const [, from] of udp) {
    const key = from.hostname + ":" + from.port;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 5) for (let i = 0; i < 3; i++) await udp.send(new Uint8Array(64), from);
  }
})();
const tcp = Deno.listen({ hostname: "10.78.0.1", port: 8080 });
console.log("ready");
for await (const conn of tcp) {
  (async () => {
    const buffer = new Uint8Array(1000);
    await conn.read(buffer);
    await conn.write(new Uint8Array(3000).fill(65));
    conn.close();
  })();
}`;

const CLIENT = `
for (let c = 0; c < 4; c++) {
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "10.78.0.2", port: 40000 + c });
  for (let i = 0; i < 5; i++) {
    await udp.send(new Uint8Array(100), { transport: "udp", hostname: "10.78.0.1", port: 5353 });
    await new Promise((r) => setTimeout(r, 20));
  }
  const buffer = new Uint8Array(2000);
  for (let i = 0; i < 3; i++) await udp.receive(buffer);
  udp.close();
}
for (let c = 0; c < 3; c++) {
  const conn = await Deno.connect({ hostname: "10.78.0.1", port: 8080 });
  await conn.write(new Uint8Array(500).fill(66));
  const buffer = new Uint8Array(4096);
  let got = 0;
  while (got < 3000) {
    const n = await conn.read(buffer);
    if (n === null) break;
    got += n;
  }
  conn.close();
}
console.log("done");`;

Deno.test({
  name: "flows --iface: live UDP and TCP exchanges across a veth become exactly those flows",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pair = createNamespacePair("f", "10.78.0", { quiet: true });
    const sensorNs = pair.sensorNamespace;
    const clientNs = pair.peerNamespace;
    const sensorIf = pair.sensorInterface;
    const dir = await Deno.makeTempDir({ prefix: "ids-flows-live-" });
    const children: Deno.ChildProcess[] = [];
    try {
      const server = denoIn(sensorNs, SERVER);
      children.push(server);
      const serverOut = server.stdout.getReader();
      await serverOut.read(); // "ready"

      const flowsPath = `${dir}/flows.jsonl`;
      // Stopped by SIGINT once the client is done, not by a duration that a loaded machine outlasts.
      const sensor = spawnSensorIn(sensorNs, [
        "flows",
        "--iface",
        sensorIf,
        "--format",
        "jsonl",
        "--out",
        flowsPath,
      ]);
      children.push(sensor);
      const reference = new Deno.Command("ip", {
        // --immediate-mode: without it tcpdump hands over a TPACKET_V3 block only when it fills or
        // its 1 s timeout passes, and the SIGINT right after a quick client would lose the last one.
        args: [
          "netns",
          "exec",
          sensorNs,
          "tcpdump",
          "--immediate-mode",
          "-i",
          sensorIf,
          "-w",
          `${dir}/ref.pcap`,
          "-U",
        ],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      children.push(reference);
      // Traffic only once both capture: the sensor's ready line and tcpdump's "listening on".
      const said = await stderrUntil(sensor, "metering flows on");
      await stderrUntil(reference, "listening on");

      const client = await denoIn(clientNs, CLIENT).output();
      assert.ok(client.success, new TextDecoder().decode(client.stderr));
      sensor.kill("SIGINT");
      const sensorResult = { code: (await sensor.status).code };
      await said.done;
      reference.kill("SIGINT");
      await reference.status;
      const stderr = said.text();
      assert.equal(sensorResult.code, 0, stderr);

      const flows = (await Deno.readTextFile(flowsPath)).trim().split("\n").filter((l) => l)
        .map((line) => JSON.parse(line) as Flow);
      const field = (f: Flow, name: string) => f[name] ?? f.features[name];
      const udp = flows.filter((f) => field(f, "protocol") === 17);
      const tcp = flows.filter((f) => field(f, "protocol") === 6);
      assert.equal(flows.length, 7, `expected 4 UDP and 3 TCP flows, got ${JSON.stringify(flows)}`);
      assert.equal(udp.length, 4);
      for (const f of udp) {
        assert.equal(field(f, "srcIp"), "10.78.0.2");
        assert.equal(field(f, "Total Fwd Packets"), 5);
        assert.equal(field(f, "Total Backward Packets"), 3);
        assert.equal(field(f, "Total Length of Fwd Packets"), 500);
        assert.equal(field(f, "Total Length of Bwd Packets"), 192);
      }
      // Each TCP connection: one SF flow, packet counts equal to tcpdump's own capture.
      const refFlows = (await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${repoRoot}main.ts`, "flows", `${dir}/ref.pcap`, "--format", "jsonl"],
        stdout: "piped",
        stderr: "null",
      }).output()).stdout;
      const referenceFlows = new TextDecoder().decode(refFlows).trim().split("\n").map((l) =>
        JSON.parse(l) as Flow
      );
      const key = (f: Flow) =>
        `${field(f, "srcPort")}/${field(f, "Total Fwd Packets")}/${
          field(f, "Total Backward Packets")
        }`;
      assert.equal(tcp.length, 3);
      for (const f of tcp) {
        assert.equal(field(f, "connState"), "SF");
        assert.equal(field(f, "Total Length of Fwd Packets"), 500);
        assert.equal(field(f, "Total Length of Bwd Packets"), 3000);
      }
      assert.deepEqual(
        tcp.map(key).sort(),
        referenceFlows.filter((f) => field(f, "protocol") === 6).map(key).sort(),
      );
    } finally {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch { /* already ended */ }
      }
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
