/**
 * The command line as a new user meets it (issue 14): nothing silently
 * wrong, every failure one line naming what to fix, with its sysexits code
 * (src/cli/exit.ts), and existing outputs never lost to a failed run. Each
 * case runs main.ts as a process; the non-root cases drop to an unprivileged
 * user with setpriv (skipped, with the reason, when that is not possible).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { isRoot, toolAvailable } from "./support/environment.ts";

const LAB = new URL("./fixtures/lab/", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIXED = join(LAB, "mixed/capture.pcap");
const MIXED_LABELS = join(LAB, "mixed/labels.csv");
const SYN_SCAN = join(LAB, "syn-scan/capture.pcap");
const SYN_SCAN_LABELS = join(LAB, "syn-scan/labels.csv");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], prefix: string[] = []): Promise<Run> {
  const command = prefix.length > 0 ? prefix[0] : Deno.execPath();
  const out = await new Deno.Command(command, {
    args: [
      ...prefix.slice(1),
      ...(prefix.length > 0 ? [Deno.execPath()] : []),
      "run",
      "-A",
      MAIN,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function withTemp(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "struct_cli_" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** setpriv to `nobody` (uid 65534), or why that cannot run here. */
function unprivileged(): { prefix: string[] } | { skip: string } {
  if (!isRoot()) return { skip: "not root: cannot switch to an unprivileged user" };
  if (!toolAvailable("setpriv")) return { skip: "setpriv (util-linux) not installed" };
  return {
    prefix: [
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "env",
      "HOME=/tmp",
      `DENO_DIR=${unprivilegedDenoDir()}`,
    ],
  };
}

/** One Deno cache for the unprivileged runs, reused across test runs (nothing piles up in /tmp). */
function unprivilegedDenoDir(): string {
  const dir = join(Deno.env.get("TMPDIR") ?? "/tmp", "ids-sensor-tests-nobody-deno-dir");
  Deno.mkdirSync(dir, { recursive: true });
  Deno.chmodSync(dir, 0o1777);
  return dir;
}

const drop = unprivileged();
if ("skip" in drop) console.warn(`cli_errors_test: non-root cases skipped: ${drop.skip}`);

Deno.test({
  name: "detect without root: no demo into the user's sinks, exit 77 with what to do",
  ignore: "skip" in drop,
  async fn() {
    await withTemp(async (dir) => {
      await Deno.chmod(dir, 0o777);
      const alerts = join(dir, "alerts.jsonl");
      const run = await cli(["detect", "--alerts", alerts], (drop as { prefix: string[] }).prefix);
      assert.equal(run.code, 77, run.stderr);
      assert.match(run.stderr, /live capture needs root.*sudo ids-sensor detect --iface IF/);
      assert.equal(await Deno.stat(alerts).catch(() => null), null, "alerts file was written");
    });
  },
});

/** The interface of the default route, or null (read the way `ip route` shows it). */
function defaultRouteDevice(): string | null {
  if (!toolAvailable("ip")) return null;
  const out = new Deno.Command("ip", { args: ["route", "show", "default"], stdout: "piped" })
    .outputSync();
  return new TextDecoder().decode(out.stdout).match(/ dev (\S+)/)?.[1] ?? null;
}
const routeDevice = defaultRouteDevice();
if (!routeDevice) console.warn("cli_errors_test: no default route: capabilities case skipped");

Deno.test({
  name:
    "detect as a user with CAP_NET_RAW and CAP_NET_ADMIN and no --iface: the default-route interface",
  ignore: "skip" in drop || !routeDevice,
  async fn() {
    await withTemp(async (dir) => {
      await Deno.chmod(dir, 0o777);
      const [setpriv, ...rest] = (drop as { prefix: string[] }).prefix;
      const caps = ["--inh-caps", "+net_raw,+net_admin", "--ambient-caps", "+net_raw,+net_admin"];
      const alerts = join(dir, "alerts.jsonl");
      const args = ["detect", "--duration", "1", "--quiet", "--alerts", alerts];
      const run = await cli(args, [setpriv, ...caps, ...rest]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`detecting on ${routeDevice} `));
      assert.doesNotMatch(run.stderr, /DEMO/);
    });
  },
});

