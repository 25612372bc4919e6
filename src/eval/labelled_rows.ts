/**
 * What `eval` scores: feature rows with their true labels, from a labelled
 * capture (the sensor's own flow meter plus attack windows, so the rows are
 * exactly what the sensor would score) or from a labelled CSV. Capture rows
 * also keep their time span and the attack window (episode) they belong to.
 */
import type { Dataset } from "../train/mod.ts";
import {
  type AttackWindow,
  BENIGN_LABEL,
  canonicalAddress,
  checkLabelCoverage,
  createFlowLabeller,
  labelCapture,
} from "../label/mod.ts";
import { FEATURE_SET, formatAddress } from "../features/mod.ts";
import { findByteColumns } from "../alert/mod.ts";
import { isBulkTransfer, isUdpExchange } from "../evidence/mod.ts";

/** Per-flow timing and episode membership, present for capture input. */
export interface RowTimeline {
  /** First packet of each flow, microseconds since the Unix epoch. */
  startMicros: Float64Array;
  /** Last packet of each flow, microseconds since the Unix epoch. */
  endMicros: Float64Array;
  /** Index into `windows` of the attack window each flow belongs to, -1 for none. */
  episode: Int32Array;
  /** The attack windows of the labels file, in file order. */
  windows: AttackWindow[];
  /** "source > target" address pair of each flow (alert groups are per pair); absent: no alert-level view. */
  pairs?: string[];
  /** IP protocol and destination port of each flow (the vote rule's grouping and fan-out). */
  protocols?: Uint8Array;
  dstPorts?: Uint16Array;
  /** Packets the destination sent back in each flow (strong anomalies count only when answered). */
  bwdPackets?: Uint32Array;
  /** 1 for a bulk transfer (never a strong anomaly: src/evidence/vote_rule.ts isBulkTransfer). */
  bulk?: Uint8Array;
  /** 1 for a UDP exchange (never an anomaly-only group's evidence: vote_rule.ts isUdpExchange). */
  exchange?: Uint8Array;
}

/** Labelled rows to evaluate a bundle on. */
export interface LabelledRows {
  /** Where the rows came from (file name). */
  source: string;
  kind: "capture" | "csv";
  /** Row-major features, `rows * cols`. */
  x: Float32Array;
  rows: number;
  cols: number;
  /** True label of each row, an index into `labelNames`. */
  y: Int32Array;
  labelNames: string[];
  /** Index of the "no attack" label in `labelNames`, or -1. */
  benignLabel: number;
  /** Capture input only. */
  timeline?: RowTimeline;
  /** Values replaced or rows dropped while loading, by reason. */
  issues?: Record<string, number>;
}

/** Rows of a dataset loaded by the training loaders (CIC CSV, NSL-KDD). */
export function rowsFromDataset(d: Dataset): LabelledRows {
  return {
    source: d.source ?? "csv",
    kind: "csv",
    x: d.x,
    rows: d.rows,
    cols: d.cols,
    y: d.y,
    labelNames: d.classNames,
    benignLabel: d.benignClass,
    issues: d.issues,
  };
}

/**
 * The attack window a flow with label `label` belongs to: among the windows
 * of that attack whose attacker is the flow's source or destination and
 * whose span overlaps the flow's, the one with the longest overlap (the
 * earlier one on a tie), as the labeller decides. -1 when none.
 */
export function episodeOf(
  windows: readonly AttackWindow[],
  label: string,
  srcIp: string,
  dstIp: string,
  startMicros: number,
  endMicros: number,
): number {
  let best = -1;
  let bestOverlap = -1;
  const src = canonicalAddress(srcIp);
  const dst = canonicalAddress(dstIp);
  for (let w = 0; w < windows.length; w++) {
    const win = windows[w];
    if (win.attack !== label) continue;
    const attacker = canonicalAddress(win.attacker);
    if (attacker !== src && attacker !== dst) continue;
    const start = win.start * 1e6;
    const end = win.end * 1e6;
    if (startMicros > end || endMicros < start) continue;
    const overlap = Math.min(endMicros, end) - Math.max(startMicros, start);
    if (overlap > bestOverlap) [best, bestOverlap] = [w, overlap];
  }
  return best;
}

