/**
 * A bundle with packet- and sequence-level members scores every packet of a
 * real capture in the detection run (real ONNX in the inference workers, or
 * KitNET's typed-array scorer from its stored weights), and the members'
 * votes reach the flows' verdicts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Alert } from "../alert/mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
import {
  addPacketMembers,
  packetRowsFromCaptures,
  parsePacketModelList,
  trainPacketMembers,
} from "../train/mod.ts";
import { BUNDLE_JSON, createInferencePool, type ModelSpec } from "../inference/mod.ts";
import { loadSensorBundle, runDetection } from "./mod.ts";

const LAB = new URL("../../tests/fixtures/", import.meta.url).pathname;
const MODEL = new URL("../../models/default", import.meta.url).pathname;
const BENIGN = [join(LAB, "lab/benign/capture.pcap"), join(LAB, "lab-wide/benign/capture.pcap")];

/** The bundled model with packet members trained on the range's benign captures. */
async function bundleWithPacketMembers(dir: string, list: string): Promise<void> {
  for await (const entry of Deno.readDir(MODEL)) {
    await Deno.copyFile(join(MODEL, entry.name), join(dir, entry.name));
  }
  const requests = parsePacketModelList(list);
  const { sets } = await packetRowsFromCaptures(BENIGN, [...new Set(requests.map((r) => r.set))]);
  // A loose per-packet rate so that a short attack capture has flagged packets to count.
  const trained = await trainPacketMembers(sets, requests, { targetFpr: 0.01, minPackets: 2 });
  for (const m of trained.summaries) {
    // The graph is what the worker runs; it may differ from TypeScript on a few tied windows only.
    assert.ok(
      m.onnxFlagMismatches <= Math.ceil(0.005 * m.calibrationRows),
      `${m.name}: ${m.onnxFlagMismatches} of ${m.calibrationRows} packets flagged differently`,
    );
  }
  await addPacketMembers(dir, trained.members, trained.onnx, trained.weights);
}

Deno.test("analyze with packet members: every metered packet scored by each member, votes counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await bundleWithPacketMembers(dir, "lof,iforest");
    const bundle = await loadSensorBundle(dir);
    assert.deepEqual(bundle.json.packetMembers.map((m) => m.name), [
      "lof@packet-sequence",
      "iforest@packet",
    ]);
    assert.equal(bundle.json.packetMembers[0].level, "sequence");
    assert.equal(bundle.json.packetMembers[0].windowPackets, 16);
    const alerts: Alert[] = [];
    const report = await runDetection({
      source: readCaptureFile(join(LAB, "lab/syn-flood/capture.pcap")),
      live: false,
      bundle,
      sinks: [],
      onAlert: (a) => alerts.push(a),
    });
    const p = report.detector.packetMembers;
    assert.ok(p, "no packet member statistics");
    const metered = report.meter.decode.byOutcome.metered;
    assert.ok(metered > 1000, `${metered} packets metered`);
    assert.equal(p.packets, metered);
    for (const m of p.members) assert.equal(m.scored, metered, m.name);
    // The state tables are counted: entries held, none evicted far below the memcap.
    assert.ok(p.tables.entries > 0 && p.tables.bytes > 0, JSON.stringify(p.tables));
    assert.equal(p.tables.evicted, 0);
    // The flood's packets are far from the benign range traffic for the sequence windows.
    const lof = p.members[0];
    assert.ok(lof.flagged > metered / 10, `LOF flagged ${lof.flagged} of ${metered}`);
    assert.ok(lof.flowVotes > 0, "LOF voted on no flow");
    // The flood is still alerted; packet votes only add to a flow's evidence.
    assert.ok(alerts.length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bundle without packet members computes no packet rows", async () => {
  const report = await runDetection({
    source: readCaptureFile(join(LAB, "lab/benign/capture.pcap")),
    live: false,
    bundle: await loadSensorBundle(MODEL),
    sinks: [],
  });
  assert.equal(report.detector.packetMembers, undefined);
});

