/**
 * Time to alert per attack episode, in capture time: the capture runs through
 * the sensor's own engine (flow meter with interim rows, inference, host
 * evidence, alert aggregation), whose meter expires flows and exports
 * interim rows on a grid of packet time, as it would live. An alert
 * belongs to an episode when its source (or, for replies, destination) is the
 * episode's attacker and its evidence span overlaps the episode's window; its
 * time is the engine's watermark when the line left (`timestamp`). The figure
 * is that minus the episode's first packet, the delay a live sensor adds
 * beyond its own processing time (which the live bench measures).
 */
import type { Alert } from "../alert/mod.ts";
import { readCaptureFile } from "../capture/mod.ts";
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

/** The alerts the engine emits for `capture`, in emission order. */
export async function replayAlerts(
  capture: string,
  bundle: LoadedBundle,
  thresholds?: DetectionThresholds,
): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await runDetection({
    source: readCaptureFile(capture),
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
 * order and each episode's first packet (microseconds; +Infinity: no flow);
 * with `accept`, the first such alert it accepts.
 */
export function firstAlertPerEpisode(
  alerts: readonly Alert[],
  windows: readonly AttackWindow[],
  firstPacketMicros: Float64Array,
  accept: (alert: Alert) => boolean = () => true,
): (EpisodeFirstAlert | null)[] {
  return windows.map((w, e) => {
    const first = firstPacketMicros[e];
    if (!Number.isFinite(first)) return null;
    for (const a of alerts) {
      if (!accept(a)) continue;
      if (a.src_ip !== w.attacker && a.dest_ip !== w.attacker) continue;
      const spanStart = Date.parse(a.flow.start) / 1000;
      const spanEnd = Date.parse(a.flow.end) / 1000;
      if (spanEnd < w.start || spanStart > w.end) continue;
      return { seconds: Date.parse(a.timestamp) / 1000 - first / 1e6, name: a.alert.name };
    }
    return null;
  });
}

/** An alert that names a behaviour (host-level evidence), not a model vote group. */
export function namesBehaviour(alert: Alert): boolean {
  const behaviour = alert.alert.evidence?.behaviour;
  return behaviour !== undefined && behaviour !== "model";
}
