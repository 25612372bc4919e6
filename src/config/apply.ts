/**
 * Config values into a commander command: a value from the file is used
 * unless the same option was given on the command line (flags override the
 * file). Keys the command does not offer (e.g. `iface` for `analyze`) are
 * left alone: one file serves every command.
 */
import type { Command } from "@commander-js/extra-typings";
import type { ConfigValues } from "./config_file.ts";
import type { OptionSpec } from "./option_specs.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** Sets `values` on `command` where the command line did not; returns the keys applied. */
export function applyConfig(
  command: AnyCommand,
  values: ConfigValues,
  specs: readonly OptionSpec[],
): string[] {
  const applied: string[] = [];
  const offered = new Set(command.options.map((o) => o.long?.replace(/^--/, "")));
  for (const spec of specs) {
    const value = values[spec.key];
    if (value === undefined || !offered.has(spec.key)) continue;
    if (command.getOptionValueSource(spec.attribute) === "cli") continue;
    if (spec.kind === "switch" && value === false) continue;
    // The option's own parser turns the file's text into the flag's typed value (numbers).
    const option = command.options.find((o) => o.attributeName() === spec.attribute);
    const parsed = spec.kind === "value" && typeof value === "string" && option?.parseArg
      ? option.parseArg(value, undefined)
      : value;
    command.setOptionValueWithSource(spec.attribute, parsed, "config");
    applied.push(spec.key);
  }
  return applied;
}