Deno.test("kitnet member: the worker scores its stored weights in typed arrays, as its ONNX graph scores, and a bundle without them still runs the graph", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await bundleWithPacketMembers(dir, "kitnet");
    const bundle = await loadSensorBundle(dir);
    const member = bundle.json.packetMembers[0];
    assert.equal(member.weights?.format, "kitnet-json");
    const weights = bundle.packetWeights?.[0];
    assert.ok(weights, "weights not loaded");

    // Real packet rows the member never trained on: an attack capture's, through the meter.
    const { sets } = await packetRowsFromCaptures([join(LAB, "lab/syn-flood/capture.pcap")], [
      "afterimage",
    ]);
    const rows = sets.get("afterimage")!;
    const x = new Float32Array([...rows.training.x, ...rows.calibration.x]);
    const n = rows.training.rows + rows.calibration.rows;
    assert.ok(n > 1000, `${n} rows`);
    const spec: ModelSpec = {
      name: member.name,
      role: "anomaly",
      onnx: bundle.packetOnnx![0],
      inputName: member.inputName,
      outputName: member.outputs.score,
    };
    const score = async (s: ModelSpec) => {
      const pool = await createInferencePool({ width: rows.width, models: [s] });
      try {
        return (await pool.infer(x, n)).outputs[0].values;
      } finally {
        await pool.close();
      }
    };
    const graph = await score(spec);
    const typed = await score({ ...spec, kitnet: JSON.parse(new TextDecoder().decode(weights)) });
    let maxRelative = 0, flagDiffers = 0, flagged = 0;
    for (let i = 0; i < n; i++) {
      maxRelative = Math.max(maxRelative, Math.abs(typed[i] - graph[i]) / Math.max(1, graph[i]));
      if (typed[i] > member.threshold) flagged++;
      if ((typed[i] > member.threshold) !== (graph[i] > member.threshold)) flagDiffers++;
    }
    // float32 graph against float64 sums: the same scores to float32 rounding (and not the
    // same bits, or the typed-array path did not run).
    assert.ok(maxRelative < 1e-4, `max relative difference ${maxRelative}`);
    assert.ok(maxRelative > 0, "the worker ran the graph both times");
    assert.ok(flagDiffers <= Math.ceil(0.001 * n), `${flagDiffers} of ${n} flagged differently`);
    assert.ok(
      flagged > 0 && flagged < n,
      `${flagged} of ${n} flagged: the comparison says nothing`,
    );

    // Detection with the weights, then with bundle.json naming none (an older bundle): same votes.
    const detect = async () => {
      const report = await runDetection({
        source: readCaptureFile(join(LAB, "lab/syn-flood/capture.pcap")),
        live: false,
        bundle: await loadSensorBundle(dir),
        sinks: [],
      });
      return report.detector.packetMembers!.members[0];
    };
    const withWeights = await detect();
    const path = join(dir, BUNDLE_JSON);
    const json = JSON.parse(await Deno.readTextFile(path));
    const weightsFile = json.packetMembers[0].weights.file;
    delete json.packetMembers[0].weights;
    await Deno.writeTextFile(path, JSON.stringify(json));
    const withGraph = await detect();
    assert.equal(withWeights.scored, withGraph.scored);
    assert.ok(
      Math.abs(withWeights.flagged - withGraph.flagged) <= Math.ceil(0.001 * withGraph.scored),
      `${withWeights.flagged} flagged with the weights, ${withGraph.flagged} with the graph`,
    );
    // A packet whose two scores straddle the threshold can move one flow's vote, no more.
    assert.ok(withGraph.flowVotes > 0, "no flow voted on: the comparison says nothing");
    assert.ok(
      Math.abs(withWeights.flowVotes - withGraph.flowVotes) <=
        Math.ceil(0.001 * withGraph.scored),
      `${withWeights.flowVotes} flow votes with the weights, ${withGraph.flowVotes} with the graph`,
    );

    // A damaged weights file is refused on load, naming the file.
    json.packetMembers[0].weights = member.weights;
    await Deno.writeTextFile(path, JSON.stringify(json));
    const bytes = await Deno.readFile(join(dir, weightsFile));
    bytes[bytes.length - 2] ^= 1;
    await Deno.writeFile(join(dir, weightsFile), bytes);
    await assert.rejects(loadSensorBundle(dir), new RegExp(`${weightsFile} has sha-256`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
