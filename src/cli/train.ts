/**
 * `ids-sensor train`: labelled flows (a capture plus attack windows, a CIC
 * flow CSV, or NSL-KDD records) in, a model bundle (ONNX + bundle.json) out.
 * `--cv K` also reports stratified k-fold cross-validation of the classifier.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { basename, dirname, join } from "node:path";
import { DEFAULT_WINDOW_PACKETS, FEATURE_SET } from "../features/mod.ts";
import { checkLabelCoverage, parseAttackWindows } from "../label/mod.ts";
import type {
  CategoricalVocabulary,
  Dataset,
  Family,
  FamilyBundleSummary,
  NslKddView,
  PacketMemberRequest,
  PacketTuneResult,
  TrainBundleSummary,
} from "../train/mod.ts";
import { loadBundle } from "../inference/mod.ts";
import { UsageError } from "./exit.ts";
import { checkInputFile, checkOutputFolder } from "./files.ts";
import { fraction, nonNegativeInteger, positiveInteger } from "./options.ts";

/**
 * The held-out benign false-positive rate against the target: far above it
 * (3x), the thresholds rest on too few benign flows to hold on live traffic.
 */
export function falsePositiveWarning(
  anomaly: NonNullable<TrainBundleSummary["anomaly"]>,
  targetFpr: number,
): string | null {
  if (!(anomaly.heldOutBenignFpr > 3 * targetFpr)) return null;
  return `the anomaly detector flags ${(anomaly.heldOutBenignFpr * 100).toFixed(1)}% of ` +
    `${anomaly.heldOutBenignRows} held-out benign flows, against a target of ${
      (targetFpr * 100).toPrecision(2)
    }% (thresholds calibrated on ${anomaly.calibrationRows} benign flows): expect about that ` +
    `many false alerts; train on more benign traffic (or raise --target-fpr knowingly)`;
}

/**
 * The flags' defaults, src/train's DEFAULT_TRAIN_OPTIONS (train_test.ts checks they agree),
 * written here so that registering `train` loads no trainer: src/train (with onnx-proto and
 * onnxruntime-web) is imported when `train` runs.
 */
