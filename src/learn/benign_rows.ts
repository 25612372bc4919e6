/**
 * Where `learn` gets its normal traffic: flow rows metered from capture
 * files exactly as the sensor meters them, or a live capture of an interface
 * for a while (written to a pcap first, so the learned bundle's data can be
 * kept and looked at again).
 */
import { captureToFile, stopOnSignals } from "../capture/mod.ts";
import { type Dataset, datasetFromCapture } from "../train/mod.ts";
import { LearnError } from "./learn_error.ts";

/**
 * Every flow of `paths`, metered and taken as benign (any labels are ignored:
 * learn assumes the traffic is normal). Files are metered one at a time.
 */
export async function benignRowsFromCaptures(paths: string[]): Promise<Dataset> {
  if (paths.length === 0) throw new LearnError("no capture given", "usage");
  const parts: Dataset[] = [];
  for (const path of paths) {
    try {
      await Deno.stat(path);
    } catch (error) {
      throw new LearnError(`cannot read capture ${path}: ${(error as Error).message}`, "no-input");
    }
    parts.push(await datasetFromCapture(path, undefined));
  }
  const first = parts[0];
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const x = new Float32Array(rows * first.cols);
  let offset = 0;
  const issues: Record<string, number> = {};
  for (const p of parts) {
    x.set(p.x, offset);
    offset += p.x.length;
    for (const [k, n] of Object.entries(p.issues ?? {})) issues[k] = (issues[k] ?? 0) + n;
  }
  return {
    x,
    y: new Int32Array(rows),
    rows,
    cols: first.cols,
    columnNames: first.columnNames,
    classNames: [first.classNames[first.benignClass]],
    benignClass: 0,
    source: paths.join(", "),
    issues,
  };
}

/** What a live learning capture saw. */
export interface LearningCapture {
  path: string;
  packets: number;
  kernelDropped: number;
  stoppedBySignal: boolean;
}

/**
 * Captures `interfaceName` for `seconds` into `path` (SIGINT/SIGTERM end it
 * early, keeping what was captured). Throws the capture's own error
 * (no such interface, permission, bad filter).
 */
export async function captureForLearning(
  interfaceName: string,
  seconds: number,
  path: string,
  filter?: string,
): Promise<LearningCapture> {
  const worker = captureToFile({ interfaceName, path, durationSeconds: seconds, filter });
  let stoppedBySignal = false;
  const removeListeners = stopOnSignals(worker, () => stoppedBySignal = true);
  try {
    await worker.ready;
    await worker.finished;
  } finally {
    removeListeners();
  }
  if (worker.failure) throw worker.failure;
  const stats = worker.stats();
  return { path, packets: stats.captured, kernelDropped: stats.kernelDropped, stoppedBySignal };
}
