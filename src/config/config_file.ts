/**
 * Reading a config file (YAML, or JSON, which YAML reads too) against the
 * option specs: zod validates it, every error names the key path, line and
 * column, and an unknown key (a typo) is refused with the closest known key.
 * The YAML parser is imported when a file is read: a run without --config
 * never loads it.
 */
import { z } from "zod";
import type { OptionSpec } from "./option_specs.ts";
import { closest } from "./suggest.ts";

/** One problem in a config file. */
export interface ConfigIssue {
  /** Key path, e.g. `notify[2]`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/** A config file that cannot be used; `message` lists every issue as FILE:LINE:COL: KEY: what. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly file: string, readonly issues: ConfigIssue[]) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n` +
        issues.map((i) =>
          `  ${file}${i.line ? `:${i.line}:${i.column}` : ""}: ` +
          `${i.path ? `${i.path}: ` : ""}${i.message}`
        ).join("\n"),
    );
  }
}

/** Config values by key: strings for values, string arrays for lists, booleans for switches. */
export type ConfigValues = Record<string, string | string[] | boolean>;

const scalarText = z.union([z.string(), z.number()]).transform(String);

/** The zod schema of a file offering `specs` (a strict object: unknown keys are errors). */
export function configSchema(specs: readonly OptionSpec[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const spec of specs) {
    shape[spec.key] = spec.kind === "switch"
      ? z.boolean()
      : spec.kind === "list"
      ? z.preprocess((v) => Array.isArray(v) ? v : [v], z.array(scalarText))
      : scalarText;
  }
  return z.strictObject(shape).partial();
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)
    .join("");
}

/**
 * Checks of one key's values beyond their type (a URL that parses, a number
 * in range): throw an Error whose message says what is wrong.
 */
export type ConfigValidators = Record<string, (value: string) => void>;

/** Parses and validates config `text` (from `file`, for messages). */
export async function parseConfig(
  text: string,
  file: string,
  specs: readonly OptionSpec[],
  validators: ConfigValidators = {},
): Promise<ConfigValues> {
  const { isMap, isPair, isScalar, LineCounter, parseDocument } = await import("yaml");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: "", ...at(e.pos[0]), message: e.message.split("\n")[0] })),
    );
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    throw new ConfigError(file, [{
      path: "",
      ...at(doc.contents.range?.[0]),
      message: "the file must be a mapping of keys to values (key: value)",
    }]);
  }
  const result = configSchema(specs).safeParse(doc.toJS());
  const issues: ConfigIssue[] = [];
  type Positioned = { range?: [number, number, number] } | undefined;
  if (result.success) {
    const values = result.data as ConfigValues;
    for (const [key, check] of Object.entries(validators)) {
      const value = values[key];
      if (value === undefined || typeof value === "boolean") continue;
      (Array.isArray(value) ? value : [value]).forEach((item, i) => {
        try {
          check(item);
        } catch (error) {
          // A list key may be written as one scalar: then the key itself is the place.
          const element = Array.isArray(value)
            ? doc.getIn([key, i], true) as Positioned
            : undefined;
          const node = element ?? doc.getIn([key], true) as Positioned;
          issues.push({
            path: element ? `${key}[${i}]` : key,
            ...at(node?.range?.[0]),
            message: error instanceof Error ? error.message : String(error),
          });
        }
      });
    }
    if (issues.length === 0) return values;
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(file, issues);
  }
  const known = specs.map((s) => s.key);
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const pair = (doc.contents as { items: unknown[] }).items.find((p) =>
          isPair(p) && isScalar(p.key) && p.key.value === key
        );
        const node = isPair(pair) && isScalar(pair.key) ? pair.key : undefined;
        const guess = closest(key, known);
        issues.push({
          path: key,
          ...at(node?.range?.[0]),
          message: `unknown key${guess ? `; did you mean "${guess}"?` : ""} ` +
            `(\`ids-sensor config --print-default\` lists every key)`,
        });
      }
      continue;
    }
    const node = doc.getIn(issue.path as (string | number)[], true) as
      | { range?: [number, number, number] }
      | undefined;
    const spec = specs.find((s) => s.key === issue.path[0]);
    const expected = spec?.kind === "switch"
      ? "true or false"
      : spec?.kind === "list"
      ? "a value or a list of values"
      : "one value (text or number)";
    issues.push({
      path: formatPath(issue.path),
      ...at(node?.range?.[0]),
      message: issue.code === "invalid_type" || issue.code === "invalid_union"
        ? `expected ${expected}`
        : issue.message,
    });
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigError(file, issues);
}

/** Reads and validates the config file at `path`. */
export async function loadConfigFile(
  path: string,
  specs: readonly OptionSpec[],
  validators: ConfigValidators = {},
): Promise<ConfigValues> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(path, [{
      path: "",
      message: error instanceof Deno.errors.NotFound
        ? "no such file"
        : `cannot read it (${error instanceof Error ? error.message : error})`,
    }]);
  }
  return await parseConfig(text, path, specs, validators);
}