export const TRAIN_FLAG_DEFAULTS = { epochs: 10, tuneTrials: 0, targetFpr: 0.01, seed: 1 };

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
    .requiredOption(
      "--out <dir>",
      "bundle folder to write (new, empty, or a bundle to replace when training succeeds)",
    )
    .addOption(
      new Option("--epochs <n>", "autoencoder epochs").argParser(positiveInteger("--epochs"))
        .default(TRAIN_FLAG_DEFAULTS.epochs),
    )
    .addOption(
      new Option(
        "--tune <n>",
        "TPE hyperparameter trials for the classifier, with --models for each family, with " +
          "--packet-models for each packet member (needs --capture with --labels) (0: defaults)",
      )
        .argParser(nonNegativeInteger("--tune")).default(TRAIN_FLAG_DEFAULTS.tuneTrials),
    )
    .addOption(
      new Option("--cv <k>", "also report stratified k-fold cross-validation (0: skip)")
        .argParser(nonNegativeInteger("--cv")).default(0),
    )
    .addOption(
      new Option("--target-fpr <f>", "anomaly false-positive rate on held-out benign rows")
        .argParser(fraction("--target-fpr")).default(TRAIN_FLAG_DEFAULTS.targetFpr),
    )
    .addOption(
      new Option("--seed <n>", "random seed").argParser(nonNegativeInteger("--seed"))
        .default(TRAIN_FLAG_DEFAULTS.seed),
    )
    .option(
      "--models <list>",
      "model families to train instead of the default pair, comma-separated: " +
        "gbdt,cnn,dense-ae,lstm-ae,cnn-ae,iforest,kitnet,lof; the first classifier " +
        "names known attacks, all of them vote in the ensemble (the anomaly model)",
    )
    .addOption(
      new Option("--voting <mode>", "with --models: ensemble voting mode")
        .choices(["weighted", "any", "all", "proportion"] as const).default("weighted" as const),
    )
    .addOption(
      new Option("--proportion <f>", "with --models --voting proportion: weight of voters needed")
        .argParser(fraction("--proportion")).default(0.5),
    )
    .option(
      "--packet-models <list>",
      "also train packet- and sequence-level members on benign packets, comma-separated " +
        "family[@set]: kitnet (afterimage), iforest, dense-ae (packet), lof, lstm-ae, cnn-ae " +
        "(packet-sequence); opt-in members of the bundle, scored on every packet by analyze/detect",
    )
    .option(
      "--benign-pcap <file>",
      "with --packet-models: a benign capture to train them on (repeatable; default: --capture " +
        "when it has no --labels)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--base-bundle <dir>",
      "with --packet-models: add the packet members to a copy of this bundle (e.g. models/default) " +
        "instead of training flow models",
    )
    .addOption(
      new Option(
        "--packet-fpr <f>",
        "with --packet-models: per-packet false-positive rate on held-out benign packets",
      )
        .argParser(fraction("--packet-fpr")).default(0.001),
    )
    .addOption(
      new Option(
        "--min-packets <n>",
        "with --packet-models: flagged packets of one flow for a member's vote on it",
      )
        .argParser(positiveInteger("--min-packets")).default(3),
    )
    .addOption(
      new Option(
        "--window-packets <n>",
        "with --packet-models: packets per conversation window of sequence members",
      )
        .argParser(positiveInteger("--window-packets")).default(DEFAULT_WINDOW_PACKETS),
    )
    .option(
      "--packet-holdout <type>",
      "with --packet-models --tune: attack type left out of the packet search, its detection " +
        "reported (default: the last type in --labels with attack packets)",
    )
    .option("--quiet", "print only warnings and errors (no progress, no summary)")
    .action(async (options) => {
      const train = await import("../train/mod.ts");
      const {
        addPacketMembers,
        classCounts,
        crossValidate,
        datasetFromCapture,
        DEFAULT_TRAIN_OPTIONS,
        FamilyError,
        formatReport,
        loadCicCsv,
        loadNslKdd,
        packetRowsFromCaptures,
        packetTuneSplit,
        parseAttackTypes,
        parseFamilyList,
        parseFieldNames,
        parsePacketModelList,
        stderrProgress,
        trainBundle,
        trainFamilyBundle,
        trainPacketMembers,
        tunePacketMember,
      } = train;
      const { epochs, tune, cv, seed, targetFpr } = options;
      if (cv === 1) throw new UsageError("--cv must be 0 (skip) or at least 2 folds, got 1");
      let families: Family[] | undefined;
      if (options.models !== undefined) {
        try {
          families = parseFamilyList(options.models);
        } catch (e) {
          if (e instanceof FamilyError) throw new UsageError(e.message);
          throw e;
        }
      }
      // Packet members tuned on the labelled capture's attack packets.
      const tunePackets = options.packetModels !== undefined && tune > 0;
      if (tunePackets && !(options.capture && options.labels)) {
        throw new UsageError(
          `--tune ${tune} on packet members ranks trials by detection of labelled attack packets: ` +
            "give --capture FILE --labels FILE (attack windows of at least two attack types; one " +
            "is held out of the search, --packet-holdout), or --tune 0 for the default " +
            "hyperparameters (a benign-only search has nothing honest to rank by)",
        );
      }
      if (options.packetHoldout !== undefined && !tunePackets) {
        throw new UsageError("--packet-holdout goes with --packet-models and --tune N");
      }
      if (options.baseBundle !== undefined) {
        // With --tune, the labelled capture only supplies attack packets to the packet search.
        if ((options.capture && !tunePackets) || options.csv || families) {
          throw new UsageError(
            "--base-bundle adds packet members to an existing bundle: no --capture, --csv or --models " +
              "(a --capture with --labels only with --packet-models --tune)",
          );
        }
        if (options.packetModels === undefined) {
          throw new UsageError("--base-bundle goes with --packet-models");
        }
      } else if (!!options.capture === !!options.csv) {
        throw new UsageError("give exactly one of --capture or --csv");
      }
      let packetRequests: PacketMemberRequest[] = [];
      let benignPcaps: string[] = options.benignPcap;
      if (options.packetModels !== undefined) {
        try {
          packetRequests = parsePacketModelList(options.packetModels);
        } catch (e) {
          if (e instanceof FamilyError) throw new UsageError(e.message);
          throw e;
        }
        if (benignPcaps.length === 0 && !tunePackets) {
          if (!options.capture || options.labels) {
            throw new UsageError(
              "--packet-models trains on benign packets: give --benign-pcap FILE " +
                "(or a --capture without --labels, taken as benign)",
            );
          }
          benignPcaps = [options.capture];
        }
      } else if (benignPcaps.length > 0) {
        throw new UsageError("--benign-pcap goes with --packet-models");
      }
      if (options.windowPackets < 2) {
        throw new UsageError(`--window-packets must be at least 2, got ${options.windowPackets}`);
      }
      if (options.labels && !options.capture) {
        throw new UsageError("--labels goes with --capture (a CSV carries its own labels)");
      }
      // Inputs and the output folder first: an hour of training never ends in "cannot write".
      if (options.capture) await checkInputFile(options.capture, "capture file");
      if (options.labels) await checkInputFile(options.labels, "labels file");
      if (options.csv) await checkInputFile(options.csv, "CSV file");
      for (const pcap of benignPcaps) await checkInputFile(pcap, "benign capture");
      await checkOutputFolder(options.out);
      const say = options.quiet ? () => {} : (line: string) => console.log(line);
      const progress = stderrProgress(options.quiet);
      // Written beside --out and moved into place only when complete.
      const partial = `${options.out.replace(/\/+$/, "")}.partial-${Deno.pid}`;
      /** Trains the packet members on the benign captures and adds them to the bundle at `dir`. */
      const withPacketMembers = async (dir: string) => {
        if (packetRequests.length === 0) return;
        const t0 = performance.now();
        const sets = [...new Set(packetRequests.map((r) => r.set))];
        // Tuning: the labelled capture too, its benign packets trained on like the others'.
        const captures = tunePackets ? [...benignPcaps, options.capture!] : benignPcaps;
        const windows = tunePackets
          ? [
            ...benignPcaps.map(() => undefined),
            parseAttackWindows(await Deno.readTextFile(options.labels!)),
          ]
          : undefined;
        const { sets: rows, report } = await packetRowsFromCaptures(captures, sets, {
          windowPackets: options.windowPackets,
          windows,
          progress,
        });
        if (!options.quiet) {
          console.error(
            `packet rows: ${report.packets} ${
              tunePackets ? "" : "benign "
            }packets from ${report.captures} capture(s) in ${
              ((performance.now() - t0) / 1000).toFixed(1)
            } s` +
              (report.packetsNotRead
                ? `; ${report.packetsNotRead} packets past the limit not read`
                : "") +
              (report.nonFiniteReplaced
                ? `; ${report.nonFiniteReplaced} non-finite values replaced by 0`
                : "") +
              (tunePackets
                ? `; attack packets ${
                  report.attackTypes.map((t, i) => `${t} ${report.attackPackets[i]}`).join(", ") ||
                  "none"
                }; ${report.attackerPacketsOutside} attacker packets outside their windows left out`
                : ""),
          );
        }
        if (tunePackets) {
          try {
            for (const request of packetRequests) {
              const memberRows = rows.get(request.set)!;
              const split = packetTuneSplit(memberRows, report.attackTypes, options.packetHoldout);
              const result = await tunePacketMember(memberRows, request, split, {
                trials: tune,
                seed,
                targetFpr: options.packetFpr,
                minPackets: options.minPackets,
                progress,
              });
              request.params = result.chosen.params;
              request.tuning = tuningRecord(result);
              for (const line of formatPacketTuning(result, options.minPackets, train)) say(line);
            }
          } catch (e) {
            if (e instanceof FamilyError) throw new UsageError(e.message);
            throw e;
          }
        }
        let trained;
        try {
          trained = await trainPacketMembers(rows, packetRequests, {
            targetFpr: options.packetFpr,
            minPackets: options.minPackets,
            windowPackets: options.windowPackets,
            seed,
            dataSource: (tunePackets ? [...benignPcaps, options.capture!] : benignPcaps).join(","),
            progress,
          });
        } catch (e) {
          if (e instanceof FamilyError) throw new UsageError(e.message);
          throw e;
        }
        await addPacketMembers(dir, trained.members, trained.onnx, trained.weights);
        for (const m of trained.summaries) {
          say(
            `packet member ${m.name}: ${m.trainingRows} training packets, trained in ${
              m.seconds.toFixed(1)
            } s; threshold ${m.threshold.toPrecision(4)} flags ${
              (m.calibratedFpr * 100).toFixed(2)
            }% of ${m.calibrationRows} held-out benign packets; ONNX max |diff| ${
              m.onnxMaxAbsDiff.toExponential(2)
            } (relative ${
              m.onnxMaxRelativeDiff.toExponential(2)
            }; packets flagged differently ${m.onnxFlagMismatches})`,
          );
        }
      };
      if (options.baseBundle !== undefined) {
        // Packet members added to a copy of an existing bundle (e.g. the bundled default).
        const base = await loadBundle(options.baseBundle).catch((e) => {
          throw new UsageError(`--base-bundle: ${(e as Error).message}`);
        });
        try {
          await Deno.mkdir(partial, { recursive: true });
          for await (const entry of Deno.readDir(base.dir)) {
            if (entry.isFile) {
              await Deno.copyFile(join(base.dir, entry.name), join(partial, entry.name));
            }
          }
          await withPacketMembers(partial);
          await moveBundle(partial, options.out);
        } finally {
          await Deno.remove(partial, { recursive: true }).catch(() => {});
        }
        say(`bundle written to ${options.out} (${options.baseBundle} with packet members)`);
        return;
      }
      let dataset: Dataset;
      let featureSet: { name: string; version: string | number };
      let vocabularies: CategoricalVocabulary[] | undefined;
      const started = performance.now();
      if (options.capture) {
        const labels = options.labels ? await Deno.readTextFile(options.labels) : undefined;
        dataset = await datasetFromCapture(options.capture, labels);
        featureSet = { name: FEATURE_SET.name, version: FEATURE_SET.version };
        if (labels !== undefined) {
          // Labels of another capture would train the anomaly model on attacks: refused.
          const coverage = checkLabelCoverage(parseAttackWindows(labels), classCounts(dataset), {
            labels: options.labels!,
            capture: options.capture,
          });
          for (const warning of coverage.warnings) console.error(`warning: ${warning}`);
        }
      } else if (options.format === "nsl-kdd") {
        const csv = options.csv!;
        const dir = dirname(csv);
        const view = options.nslView as NslKddView;
        if (!["category", "binary", "attack"].includes(view)) {
          throw new UsageError(`--nsl-view must be category, binary or attack, got "${view}"`);
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
        throw new UsageError(`--format must be cic or nsl-kdd, got "${options.format}"`);
      }
      const issues = Object.entries(dataset.issues ?? {}).map(([k, n]) => `${k}: ${n}`);
      if (!options.quiet) {
        console.error(
          `loaded ${dataset.rows} rows x ${dataset.cols} features in ` +
            `${((performance.now() - started) / 1000).toFixed(1)} s; classes ` +
            Object.entries(classCounts(dataset)).map(([k, n]) => `${k} ${n}`).join(", ") +
            (issues.length ? `; replaced/dropped: ${issues.join(", ")}` : ""),
        );
      }
      if (cv > 0) {
        const t0 = performance.now();
        const result = crossValidate(dataset, cv, {}, seed, (d, t) => progress("cv fold", d, t));
        say(
          `${cv}-fold stratified cross-validation (${
            ((performance.now() - t0) / 1000).toFixed(1)
          } s):`,
        );
        say(formatReport(result.pooled));
        say(
          `per-fold accuracy ${result.foldAccuracy.map((a) => a.toFixed(4)).join(" ")} ` +
            `(mean ${result.accuracyMean.toFixed(4)} +- ${result.accuracyStd.toFixed(4)})`,
        );
      }
      if (families) {
        let familySummary: FamilyBundleSummary;
        try {
          familySummary = await trainFamilyBundle(dataset, {
            families,
            outDir: partial,
            featureSet,
            dataSource: options.capture ?? options.csv!,
            seed,
            targetFpr,
            tune,
            voting: options.voting,
            proportion: options.proportion,
            evaluationFraction: DEFAULT_TRAIN_OPTIONS.evaluationFraction,
            validationFraction: 0.2,
            vocabularies,
            progress,
          });
          await withPacketMembers(partial);
          await moveBundle(partial, options.out);
        } finally {
          await Deno.remove(partial, { recursive: true }).catch(() => {});
        }
        for (const m of familySummary.members) {
          say(
            `${m.family}: trained in ${m.seconds.toFixed(1)} s; ONNX max |diff| ${
              m.onnxMaxAbsDiff.toExponential(2)
            }` + (m.weight !== undefined ? `; ensemble weight ${m.weight.toFixed(3)}` : ""),
          );
        }
        const c = familySummary.classifier;
        if (c) {
          say(
            `classifier ${c.family}: held-out accuracy ${c.accuracy.toFixed(4)}, macro-F1 ${
              c.macroF1.toFixed(4)
            }`,
          );
        }
        const e = familySummary.ensemble;
        if (e) {
          say(
            `ensemble (${e.mode}): held-out benign FPR ${e.heldOutBenignFpr.toFixed(4)} ` +
              `(target ${targetFpr}), detection rate ${e.detectionRate.toFixed(4)}; ` +
              `ONNX alerts differing from TypeScript: ${e.onnxAlertMismatches} of ${e.rows}; ` +
              (e.weightsHeldOutTypes.length
                ? `weights by leaving out ${e.weightsHeldOutTypes.join(", ")} in turn`
                : "weights by logistic regression on validation rows"),
          );
        }
        say(`bundle written to ${options.out}`);
        return;
      }
      let summary: TrainBundleSummary;
      try {
        summary = await trainBundle(dataset, {
          ...DEFAULT_TRAIN_OPTIONS,
          outDir: partial,
          featureSet,
          dataSource: options.capture ?? options.csv!,
          seed,
          targetFpr,
          epochs,
          tuneTrials: tune,
          vocabularies,
          progress,
        });
        await withPacketMembers(partial);
        await moveBundle(partial, options.out);
      } finally {
        await Deno.remove(partial, { recursive: true }).catch(() => {});
      }
      summary.bundleDir = options.out;
      const c = summary.classifier;
      if (c) {
        say(
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
        say(
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
      if (a) {
        const warning = falsePositiveWarning(a, targetFpr);
        if (warning) console.error(`warning: ${warning}`);
      }
      if (summary.tuning) {
        say(
          `tuning: chosen (cheapest within 0.001 of the best) CV macro-F1 ${
            summary.tuning.bestScore.toFixed(4)
          } over ${summary.tuning.trials} trials: ` +
            JSON.stringify(summary.tuning.best),
        );
      }
      say(`bundle written to ${summary.bundleDir}`);
    });
}

/** The summary lines of one packet member's tuning: every trial, then the chosen one on the held-out type. */
export function formatPacketTuning(
  r: PacketTuneResult,
  minPackets: number,
  { formatDetection, formatParams, packetTrialEligible }: typeof import("../train/mod.ts"),
): string[] {
  const line = (label: string, t: PacketTuneResult["defaults"]) =>
    `  ${label}: ${formatParams(t.params)}; held-out benign packets flagged ${
      (t.benignPacketFpr * 100).toFixed(2)
    }%, benign flows voted ${(t.benignFlowVoteRate * 100).toFixed(1)}% of ${t.benignFlows}; ` +
    `search detection ${(t.searchFlowDetection * 100).toFixed(1)}% of flows (${
      (t.searchPacketDetection * 100).toFixed(1)
    }% of packets); ${t.seconds.toFixed(1)} s` +
    (t !== r.defaults && !packetTrialEligible(t, r.defaults)
      ? " (more benign flows voted than the defaults: not eligible)"
      : "");
  return [
    `packet tuning ${r.name}: ${r.trials.length} trials ranked by attack flows voted on ` +
    `(>= ${minPackets} flagged packets) of ${r.searchTypes.join(", ")}; ${r.heldOutType} held out`,
    line("defaults", r.defaults),
    ...r.trials.map((t, i) => line(`trial ${i + 1}`, t)),
    `  chosen: ${
      r.chosenFrom === "defaults"
        ? "defaults (no eligible trial beat them)"
        : formatParams(r.chosen.params)
    }`,
    `  held out ${r.heldOutType}: chosen ${formatDetection(r.chosen.heldOut)}; defaults ${
      formatDetection(r.defaults.heldOut)
    }`,
  ];
}

/** What `training.tuning` of a tuned packet member records. */
function tuningRecord(r: PacketTuneResult) {
  const brief = (t: PacketTuneResult["defaults"]) => ({
    params: t.params,
    benignPacketFpr: t.benignPacketFpr,
    benignFlowVoteRate: t.benignFlowVoteRate,
    searchFlowDetection: t.searchFlowDetection,
    searchPacketDetection: t.searchPacketDetection,
  });
  return {
    objective: "mean over search types of attack flows voted on at the --packet-fpr threshold",
    searchTypes: r.searchTypes,
    heldOutType: r.heldOutType,
    trials: r.trials.map(brief),
    defaults: { ...brief(r.defaults), heldOut: r.defaults.heldOut },
    chosen: { ...brief(r.chosen), heldOut: r.chosen.heldOut, from: r.chosenFrom },
  };
}

/** Moves every file of the bundle written at `from` into `to` (created if missing). */
async function moveBundle(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await Deno.rename(join(from, entry.name), join(to, entry.name));
  }
}
