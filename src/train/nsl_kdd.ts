/**
 * Loads NSL-KDD connection records: no header, 41 features, the attack name,
 * a difficulty score. Field names and kinds come from field-names.csv
 * (`name,continuous|symbolic`); the symbolic fields (protocol_type, service,
 * flag) are one-hot encoded with an explicit unknown bucket, so a value never
 * seen in training is counted, not a crash. Attack names map to categories
 * (dos, probe, r2l, u2r) with attack-types.csv.
 */
import type { Dataset } from "./dataset.ts";
import { lines, parseNumber, splitFields } from "./csv_text.ts";

/** One field of the NSL-KDD record. */
export interface NslKddField {
  name: string;
  kind: "continuous" | "symbolic";
}

/** A symbolic field's known values; inference reuses the training vocabulary. */
export interface CategoricalVocabulary {
  column: string;
  values: string[];
  unknownColumn: string;
}

/** Which labels to learn. */
export type NslKddView = "category" | "binary" | "attack";

/** Options for {@link loadNslKdd}. */
export interface NslKddOptions {
  fields: NslKddField[];
  /** Attack name -> category (dos, probe, r2l, u2r). */
  attackCategories: Map<string, string>;
  /** category: normal/dos/probe/r2l/u2r (default); binary: normal/attack; attack: the raw names. */
  view?: NslKddView;
  /** Fixed vocabularies (from a bundle); default: learned from this file in first-seen order. */
  vocabularies?: CategoricalVocabulary[];
}

/** The five classes of the category view, in a fixed order. */
export const NSL_KDD_CATEGORIES = ["normal", "dos", "probe", "r2l", "u2r"];

/** Parses field-names.csv. */
export function parseFieldNames(text: string): NslKddField[] {
  const fields: NslKddField[] = [];
  for (const line of lines(text)) {
    const [name, kind] = line.split(",").map((s) => s.trim());
    if (kind !== "continuous" && kind !== "symbolic") {
      throw new Error(`field-names: '${line}': kind must be continuous or symbolic`);
    }
    fields.push({ name, kind });
  }
  return fields;
}

/** Parses attack-types.csv (`attack,category`). */
export function parseAttackTypes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines(text)) {
    const [name, category] = line.split(",").map((s) => s.trim());
    if (name && category) map.set(name, category);
  }
  return map;
}

/** Parses NSL-KDD records into a dataset; `vocabularies` on the result describe the one-hot columns. */
export function loadNslKdd(
  text: string,
  options: NslKddOptions,
  source = "nsl-kdd",
): Dataset & { vocabularies: CategoricalVocabulary[] } {
  const { fields, attackCategories } = options;
  const view = options.view ?? "category";
  const nFields = fields.length;
  const records: string[][] = [];
  const issues: Record<string, number> = {};
  const count = (reason: string) => issues[reason] = (issues[reason] ?? 0) + 1;
  for (const line of lines(text)) {
    const f = splitFields(line);
    // 41 features + label + difficulty (difficulty optional, as in KDD'99 files).
    if (f.length !== nFields + 2 && f.length !== nFields + 1) {
      count("wrong field count");
      continue;
    }
    records.push(f);
  }

  const symbolic = fields.map((f, i) => ({ ...f, i })).filter((f) => f.kind === "symbolic");
  const vocabularies = options.vocabularies ?? symbolic.map((f) => {
    const seen = new Set<string>();
    for (const r of records) seen.add(r[f.i].trim());
    return { column: f.name, values: [...seen], unknownColumn: `${f.name}=<unknown>` };
  });
  const vocabByField = new Map(vocabularies.map((v) => [v.column, v]));
  const columnNames: string[] = [];
  // For each field: the first model column and, for symbolic ones, value -> offset.
  const layout = fields.map((f) => {
    const first = columnNames.length;
    if (f.kind === "continuous") {
      columnNames.push(f.name);
      return { first, lookup: null as Map<string, number> | null, unknownOffset: 0 };
    }
    const vocab = vocabByField.get(f.name);
    if (!vocab) throw new Error(`${source}: no vocabulary for symbolic field ${f.name}`);
    for (const v of vocab.values) columnNames.push(`${f.name}=${v}`);
    columnNames.push(vocab.unknownColumn);
    return {
      first,
      lookup: new Map(vocab.values.map((v, k) => [v, k])),
      unknownOffset: vocab.values.length,
    };
  });

  const cols = columnNames.length;
  const rows = records.length;
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  const classNames = view === "binary"
    ? ["normal", "attack"]
    : view === "category"
    ? [...NSL_KDD_CATEGORIES]
    : [];
  const classIndex = new Map(classNames.map((n, i) => [n, i]));
  records.forEach((r, row) => {
    const base = row * cols;
    fields.forEach((f, i) => {
      const l = layout[i];
      if (l.lookup) {
        const k = l.lookup.get(r[i].trim());
        if (k === undefined) count(`unknown ${f.name}`);
        x[base + l.first + (k ?? l.unknownOffset)] = 1;
      } else {
        const v = parseNumber(r[i]);
        if (Number.isFinite(v)) x[base + l.first] = v;
        else count("non-numeric value");
      }
    });
    const attack = r[nFields].trim().replace(/\.$/, "");
    let label: string;
    if (attack === "normal") label = "normal";
    else if (view === "binary") label = "attack";
    else if (view === "attack") label = attack;
    else {
      const category = attackCategories.get(attack);
      if (!category) count(`attack without category: ${attack}`);
      label = category ?? "unknown-attack";
    }
    let cls = classIndex.get(label);
    if (cls === undefined) {
      cls = classNames.length;
      classNames.push(label);
      classIndex.set(label, cls);
    }
    y[row] = cls;
  });
  return {
    x,
    y,
    rows,
    cols,
    columnNames,
    classNames,
    benignClass: classNames.indexOf("normal"),
    source,
    issues,
    vocabularies,
  };
}
