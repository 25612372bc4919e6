/**
 * `ids-sensor eval --compare`: loads labelled rows (NSL-KDD records or a CIC
 * flow CSV), trains every family of `--models` and the ensemble on the same
 * stratified folds (see src/train/families/compare.ts) and prints one table.
 */
import { basename, dirname, join } from "node:path";
import { FEATURE_SET } from "../features/mod.ts";
import type { Dataset, VotingMode, Weighting } from "../train/mod.ts";
import { UsageError } from "./exit.ts";
import { checkInputFile } from "./files.ts";

/** Options of {@link runCompare}, as the CLI parsed them. */
export interface CompareCliOptions {
  csv?: string;
  format: "cic" | "nsl-kdd";
  labelColumn: string;
  nslFields?: string;
  nslAttackTypes?: string;
  models: string;
  folds: number;
  leaveOut?: string;
  targetFpr: number;
  tune: number;
  voting?: string;
  weights: string;
  innerTypes: number;
  seed: number;
  json?: boolean;
  quiet?: boolean;
}

/** The default family list of `--compare`. */
export const DEFAULT_COMPARE_MODELS = "gbdt,cnn,dense-ae,lstm-ae,cnn-ae,iforest";

/** NSL-KDD attack types left out of training by default, one per fold (probe, dos, dos, r2l, probe). */
export const DEFAULT_NSL_LEAVE_OUT = "portsweep,smurf,back,warezclient,nmap";

/** Loads the rows with per-row attack types (category-level classes for NSL-KDD). */
async function loadRows(
  o: CompareCliOptions,
  { loadCicCsv, loadNslKdd, parseAttackTypes, parseFieldNames }: typeof import("../train/mod.ts"),
): Promise<{ d: Dataset; attackType: string[] }> {
  const csv = o.csv!;
  const text = await Deno.readTextFile(csv);
  if (o.format === "nsl-kdd") {
    const dir = dirname(csv);
    const fields = parseFieldNames(
      await Deno.readTextFile(o.nslFields ?? join(dir, "field-names.csv")),
    );
    const attackCategories = parseAttackTypes(
      await Deno.readTextFile(o.nslAttackTypes ?? join(dir, "attack-types.csv")),
    );
    const d = loadNslKdd(text, { fields, attackCategories, view: "category" }, basename(csv));
    const byAttack = loadNslKdd(text, { fields, attackCategories, view: "attack" }, basename(csv));
    if (byAttack.rows !== d.rows) {
      throw new Error(`NSL-KDD views disagree: ${d.rows} vs ${byAttack.rows} rows`);
    }
    return { d, attackType: Array.from(byAttack.y, (c) => byAttack.classNames[c]) };
  }
  const sensorColumns = FEATURE_SET.columns.map((c) => c.name);
  let d: Dataset;
  try {
    d = loadCicCsv(text, { labelColumn: o.labelColumn, columns: sensorColumns }, basename(csv));
  } catch (e) {
    if (!/feature column\(s\) missing/.test((e as Error).message)) throw e;
    d = loadCicCsv(text, { labelColumn: o.labelColumn }, basename(csv));
  }
  return { d, attackType: Array.from(d.y, (c) => d.classNames[c]) };
}

/** Runs the comparison and prints it. */
export async function runCompare(o: CompareCliOptions): Promise<void> {
  if (!o.csv) throw new UsageError("--compare needs --csv (NSL-KDD records or a CIC flow CSV)");
  // The trainer (onnx-proto, onnxruntime-web) is loaded when a comparison runs.
  const train = await import("../train/mod.ts");
  const {
    compareFamilies,
    DEFAULT_COMPARE_OPTIONS,
    FamilyError,
    formatComparison,
    parseFamilyList,
    stderrProgress,
    VOTING_MODES,
    WEIGHTINGS,
  } = train;
  let families;
  try {
    families = parseFamilyList(o.models);
  } catch (e) {
    if (e instanceof FamilyError) throw new UsageError(e.message);
    throw e;
  }
  const modes = (o.voting ?? DEFAULT_COMPARE_OPTIONS.ensembleModes.join(",")).split(",");
  for (const m of modes) {
    if (!(VOTING_MODES as readonly string[]).includes(m)) {
      throw new UsageError(`--voting: unknown mode "${m}"; known: ${VOTING_MODES.join(", ")}`);
    }
  }
  const weightings = o.weights.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (weightings.length === 0) throw new UsageError("--weights is empty");
  for (const w of weightings) {
    if (!(WEIGHTINGS as readonly string[]).includes(w)) {
      throw new UsageError(`--weights: unknown source "${w}"; known: ${WEIGHTINGS.join(", ")}`);
    }
  }
  if (o.folds < 2) throw new UsageError(`--folds must be at least 2, got ${o.folds}`);
  await checkInputFile(o.csv, "CSV file");
  const { d, attackType } = await loadRows(o, train);
  const leaveOut = (o.leaveOut ?? (o.format === "nsl-kdd" ? DEFAULT_NSL_LEAVE_OUT : ""))
    .split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const benignName = d.classNames[d.benignClass];
  for (const t of leaveOut) {
    if (t === benignName) throw new UsageError(`--leave-out: "${t}" is the benign class`);
    if (!attackType.includes(t)) {
      throw new UsageError(
        `--leave-out: no rows of attack type "${t}"; types: ${
          [...new Set(attackType)].filter((a) => a !== benignName).join(", ")
        }`,
      );
    }
  }
  if (!o.quiet) {
    console.error(
      `loaded ${d.rows} rows x ${d.cols} features; families ${
        families.map((f) => f.name).join(", ")
      }; ${o.folds} folds; left out: ${leaveOut.join(", ") || "none"}`,
    );
  }
  const result = await compareFamilies(d, {
    ...DEFAULT_COMPARE_OPTIONS,
    families,
    folds: o.folds,
    leaveOut,
    attackType,
    targetFpr: o.targetFpr,
    tune: o.tune,
    ensembleModes: modes as VotingMode[],
    weightings: weightings as Weighting[],
    innerTypes: o.innerTypes,
    seed: o.seed,
    progress: stderrProgress(o.quiet),
  });
  console.log(o.json ? JSON.stringify(result) : formatComparison(result));
}
