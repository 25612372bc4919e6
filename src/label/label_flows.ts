/**
 * Labelling metered flows: the flow meter's batches in, one label per flow
 * out, and the `flows` CSV with a `Label` column appended (the CSV itself is
 * the flow meter's own writer, so the columns never drift apart).
 */
import { readCaptureFile } from "../capture/mod.ts";
import {
  type FlowBatch,
  flowCsvHeader,
  flowCsvLines,
  FlowMeter,
  type FlowMeterOptions,
  formatAddress,
  LABELLED_METER_DEFAULTS,
  meterFlows,
} from "../features/mod.ts";
import type { FlowLabeller } from "./flow_labeller.ts";

/** Name of the appended column, as in the CIC-IDS2017 CSV files. */
export const LABEL_COLUMN = "Label";

/** The label of every flow of `batch`, in row order. */
export function labelBatch(batch: FlowBatch, labeller: FlowLabeller): string[] {
  const labels = new Array<string>(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const version = batch.ipVersion[i];
    labels[i] = labeller.labelOf({
      srcIp: formatAddress(batch.srcAddr.subarray(i * 16, i * 16 + 16), version),
      dstIp: formatAddress(batch.dstAddr.subarray(i * 16, i * 16 + 16), version),
      startMicros: batch.startMicros[i],
      endMicros: batch.endMicros[i],
    });
  }
  return labels;
}

/** The `flows` CSV header plus the Label column (no newline). */
export function labelledFlowCsvHeader(): string {
  return `${flowCsvHeader()},${LABEL_COLUMN}`;
}

/** The `flows` CSV lines of `batch`, each with its label appended. */
export function labelledFlowCsvLines(batch: FlowBatch, labels: readonly string[]): string {
  if (labels.length !== batch.count) {
    throw new Error(`${labels.length} labels for ${batch.count} flows`);
  }
  const lines = flowCsvLines(batch).split("\n");
  let text = "";
  for (let i = 0; i < batch.count; i++) text += `${lines[i]},${labels[i]}\n`;
  return text;
}

/** What labelling a capture produced. */
export interface LabelCaptureSummary {
  flows: number;
  /** Flows per label. */
  byLabel: Record<string, number>;
  /** The meter, for its counters (packets decoded, dropped by reason). */
  meter: FlowMeter;
}

/**
 * Meters `capturePath` into flows and labels each one; `onBatch` sees every
 * batch with its labels before the next batch is made (batches are reused).
 */
export async function labelCapture(
  capturePath: string,
  labeller: FlowLabeller,
  onBatch: (batch: FlowBatch, labels: string[]) => void | Promise<void>,
  meterOptions: FlowMeterOptions = LABELLED_METER_DEFAULTS,
): Promise<LabelCaptureSummary> {
  const meter = new FlowMeter(meterOptions);
  const byLabel: Record<string, number> = {};
  let flows = 0;
  for await (const batch of meterFlows(readCaptureFile(capturePath), meterOptions, meter)) {
    const labels = labelBatch(batch, labeller);
    for (const label of labels) byLabel[label] = (byLabel[label] ?? 0) + 1;
    flows += batch.count;
    await onBatch(batch, labels);
  }
  return { flows, byLabel, meter };
}
