import assert from "node:assert/strict";
import { CommanderError } from "@commander-js/extra-typings";
import { CaptureFileError, LockHeldError } from "../capture/mod.ts";
import { ConfigError } from "../config/mod.ts";
import { PcapError } from "../ffi/mod.ts";
import { BundleError } from "../inference/mod.ts";
import { UnmatchedLabelsError } from "../label/mod.ts";
import {
  CantCreateError,
  DataError,
  EXIT,
  EXIT_CODES_HELP,
  exitCodeOf,
  NoInputError,
  UsageError,
} from "./exit.ts";

Deno.test("exitCodeOf: every kind of failure maps to its sysexits code", () => {
  const cases: [unknown, number][] = [
    [new UsageError("x"), 64],
    [new CommanderError(1, "commander.unknownOption", "x"), 64],
    [new CommanderError(0, "commander.helpDisplayed", "x"), 0],
    [new DataError("x"), 65],
    [new CaptureFileError("f", 24, "bad", 0), 65],
    [new BundleError("x"), 65],
    [new UnmatchedLabelsError("x"), 65],
    [new PcapError("bad-filter", "x"), 65],
    [new NoInputError("x"), 66],
    [new Deno.errors.NotFound("x"), 66],
    [new Deno.errors.IsADirectory("x"), 66],
    [new PcapError("no-such-device", "x"), 66],
    [new PcapError("library-missing", "x"), 69],
    [new Error("unexpected"), 70],
    [new CantCreateError("x"), 73],
    [new PcapError("output", "x"), 73],
    [new PcapError("capture", "x"), 74],
    [new LockHeldError("x", { pid: 1, acquired: "now" } as never), 75],
    [new Deno.errors.PermissionDenied("x"), 77],
    [new PcapError("permission-denied", "x"), 77],
    [new ConfigError("f.yaml", []), 78],
  ];
  for (const [error, code] of cases) {
    assert.equal(exitCodeOf(error), code, String(error));
  }
});

Deno.test("the exit-code help lists every code of EXIT", () => {
  for (const code of Object.values(EXIT)) {
    assert.match(EXIT_CODES_HELP, new RegExp(`\\n  ${code} `), `code ${code}`);
  }
});
