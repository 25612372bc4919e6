/**
 * Options several commands share, defined once: one parser per kind of
 * number (each names its flag and what it accepts), and the model, threshold,
 * unknown-rule and window options of `detect`, `analyze` and `eval`, with
 * defaults taken from the constants of the modules that use them. Values
 * arrive parsed and typed; a bad one is a {@link UsageError} (exit 64).
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { DEFAULT_ALERTS_PER_MINUTE, DEFAULT_MIN_UNKNOWN_FLOWS } from "../alert/mod.ts";
import {
  DEFAULT_MODEL_DIR,
  DEFAULT_WINDOW_SECONDS,
  type DetectionThresholds,
} from "../engine/mod.ts";
import { UsageError } from "./exit.ts";

/** Parses one option's text; throws a UsageError naming the flag. */
export type NumberParser = (text: string) => number;

function numberParser(
  flag: string,
  accepts: (value: number) => boolean,
  what: string,
): NumberParser {
  return (text) => {
    const value = text.trim() === "" ? NaN : Number(text);
    if (!Number.isFinite(value) || !accepts(value)) {
      throw new UsageError(`${flag} must be ${what}, got "${text}"`);
    }
    return value;
  };
}

/** A probability in (0, 1]: class thresholds. */
export const probability = (flag: string): NumberParser =>
  numberParser(flag, (v) => v > 0 && v <= 1, "a probability in (0, 1]");

/** A fraction in (0, 1), both ends excluded: target rates. */
export const fraction = (flag: string): NumberParser =>
  numberParser(flag, (v) => v > 0 && v < 1, "a fraction between 0 and 1 (both excluded)");

/** A number above 0: scores, anomaly thresholds. */
export const positiveNumber = (flag: string): NumberParser =>
  numberParser(flag, (v) => v > 0, "a number above 0");

/** A whole number of 0 or more: counts, seeds, trials. */
export const nonNegativeInteger = (flag: string): NumberParser =>
  numberParser(flag, (v) => Number.isInteger(v) && v >= 0, "a whole number of 0 or more");

/** A whole number of 1 or more: counts that cannot be zero. */
export const positiveInteger = (flag: string): NumberParser =>
  numberParser(flag, (v) => Number.isInteger(v) && v >= 1, "a whole number of 1 or more");

/** A TCP/UDP port, 1 to 65535. */
export const port = (flag: string): NumberParser =>
  numberParser(flag, (v) => Number.isInteger(v) && v >= 1 && v <= 65535, "a port (1-65535)");

/** A duration in seconds, 0 or more (0 usually means "no limit"). */
export const seconds = (flag: string): NumberParser =>
  numberParser(flag, (v) => v >= 0, "a number of seconds, 0 or more");

/** A duration in seconds above 0 (windows, intervals). */
export const positiveSeconds = (flag: string): NumberParser =>
  numberParser(flag, (v) => v > 0, "a number of seconds above 0");

/** `--model DIR` (default: the bundled model). */
export const modelOption = () =>
  new Option("--model <dir>", "model bundle folder").default(DEFAULT_MODEL_DIR);

/**
 * Adds the thresholds every scoring command shares: `--threshold`,
 * `--anomaly-threshold`, `--min-unknown-flows`, `--strong-anomaly-threshold`
 * (read back with {@link detectionThresholds}).
 */
// deno-lint-ignore no-explicit-any
export function addThresholdOptions<Args extends any[], Opts extends Record<string, unknown>>(
  command: Command<Args, Opts>,
) {
  return command
    .addOption(
      new Option(
        "--threshold <p>",
        "known-attack probability needed to alert (default: each class's calibrated threshold)",
      ).argParser(probability("--threshold")),
    )
    .addOption(
      new Option(
        "--anomaly-threshold <score>",
        "anomaly score needed to alert as unknown (default: the bundle's calibrated threshold)",
      ).argParser(positiveNumber("--anomaly-threshold")),
    )
    .addOption(
      new Option(
        "--min-unknown-flows <n>",
        "flows an unknown alert needs per source, target and window, with fan-out " +
          "(10 ports) or rate (20 flows at 2/s), unless two reach the strong threshold",
      ).argParser(positiveInteger("--min-unknown-flows")).default(DEFAULT_MIN_UNKNOWN_FLOWS),
    )
    .addOption(
      new Option(
        "--strong-anomaly-threshold <score>",
        "anomaly score at which a flow is strongly anomalous: two such flows of one source, " +
          "target and window are an unknown alert, one never is (default: twice the bundle's " +
          "strongThreshold; without one, unknown alerts need fan-out or rate)",
      ).argParser(positiveNumber("--strong-anomaly-threshold")),
    )
    .addOption(
      new Option(
        "--max-alerts-per-minute <n>",
        "alert lines per minute at most, whatever the input; what the cap holds back is counted " +
          "and reported",
      ).argParser(positiveInteger("--max-alerts-per-minute")).default(DEFAULT_ALERTS_PER_MINUTE),
    );
}

/** The parsed values of {@link addThresholdOptions}. */
export interface ThresholdOptionValues {
  threshold?: number;
  anomalyThreshold?: number;
  minUnknownFlows: number;
  strongAnomalyThreshold?: number;
  maxAlertsPerMinute?: number;
}

/** The engine's thresholds from the parsed options. */
export function detectionThresholds(options: ThresholdOptionValues): DetectionThresholds {
  return {
    threshold: options.threshold,
    anomalyThreshold: options.anomalyThreshold,
    minUnknownFlows: options.minUnknownFlows,
    strongAnomalyThreshold: options.strongAnomalyThreshold,
    maxAlertsPerMinute: options.maxAlertsPerMinute,
  };
}

/** `--window S`: the alert aggregation window. */
export const windowOption = () =>
  new Option("--window <seconds>", "alert aggregation window per source, target and class")
    .argParser(positiveSeconds("--window")).default(DEFAULT_WINDOW_SECONDS);

/** `--duration S` (0: until stopped). */
export const durationOption = (description = "stop after this many seconds (0 = until Ctrl-C)") =>
  new Option("--duration <seconds>", description).argParser(seconds("--duration")).default(0);
