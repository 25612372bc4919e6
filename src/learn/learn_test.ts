import assert from "node:assert/strict";
import { DEFAULT_MODEL_DIR, loadSensorBundle } from "../engine/mod.ts";
import type { AnomalyModel, ClassifierModel, LoadedBundle } from "../inference/mod.ts";
import { CLASS_DISTANCE_OUTPUT, runOnnxModel } from "../train/mod.ts";
import { benignRowsFromCaptures, learnFromSources, MIN_LEARN_FLOWS } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** A benign run of the wide range world (IPv6, DHCP, mDNS, TLS, mail, ...), never trained on. */
const WIDE_BENIGN = `${ROOT}tests/fixtures/lab-wide/benign/capture.pcap`;
/** A 20 s benign run at fixture intensity: too few flows to learn from on its own. */
const SMALL_BENIGN = `${ROOT}tests/fixtures/lab/benign/capture.pcap`;
const MIXED = `${ROOT}tests/fixtures/lab/mixed/capture.pcap`;
const OTHER_FEATURE_SET = `${ROOT}tests/fixtures/models/sklearn_like_forest`;

const haveWide = await Deno.stat(WIDE_BENIGN).then(() => true, () => false);
if (!haveWide) {
  console.error(
    `skip: ${WIDE_BENIGN} missing (record it as root: deno run -A scripts/lab/record_fixtures.ts --wide)`,
  );
}

function model<R extends "classifier" | "anomaly">(bundle: LoadedBundle, role: R) {
  const index = bundle.json.models.findIndex((m) => m.role === role);
  assert.ok(index >= 0, `no ${role} in ${bundle.dir}`);
  return {
    entry: bundle.json.models[index] as R extends "classifier" ? ClassifierModel : AnomalyModel,
    onnx: bundle.onnx[index],
  };
}

