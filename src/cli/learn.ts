/**
 * `ids-sensor learn`: a model bundle for this network from its normal
 * traffic (capture files, or a live interface for a while), keeping the base
 * bundle's known-attack classifier. See src/learn.
 */
import type { Command } from "@commander-js/extra-typings";
import { DEFAULT_MODEL_DIR } from "../engine/mod.ts";
import { learnFromSources, type LearnSummary } from "../learn/mod.ts";
import { stderrProgress } from "../train/mod.ts";

/** Exit codes of `learn` (sysexits.h). */
export const LEARN_EXIT = { ok: 0, usage: 64, dataError: 65, noInput: 66, software: 70 } as const;

function fraction(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!(n > 0 && n < 1)) {
      throw new Error(`${name} must be between 0 and 1 (exclusive), got "${value}"`);
    }
    return n;
  };
}

function wholeNumber(name: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`${name} must be a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
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
    .option("--duration <seconds>", "seconds of live capture", wholeNumber("--duration", 1))
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
    .option("--epochs <n>", "autoencoder epochs", wholeNumber("--epochs", 1), 20)
    .option("--seed <n>", "random seed", wholeNumber("--seed", 0), 1)
    .option("--quiet", "no progress output")
    .addHelpText(
      "after",
      `
Examples:
  ids-sensor learn --capture normal.pcap --out models/site
  sudo ids-sensor learn --iface eth0 --duration 3600 --out models/site --base models/default

Exit codes: 0 learned, 64 bad command line, 65 unusable data (too few flows,
base bundle unfit), 66 a capture file or the base bundle cannot be read, 70 internal error.`,
    )
    .action(async (options) => {
      const log = options.quiet ? () => {} : (line: string) => console.error(line);
      if ((options.capture === undefined) === (options.iface === undefined)) {
        console.error("learn: give --capture FILE... or --iface NAME --duration SECONDS");
        Deno.exit(LEARN_EXIT.usage);
      }
      if (options.iface !== undefined && options.duration === undefined) {
        console.error("learn: --iface needs --duration SECONDS");
        Deno.exit(LEARN_EXIT.usage);
      }
      try {
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
        );
        console.log(formatLearnSummary(summary));
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        console.error(`learn: ${text}`);
        const code = /cannot read|No such file|not found/i.test(text)
          ? LEARN_EXIT.noInput
          : /needs at least|does not fit|corrupt|not a capture|other columns|invalid bundle/i
              .test(text)
          ? LEARN_EXIT.dataError
          : LEARN_EXIT.software;
        Deno.exit(code);
      }
    });
}