Deno.test({
  name: "bare ids-sensor without root: the demo, said loudly, exit 0",
  ignore: "skip" in drop,
  async fn() {
    const run = await cli([], (drop as { prefix: string[] }).prefix);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^ids-sensor: DEMO: live capture needs root/);
    assert.match(run.stderr, /not from your network, and nothing is written anywhere/);
    assert.match(run.stderr, /DEMO over/);
    assert.match(run.stdout + run.stderr, /10\.66\.0\.66/);
  },
});

Deno.test("detect --iface lo --iface lo is refused like capture refuses it", async () => {
  const run = await cli(["detect", "--iface", "lo", "--iface", "lo", "--duration", "1"]);
  assert.equal(run.code, 64);
  assert.match(run.stderr, /--iface lo given twice/);
});

Deno.test("analyze: a directory, a garbage ONNX file and a non-SQLite --db are named", async () => {
  await withTemp(async (dir) => {
    const asDir = await cli(["analyze", dir]);
    assert.equal(asDir.code, 66);
    assert.match(asDir.stderr, new RegExp(`capture file ${dir} is a directory`));

    const model = join(dir, "model");
    await Deno.mkdir(model);
    const bundled = new URL("../models/default/", import.meta.url).pathname;
    for await (const entry of Deno.readDir(bundled)) {
      await Deno.copyFile(join(bundled, entry.name), join(model, entry.name));
    }
    await Deno.writeFile(join(model, "anomaly.onnx"), crypto.getRandomValues(new Uint8Array(4096)));
    const garbage = await cli(["analyze", SYN_SCAN, "--model", model, "--quiet"]);
    assert.equal(garbage.code, 65);
    assert.match(garbage.stderr, new RegExp(`${model}/anomaly.onnx: not a usable ONNX model`));

    const notDb = join(dir, "notes.txt");
    await Deno.writeTextFile(notDb, "plain text, not a database\n".repeat(20));
    const db = await cli(["analyze", SYN_SCAN, "--db", notDb, "--quiet"]);
    assert.equal(db.code, 65);
    assert.match(db.stderr, new RegExp(`--db ${notDb} is not a SQLite database`));
    assert.equal(await Deno.readTextFile(notDb), "plain text, not a database\n".repeat(20));
  });
});

Deno.test("analysing the same capture twice into one --db keeps its traffic minutes and alerts once", async () => {
  await withTemp(async (dir) => {
    const db = join(dir, "ids.sqlite");
    const query = (sql: string) => {
      const conn = new DatabaseSync(db);
      try {
        return conn.prepare(sql).all();
      } finally {
        conn.close();
      }
    };
    const minutes = () =>
      query("SELECT minute, flows, packets FROM traffic_minutes ORDER BY minute");
    const alerts = () => query("SELECT id, name, eve FROM alerts ORDER BY id");
    assert.equal((await cli(["analyze", SYN_SCAN, "--db", db, "--quiet"])).code, 0);
    const once = minutes();
    const alertsOnce = alerts();
    assert.ok(once.length > 0);
    assert.ok(alertsOnce.length > 0);
    assert.equal((await cli(["analyze", SYN_SCAN, "--db", db, "--quiet"])).code, 0);
    assert.deepEqual(minutes(), once);
    assert.deepEqual(alerts(), alertsOnce);
  });
});

Deno.test("--alerts and --db into a folder that does not exist yet: made; under a file: refused first, 73", async () => {
  await withTemp(async (dir) => {
    const alerts = join(dir, "logs", "eve", "alerts.jsonl");
    const db = join(dir, "store", "ids.sqlite");
    const made = await cli(["analyze", SYN_SCAN, "--alerts", alerts, "--db", db, "--quiet"]);
    assert.equal(made.code, 0, made.stderr);
    assert.ok((await Deno.readTextFile(alerts)).includes('"event_type":"alert"'));
    assert.ok((await Deno.stat(db)).isFile);

    const file = join(dir, "plain.txt");
    await Deno.writeTextFile(file, "x\n");
    const refused = await cli(["analyze", SYN_SCAN, "--alerts", join(file, "a.jsonl"), "--quiet"]);
    assert.equal(refused.code, 73, refused.stderr);
    assert.match(refused.stderr, new RegExp(`--alerts ${file}/a.jsonl: cannot create its folder`));
    assert.doesNotMatch(refused.stderr, /analysing/, "refused before any work");
  });
});

