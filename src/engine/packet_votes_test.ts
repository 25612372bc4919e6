/**
 * A bundle with packet- and sequence-level members scores every packet of a
 * real capture in the detection run (real ONNX in the inference workers),
 * and the members' votes reach the flows' verdicts.
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
  await addPacketMembers(dir, trained.members, trained.onnx);
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
