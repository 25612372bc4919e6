import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { DEFAULT_ALERTS_PER_MINUTE, DEFAULT_MIN_UNKNOWN_FLOWS } from "../alert/mod.ts";
import { DEFAULT_MODEL_DIR, DEFAULT_WINDOW_SECONDS } from "../engine/mod.ts";
import { EXIT, UsageError } from "./exit.ts";
import {
  addThresholdOptions,
  detectionThresholds,
  durationOption,
  fraction,
  modelOption,
  nonNegativeInteger,
  port,
  positiveInteger,
  positiveNumber,
  positiveSeconds,
  probability,
  seconds,
  windowOption,
} from "./options.ts";

/** Asserts that `parse(text)` is refused with a usage error naming the flag and the text. */
function refuses(parse: (text: string) => number, text: string, what: RegExp) {
  assert.throws(() => parse(text), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.exitCode, EXIT.usage);
    assert.match(error.message, /^--x must be /);
    assert.match(error.message, what);
    assert.ok(error.message.endsWith(`got "${text}"`), error.message);
    return true;
  });
}

Deno.test("number parsers: each kind accepts its range and refuses the rest, naming the flag", () => {
  assert.equal(probability("--x")("1"), 1);
  assert.equal(probability("--x")("0.25"), 0.25);
  for (const bad of ["0", "1.5", "-0.1", "", " ", "abc", "NaN"]) {
    refuses(probability("--x"), bad, /probability in \(0, 1\]/);
  }
  assert.equal(fraction("--x")("0.01"), 0.01);
  for (const bad of ["0", "1", "2"]) refuses(fraction("--x"), bad, /fraction/);
  assert.equal(positiveNumber("--x")("1e-3"), 0.001);
  for (const bad of ["0", "-1", "Infinity"]) refuses(positiveNumber("--x"), bad, /above 0/);
  assert.equal(nonNegativeInteger("--x")("0"), 0);
  for (const bad of ["-1", "1.5"]) refuses(nonNegativeInteger("--x"), bad, /whole number of 0/);
  assert.equal(positiveInteger("--x")("3"), 3);
  for (const bad of ["0", "2.5"]) refuses(positiveInteger("--x"), bad, /whole number of 1/);
  assert.equal(port("--x")("65535"), 65535);
  for (const bad of ["0", "65536", "80.5"]) refuses(port("--x"), bad, /port \(1-65535\)/);
  assert.equal(seconds("--x")("0"), 0);
  assert.equal(seconds("--x")("2.5"), 2.5);
  refuses(seconds("--x"), "-1", /seconds, 0 or more/);
  refuses(positiveSeconds("--x"), "0", /seconds above 0/);
});

function program() {
  const command = new Command().exitOverride().addOption(modelOption()).addOption(windowOption())
    .addOption(durationOption());
  return addThresholdOptions(command);
}

Deno.test("shared options: typed numbers, defaults from the exported constants", () => {
  const defaults = program().parse([], { from: "user" }).opts();
  assert.equal(defaults.model, DEFAULT_MODEL_DIR);
  assert.equal(defaults.window, DEFAULT_WINDOW_SECONDS);
  assert.equal(defaults.duration, 0);
  assert.equal(defaults.minUnknownFlows, DEFAULT_MIN_UNKNOWN_FLOWS);
  assert.deepEqual(detectionThresholds(defaults), {
    threshold: undefined,
    anomalyThreshold: undefined,
    minUnknownFlows: DEFAULT_MIN_UNKNOWN_FLOWS,
    strongAnomalyThreshold: undefined,
    maxAlertsPerMinute: DEFAULT_ALERTS_PER_MINUTE,
  });
  const given = program().parse([
    "--threshold",
    "0.9",
    "--anomaly-threshold",
    "2",
    "--min-unknown-flows",
    "5",
    "--strong-anomaly-threshold",
    "4.5",
    "--window",
    "10",
    "--max-alerts-per-minute",
    "12",
  ], { from: "user" }).opts();
  assert.deepEqual(detectionThresholds(given), {
    threshold: 0.9,
    anomalyThreshold: 2,
    minUnknownFlows: 5,
    strongAnomalyThreshold: 4.5,
    maxAlertsPerMinute: 12,
  });
  assert.equal(given.window, 10);
});

Deno.test("shared options: a bad value is a usage error that names the flag", () => {
  assert.throws(
    () => program().parse(["--threshold", "0"], { from: "user" }),
    /--threshold must be a probability in \(0, 1\], got "0"/,
  );
  assert.throws(
    () => program().parse(["--min-unknown-flows", "0"], { from: "user" }),
    /--min-unknown-flows must be a whole number of 1 or more/,
  );
  assert.throws(
    () => program().parse(["--window", "0"], { from: "user" }),
    (e: unknown) => e instanceof UsageError && /--window/.test(e.message),
  );
});
