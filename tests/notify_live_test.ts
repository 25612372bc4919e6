/**
 * Live, as a service would run: `detect --config` on one end of a veth pair,
 * root dropped to `nobody` once the capture is open, datagrams sent from the
 * namespace on the other end. /metrics counts them as they come; SIGHUP with
 * a new bundle switches models while capture goes on; at SIGTERM every
 * datagram sent was metered and the kernel dropped none.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "./support/environment.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";
import { freePort, until } from "./support/loopback.ts";

const unavailable = vethUnavailableReason();
if (unavailable) console.log(`skipping the live service test: ${unavailable}`);

function metric(text: string, pattern: RegExp): number | undefined {
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test({
  name:
    "live detect --config --user nobody: metrics move, SIGHUP switches the bundle, no packet lost",
  ignore: unavailable !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "notify-live-" });
    await Deno.chmod(dir, 0o755);
    const pair = createVethPair();
    let child: Deno.ChildProcess | null = null;
    try {
      const fresh = join(dir, "model-new");
      await Deno.mkdir(fresh);
      for (const f of ["bundle.json", "classifier.onnx", "anomaly.onnx"]) {
        await Deno.copyFile(join(repoRoot, "models/default", f), join(fresh, f));
      }
      const port = freePort();
      const config = join(dir, "sensor.yaml");
      const writeConfig = (model?: string) =>
        Deno.writeTextFile(
          config,
          `iface: [${pair.captureSide}]\nmetrics: 127.0.0.1:${port}\nuser: nobody\nquiet: true\n` +
            `spool-dir: ${join(dir, "spool")}\n${model ? `model: ${model}\n` : ""}`,
        );
      await writeConfig();
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${repoRoot}main.ts`, "detect", "--config", config],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let stderr = "";
      const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (c) => void (stderr += c) }),
      );
      const scrape = async () => await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      await until(
        async () => /detecting on/.test(stderr) ? await scrape() : undefined,
        "the sensor to run",
      );
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, "running as nobody");

      await pair.sendUdp(300, 200, 5353);
      await until(async () => {
        const text = await scrape();
        return (metric(text, /^ids_sensor_packets_total /) ?? 0) >= 300 ? text : undefined;
      }, "300 packets counted");

      await writeConfig(fresh);
      child.kill("SIGHUP");
      const switched = await until(async () => {
        const text = await scrape();
        return metric(text, /^ids_sensor_reloads_total\{result="ok"\}/) === 1 ? text : undefined;
      }, "the reload");
      assert.match(switched, new RegExp(`ids_sensor_model_info\\{model="${fresh}"\\} 1`));
      assert.match(stderr, /reload: .*model \S*model-new loaded/);

      await pair.sendUdp(300, 200, 5354);
      const after = await until(async () => {
        const text = await scrape();
        return (metric(text, /^ids_sensor_packets_total /) ?? 0) >= 600 ? text : undefined;
      }, "600 packets counted");
      assert.equal(metric(after, /^ids_sensor_capture_kernel_drops_total/), 0);

      child.kill("SIGTERM");
      const exit = await child.status;
      await reading;
      assert.equal(exit.code, 0, stderr);
      // Every datagram sent crossed the link once and was metered, across the reload.
      assert.match(stderr, /live idsc\w+: 600 packets/);
      assert.match(stderr, /: 600 received, 0 dropped by the kernel, 0 by the interface/);
      child = null;
    } finally {
      if (child) {
        child.kill("SIGKILL");
        await child.status;
      }
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
