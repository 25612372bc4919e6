/**
 * Loads CIC-IDS2017/2018-style flow CSVs (CICFlowMeter output, also what
 * `ids-sensor` flow export writes): a header of column names (CIC files put a
 * space before most names: stripped), one flow per line, a label column.
 * Identity columns (addresses, ports, protocol, timestamps) are never features:
 * a model that learns addresses does not carry to another network.
 * Non-finite values (CIC writes "Infinity" and "NaN" for rates of zero-length
 * flows) are replaced and counted.
 */
import type { Dataset } from "./dataset.ts";
import { lines, parseNumber, splitFields } from "./csv_text.ts";

/** Columns that identify a flow rather than describe it; dropped. */
export const CIC_IDENTITY_COLUMNS = [
  "Flow ID",
  "Source IP",
  "Src IP",
  "Source Port",
  "Src Port",
  "Destination IP",
  "Dst IP",
  "Destination Port",
  "Dst Port",
  "Protocol",
  "Timestamp",
  "SimillarHTTP",
  "Community ID",
  "Conn State",
  "VLAN",
  "End Reason",
];

/** Options for {@link loadCicCsv}. */
export interface CicCsvOptions {
  /** Label column name (after trimming); default "Label". */
  labelColumn?: string;
  /**
   * Feature columns to take, in this order (e.g. the sensor's feature set).
   * Default: every column that is not identity or label, in file order.
   */
  columns?: readonly string[];
  /** Labels meaning "no attack" (case-insensitive); default BENIGN, normal. */
  benignLabels?: readonly string[];
  /** Replacement for NaN and +-Infinity; default 0 (what the sensor does at inference). */
  nonFiniteValue?: number;
  /** Known class names to keep the index order of (e.g. when adding files); new ones are appended. */
  classNames?: string[];
}

/** Parses CIC-style CSV text into a dataset. */
export function loadCicCsv(text: string, options: CicCsvOptions = {}, source = "csv"): Dataset {
  const labelColumn = options.labelColumn ?? "Label";
  const benign = new Set(
    (options.benignLabels ?? ["BENIGN", "normal"]).map((s) => s.toLowerCase()),
  );
  const nonFinite = options.nonFiniteValue ?? 0;
  const it = lines(text);
  const headerLine = it.next();
  if (headerLine.done) throw new Error(`${source}: empty file`);
  const header = splitFields(headerLine.value).map((h) => h.trim().replace(/^\uFEFF/, ""));
  const firstIndex = new Map<string, number>();
  header.forEach((name, i) => {
    if (!firstIndex.has(name)) firstIndex.set(name, i);
  });
  const labelIndex = firstIndex.get(labelColumn);
  if (labelIndex === undefined) {
    throw new Error(
      `${source}: no label column '${labelColumn}' (columns: ${
        header.slice(0, 8).join(", ")
      }, ...); use --label-column`,
    );
  }
  const identity = new Set(CIC_IDENTITY_COLUMNS);
  let columnNames: string[];
  if (options.columns) {
    const missing = options.columns.filter((c) => !firstIndex.has(c));
    if (missing.length > 0) {
      throw new Error(
        `${source}: ${missing.length} feature column(s) missing from the header, first: '${
          missing[0]
        }'`,
      );
    }
    columnNames = [...options.columns];
  } else {
    columnNames = [...firstIndex.keys()].filter((c) => c !== labelColumn && !identity.has(c));
  }
  const sourceIndex = Int32Array.from(columnNames.map((c) => firstIndex.get(c)!));
  const cols = columnNames.length;

  const classNames = [...(options.classNames ?? [])];
  const classIndex = new Map(classNames.map((n, i) => [n, i]));
  let capacity = 1024;
  let x = new Float32Array(capacity * cols);
  let y = new Int32Array(capacity);
  let rows = 0;
  const issues: Record<string, number> = {};
  const count = (reason: string) => issues[reason] = (issues[reason] ?? 0) + 1;

  for (const line of it) {
    const fields = splitFields(line);
    if (fields.length !== header.length) {
      count("wrong field count");
      continue;
    }
    const label = fields[labelIndex].trim();
    if (label === labelColumn) {
      // Concatenated CIC files repeat their header.
      count("repeated header");
      continue;
    }
    if (label === "") {
      count("empty label");
      continue;
    }
    if (rows === capacity) {
      capacity *= 2;
      const nx = new Float32Array(capacity * cols);
      nx.set(x);
      x = nx;
      const ny = new Int32Array(capacity);
      ny.set(y);
      y = ny;
    }
    let cls = classIndex.get(label);
    if (cls === undefined) {
      cls = classNames.length;
      classNames.push(label);
      classIndex.set(label, cls);
    }
    y[rows] = cls;
    const base = rows * cols;
    for (let c = 0; c < cols; c++) {
      const v = parseNumber(fields[sourceIndex[c]]);
      if (Number.isFinite(v)) x[base + c] = v;
      else {
        x[base + c] = nonFinite;
        count(Number.isNaN(v) ? "NaN or non-numeric value" : "infinite value");
      }
    }
    rows++;
  }
  const benignClass = classNames.findIndex((n) => benign.has(n.toLowerCase()));
  return {
    x: x.slice(0, rows * cols),
    y: y.slice(0, rows),
    rows,
    cols,
    columnNames,
    classNames,
    benignClass,
    source,
    issues,
  };
}
