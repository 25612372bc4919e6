/**
 * `ids-sensor eval`: scores labelled flows (a capture plus its attack windows,
 * or a labelled CSV) with a model bundle through the sensor's own inference
 * path and prints per-class precision/recall/F1, the confusion matrix,
 * attack-vs-benign figures, the anomaly score's ROC-AUC and, for captures,
 * the per-episode detection view. `--report` writes a self-contained HTML page.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import type { EvalSource } from "../eval/mod.ts";
import { loadSensorBundle } from "../engine/mod.ts";
import { NoInputError, UsageError } from "./exit.ts";
import { checkInputFile } from "./files.ts";
import {
  addThresholdOptions,
  detectionThresholds,
  fraction,
  modelOption,
  nonNegativeInteger,
  positiveInteger,
} from "./options.ts";
import { DEFAULT_COMPARE_MODELS, runCompare } from "./compare.ts";

/** Registers the `eval` subcommand. */
export function registerEval(program: Command): void {
  const command = program
    .command("eval")
    .description(
      "Evaluate a model bundle on labelled flows (--capture with --labels, or --csv): " +
        "per-class precision/recall/F1, confusion matrix, attack-vs-benign accuracy and " +
        "false-positive rate, anomaly ROC-AUC, per-attack-episode detection and delay",
    )
    .option("--capture <file>", "capture file (pcap/pcapng), metered as the sensor does")
    .option("--labels <file>", "attack windows CSV for --capture (attacker,start,end,attack)")
    .option("--csv <file>", "labelled flow CSV (CIC-IDS2017 columns) or NSL-KDD records")
    .addOption(
      new Option("--format <format>", "format of --csv").choices(["cic", "nsl-kdd"] as const)
        .default("cic" as const),
    )
    .option("--label-column <name>", "label column of a CIC CSV", "Label")
    .option("--nsl-fields <file>", "NSL-KDD field-names.csv (default: beside --csv)")
    .option("--nsl-attack-types <file>", "NSL-KDD attack-types.csv (default: beside --csv)")
    .addOption(modelOption());
  // The same thresholds and unknown-alert rule as detect and analyze.
  addThresholdOptions(command)
    .option(
      "--benign <paths...>",
      "unlabelled captures of normal traffic (files or folders): run them through the sensor's " +
        "engine (as analyze does) and report alerts per capture, per 1,000 flows, per hour",
    )
    .option("--all", "with --benign: list every capture, not only those with alerts")
    .option("--json", "print one JSON object instead of text")
    .option("--report <file.html>", "also write a self-contained HTML report here")
    .option(
      "--compare",
      "train and evaluate each model family of --models and their ensemble on the same " +
        "stratified folds of --csv (one attack type per fold left out of training) and print one table",
    )
    .option("--models <list>", "with --compare: families to compare", DEFAULT_COMPARE_MODELS)
    .addOption(
      new Option("--folds <k>", "with --compare: cross-validation folds")
        .argParser(positiveInteger("--folds")).default(5),
    )
    .option(
      "--leave-out <types>",
      "with --compare: attack types left out of training, one per fold " +
        "(default for NSL-KDD: portsweep,smurf,back,warezclient,nmap)",
    )
    .addOption(
      new Option("--target-fpr <f>", "with --compare: false-alert rate every threshold is set to")
        .argParser(fraction("--target-fpr")).default(0.01),
    )
    .addOption(
      new Option("--tune <n>", "with --compare: TPE trials per family and fold (0: defaults)")
        .argParser(nonNegativeInteger("--tune")).default(0),
    )
    .option("--voting <modes>", "with --compare: ensemble modes (weighted,any,all,proportion)")
    .option(
      "--weights <list>",
      "with --compare: where ensemble weights come from: leave-type-out (attack types held out " +
        "inside the training folds), validation (logistic regression on validation rows), or both",
      "leave-type-out",
    )
    .addOption(
      new Option(
        "--inner-types <n>",
        "with --compare: attack types held out in turn inside the training folds to learn weights",
      ).argParser(positiveInteger("--inner-types")).default(4),
    )
    .addOption(
      new Option("--seed <n>", "with --compare: random seed").argParser(
        nonNegativeInteger("--seed"),
      )
        .default(1),
    )
    .option("--quiet", "with --compare: no progress on stderr")
    .action(async (options) => {
      if (options.compare) {
        if (options.capture || options.benign) {
          throw new UsageError("--compare takes --csv (labelled rows), not --capture or --benign");
        }
        await runCompare({ ...options, csv: options.csv });
        return;
      }
      // src/eval (and the trainer it uses) is loaded by `eval` alone.
      const {
        formatBenignAlerts,
        formatEvalText,
        listCaptureFiles,
        measureBenignAlerts,
        renderEvalReport,
        runEvaluation,
      } = await import("../eval/mod.ts");
      if (options.benign) {
        if (options.capture || options.csv || options.labels) {
          throw new UsageError("--benign takes no --capture, --labels or --csv");
        }
        const files = await listCaptureFiles(options.benign);
        if (files.length === 0) {
          throw new NoInputError(`no capture files in ${options.benign.join(", ")}`);
        }
        const report = await measureBenignAlerts(files, {
          bundle: await loadSensorBundle(options.model),
          thresholds: detectionThresholds(options),
          onCapture: options.json
            ? undefined
            : (c, i, n) => console.error(`[${i + 1}/${n}] ${c.path}: ${c.alerts} alert(s)`),
        });
        console.log(
          options.json ? JSON.stringify(report) : formatBenignAlerts(report, options.all),
        );
        return;
      }
      let source: EvalSource;
      if (options.capture && !options.csv) {
        if (!options.labels) {
          throw new UsageError(
            "--capture needs --labels (the attack windows; use an empty file with the header for all-benign traffic)",
          );
        }
        source = { kind: "capture", capture: options.capture, labels: options.labels };
      } else if (options.csv && !options.capture) {
        source = {
          kind: "csv",
          csv: options.csv,
          format: options.format,
          labelColumn: options.labelColumn,
          nslFields: options.nslFields,
          nslAttackTypes: options.nslAttackTypes,
        };
      } else {
        throw new UsageError("give exactly one of --capture (with --labels) or --csv");
      }
      // Inputs first, each named when unusable.
      if (source.kind === "capture") {
        await checkInputFile(source.capture, "capture file");
        await checkInputFile(source.labels, "labels file");
      } else {
        await checkInputFile(source.csv, "CSV file");
      }
      const evaluation = await runEvaluation({
        source,
        modelDir: options.model,
        thresholds: detectionThresholds(options),
      });
      if (options.report) {
        await Deno.writeTextFile(options.report, renderEvalReport(evaluation));
      }
      if (options.json) console.log(JSON.stringify(evaluation.summary));
      else {
        console.log(formatEvalText(evaluation.summary));
        if (options.report) console.log(`\nreport written to ${options.report}`);
      }
    });
}
