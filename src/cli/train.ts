/**
 * `ids-sensor train`: labelled flows (a capture plus attack windows, a CIC
 * flow CSV, or NSL-KDD records) in, a model bundle (ONNX + bundle.json) out.
 * `--cv K` also reports stratified k-fold cross-validation of the classifier.
 */
import type { Command } from "@commander-js/extra-typings";
import { basename, dirname, join } from "node:path";
import { FEATURE_SET } from "../features/schema.ts";
import { loadCicCsv } from "../train/cic_csv.ts";
import { datasetFromCapture } from "../train/capture_dataset.ts";
import { crossValidate } from "../train/cross_validation.ts";
import { classCounts, type Dataset } from "../train/dataset.ts";
import { formatReport } from "../train/metrics.ts";
import {
  loadNslKdd,
  type NslKddView,
  parseAttackTypes,
  parseFieldNames,
} from "../train/nsl_kdd.ts";
import { DEFAULT_TRAIN_OPTIONS, trainBundle } from "../train/pipeline.ts";
import { stderrProgress } from "../train/progress.ts";
import type { CategoricalVocabulary } from "../train/nsl_kdd.ts";

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a whole number, got "${value}"`);
  }
  return n;
}

/** Registers the `train` subcommand. */
export function registerTrain(program: Command): void {
  program
    .command("train")
    .description(
      "Train a known-attack classifier (gradient-boosted trees) and a benign-only anomaly " +
        "detector (isolation forest + autoencoder), export ONNX, write a model bundle",
    )
    .option("--capture <file>", "capture file (pcap/pcapng): flows metered like the sensor does")
    .option("--labels <file>", "attack windows CSV for --capture (attacker,start,end,attack)")
    .option("--csv <file>", "labelled flow CSV (CIC-IDS2017 columns) or NSL-KDD records")
    .option("--format <format>", "cic | nsl-kdd", "cic")
    .option("--label-column <name>", "label column of a CIC CSV", "Label")
    .option("--nsl-view <view>", "nsl-kdd classes: category (5) | binary | attack", "category")
    .option("--nsl-fields <file>", "NSL-KDD field-names.csv (default: beside --csv)")
    .option("--nsl-attack-types <file>", "NSL-KDD attack-types.csv (default: beside --csv)")
    .requiredOption("--out <dir>", "bundle folder to write")
    .option("--epochs <n>", "autoencoder epochs", String(DEFAULT_TRAIN_OPTIONS.epochs))
    .option("--tune <n>", "TPE hyperparameter trials for the classifier (0: defaults)", "0")
    .option("--cv <k>", "also report stratified k-fold cross-validation (0: skip)", "0")
    .option(
      "--target-fpr <f>",
      "anomaly false-positive rate on held-out benign rows",
      String(DEFAULT_TRAIN_OPTIONS.targetFpr),
    )
    .option("--seed <n>", "random seed", String(DEFAULT_TRAIN_OPTIONS.seed))
    .option("--quiet", "no progress output")
    .action(async (options) => {
      const epochs = positiveInt("--epochs", options.epochs);
      const tune = positiveInt("--tune", options.tune);
      const cv = positiveInt("--cv", options.cv);
      const seed = positiveInt("--seed", options.seed);
      const targetFpr = Number(options.targetFpr);
      if (!(targetFpr > 0 && targetFpr < 1)) {
        throw new Error(`--target-fpr must be between 0 and 1, got "${options.targetFpr}"`);
      }
      if (!!options.capture === !!options.csv) {
        throw new Error("give exactly one of --capture or --csv");
      }
      const progress = stderrProgress(options.quiet);
      let dataset: Dataset;
      let featureSet: { name: string; version: string | number };
      let vocabularies: CategoricalVocabulary[] | undefined;
      const started = performance.now();
      if (options.capture) {
        const labels = options.labels ? await Deno.readTextFile(options.labels) : undefined;
        dataset = await datasetFromCapture(options.capture, labels);
        featureSet = { name: FEATURE_SET.name, version: FEATURE_SET.version };
      } else if (options.format === "nsl-kdd") {
        const csv = options.csv!;
        const dir = dirname(csv);
        const view = options.nslView as NslKddView;
        if (!["category", "binary", "attack"].includes(view)) {
          throw new Error(`--nsl-view must be category, binary or attack, got "${view}"`);
        }
        const loaded = loadNslKdd(await Deno.readTextFile(csv), {
          fields: parseFieldNames(
            await Deno.readTextFile(options.nslFields ?? join(dir, "field-names.csv")),
          ),
          attackCategories: parseAttackTypes(
            await Deno.readTextFile(options.nslAttackTypes ?? join(dir, "attack-types.csv")),
          ),
          view,
        }, basename(csv));
        dataset = loaded;
        vocabularies = loaded.vocabularies;
        featureSet = { name: "nsl-kdd", version: 1 };
      } else if (options.format === "cic") {
        const csv = options.csv!;
        const text = await Deno.readTextFile(csv);
        const sensorColumns = FEATURE_SET.columns.map((c) => c.name);
        try {
          dataset = loadCicCsv(
            text,
            { labelColumn: options.labelColumn, columns: sensorColumns },
            basename(csv),
          );
          featureSet = { name: FEATURE_SET.name, version: FEATURE_SET.version };
        } catch (e) {
          if (!/feature column\(s\) missing/.test((e as Error).message)) throw e;
          console.error(
            `warning: ${(e as Error).message}; training on the file's own columns: ` +
              `the bundle will not fit the sensor's feature set ${FEATURE_SET.name} v${FEATURE_SET.version}`,
          );
          dataset = loadCicCsv(text, { labelColumn: options.labelColumn }, basename(csv));
          featureSet = { name: `csv:${basename(csv)}`, version: 1 };
        }
      } else {
        throw new Error(`--format must be cic or nsl-kdd, got "${options.format}"`);
      }
      const issues = Object.entries(dataset.issues ?? {}).map(([k, n]) => `${k}: ${n}`);
      console.error(
        `loaded ${dataset.rows} rows x ${dataset.cols} features in ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s; classes ` +
          Object.entries(classCounts(dataset)).map(([k, n]) => `${k} ${n}`).join(", ") +
          (issues.length ? `; replaced/dropped: ${issues.join(", ")}` : ""),
      );
      if (cv > 0) {
        const t0 = performance.now();
        const result = crossValidate(dataset, cv, {}, seed, (d, t) => progress("cv fold", d, t));
        console.log(
          `${cv}-fold stratified cross-validation (${
            ((performance.now() - t0) / 1000).toFixed(1)
          } s):`,
        );
        console.log(formatReport(result.pooled));
        console.log(
          `per-fold accuracy ${result.foldAccuracy.map((a) => a.toFixed(4)).join(" ")} ` +
            `(mean ${result.accuracyMean.toFixed(4)} +- ${result.accuracyStd.toFixed(4)})`,
        );
      }
      const summary = await trainBundle(dataset, {
        ...DEFAULT_TRAIN_OPTIONS,
        outDir: options.out,
        featureSet,
        dataSource: options.capture ?? options.csv!,
        seed,
        targetFpr,
        epochs,
        tuneTrials: tune,
        vocabularies,
        progress,
      });
      const c = summary.classifier;
      if (c) {
        console.log(
          `classifier: held-out accuracy ${c.accuracy.toFixed(4)}, macro-F1 ${
            c.macroF1.toFixed(4)
          }` +
            (c.binaryAccuracy !== undefined
              ? `, attack-vs-benign ${c.binaryAccuracy.toFixed(4)}, benign FPR ${
                c.benignFpr!.toFixed(4)
              }`
              : "") +
            `; trained in ${c.seconds.toFixed(1)} s; ONNX max |diff| ${
              c.onnxMaxAbsDiff.toExponential(2)
            }`,
        );
      }
      const a = summary.anomaly;
      if (a) {
        console.log(
          `anomaly: ROC-AUC ${a.rocAuc.toFixed(4)}, held-out benign FPR ${
            a.heldOutBenignFpr.toFixed(4)
          } ` +
            `(target ${targetFpr}), detection rate ${a.detectionRate.toFixed(4)}; trained in ${
              a.seconds.toFixed(1)
            } s; ` +
            `ONNX max |diff| ${a.onnxMaxAbsDiff.toExponential(2)}; ` +
            `threshold ${a.threshold.toPrecision(4)}, strong ${a.strongThreshold.toPrecision(4)}`,
        );
      }
      if (summary.tuning) {
        console.log(
          `tuning: chosen (cheapest within 0.001 of the best) CV macro-F1 ${
            summary.tuning.bestScore.toFixed(4)
          } over ${summary.tuning.trials} trials: ` +
            JSON.stringify(summary.tuning.best),
        );
      }
      console.log(`bundle written to ${summary.bundleDir}`);
    });
}
