/**
 * Time to alert per attack episode, in capture time: the capture runs through
 * the sensor's own engine (flow meter with interim rows, inference, host
 * evidence, alert aggregation), fed in slices of packet time so the meter's
 * expiry and interim export happen when they would have live. An alert
 * belongs to an episode when its source (or, for replies, destination) is the
 * episode's attacker and its evidence span overlaps the episode's window; its
 * time is the engine's watermark when the line left (`timestamp`). The figure
 * is that minus the episode's first packet, the delay a live sensor adds
 * beyond its own processing time (which the live bench measures).
 */
import type { Alert } from "../alert/mod.ts";
import { type PacketBatch, readCaptureFile } from "../capture/mod.ts";
import { type DetectionThresholds, runDetection } from "../engine/mod.ts";
import type { LoadedBundle } from "../inference/mod.ts";
import type { AttackWindow } from "../label/mod.ts";

/** The first alert of one episode. */
export interface EpisodeFirstAlert {
  /** Seconds from the episode's first packet to its first alert line (capture time). */
  seconds: number;
  /** That alert's name. */
  name: string;
}

/** Packet time the engine is fed at a time, microseconds (its interim sweeps run as often). */
export const REPLAY_SLICE_MICROS = 250_000;

/**
 * Splits each batch at multiples of `stepMicros` of packet time (views, no
 * copies), so the consumer sees time pass as a live link would show it.
 */
export async function* sliceByPacketTime(
  source: AsyncIterable<PacketBatch>,
  stepMicros = REPLAY_SLICE_MICROS,
): AsyncGenerator<PacketBatch> {
  for await (const b of source) {
    let from = 0;
    while (from < b.count) {
      const limit = (Math.floor(b.timestampMicros[from] / stepMicros) + 1) * stepMicros;
      let to = from + 1;
      while (to < b.count && b.timestampMicros[to] < limit) to++;
      yield from === 0 && to === b.count ? b : {
        count: to - from,
        data: b.data,
        offset: b.offset.subarray(from, to),
        capturedLength: b.capturedLength.subarray(from, to),
        wireLength: b.wireLength.subarray(from, to),
        timestampMicros: b.timestampMicros.subarray(from, to),
        linkType: b.linkType.subarray(from, to),
      };
      from = to;
    }
  }
}

/** The alerts the engine emits for `capture`, in emission order. */
export async function replayAlerts(
  capture: string,
  bundle: LoadedBundle,
  thresholds?: DetectionThresholds,
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await runDetection({
    source: sliceByPacketTime(readCaptureFile(capture)),
    live: false,
    bundle,
    sinks: [],
    thresholds,
    onAlert: (alert) => alerts.push(alert),
  });
  return alerts;
}

/**
 * The first alert of each episode (null: none), given the alerts in emission
 * order and each episode's first packet (microseconds; +Infinity: no flow).
 */
export function firstAlertPerEpisode(
  alerts: readonly Alert[],
  windows: readonly AttackWindow[],
  firstPacketMicros: Float64Array,
): (EpisodeFirstAlert | null)[] {
  return windows.map((w, e) => {
    const first = firstPacketMicros[e];
    if (!Number.isFinite(first)) return null;
    for (const a of alerts) {
      if (a.src_ip !== w.attacker && a.dest_ip !== w.attacker) continue;
      const spanStart = Date.parse(a.flow.start) / 1000;
      const spanEnd = Date.parse(a.flow.end) / 1000;
      if (spanEnd < w.start || spanStart > w.end) continue;
      return { seconds: Date.parse(a.timestamp) / 1000 - first / 1e6, name: a.alert.name };
    }
    return null;
  });
}
