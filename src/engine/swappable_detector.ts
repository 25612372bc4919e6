/**
 * A detector whose model bundle can be replaced while packets flow (SIGHUP).
 * The flow meter is not touched, so no packet is lost: the next flow batch
 * goes to a detector built on the new bundle (its inference workers started,
 * which validates the ONNX files), while the old one drains (its open alert
 * windows are emitted early) and stops. The sinks are shared and stay open.
 */
import type { AlertSink } from "../alert/mod.ts";
import type { LoadedBundle } from "../inference/mod.ts";
import {
  createDetector,
  type Detector,
  type DetectorOptions,
  type DetectorStats,
  type LatencySummary,
} from "./detector.ts";

/** A detector with `swap`. */
export interface SwappableDetector extends Detector {
  /**
   * Starts a detector on `bundle`; batches go to it from the next one on.
   * When it cannot start, this throws and the running detector stays.
   */
  swap(bundle: LoadedBundle): Promise<void>;
  /** The bundle batches go to now (or from the next batch, after a swap). */
  readonly bundle: LoadedBundle;
}

/** Sinks shared by successive detectors: a retiring detector's close only flushes them. */
function keepOpen(sink: AlertSink): AlertSink {
  return {
    name: sink.name,
    write: (alerts) => sink.write(alerts),
    writeTraffic: sink.writeTraffic ? (minutes) => sink.writeTraffic!(minutes) : undefined,
    flush: () => sink.flush(),
    close: () => sink.flush(),
  };
}

function mergeLatency(parts: LatencySummary[]): LatencySummary {
  const count = parts.reduce((t, p) => t + p.count, 0);
  const busiest = parts.reduce((a, b) => (b.count > a.count ? b : a));
  return {
    count,
    mean: count ? parts.reduce((t, p) => t + p.mean * p.count, 0) / count : 0,
    p50: busiest.p50,
    p99: busiest.p99,
    max: Math.max(...parts.map((p) => p.max)),
  };
}

/** Totals over successive detectors (percentiles: the busiest one's). */
export function mergeDetectorStats(parts: DetectorStats[]): DetectorStats {
  const sum = (pick: (s: DetectorStats) => number) => parts.reduce((t, s) => t + pick(s), 0);
  const sumInference = (key: Exclude<keyof DetectorStats["inference"], "engines">) =>
    parts.reduce((t, s) => t + s.inference[key], 0);
  return {
    batches: sum((s) => s.batches),
    flows: sum((s) => s.flows),
    benign: sum((s) => s.benign),
    known: sum((s) => s.known),
    unknown: sum((s) => s.unknown),
    unscoredProtocol: sum((s) => s.unscoredProtocol),
    alerts: sum((s) => s.alerts),
    unknownSuppressedFlows: sum((s) => s.unknownSuppressedFlows),
    unknownSuppressedGroups: sum((s) => s.unknownSuppressedGroups),
    unknownBulkFlows: sum((s) => s.unknownBulkFlows),
    alertVolume: {
      groups: sum((s) => s.alertVolume.groups),
      lines: sum((s) => s.alertVolume.lines),
      suppressedLines: sum((s) => s.alertVolume.suppressedLines),
      suppressedFlows: sum((s) => s.alertVolume.suppressedFlows),
      foldedFlows: sum((s) => s.alertVolume.foldedFlows),
      errorReplies: sum((s) => s.alertVolume.errorReplies),
      pathProbes: sum((s) => s.alertVolume.pathProbes),
      pathProbeVotes: sum((s) => s.alertVolume.pathProbeVotes),
      groupsRefused: sum((s) => s.alertVolume.groupsRefused),
      evidenceEvictions: sum((s) => s.alertVolume.evidenceEvictions),
      evidenceBytes: Math.max(0, ...parts.map((s) => s.alertVolume.evidenceBytes)),
    },
    oneSided: {
      twoWayTcpFlows: sum((s) => s.oneSided.twoWayTcpFlows),
      proofFlows: sum((s) => s.oneSided.proofFlows),
      excusedFlows: sum((s) => s.oneSided.excusedFlows),
      excusedVotes: sum((s) => s.oneSided.excusedVotes),
      pairsCleared: sum((s) => s.oneSided.pairsCleared),
      pairs: parts.at(-1)?.oneSided.pairs ?? 0,
      pairsEvicted: sum((s) => s.oneSided.pairsEvicted),
      capacity: Math.max(0, ...parts.map((s) => s.oneSided.capacity)),
      bytes: Math.max(0, ...parts.map((s) => s.oneSided.bytes)),
    },
    elapsedMs: sum((s) => s.elapsedMs),
    inference: {
      rows: sumInference("rows"),
      batches: sumInference("batches"),
      batchesBySize: sumInference("batchesBySize"),
      batchesByWait: sumInference("batchesByWait"),
      batchesByFlush: sumInference("batchesByFlush"),
      workerMs: sumInference("workerMs"),
      engines: parts.at(-1)?.inference.engines,
    },
    decisionLatencyMs: mergeLatency(parts.map((s) => s.decisionLatencyMs)),
    alertLatencyMs: mergeLatency(parts.map((s) => s.alertLatencyMs)),
    flowEndToDecisionMs: mergeLatency(parts.map((s) => s.flowEndToDecisionMs)),
    shed: {
      interimRows: sum((s) => s.shed.interimRows),
      finalRows: sum((s) => s.shed.finalRows),
    },
    // One packet scoring serves every detector of a run: its running totals, once.
    ...(parts.at(-1)?.packetMembers ? { packetMembers: parts.at(-1)!.packetMembers } : {}),
  };
}

