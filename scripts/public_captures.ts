/**
 * Measures alerts on the public captures in ../shared/data/pcaps/chrissanders
 * as a user would see them: each capture analysed by the sensor's own engine,
 * then compared with tests/fixtures/public_captures.json (per-capture
 * expectations and the fixed development / held-out split).
 *
 *   deno run -A scripts/public_captures.ts [--model DIR] [--split dev|held-out|all] [--json]
 *
 * Prints one line per capture and, per split, the share of benign captures
 * alerted (false alerts), alert lines per 1,000 benign flows, and the attacks
 * found. Tune only on the development part; read the held-out part.
 */
import { readCaptureFile } from "../src/capture/mod.ts";
import type { Alert } from "../src/alert/mod.ts";
import { DEFAULT_MODEL_DIR, loadSensorBundle, runDetection } from "../src/engine/mod.ts";

const HERE = new URL(".", import.meta.url);
/** Where the captures live (outside the repository; absent on a fresh clone). */
export const PUBLIC_CAPTURES_DIR = new URL("../../shared/data/pcaps/chrissanders/", HERE).pathname;
const EXPECTATIONS = new URL("../tests/fixtures/public_captures.json", HERE);

/** One capture's expectation. */
export interface CaptureExpectation {
  kind: "benign" | "attack" | "attack-invisible";
  what?: string;
  expect?: { name: string; src: string };
}

/** Which part of the set a capture belongs to. */
export type Split = "dev" | "held-out";

/** FNV-1a 32-bit hash of a string's UTF-8 bytes. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The fixed split rule recorded in the expectations file. */
export function splitOf(fileName: string): Split {
  return fnv1a(fileName) % 3 === 0 ? "held-out" : "dev";
}

/** What one capture gave. */
export interface CaptureResult {
  file: string;
  split: Split;
  kind: CaptureExpectation["kind"];
  flows: number;
  alerts: Alert[];
  /** attack: the expected alert came out; benign: no alert; attack-invisible: always true. */
  ok: boolean;
}

/** Totals of one split. */
export interface SplitSummary {
  split: Split;
  benignCaptures: number;
  benignAlerted: number;
  /** Share of benign captures with at least one alert. */
  falseAlertRate: number;
  benignFlows: number;
  benignAlertLines: number;
  attacks: number;
  attacksFound: number;
  invisibleAlerted: number;
  invisible: number;
}

/** Reads the expectations (kind per file; unlisted files are benign). */
export async function readExpectations(): Promise<Map<string, CaptureExpectation>> {
  const json = JSON.parse(await Deno.readTextFile(EXPECTATIONS));
  return new Map(Object.entries(json.captures as Record<string, CaptureExpectation>));
}

/** Analyses every capture of `split` (or all) with the bundle at `modelDir`. */
export async function measurePublicCaptures(
  options: { modelDir?: string; split?: Split | "all"; dir?: string } = {},
): Promise<{ results: CaptureResult[]; summaries: SplitSummary[] }> {
  const dir = options.dir ?? PUBLIC_CAPTURES_DIR;
  const expectations = await readExpectations();
  const bundle = await loadSensorBundle(options.modelDir ?? DEFAULT_MODEL_DIR);
  const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name).sort();
  const results: CaptureResult[] = [];
  for (const file of files) {
    const split = splitOf(file);
    if (options.split && options.split !== "all" && options.split !== split) continue;
    const expectation = expectations.get(file) ?? { kind: "benign" };
    const alerts: Alert[] = [];
    const report = await runDetection({
      source: readCaptureFile(`${dir}${file}`, { onError: "stop" }),
      live: false,
      bundle,
      sinks: [],
      onAlert: (a) => alerts.push(a),
    });
    const ok = expectation.kind === "benign"
      ? alerts.length === 0
      : expectation.kind === "attack"
      ? alerts.some((a) =>
        a.alert.name === expectation.expect?.name && a.src_ip === expectation.expect?.src
      )
      : true;
    results.push({ file, split, kind: expectation.kind, flows: report.detector.flows, alerts, ok });
  }
  const summaries = (["dev", "held-out"] as Split[]).map((split) => summarise(results, split))
    .filter((s) => s.benignCaptures + s.attacks + s.invisible > 0);
  return { results, summaries };
}

function summarise(results: CaptureResult[], split: Split): SplitSummary {
  const mine = results.filter((r) => r.split === split);
  const benign = mine.filter((r) => r.kind === "benign");
  const attacks = mine.filter((r) => r.kind === "attack");
  const invisible = mine.filter((r) => r.kind === "attack-invisible");
  const benignAlerted = benign.filter((r) => r.alerts.length > 0).length;
  return {
    split,
    benignCaptures: benign.length,
    benignAlerted,
    falseAlertRate: benign.length ? benignAlerted / benign.length : 0,
    benignFlows: benign.reduce((n, r) => n + r.flows, 0),
    benignAlertLines: benign.reduce((n, r) => n + r.alerts.length, 0),
    attacks: attacks.length,
    attacksFound: attacks.filter((r) => r.ok).length,
    invisibleAlerted: invisible.filter((r) => r.alerts.length > 0).length,
    invisible: invisible.length,
  };
}

if (import.meta.main) {
  const args = Deno.args;
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const split = (value("--split") ?? "all") as Split | "all";
  const { results, summaries } = await measurePublicCaptures({ modelDir: value("--model"), split });
  if (args.includes("--json")) {
    console.log(JSON.stringify({ results, summaries }, null, 2));
  } else {
    for (const r of results) {
      const names = [...new Set(r.alerts.map((a) => `${a.alert.name} ${a.src_ip}->${a.dest_ip}`))];
      console.log(
        `${r.ok ? "ok  " : "MISS"} ${r.split.padEnd(8)} ${r.kind.padEnd(16)} ${
          r.file.padEnd(42)
        } ` +
          `${r.flows} flows, ${r.alerts.length} alerts ${names.join("; ")}`,
      );
    }
    for (const s of summaries) {
      console.log(
        `${s.split}: benign captures alerted ${s.benignAlerted}/${s.benignCaptures} ` +
          `(${(100 * s.falseAlertRate).toFixed(1)}%), ${s.benignAlertLines} alert lines on ` +
          `${s.benignFlows} benign flows; attacks found ${s.attacksFound}/${s.attacks}; ` +
          `payload attacks alerted ${s.invisibleAlerted}/${s.invisible}`,
      );
    }
  }
}
