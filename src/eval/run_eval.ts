/**
 * One evaluation from files: load the bundle, load the labelled rows (a
 * capture plus attack windows, or a labelled CSV in the bundle's columns),
 * score them through the sensor's inference path, compute the figures.
 */
import { basename, dirname, join } from "node:path";
import { FEATURE_SET } from "../features/mod.ts";
import { firstDifference, loadBundle, type LoadedBundle } from "../inference/mod.ts";
import { parseAttackWindows } from "../label/mod.ts";
import {
  loadCicCsv,
  loadNslKdd,
  NSL_KDD_CATEGORIES,
  type NslKddView,
  parseAttackTypes,
  parseFieldNames,
} from "../train/mod.ts";
import type { DetectionThresholds } from "../engine/mod.ts";
import { evaluate, type Evaluation } from "./evaluate.ts";
import { type LabelledRows, rowsFromCapture, rowsFromDataset } from "./labelled_rows.ts";
import { scoreRows } from "./score_rows.ts";
import { firstAlertPerEpisode, namesBehaviour, replayAlerts } from "./time_to_alert.ts";

/** Where the labelled rows come from. */
export type EvalSource =
  | { kind: "capture"; capture: string; labels: string }
  | {
    kind: "csv";
    csv: string;
    format: "cic" | "nsl-kdd";
    /** CIC: label column (default "Label"). */
    labelColumn?: string;
    /** NSL-KDD: field-names.csv and attack-types.csv (default: beside the CSV). */
    nslFields?: string;
    nslAttackTypes?: string;
    /** NSL-KDD: class view; default inferred from the bundle's class names. */
    nslView?: NslKddView;
  };

/** Options of {@link runEvaluation}. */
export interface RunEvaluationOptions {
  source: EvalSource;
  modelDir: string;
  thresholds?: DetectionThresholds;
}

/** Loads, scores and evaluates; see the module comment. */
export async function runEvaluation(options: RunEvaluationOptions): Promise<Evaluation> {
  const { source } = options;
  const bundle = source.kind === "capture"
    ? await loadBundle(options.modelDir, {
      featureSetName: FEATURE_SET.name,
      featureSetVersion: FEATURE_SET.version,
      columns: FEATURE_SET.columns.map((c) => c.name),
    })
    : await loadBundle(options.modelDir);
  const rows = source.kind === "capture"
    ? await rowsFromCapture(
      source.capture,
      parseAttackWindows(await Deno.readTextFile(source.labels)),
      bundle.json.input.width,
      source.labels,
    )
    : await rowsFromCsv(source, bundle);
  const scored = await scoreRows(bundle, rows.x, rows.rows, options.thresholds);
  const evaluation = evaluate(rows, scored, options.modelDir);
  const episodes = evaluation.summary.episodes;
  if (source.kind === "capture" && rows.timeline && episodes && episodes.length > 0) {
    // Time to alert: the same capture through the engine, alerts as the sensor emits them.
    const timeline = rows.timeline;
    const firstPacket = new Float64Array(episodes.length).fill(Number.POSITIVE_INFINITY);
    for (let r = 0; r < rows.rows; r++) {
      const e = timeline.episode[r];
      if (e >= 0 && timeline.startMicros[r] < firstPacket[e]) {
        firstPacket[e] = timeline.startMicros[r];
      }
    }
    const alerts = await replayAlerts(source.capture, bundle, options.thresholds);
    firstAlertPerEpisode(alerts, timeline.windows, firstPacket).forEach((first, e) => {
      episodes[e].timeToAlertSeconds = first?.seconds ?? null;
      episodes[e].firstAlertName = first?.name ?? null;
    });
    firstAlertPerEpisode(alerts, timeline.windows, firstPacket, namesBehaviour).forEach(
      (named, e) => {
        episodes[e].timeToBehaviourSeconds = named?.seconds ?? null;
        episodes[e].behaviourName = named?.name ?? null;
      },
    );
  }
  return evaluation;
}

/** The class view of an NSL-KDD bundle, from its class names. */
function nslViewOf(bundle: LoadedBundle): NslKddView {
  const classifier = bundle.json.models.find((m) => m.role === "classifier");
  const names = classifier?.role === "classifier" ? classifier.classNames : [];
  if (names.length === 2 && names.includes("normal") && names.includes("attack")) return "binary";
  if (names.every((n) => NSL_KDD_CATEGORIES.includes(n))) return "category";
  return "attack";
}

async function rowsFromCsv(
  source: Extract<EvalSource, { kind: "csv" }>,
  bundle: LoadedBundle,
): Promise<LabelledRows> {
  const text = await Deno.readTextFile(source.csv);
  const columns = bundle.json.preprocessing.columns;
  if (source.format === "cic") {
    return rowsFromDataset(loadCicCsv(text, {
      labelColumn: source.labelColumn ?? "Label",
      columns,
      nonFiniteValue: bundle.json.preprocessing.nonFiniteValue,
    }, basename(source.csv)));
  }
  const dir = dirname(source.csv);
  const d = loadNslKdd(text, {
    fields: parseFieldNames(
      await Deno.readTextFile(source.nslFields ?? join(dir, "field-names.csv")),
    ),
    attackCategories: parseAttackTypes(
      await Deno.readTextFile(source.nslAttackTypes ?? join(dir, "attack-types.csv")),
    ),
    view: source.nslView ?? nslViewOf(bundle),
    vocabularies: bundle.json.preprocessing.categorical,
  }, basename(source.csv));
  const diff = firstDifference(columns, d.columnNames);
  if (diff) {
    throw new Error(`${source.csv}: the NSL-KDD columns do not match the bundle's: ${diff}`);
  }
  return rowsFromDataset(d);
}