/** Creates the first detector; `swap` replaces it. */
/**
 * Why `next` cannot replace `running` in place, or null. Packet members are scored on the
 * packet path the run set up at its start (their features computed in the meter's pass, their
 * own inference workers), which a swap between two flow batches does not rebuild: a bundle
 * whose packet members differ would run the old ones under the new name, or none. Refused, so
 * the operator restarts the sensor instead of trusting votes that are not there.
 */
export function packetMembersChange(running: LoadedBundle, next: LoadedBundle): string | null {
  const before = running.json.packetMembers;
  const after = next.json.packetMembers;
  const same = JSON.stringify(before) === JSON.stringify(after) &&
    before.every((_, i) => sameBytes(running.packetOnnx?.[i], next.packetOnnx?.[i]));
  if (same) return null;
  const names = (members: typeof before) =>
    members.length ? members.map((m) => m.name).join(", ") : "none";
  return `its packet members (${names(after)}) differ from the running ones (${
    names(before)
  }): restart the sensor to change packet members`;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export async function createSwappableDetector(
  options: DetectorOptions,
): Promise<SwappableDetector> {
  const shared = options.sinks.map(keepOpen);
  let current = await createDetector({ ...options, sinks: shared });
  let bundle = options.bundle;
  let next: { detector: Detector; bundle: LoadedBundle } | null = null;
  const retired: Detector[] = [];
  const retiring: Promise<void>[] = [];
  let closed = false;

  function promote() {
    if (!next) return;
    const old = current;
    current = next.detector;
    next = null;
    retired.push(old);
    retiring.push(old.close());
  }

  async function push(batch: Parameters<Detector["push"]>[0]) {
    promote();
    await current.push(batch);
  }

  async function drain() {
    promote();
    await Promise.all(retiring);
    await current.drain();
  }

  const stats = () => mergeDetectorStats([...retired.map((d) => d.stats()), current.stats()]);

  return {
    get bundle() {
      return next?.bundle ?? bundle;
    },
    async swap(newBundle) {
      if (closed) throw new Error("detector is closed");
      const change = packetMembersChange(bundle, newBundle);
      if (change) throw new Error(change);
      const detector = await createDetector({ ...options, bundle: newBundle, sinks: shared });
      const replaced = next;
      next = { detector, bundle: newBundle };
      bundle = newBundle;
      // A swap not yet taken by any batch is simply replaced.
      await replaced?.detector.close();
    },
    push,
    drain,
    stats,
    async run(source) {
      for await (const batch of source) await push(batch);
      await drain();
      return stats();
    },
    async close() {
      if (closed) return;
      closed = true;
      promote();
      try {
        await Promise.all(retiring);
        await current.close();
      } finally {
        for (const sink of options.sinks) await sink.close();
      }
    },
  };
}
