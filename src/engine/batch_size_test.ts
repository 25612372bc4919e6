/**
 * Offline results follow packet time, never the read batches: the meter's
 * rows (interim rows included, and the batches they come out in) and the
 * engine's alerts are the same whether a capture is read 1, 13 or 8192
 * packets at a time.
 */
import assert from "node:assert/strict";
import type { Alert } from "../alert/mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
import { DETECTION_METER_DEFAULTS, FlowMeter, meterFlows } from "../features/mod.ts";
import { loadSensorBundle, runDetection } from "./mod.ts";

const FIXTURES = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;
const MODEL = new URL("../../models/default", import.meta.url).pathname;

/** Every row as text (columns, features, interim, sequence), one entry per drained batch. */
async function meterRows(capture: string, batchSize: number): Promise<string[][]> {
  const meter = new FlowMeter(DETECTION_METER_DEFAULTS);
  const out: string[][] = [];
  const source = readCaptureFile(capture, { batchSize });
  for await (const b of meterFlows(source, DETECTION_METER_DEFAULTS, meter)) {
    const rows: string[] = [];
    for (let i = 0; i < b.count; i++) {
      rows.push(
        [
          Array.from(b.srcAddr.subarray(i * 16, i * 16 + 16)).join("."),
          b.srcPort[i],
          b.dstPort[i],
          b.protocol[i],
          b.startMicros[i],
          b.endMicros[i],
          b.interim[i],
          b.exportSeq[i],
          b.endReason[i],
          Array.from(b.features.subarray(i * b.width, (i + 1) * b.width)).join(","),
        ].join(" "),
      );
    }
    out.push(rows);
  }
  return out;
}

for (const scenario of ["slowloris", "mixed"]) {
  Deno.test(`meter with interim rows: the ${scenario} fixture gives the same row batches read 1, 13 or 8192 packets at a time`, async () => {
    const capture = `${FIXTURES}${scenario}/capture.pcap`;
    const reference = await meterRows(capture, 8192);
    const interim = reference.flat().filter((row) => row.split(" ")[6] === "1").length;
    assert.ok(interim > 0, "the fixture has interim rows");
    assert.ok(reference.length > 10, `rows come out as time passes (${reference.length} batches)`);
    for (const batchSize of [1, 13]) {
      assert.deepEqual(await meterRows(capture, batchSize), reference, `batch size ${batchSize}`);
    }
  });
}

/** The alerts of one offline run. */
async function alertsOf(capture: string, batchSize: number): Promise<Alert[]> {
  const bundle = await loadSensorBundle(MODEL);
  const alerts: Alert[] = [];
  await runDetection({
    source: readCaptureFile(capture, { batchSize }),
    live: false,
    bundle,
    sinks: [],
    onAlert: (alert) => alerts.push(alert),
  });
  return alerts;
}

Deno.test("analyze's engine: the slowloris range capture gives the same alerts, with the same times, read 64 or 8192 packets at a time", async () => {
  const capture = `${FIXTURES}slowloris/capture.pcap`;
  const reference = await alertsOf(capture, 8192);
  assert.ok(reference.length > 0);
  assert.deepEqual(await alertsOf(capture, 64), reference);
});
