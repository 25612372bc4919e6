/**
 * `ids-sensor config --print-default`: every key with its default and its
 * description as a comment; keys without a default are commented out.
 * The output passes `config --check` unchanged. The YAML writer is imported
 * here, on use, like the parser (see config_file.ts).
 */
import type { OptionSpec } from "./option_specs.ts";

/** Example values for keys with no default, so the commented line shows the form. */
const EXAMPLES: Record<string, unknown> = {
  iface: ["eth0"],
  notify: [
    "smtp://127.0.0.1:25?to=soc@example.org&from=ids@example.org&min_severity=high",
    "https://siem.example.org/hook?rate=60/60",
    "syslog://127.0.0.1:514?proto=udp",
  ],
  metrics: "127.0.0.1:9477",
  user: "ids-sensor",
  model: "/var/lib/ids-sensor/models/mine",
  alerts: "/var/lib/ids-sensor/alerts.jsonl",
  db: "/var/lib/ids-sensor/alerts.sqlite",
};

/** The default config file as YAML text. */
export async function defaultConfigText(
  specs: readonly OptionSpec[],
  header: string,
): Promise<string> {
  const { stringify } = await import("yaml");
  const lines = header.split("\n").map((l) => `# ${l}`.trimEnd());
  for (const spec of specs) {
    lines.push("");
    const only = spec.commands.length === 1 ? ` (${spec.commands[0]} only)` : "";
    for (const l of wrap(`${spec.description}${only}`, 96)) lines.push(`# ${l}`);
    const hasDefault = spec.defaultValue !== undefined;
    const value = hasDefault
      ? asNumberIfNumeric(spec.defaultValue)
      : EXAMPLES[spec.key] ?? (spec.kind === "switch" ? true : spec.kind === "list" ? [] : "");
    const yaml = stringify({ [spec.key]: value }, { lineWidth: 0 }).trimEnd().split("\n");
    for (const l of yaml) lines.push(hasDefault ? l : `# ${l}`);
  }
  return lines.join("\n") + "\n";
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** commander keeps defaults as the flag's text ("60"); the file shows numbers as numbers. */
function asNumberIfNumeric(value: unknown): unknown {
  return typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}
