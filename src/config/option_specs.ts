/**
 * Config keys come from the command line itself: every long option of a
 * command is a key of the same name (`--min-unknown-flows` ->
 * `min-unknown-flows`), with its kind (switch, value, repeatable value),
 * default and description taken from the commander definition. The file and
 * the flags therefore cannot drift apart.
 */
import type { Command } from "@commander-js/extra-typings";

/** What one config key accepts. */
export interface OptionSpec {
  /** The key: the long flag without its dashes. */
  key: string;
  /** commander's attribute name (camelCase), where the value goes. */
  attribute: string;
  /** "switch": true/false; "value": one value; "list": a value repeated. */
  kind: "switch" | "value" | "list";
  description: string;
  /** The flag's default, when it has one. */
  defaultValue?: unknown;
  /** Commands offering this key. */
  commands: string[];
}

/** Options that never come from a file. */
const NOT_IN_FILE = new Set(["config", "help", "version"]);

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** The keys of `commands` (one spec per key; `commands` says which offer it). */
export function optionSpecs(commands: readonly AnyCommand[]): OptionSpec[] {
  const byKey = new Map<string, OptionSpec>();
  for (const command of commands) {
    for (const option of command.options) {
      if (!option.long || option.negate) continue;
      const key = option.long.replace(/^--/, "");
      if (NOT_IN_FILE.has(key)) continue;
      const existing = byKey.get(key);
      if (existing) {
        existing.commands.push(command.name());
        continue;
      }
      // An accumulating parser (previous -> [...previous, value]) makes a repeatable flag.
      let repeatable = option.variadic;
      try {
        repeatable ||= Array.isArray(option.parseArg?.("x", undefined as unknown));
      } catch { /* a validating parser that rejects "x": a single value */ }
      byKey.set(key, {
        key,
        attribute: option.attributeName(),
        kind: option.isBoolean() ? "switch" : repeatable ? "list" : "value",
        description: option.description,
        defaultValue: option.defaultValue,
        commands: [command.name()],
      });
    }
  }
  return [...byKey.values()];
}