Deno.test("flows: no arguments says what to give; a closed pipe ends it quietly", async () => {
  const none = await cli(["flows"]);
  assert.equal(none.code, 64);
  assert.match(none.stderr, /give a capture file .*or a live interface/);

  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "flows", MIXED],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read the header, then go away as `| head -1` does.
  const reader = child.stdout.getReader();
  await reader.read();
  await reader.cancel();
  const status = await child.status;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assert.equal(status.code, 0, stderr);
  assert.doesNotMatch(stderr, /Broken pipe|os error 32|error/i);
});

Deno.test("flows and label keep an existing --out when the input is missing or wrong", async () => {
  await withTemp(async (dir) => {
    const out = join(dir, "flows.csv");
    await Deno.writeTextFile(out, "precious\n");
    const missing = await cli(["flows", join(dir, "missing.pcap"), "--out", out]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /capture file .*missing.pcap does not exist/);
    assert.equal(await Deno.readTextFile(out), "precious\n");

    const foreign = await cli(["label", MIXED, "--labels", SYN_SCAN_LABELS, "--out", out]);
    assert.equal(foreign.code, 65, foreign.stderr);
    assert.match(foreign.stderr, /none of its 1 attack window\(s\) \(syn-scan;/);
    assert.equal(await Deno.readTextFile(out), "precious\n");
    for await (const entry of Deno.readDir(dir)) {
      assert.ok(!entry.name.includes("partial"), `left ${entry.name} behind`);
    }

    const good = await cli(["label", MIXED, "--labels", MIXED_LABELS, "--out", out]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(await Deno.readTextFile(out), /^Flow ID,/);
  });
});

Deno.test("train: labels of another capture refused, unusable --out found before training", async () => {
  await withTemp(async (dir) => {
    const foreign = await cli([
      "train",
      "--capture",
      MIXED,
      "--labels",
      SYN_SCAN_LABELS,
      "--out",
      join(dir, "m"),
    ]);
    assert.equal(foreign.code, 65, foreign.stderr);
    assert.match(foreign.stderr, /every flow would be BENIGN/);
    assert.equal(await Deno.stat(join(dir, "m")).catch(() => null), null, "left a folder behind");

    const file = join(dir, "file");
    await Deno.writeTextFile(file, "x");
    const started = performance.now();
    const asFile = await cli([
      "train",
      "--capture",
      MIXED,
      "--labels",
      MIXED_LABELS,
      "--out",
      file,
    ]);
    assert.equal(asFile.code, 73);
    assert.match(asFile.stderr, new RegExp(`cannot write ${file}: it is a file`));
    assert.ok(!/loaded \d+ rows/.test(asFile.stderr), "trained before checking --out");
    console.log(`  refused in ${(performance.now() - started).toFixed(0)} ms`);
  });
});

Deno.test("train --quiet prints only the warning of a false-positive rate far over target", async () => {
  await withTemp(async (dir) => {
    const out = join(dir, "bundle");
    // The mixed fixture holds 64 benign flows: its held-out benign FPR lands far over 1%.
    const run = await cli([
      "train",
      "--capture",
      MIXED,
      "--labels",
      MIXED_LABELS,
      "--out",
      out,
      "--epochs",
      "2",
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^warning: the anomaly detector flags [\d.]+% of \d+ held-out benign/);
    assert.ok((await Deno.stat(join(out, "bundle.json"))).isFile);
    for await (const entry of Deno.readDir(dir)) {
      assert.ok(!entry.name.includes("partial"), `left ${entry.name} behind`);
    }
  });
});

Deno.test("eval: foreign labels refused; --min-unknown-flows is the rule it reports", async () => {
  const foreign = await cli(["eval", "--capture", MIXED, "--labels", SYN_SCAN_LABELS]);
  assert.equal(foreign.code, 65, foreign.stderr);
  assert.match(foreign.stderr, /matches any of the \d+ flows/);
  const rule = await cli([
    "eval",
    "--capture",
    SYN_SCAN,
    "--labels",
    SYN_SCAN_LABELS,
    "--min-unknown-flows",
    "7",
  ]);
  assert.equal(rule.code, 0, rule.stderr);
  assert.match(rule.stdout, /rule: .* 7 flows with fan-out or rate/);
});

Deno.test("train --packet-models --tune: refused without labelled attack packets, before training", async () => {
  await withTemp(async (dir) => {
    const out = join(dir, "m");
    const benign = join(LAB, "benign/capture.pcap");
    const noLabels = await cli([
      "train",
      "--capture",
      benign,
      "--packet-models",
      "lof",
      "--tune",
      "2",
      "--out",
      out,
    ]);
    assert.equal(noLabels.code, 64, noLabels.stderr);
    assert.match(
      noLabels.stderr,
      /--tune 2 on packet members ranks trials by detection of labelled attack packets: give --capture FILE --labels FILE/,
    );
    const baseNoLabels = await cli([
      "train",
      "--base-bundle",
      join(LAB, "..", "..", "..", "models", "default"),
      "--packet-models",
      "kitnet",
      "--benign-pcap",
      benign,
      "--tune",
      "3",
      "--out",
      out,
    ]);
    assert.equal(baseNoLabels.code, 64, baseNoLabels.stderr);
    assert.match(baseNoLabels.stderr, /--tune 3 on packet members ranks trials/);
    const strayHoldout = await cli([
      "train",
      "--capture",
      MIXED,
      "--labels",
      MIXED_LABELS,
      "--packet-models",
      "lof",
      "--benign-pcap",
      benign,
      "--packet-holdout",
      "syn-flood",
      "--out",
      out,
    ]);
    assert.match(strayHoldout.stderr, /--packet-holdout goes with --packet-models and --tune N/);
    for (const run of [noLabels, baseNoLabels, strayHoldout]) {
      assert.ok(!/loaded \d+ rows|packet rows:/.test(run.stderr), "read packets before refusing");
    }
    assert.equal(await Deno.stat(out).catch(() => null), null, "left a folder behind");
  });
});

Deno.test("train --packet-models: bad lists, no benign packets, stray --benign-pcap refused before training", async () => {
  await withTemp(async (dir) => {
    const out = join(dir, "m");
    const base = ["train", "--capture", MIXED, "--labels", MIXED_LABELS, "--out", out];
    const unknown = await cli([...base, "--packet-models", "kitnet,gbdt"]);
    assert.equal(unknown.code, 64, unknown.stderr);
    assert.match(
      unknown.stderr,
      /--packet-models: "gbdt" is not an anomaly family \[@feature set\]/,
    );
    const badSet = await cli([...base, "--packet-models", "lof@flows"]);
    assert.equal(badSet.code, 64, badSet.stderr);
    assert.match(
      badSet.stderr,
      /unknown packet feature set "flows" in "lof@flows"; known: packet, packet-sequence, afterimage/,
    );
    const twice = await cli([...base, "--packet-models", "lof,lof@packet-sequence"]);
    assert.match(twice.stderr, /--packet-models names lof@packet-sequence twice/);
    const noBenign = await cli([...base, "--packet-models", "lof"]);
    assert.equal(noBenign.code, 64, noBenign.stderr);
    assert.match(
      noBenign.stderr,
      /--packet-models trains on benign packets: give --benign-pcap FILE/,
    );
    const stray = await cli([...base, "--benign-pcap", MIXED]);
    assert.match(stray.stderr, /--benign-pcap goes with --packet-models/);
    const missing = await cli([
      ...base,
      "--packet-models",
      "lof",
      "--benign-pcap",
      join(dir, "none.pcap"),
    ]);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /benign capture/);
    const baseWithCapture = await cli([
      ...base,
      "--base-bundle",
      join(LAB, "..", "..", "models", "default"),
      "--packet-models",
      "lof",
    ]);
    assert.match(
      baseWithCapture.stderr,
      /--base-bundle adds packet members to an existing bundle: no --capture, --csv or --models/,
    );
    const baseAlone = await cli(["train", "--base-bundle", dir, "--out", out]);
    assert.match(baseAlone.stderr, /--base-bundle goes with --packet-models/);
    const notBundle = await cli([
      "train",
      "--base-bundle",
      dir,
      "--packet-models",
      "lof",
      "--benign-pcap",
      MIXED,
      "--out",
      out,
    ]);
    assert.equal(notBundle.code, 64, notBundle.stderr);
    assert.match(notBundle.stderr, /--base-bundle: cannot read .*bundle\.json/);
    for (
      const run of [unknown, badSet, twice, noBenign, stray, missing, baseWithCapture, baseAlone]
    ) {
      assert.ok(!/loaded \d+ rows/.test(run.stderr), "trained before refusing");
    }
    assert.equal(await Deno.stat(out).catch(() => null), null, "left a folder behind");
  });
});
