/**
 * The sensor as a service, through the CLI: a capture streams into
 * `ids-sensor analyze` through a FIFO (so the run lasts as long as the test
 * wants) while the test scrapes /metrics (promtool accepts it, counters
 * move), sends SIGHUP with a broken bundle (the old one stays, the sensor
 * says why), with a config typo (refused, naming the key), then with a new
 * bundle (switched); at the end every packet and flow of the capture is
 * counted, the same as a run without reloads. A webhook receiver that is
 * down while a run raises alerts gets every one of them, in order, from the
 * spool on the next run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../src/store/mod.ts";
import { repoRoot } from "./support/environment.ts";
import { freePort, promtoolCheck, promtoolMissing, until } from "./support/loopback.ts";

const DEMO = `${repoRoot}models/demo/capture.pcap`;
const MODEL = `${repoRoot}models/default`;

function sensor(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${repoRoot}main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collects a child's stderr as it comes. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  return { text: () => text, done };
}

function metricValue(text: string, pattern: RegExp): number | undefined {
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

function statsEvents(path: string) {
  return Deno.readTextFileSync(path).split("\n").filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.event_type === "stats");
}

const promtoolReason = promtoolMissing();
if (promtoolReason) console.log(`/metrics is checked without promtool: ${promtoolReason}`);

Deno.test("SIGHUP: broken bundle kept out, typo refused, new bundle switched; no packet lost; /metrics passes promtool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "notify-reload-" });
  try {
    // Reference: the same capture without reloads.
    const reference = await sensor([
      "analyze",
      DEMO,
      "--quiet",
      "--alerts",
      join(dir, "ref.jsonl"),
      "--stats-interval",
      "1",
    ]).output();
    assert.equal(reference.code, 0, new TextDecoder().decode(reference.stderr));
    const expected = statsEvents(join(dir, "ref.jsonl")).at(-1).stats;

    // A new bundle (same models, another folder: the name tells them apart) and a broken one.
    const fresh = join(dir, "model-new");
    const broken = join(dir, "model-broken");
    for (const target of [fresh, broken]) {
      await Deno.mkdir(target);
      for (const f of ["bundle.json", "classifier.onnx", "anomaly.onnx"]) {
        await Deno.copyFile(join(MODEL, f), join(target, f));
      }
    }
    const onnx = await Deno.readFile(join(broken, "classifier.onnx"));
    await Deno.writeFile(join(broken, "classifier.onnx"), onnx.subarray(0, onnx.length >> 1));

    const port = freePort();
    const receiverPort = freePort();
    const received: { event_type: string }[] = [];
    const receiver = Deno.serve(
      { hostname: "127.0.0.1", port: receiverPort, onListen() {} },
      async (req) => {
        received.push(await req.json());
        return new Response("ok");
      },
    );
    const config = join(dir, "sensor.yaml");
    const writeConfig = (model: string, extra = "") =>
      Deno.writeTextFile(
        config,
        `model: ${model}\nmetrics: 127.0.0.1:${port}\nalerts: ${join(dir, "eve.jsonl")}\n` +
          `stats-interval: 1\nquiet: true\n${extra}`,
      );
    await writeConfig(MODEL);
    const fifo = join(dir, "capture.fifo");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(mk.code, 0);

    const child = sensor(["analyze", fifo, "--config", config]);
    const stderr = collect(child.stderr);
    const stdout = collect(child.stdout);
    const writer = await Deno.open(fifo, { write: true });
    const capture = await Deno.readFile(DEMO);
    const half = capture.length >> 1;
    try {
      let off = 0;
      while (off < half) off += await writer.write(capture.subarray(off, half));
      const scrape = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/metrics`);
        return await r.text();
      };
      // Counters move while the capture streams in.
      const early = await until(async () => {
        const text = await scrape();
        return (metricValue(text, /^ids_sensor_packets_total /) ?? 0) > 0 ? text : undefined;
      }, "packets counted");
      const earlyPackets = metricValue(early, /^ids_sensor_packets_total /)!;
      assert.ok(earlyPackets < expected.decoder.pkts, `${earlyPackets} packets before the end`);
      if (!promtoolReason) {
        const lint = await promtoolCheck(early);
        assert.equal(lint.code, 0, lint.said);
        assert.equal(lint.said.trim(), "", lint.said);
      }

      const reloads = async (result: string, n: number) =>
        await until(async () => {
          const text = await scrape();
          return metricValue(
              text,
              new RegExp(`^ids_sensor_reloads_total\\{result="${result}"\\}`),
            ) ===
              n
            ? text
            : undefined;
        }, `${n} ${result} reloads`);

      await writeConfig(broken);
      child.kill("SIGHUP");
      const afterBroken = await reloads("failed", 1);
      assert.match(afterBroken, new RegExp(`ids_sensor_model_info\\{model="${MODEL}"\\} 1`));
      assert.match(stderr.text(), /model .*model-broken refused \(.*\); still running/);

      await writeConfig(fresh, "windw: 30\n");
      child.kill("SIGHUP");
      await reloads("failed", 2);
      assert.match(stderr.text(), /sensor\.yaml:6:1: windw: unknown key; did you mean "window"\?/);

      // The reload also adds a notification target: every alert from then on reaches it.
      await writeConfig(fresh, `notify:\n  - http://127.0.0.1:${receiverPort}/eve?rate=1000/60\n`);
      child.kill("SIGHUP");
      const afterNew = await reloads("ok", 1);
      assert.match(afterNew, new RegExp(`ids_sensor_model_info\\{model="${fresh}"\\} 1`));
      assert.match(stderr.text(), /reload: .*model .*model-new loaded/);

      off = half;
      while (off < capture.length) off += await writer.write(capture.subarray(off));
    } finally {
      writer.close();
    }
    const status = await child.status;
    await stderr.done;
    await stdout.done;
    assert.equal(status.code, 0, stderr.text());
    // Every packet and every flow, as in the run without reloads.
    const final = statsEvents(join(dir, "eve.jsonl")).at(-1).stats;
    assert.equal(final.decoder.pkts, expected.decoder.pkts);
    assert.equal(final.decoder.bytes, expected.decoder.bytes);
    assert.equal(final.flow.total, expected.flow.total);
    assert.equal(final.flow.ended, expected.flow.ended);
    // Every row scored once (rows of still-open flows come on top of the ended flows' rows).
    const v = final.ids.verdicts;
    assert.equal(v.benign + v.known + v.unknown, final.ids.inference.rows);
    assert.ok(final.ids.inference.rows >= expected.flow.ended);
    assert.equal(final.ids.shed.final_rows, 0);
    assert.match(stderr.text(), new RegExp(`: ${expected.decoder.pkts} packets, `));
    // The target added by the reload got every alert emitted after it, in order.
    const alerts = Deno.readTextFileSync(join(dir, "eve.jsonl")).split("\n").filter(Boolean)
      .map((l) => JSON.parse(l)).filter((e) => e.event_type === "alert");
    assert.ok(received.length > 0, "alerts after the reload reached the new target");
    assert.deepEqual(received, alerts.slice(alerts.length - received.length));
    await receiver.shutdown();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webhook down during a run: every alert arrives, in order, from the spool on the next run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "notify-spool-" });
  try {
    const port = freePort();
    const args = (alerts: string) => [
      "analyze",
      DEMO,
      "--quiet",
      "--alerts",
      alerts,
      "--notify",
      `http://127.0.0.1:${port}/eve?rate=1000/60`,
      "--spool-dir",
      join(dir, "spool"),
    ];
    const first = await sensor(args(join(dir, "first.jsonl"))).output();
    const firstErr = new TextDecoder().decode(first.stderr);
    assert.equal(first.code, 0, firstErr);
    const firstAlerts = Deno.readTextFileSync(join(dir, "first.jsonl")).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(firstAlerts.length > 0);
    assert.match(firstErr, new RegExp(`${firstAlerts.length} undelivered messages kept in`));

    const received: unknown[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
      received.push(await req.json());
      return new Response("ok");
    });
    try {
      // A triage suppression (as the console stores it) keeps one class out of new notifications.
      const suppressed = firstAlerts[0].alert.class;
      const store = openStore(join(dir, "alerts.sqlite"));
      store.addSuppression({ class: suppressed, reason: "test" });
      store.close();
      const second = await sensor([
        ...args(join(dir, "second.jsonl")),
        "--db",
        join(dir, "alerts.sqlite"),
      ]).output();
      assert.equal(second.code, 0, new TextDecoder().decode(second.stderr));
      const secondAlerts = Deno.readTextFileSync(join(dir, "second.jsonl")).trim().split("\n")
        .map((l) => JSON.parse(l));
      const notified = secondAlerts.filter((a) => a.alert.class !== suppressed);
      assert.ok(notified.length < firstAlerts.length, "the suppression held something back");
      // The spooled alerts of the first run first, in order, then the second run's.
      assert.deepEqual(received, [...firstAlerts, ...notified]);
    } finally {
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
