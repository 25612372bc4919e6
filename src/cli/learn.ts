/**
 * `ids-sensor learn`: a model bundle for this network from its normal
 * traffic (capture files, or a live interface for a while), keeping the base
 * bundle's known-attack classifier. See src/learn.
 */
import type { Command } from "@commander-js/extra-typings";
import { DEFAULT_MODEL_DIR } from "../engine/mod.ts";
import type { LearnError, LearnSummary } from "../learn/mod.ts";
import { type CliError, DataError, NoInputError, UsageError } from "./exit.ts";
import { fraction, nonNegativeInteger, positiveInteger } from "./options.ts";

/**
 * src/learn with the trainer it runs (onnx-proto, onnxruntime-web): loaded when
 * learning starts, so that commands which never learn do not carry them.
 */
async function loadLearning() {
  const [learn, { stderrProgress }] = await Promise.all([
    import("../learn/mod.ts"),
    import("../train/mod.ts"),
  ]);
  return { ...learn, stderrProgress };
}

/** A learning refusal as the CLI's error of the same kind (exit 64, 65 or 66); others as they are. */
function asCliError(error: unknown, refusal: typeof LearnError): CliError | unknown {
  if (!(error instanceof refusal)) return error;
  if (error.kind === "usage") return new UsageError(error.message);
  if (error.kind === "no-input") return new NoInputError(error.message);
  return new DataError(error.message);
}

/** One line per fact of a learning run, for the console. */
export function formatLearnSummary(s: LearnSummary): string {
  const lines = [
    `learned from ${s.flows} flows (${s.heldOutFlows} held out): bundle written to ${s.bundleDir}`,
    s.keptClassifier
      ? `classifier ${s.keptClassifier} kept from the base bundle`
      : "base bundle has no classifier: anomaly detection only",
    `anomaly threshold ${s.anomalyThreshold.toPrecision(4)}, strong ${
      s.strongThreshold.toPrecision(4)
    }; held-out benign flows above it: ${(100 * s.heldOutBenignFpr).toFixed(2)}%`,
    s.classGate ? `open-set gate carried over for ${s.classGate.join(", ")}` : "no open-set gate",
  ];
  if (s.packetMembersNotCarried.length) {
    lines.push(
      `packet members of the base bundle not carried over (${
        s.packetMembersNotCarried.join(", ")
      }): their thresholds fit another network; add them with ` +
        "`ids-sensor train --base-bundle BUNDLE --packet-models LIST --benign-pcap FILE`",
    );
  }
  for (const c of s.classThresholds) {
    lines.push(
      `  ${c.className}: threshold ${c.base} -> ${c.learned.toPrecision(4)} ` +
        `(benign quantile ${
          c.benignQuantile.toPrecision(4)
        }, ${c.benignAbove} benign flows at or above)`,
    );
  }
  return lines.join("\n");
}

/**
 * `detect --learn SECONDS`: learns this network on the first interface for
 * SECONDS (on top of `model`), writes the bundle to `learnOut` (default: a
 * temporary folder) and returns its path, for detection to start with.
 */
export async function learnBeforeDetecting(
  options: { learn: string; learnOut?: string; model: string; filter?: string },
  interfaces: string[],
): Promise<string> {
  const seconds = positiveInteger("--learn")(options.learn);
  const outDir = options.learnOut ??
    await Deno.makeTempDir({ prefix: "ids-sensor-learned-" });
  if (interfaces.length > 1) {
    console.error(`ids-sensor: learning on ${interfaces[0]} only (the first --iface)`);
  }
  console.error(
    `ids-sensor: learning normal traffic on ${interfaces[0]} for ${seconds} s before detecting`,
  );
  const { learnFromSources, stderrProgress } = await loadLearning();
  const summary = await learnFromSources(
    {
      iface: interfaces[0],
      durationSeconds: seconds,
      filter: options.filter,
      log: (line) => console.error(`ids-sensor: ${line}`),
    },
    options.model,
    { outDir, progress: stderrProgress(true) },
  );
  console.error(formatLearnSummary(summary));
  return outDir;
}

/** Registers the `learn` subcommand. */
export function registerLearn(program: Command): void {
  program
    .command("learn")
    .description(
      "Learn this network's normal traffic: refit the anomaly detector, its benign baseline and " +
        "thresholds on benign-only flows (capture files or a live interface), keep the base " +
        "bundle's known-attack classifier, write a new bundle",
    )
    .option("--capture <file...>", "capture file(s) of normal traffic (pcap/pcapng)")
    .option("--iface <name>", "capture normal traffic live on this interface (root)")
    .option("--duration <seconds>", "seconds of live capture", positiveInteger("--duration"))
    .option("--filter <bpf>", "BPF filter of the live capture")
    .option("--keep-capture <file.pcap>", "keep the live capture in this file")
    .requiredOption("--out <dir>", "bundle folder to write")
    .option("--base <dir>", "bundle whose classifier is kept", DEFAULT_MODEL_DIR)
    .option(
      "--target-fpr <f>",
      "anomaly false-positive rate on held-out benign flows",
      fraction("--target-fpr"),
      0.01,
    )
    .option(
      "--class-fpr <f>",
      "per attack class: fraction of benign flows allowed to reach its probability threshold",
      fraction("--class-fpr"),
      0.001,
    )
    .option("--epochs <n>", "autoencoder epochs", positiveInteger("--epochs"), 20)
    .option("--seed <n>", "random seed", nonNegativeInteger("--seed"), 1)
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      `
Examples:
  ids-sensor learn --capture normal.pcap --out models/site
  sudo ids-sensor learn --iface eth0 --duration 3600 --out models/site --base models/default

Exit codes: 0 learned, 64 bad command line, 65 unusable data (too few flows, a
file that is not a capture, a base bundle for another feature set), 66 a capture
file cannot be read, 77 live capture without permission.`,
    )
    .action(async (options) => {
      const log = options.quiet ? () => {} : (line: string) => console.error(line);
      if ((options.capture === undefined) === (options.iface === undefined)) {
        throw new UsageError("learn: give --capture FILE... or --iface NAME --duration SECONDS");
      }
      if (options.iface !== undefined && options.duration === undefined) {
        throw new UsageError("learn: --iface needs --duration SECONDS");
      }
      const { learnFromSources, LearnError, stderrProgress } = await loadLearning();
      const summary = await learnFromSources(
        {
          captures: options.capture,
          iface: options.iface,
          durationSeconds: options.duration,
          filter: options.filter,
          keepCapture: options.keepCapture,
          log,
        },
        options.base,
        {
          outDir: options.out,
          targetFpr: options.targetFpr,
          classFpr: options.classFpr,
          epochs: options.epochs,
          seed: options.seed,
          progress: stderrProgress(options.quiet),
        },
      ).catch((error) => {
        throw asCliError(error, LearnError);
      });
      console.log(formatLearnSummary(summary));
    });
}
