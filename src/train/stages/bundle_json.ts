/** Joins the stages' model parts into bundle.json (see src/inference/bundle.ts). */
import { BUNDLE_FORMAT_VERSION, type BundleJsonInput } from "../../inference/mod.ts";
import { classCounts, type Dataset } from "../dataset.ts";
import type { CategoricalVocabulary } from "../nsl_kdd.ts";
import { INPUT_NAME, type ModelPart, type StageContext, TRAINER_VERSION } from "./common.ts";

/** What the bundle records beside its models. */
export interface BundleAssembly {
  featureSet: { name: string; version: string | number };
  /** Categorical encodings the loader applied (NSL-KDD). */
  vocabularies?: CategoricalVocabulary[];
  /** The anomaly detector's scaling (absent without one). */
  scaling?: BundleJsonInput["preprocessing"]["scaling"];
}

/**
 * bundle.json for `parts` (in file order) trained on `d`, whose columns are
 * the model input; `d`'s class counts and loader issues go to the training record.
 */
export function assembleBundleJson(
  d: Dataset,
  parts: ModelPart[],
  assembly: BundleAssembly,
  context: StageContext,
): BundleJsonInput {
  return {
    formatVersion: BUNDLE_FORMAT_VERSION,
    featureSet: {
      name: assembly.featureSet.name,
      version: String(assembly.featureSet.version),
      columns: d.columnNames,
    },
    input: { name: INPUT_NAME, width: d.cols },
    preprocessing: {
      columns: d.columnNames,
      nonFiniteValue: 0,
      categorical: assembly.vocabularies ?? [],
      scaling: assembly.scaling,
    },
    models: parts.map((p) => p.entry),
    training: {
      dataSource: context.dataSource,
      rows: d.rows,
      classCounts: classCounts(d),
      metrics: { loaderIssues: d.issues ?? {} },
      date: context.date,
      tool: TRAINER_VERSION,
    },
    createdAt: context.date,
    tool: { name: "ids-sensor", version: "0.1.0" },
  };
}
