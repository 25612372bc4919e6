/**
 * Text forms of completed flows: CSV whose header matches the CIC-IDS2017
 * files (identity columns, then the features, then our extra columns at the
 * end), and JSON lines. Used by `ids-sensor flows` and by anyone exporting
 * rows for training.
 */
import { AsciiBytes } from "./ascii_bytes.ts";
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
  const out = new AsciiBytes();
  writeFlowCsv(batch, out);
  return new TextDecoder().decode(out.view());
}

const COMMA = 44, NEWLINE = 10;

/**
 * Appends the CSV lines of every flow of `batch` to `out`, byte for byte the
 * text `flowCsvLines` returns: integers (most features) are written as digits,
 * other values through `formatFeature`.
 */
export function writeFlowCsv(batch: FlowBatch, out: AsciiBytes): void {
  const width = batch.width;
  const features = batch.features;
  for (let i = 0; i < batch.count; i++) {
    const r = flowRecordAt(batch, i);
    out.ascii(r.srcIp);
    out.byte(45);
    out.ascii(r.dstIp);
    out.byte(45);
    out.integer(r.srcPort);
    out.byte(45);
    out.integer(r.dstPort);
    out.byte(45);
    out.integer(r.protocol);
    out.byte(COMMA);
    out.ascii(r.srcIp);
    out.byte(COMMA);
    out.integer(r.srcPort);
    out.byte(COMMA);
    out.ascii(r.dstIp);
    out.byte(COMMA);
    out.integer(r.dstPort);
    out.byte(COMMA);
    out.integer(r.protocol);
    out.byte(COMMA);
    out.ascii(new Date(r.startMicros / 1000).toISOString());
    const base = i * width;
    for (let k = 0; k < width; k++) {
      out.byte(COMMA);
      const value = features[base + k];
      if (Number.isInteger(value) && Math.abs(value) < 1e21) out.integer(value);
      else out.ascii(formatFeature(value));
    }
    out.byte(COMMA);
    out.ascii(r.communityId);
    out.byte(COMMA);
    out.ascii(r.connState);
    out.byte(COMMA);
    out.integer(r.vlan);
    out.byte(COMMA);
    out.ascii(r.endReason);
    out.byte(NEWLINE);
  }
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
