/**
 * One learning run from what the user gives: capture files, or an interface
 * and a duration. Loads the base bundle against the sensor's feature set,
 * meters the traffic, learns, writes the bundle. `ids-sensor learn` and
 * `detect --learn` both come here.
 */
import { FEATURE_SET } from "../features/mod.ts";
import { loadBundle } from "../inference/mod.ts";
import { benignRowsFromCaptures, captureForLearning, type LearningCapture } from "./benign_rows.ts";
import { learnBundle, type LearnOptions, type LearnSummary } from "./learn_bundle.ts";
import { LearnError } from "./learn_error.ts";

/** Where the normal traffic comes from: files, or a live interface for a while. */
export interface LearnSources {
  captures?: string[];
  iface?: string;
  durationSeconds?: number;
  /** BPF filter of the live capture. */
  filter?: string;
  /** Keep the live capture here (default: a temporary file, removed afterwards). */
  keepCapture?: string;
  log?: (line: string) => void;
}

/** Learns a bundle from `sources` on top of the bundle in `baseDir`. */
export async function learnFromSources(
  sources: LearnSources,
  baseDir: string,
  options: Omit<LearnOptions, "dataSource">,
): Promise<LearnSummary & { capture?: LearningCapture }> {
  const log = sources.log ?? (() => {});
  const hasFiles = (sources.captures?.length ?? 0) > 0;
  if (hasFiles === (sources.iface !== undefined)) {
    throw new LearnError(
      "give capture file(s) or an interface (with a duration), not both",
      "usage",
    );
  }
  // The base first: a wrong --base fails before an hour of capture, not after.
  const base = await loadBundle(baseDir, {
    featureSetName: FEATURE_SET.name,
    featureSetVersion: FEATURE_SET.version,
    columns: FEATURE_SET.columns.map((c) => c.name),
  });
  let paths = sources.captures ?? [];
  let capture: LearningCapture | undefined;
  let temporary: string | undefined;
  try {
    if (sources.iface !== undefined) {
      const seconds = sources.durationSeconds ?? 0;
      if (!(seconds > 0)) {
        throw new LearnError("a live learning capture needs --duration SECONDS > 0", "usage");
      }
      const path = sources.keepCapture ??
        (temporary = await Deno.makeTempFile({ prefix: "ids-sensor-learn-", suffix: ".pcap" }));
      log(`learning: capturing ${sources.iface} for ${seconds} s -> ${path}`);
      capture = await captureForLearning(sources.iface, seconds, path, sources.filter);
      log(
        `learning: ${capture.packets} packets captured` +
          (capture.kernelDropped ? `, ${capture.kernelDropped} dropped by the kernel` : "") +
          (capture.stoppedBySignal ? " (stopped early by a signal)" : ""),
      );
      paths = [path];
    }
    const rows = await benignRowsFromCaptures(paths);
    if (sources.iface !== undefined) {
      rows.source = `${sources.durationSeconds} s of live capture on ${sources.iface}` +
        (sources.keepCapture ? ` (kept in ${sources.keepCapture})` : "");
    }
    log(`learning: ${rows.rows} flows from ${rows.source}`);
    const summary = await learnBundle(rows, base, {
      ...options,
      dataSource: rows.source ?? paths.join(", "),
    });
    return { ...summary, capture };
  } finally {
    if (temporary) await Deno.remove(temporary).catch(() => {});
  }
}
