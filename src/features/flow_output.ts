/**
 * Text forms of completed flows: CSV whose header matches the CIC-IDS2017
 * files (identity columns, then the features, then our extra columns at the
 * end), and JSON lines. Used by `ids-sensor flows` and by anyone exporting
 * rows for training.
 */
import type { FlowBatch } from "./flow_batch.ts";
import { flowRecordAt } from "./flow_meter.ts";
import { EXTRA_COLUMNS, FEATURE_SET, IDENTITY_COLUMNS } from "./schema.ts";

/** The CSV header line (no newline). */
export function flowCsvHeader(): string {
  return [...IDENTITY_COLUMNS, ...FEATURE_SET.columns, ...EXTRA_COLUMNS].map((c) => c.name).join(
    ",",
  );
}

/** Compact text for a feature value: integers as is, fractions to 7 significant digits. */
export function formatFeature(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return "0";
  // Float32 holds about 7 significant digits; print no more than that.
  return String(Math.round(value * 1e3) / 1e3 === value ? value : Number(value.toPrecision(7)));
}

/** CSV lines (each ending in "\n") for every flow of `batch`. */
export function flowCsvLines(batch: FlowBatch): string {
  const lines: string[] = new Array(batch.count);
  const width = batch.width;
  const cells: string[] = new Array(7 + width + 4);
  for (let i = 0; i < batch.count; i++) {
    const r = flowRecordAt(batch, i);
    cells[0] = `${r.srcIp}-${r.dstIp}-${r.srcPort}-${r.dstPort}-${r.protocol}`;
    cells[1] = r.srcIp;
    cells[2] = String(r.srcPort);
    cells[3] = r.dstIp;
    cells[4] = String(r.dstPort);
    cells[5] = String(r.protocol);
    cells[6] = new Date(r.startMicros / 1000).toISOString();
    const base = i * width;
    for (let k = 0; k < width; k++) cells[7 + k] = formatFeature(batch.features[base + k]);
    cells[7 + width] = r.communityId;
    cells[8 + width] = r.connState;
    cells[9 + width] = String(r.vlan);
    cells[10 + width] = r.endReason;
    lines[i] = cells.join(",");
  }
  return lines.length > 0 ? lines.join("\n") + "\n" : "";
}

/** JSON lines for every flow of `batch`: the FlowRecord plus a `features` object by column name. */
export function flowJsonLines(batch: FlowBatch): string {
  let text = "";
  const names = FEATURE_SET.columns.map((c) => c.name);
  for (let i = 0; i < batch.count; i++) {
    const record = flowRecordAt(batch, i);
    const features: Record<string, number> = {};
    const base = i * batch.width;
    for (let k = 0; k < batch.width; k++) {
      features[names[k]] = Number(formatFeature(batch.features[base + k]));
    }
    text += JSON.stringify({
      ...record,
      timestamp: new Date(record.startMicros / 1000).toISOString(),
      features,
    }) +
      "\n";
  }
  return text;
}
