/**
 * Where a flood's memory goes: peak RSS (VmHWM) of one process per component,
 * each run in its own process so one cannot hide in another's high-water mark.
 *
 *   deno run -A scripts/bench/flood_memory.ts COMPONENT FLOOD.pcap [rows]
 *
 * COMPONENT is one of:
 * - runtime: Deno, the engine's modules and the loaded bundle, nothing running;
 * - worker: runtime + the inference worker (onnxruntime-web sessions, warmed up);
 * - inference: worker + `rows` flood-like rows (default 1,000,000) scored at full speed;
 * - meter: runtime + the flow meter (detection defaults) over the capture, no inference;
 * - detect: the whole detection path over the capture (what `analyze` runs).
 *
 * Prints one JSON line: component, peak RSS, and what ran.
 */
import { readCaptureFile } from "../../src/capture/mod.ts";
import {
  DETECTION_METER_DEFAULTS,
  FEATURE_COUNT,
  FlowMeter,
  meterFlows,
} from "../../src/features/mod.ts";
import { loadSensorBundle } from "../../src/engine/mod.ts";
import { createInferencePool, inferenceModelsFromBundle } from "../../src/inference/mod.ts";
import { boundNativeHeap, releaseFreedNativeMemory } from "../../src/ffi/mod.ts";
import { measureFlood, peakRssBytes } from "./stages.ts";

const BUNDLE = new URL("../../models/default", import.meta.url).pathname;

/** Scores `rows` rows shaped like a flood's (one SYN each) with 8 batches in flight, as the detector does. */
async function scoreRows(rows: number): Promise<Record<string, number>> {
  // IDS_BENCH_GLIBC_DEFAULTS=1 measures without the sensor's malloc settings, for comparison.
  const glibcDefaults = Deno.env.get("IDS_BENCH_GLIBC_DEFAULTS") === "1";
  const trim = setInterval(() => glibcDefaults || releaseFreedNativeMemory(), 1000);
  if (!glibcDefaults) boundNativeHeap();
  const bundle = await loadSensorBundle(BUNDLE);
  const pool = await createInferencePool(inferenceModelsFromBundle(bundle));
  const batchRows = 4096;
  const batch = new Float32Array(batchRows * pool.width);
  for (let r = 0; r < batchRows; r++) {
    // Not all zeros: a few columns vary, like one-packet flows of distinct sources.
    batch[r * pool.width] = 80;
    batch[r * pool.width + 1] = 1 + (r % 3);
    batch[r * pool.width + 4] = 40 + (r % 7);
  }
  const inFlight: Promise<unknown>[] = [];
  for (let done = 0; done < rows; done += batchRows) {
    inFlight.push(pool.infer(batch, Math.min(batchRows, rows - done)));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await pool.close();
  clearInterval(trim);
  return { rows };
}

if (import.meta.main) {
  const flags = Deno.env.get("IDS_BENCH_V8_FLAGS");
  if (flags) (await import("node:v8")).setFlagsFromString(flags);
  const [component, file, rowsArg] = Deno.args;
  let ran: Record<string, number> = {};
  if (component === "runtime") {
    await loadSensorBundle(BUNDLE);
  } else if (component === "worker") {
    const pool = await createInferencePool(
      inferenceModelsFromBundle(await loadSensorBundle(BUNDLE)),
    );
    await pool.close();
  } else if (component === "inference") {
    ran = await scoreRows(Number(rowsArg ?? 1_000_000));
  } else if (component === "meter") {
    await loadSensorBundle(BUNDLE);
    const meter = new FlowMeter({ ...DETECTION_METER_DEFAULTS });
    let flows = 0;
    for await (const b of meterFlows(readCaptureFile(file), DETECTION_METER_DEFAULTS, meter)) {
      flows += b.count;
    }
    ran = { packets: meter.counters().decode.packets, rows: flows, width: FEATURE_COUNT };
  } else if (component === "detect") {
    const flood = await measureFlood(file);
    ran = { packets: flood.packets, rows: flood.scored, alerts: flood.alerts };
  } else {
    console.error("usage: flood_memory.ts runtime|worker|inference|meter|detect FLOOD.pcap [rows]");
    Deno.exit(2);
  }
  console.log(JSON.stringify({ component, peakRssMiB: peakRssBytes() / 2 ** 20, ...ran }));
  Deno.exit(0);
}