/**
 * Meters `capturePath` into flows (as the sensor does) and labels every flow
 * by `windows`; keeps each flow's features, time span and episode.
 */
export async function rowsFromCapture(
  capturePath: string,
  windows: AttackWindow[],
  width: number,
  labelsPath = "the labels",
): Promise<LabelledRows> {
  const labeller = createFlowLabeller(windows);
  const chunks: Float32Array[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const episodes: number[] = [];
  const pairs: string[] = [];
  const protocols: number[] = [];
  const dstPorts: number[] = [];
  const bwdPackets: number[] = [];
  const bulk: number[] = [];
  const exchange: number[] = [];
  // The sensor reads payload bytes from these columns of the same rows (the aggregator's).
  const bytes = findByteColumns(FEATURE_SET.columns.map((c) => c.name));
  const labelIndex = new Map<string, number>([[BENIGN_LABEL, 0]]);
  const labelNames = [BENIGN_LABEL];
  const y: number[] = [];
  const labelled = await labelCapture(capturePath, labeller, (batch, labels) => {
    if (batch.width !== width) {
      throw new Error(`flow meter width ${batch.width} differs from the bundle's ${width}`);
    }
    // The meter reuses its batches: copy the rows out.
    chunks.push(batch.features.slice(0, batch.count * width));
    for (let i = 0; i < batch.count; i++) {
      const label = labels[i];
      let k = labelIndex.get(label);
      if (k === undefined) {
        k = labelNames.length;
        labelNames.push(label);
        labelIndex.set(label, k);
      }
      y.push(k);
      starts.push(batch.startMicros[i]);
      ends.push(batch.endMicros[i]);
      const version = batch.ipVersion[i];
      const src = formatAddress(batch.srcAddr.subarray(i * 16, i * 16 + 16), version);
      const dst = formatAddress(batch.dstAddr.subarray(i * 16, i * 16 + 16), version);
      pairs.push(`${src} > ${dst}`);
      protocols.push(batch.protocol[i]);
      dstPorts.push(batch.dstPort[i]);
      bwdPackets.push(batch.bwdPackets[i]);
      const row = i * width;
      bulk.push(
        isBulkTransfer(
            batch.protocol[i],
            batch.connState[i],
            batch.bwdPackets[i],
            bytes.fwd < 0 ? 0 : batch.features[row + bytes.fwd],
            bytes.bwd < 0 ? 0 : batch.features[row + bytes.bwd],
          )
          ? 1
          : 0,
      );
      exchange.push(
        isUdpExchange(batch.protocol[i], batch.fwdPackets[i], batch.bwdPackets[i]) ? 1 : 0,
      );
      if (label === BENIGN_LABEL) {
        episodes.push(-1);
        continue;
      }
      episodes.push(episodeOf(
        windows,
        label,
        src,
        dst,
        batch.startMicros[i],
        batch.endMicros[i],
      ));
    }
  });
  // Labels of another capture would score every attack flow as benign: refused.
  checkLabelCoverage(windows, labelled.byLabel, { labels: labelsPath, capture: capturePath });
  const rows = y.length;
  const x = new Float32Array(rows * width);
  let offset = 0;
  for (const chunk of chunks) {
    x.set(chunk, offset);
    offset += chunk.length;
  }
  return {
    source: capturePath,
    kind: "capture",
    x,
    rows,
    cols: width,
    y: Int32Array.from(y),
    labelNames,
    benignLabel: 0,
    timeline: {
      startMicros: Float64Array.from(starts),
      endMicros: Float64Array.from(ends),
      episode: Int32Array.from(episodes),
      windows,
      pairs,
      protocols: Uint8Array.from(protocols),
      dstPorts: Uint16Array.from(dstPorts),
      bwdPackets: Uint32Array.from(bwdPackets),
      bulk: Uint8Array.from(bulk),
      exchange: Uint8Array.from(exchange),
    },
  };
}