Deno.test({
  name: "learn on benign captures: a bundle that loads, the base classifier kept, the gate exact",
  ignore: !haveWide,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "ids-learn-test-" });
    try {
      // Two benign runs of the range (wide and narrow world): more than the minimum together.
      const captures = [WIDE_BENIGN, SMALL_BENIGN];
      const summary = await learnFromSources({ captures }, DEFAULT_MODEL_DIR, {
        outDir: out,
        epochs: 5,
      });
      assert.ok(summary.flows >= MIN_LEARN_FLOWS);
      const base = await loadSensorBundle(DEFAULT_MODEL_DIR);
      const learned = await loadSensorBundle(out); // Validates bundle.json and the feature set.

      // The known-attack classifier is the base's, byte for byte; thresholds only go up.
      const baseClassifier = model(base, "classifier");
      const learnedClassifier = model(learned, "classifier");
      assert.deepEqual(learnedClassifier.onnx, baseClassifier.onnx);
      assert.deepEqual(learnedClassifier.entry.classNames, baseClassifier.entry.classNames);
      for (const [k, t] of (learnedClassifier.entry.classThresholds ?? []).entries()) {
        assert.ok(t >= (baseClassifier.entry.classThresholds?.[k] ?? 0.5), `class ${k} lowered`);
      }

      // The anomaly side is refitted: other scaling, other graph, its own thresholds.
      const baseAnomaly = model(base, "anomaly");
      const learnedAnomaly = model(learned, "anomaly");
      assert.notDeepEqual(learned.json.preprocessing.scaling, base.json.preprocessing.scaling);
      assert.notDeepEqual(learnedAnomaly.onnx, baseAnomaly.onnx);
      assert.ok(summary.heldOutBenignFpr <= 0.1, `held-out FPR ${summary.heldOutBenignFpr}`);
      assert.equal((learned.json.training as Record<string, unknown>).learn !== undefined, true);
      // The default has no packet members: none dropped, none written.
      assert.deepEqual(summary.packetMembersNotCarried, []);
      assert.deepEqual(learned.json.packetMembers, []);

      // The open-set gate moved into the new scaling: every row keeps its distance to every class.
      if (baseAnomaly.entry.classGate) {
        assert.deepEqual(
          learnedAnomaly.entry.classGate?.thresholds,
          baseAnomaly.entry.classGate.thresholds,
        );
        const rows = await benignRowsFromCaptures([MIXED]); // Attacks too: far and near rows.
        const [a, b] = await Promise.all(
          [baseAnomaly.onnx, learnedAnomaly.onnx].map((bytes) =>
            runOnnxModel(bytes, "input", rows.x, rows.rows, rows.cols)
          ),
        );
        const x = a[CLASS_DISTANCE_OUTPUT].data as Float32Array;
        const y = b[CLASS_DISTANCE_OUTPUT].data as Float32Array;
        assert.equal(x.length, y.length);
        let worst = 0;
        for (let i = 0; i < x.length; i++) {
          worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-3, Math.abs(x[i])));
        }
        assert.ok(worst < 1e-4, `largest relative distance change ${worst}`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("learn refuses too few flows, naming the count and the remedy", async () => {
  const out = await Deno.makeTempDir({ prefix: "ids-learn-test-" });
  try {
    await assert.rejects(
      learnFromSources({ captures: [SMALL_BENIGN] }, DEFAULT_MODEL_DIR, { outDir: out }),
      (e: Error) =>
        new RegExp(`at least ${MIN_LEARN_FLOWS} flows.*gave \\d+: capture for longer`).test(
          e.message,
        ),
    );
    // Nothing half-written.
    assert.equal([...Deno.readDirSync(out)].length, 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("learn refuses a file that is not a capture, and a missing one", async () => {
  await assert.rejects(
    learnFromSources({ captures: [`${DEFAULT_MODEL_DIR}/bundle.json`] }, DEFAULT_MODEL_DIR, {
      outDir: "/nonexistent/never-written",
    }),
    /bundle\.json/,
  );
  await assert.rejects(
    learnFromSources({ captures: [`${ROOT}no-such.pcap`] }, DEFAULT_MODEL_DIR, {
      outDir: "/nonexistent/never-written",
    }),
    /cannot read capture .*no-such\.pcap/,
  );
});

Deno.test("learn refuses a base bundle made for another feature set, before reading traffic", async () => {
  await assert.rejects(
    learnFromSources({ captures: [`${ROOT}no-such.pcap`] }, OTHER_FEATURE_SET, {
      outDir: "/nonexistent/never-written",
    }),
    /does not fit this sensor: feature set name/,
  );
});

Deno.test("learn wants files or an interface, not both, and a duration with an interface", async () => {
  await assert.rejects(
    learnFromSources({ captures: [SMALL_BENIGN], iface: "lo" }, DEFAULT_MODEL_DIR, {
      outDir: "/nonexistent/never-written",
    }),
    /not both/,
  );
  await assert.rejects(
    learnFromSources({ iface: "lo" }, DEFAULT_MODEL_DIR, { outDir: "/nonexistent/never-written" }),
    /needs --duration/,
  );
});

Deno.test("ids-sensor learn: exit codes 64 (usage), 66 (no input), 65 (too few flows)", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}main.ts`, "learn", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const usage = await run(["--out", "/nonexistent/x"]);
  assert.equal(usage.code, 64, new TextDecoder().decode(usage.stderr));
  const missing = await run(["--capture", `${ROOT}no-such.pcap`, "--out", "/nonexistent/x"]);
  assert.equal(missing.code, 66, new TextDecoder().decode(missing.stderr));
  assert.match(new TextDecoder().decode(missing.stderr), /cannot read capture/);
  const few = await run(["--capture", SMALL_BENIGN, "--out", "/nonexistent/x", "--quiet"]);
  assert.equal(few.code, 65, new TextDecoder().decode(few.stderr));
  assert.match(new TextDecoder().decode(few.stderr), /needs at least \d+ flows/);
});
