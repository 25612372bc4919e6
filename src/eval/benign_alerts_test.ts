import assert from "node:assert/strict";
import { DEFAULT_MODEL_DIR, loadSensorBundle } from "../engine/mod.ts";
import { formatBenignAlerts, listCaptureFiles, measureBenignAlerts } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LAB = `${ROOT}tests/fixtures/lab`;
const SHARED = `${ROOT}../shared/data/pcaps/chrissanders`;

Deno.test("listCaptureFiles: folders searched for captures, files kept, sorted, missing paths refused", async () => {
  const files = await listCaptureFiles([LAB, `${LAB}/benign/capture.pcap`]);
  assert.ok(files.length >= 7);
  assert.ok(files.every((f) => f.endsWith(".pcap")));
  assert.deepEqual(files, [...new Set(files)].sort());
  assert.ok(!files.some((f) => f.endsWith(".csv") || f.endsWith(".json")));
  await assert.rejects(listCaptureFiles([`${LAB}/nope`]), /cannot read .*nope/);
});

Deno.test("eval --benign counts what analyze emits, capture by capture", async () => {
  const captures = [`${LAB}/benign/capture.pcap`, `${LAB}/syn-scan/capture.pcap`];
  const report = await measureBenignAlerts(captures, {
    bundle: await loadSensorBundle(DEFAULT_MODEL_DIR),
  });
  assert.equal(report.captures.length, 2);
  for (const [i, path] of captures.entries()) {
    // The same engine from the command line: its JSONL has one line per alert.
    const jsonl = await Deno.makeTempFile({ suffix: ".jsonl" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}main.ts`, "analyze", path, "--quiet", "--alerts", jsonl],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const lines = (await Deno.readTextFile(jsonl)).split("\n").filter((l) => l.trim() !== "");
      const alerts = lines.map((l) => JSON.parse(l)).filter((a) => a.event_type === "alert");
      assert.equal(report.captures[i].alerts, alerts.length, path);
    } finally {
      await Deno.remove(jsonl);
    }
  }
  // The scan is alerted; the totals are the sums and the rates follow from them.
  assert.ok(report.captures[1].alerts > 0, "the SYN scan fixture raised no alert");
  const t = report.totals;
  assert.equal(t.alerts, report.captures[0].alerts + report.captures[1].alerts);
  assert.equal(t.flows, report.captures[0].flows + report.captures[1].flows);
  assert.ok(report.captures.every((c) => c.seconds > 5 && c.seconds < 60), "spans of 20 s runs");
  assert.ok(Math.abs(t.alertsPerHour - (3600 * t.alerts) / t.seconds) < 1e-9);
  assert.ok(Math.abs(t.alertsPer1000Flows - (1000 * t.alerts) / t.flows) < 1e-9);
  assert.equal(t.capturesWithAlerts, report.captures.filter((c) => c.alerts > 0).length);
  assert.match(formatBenignAlerts(report), /per 1,000 flows [\d.]+; per hour [\d.]+/);
});

Deno.test("eval --benign reads a damaged capture up to the damage and says so", async () => {
  const bytes = await Deno.readFile(`${LAB}/benign/capture.pcap`);
  const damaged = bytes.slice();
  // An impossible record length a few records in.
  const view = new DataView(damaged.buffer);
  let at = 24;
  for (let k = 0; k < 5; k++) at += 16 + view.getUint32(at + 8, true);
  view.setUint32(at + 8, 0x7fffffff, true);
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, damaged);
    const report = await measureBenignAlerts([path], {
      bundle: await loadSensorBundle(DEFAULT_MODEL_DIR),
    });
    assert.equal(report.captures[0].packets, 5);
    assert.match(report.captures[0].error ?? "", /corrupt capture file at byte offset/);
  } finally {
    await Deno.remove(path);
  }
});

const haveShared = await Deno.stat(SHARED).then(() => true, () => false);
if (!haveShared) console.error(`skip: ${SHARED} absent (the shared public captures)`);

Deno.test({
  name: "eval --benign on public captures: every file measured, pcapng included",
  ignore: !haveShared,
  async fn() {
    const files = (await listCaptureFiles([SHARED])).filter((f) =>
      /\/(dns\.pcap|tcp_handshake\.pcapng|dhcp_inlease_renewal\.pcapng)$/.test(f)
    );
    assert.ok(files.length >= 2, `expected sample files in ${SHARED}`);
    const report = await measureBenignAlerts(files, {
      bundle: await loadSensorBundle(DEFAULT_MODEL_DIR),
    });
    assert.equal(report.captures.length, files.length);
    for (const c of report.captures) {
      assert.ok(c.packets > 0 && c.flows > 0, `${c.path}: nothing read`);
      assert.equal(c.error, undefined);
    }
  },
});
