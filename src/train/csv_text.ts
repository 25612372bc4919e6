/**
 * Line and field splitting for the numeric CSV files training reads (CIC flow
 * CSVs, NSL-KDD). Fields are split on commas; a field in double quotes may hold
 * commas. Lines come out one at a time so a large file is not split into one
 * huge array.
 */

/** Yields each non-empty line of `text` without its line ending. */
export function* lines(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length > 0) yield line;
    start = end + 1;
  }
}

/** Splits one CSV line into fields. */
export function splitFields(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * Parses a numeric field the way CIC files write them: "Infinity", "inf",
 * "NaN", empty. Returns NaN for anything that is not a number.
 */
export function parseNumber(field: string): number {
  const s = field.trim();
  if (s === "") return Number.NaN;
  const n = Number(s);
  if (!Number.isNaN(n)) return n;
  const lower = s.toLowerCase();
  if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  return Number.NaN;
}
