/**
 * One exit-code convention for every command: the BSD sysexits.h values, so
 * that cron mail, systemd and shell scripts can tell a typo from a missing
 * file from a bug. Errors carry their code (a {@link CliError}) or are
 * mapped by kind in {@link exitCodeOf}; main.ts prints one line and exits.
 */
import { CommanderError } from "@commander-js/extra-typings";
import { CaptureFileError, LockHeldError } from "../capture/mod.ts";
import { ConfigError } from "../config/mod.ts";
import { PcapError, PrivilegeError } from "../ffi/mod.ts";
import { BundleError } from "../inference/mod.ts";
import { UnmatchedLabelsError } from "../label/mod.ts";

/** Exit codes (sysexits.h). */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command line is wrong: unknown option, bad number, missing argument. */
  usage: 64,
  /** The input is unusable: corrupt capture, invalid bundle, labels that match nothing. */
  dataError: 65,
  /** An input file or interface does not exist or cannot be opened. */
  noInput: 66,
  /** A needed service or library is unavailable (libpcap missing). */
  unavailable: 69,
  /** A bug: an error nobody anticipated (set IDS_DEBUG=1 for the stack). */
  software: 70,
  /** An output file or folder cannot be created. */
  cantCreate: 73,
  /** Reading or writing failed while running (a capture that stopped). */
  ioError: 74,
  /** Try again later: another run holds the lock. */
  tempFail: 75,
  /** Permission denied (live capture without root or CAP_NET_RAW). */
  noPermission: 77,
  /** The configuration file is wrong. */
  config: 78,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/** An error that knows its exit code; printed as one line, without a stack trace. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode: ExitCode) {
    super(message);
  }
}

/** A mistake in how the command was called (64). */
export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** Input that exists but cannot be used (65). */
export class DataError extends CliError {
  override name = "DataError";
  constructor(message: string) {
    super(message, EXIT.dataError);
  }
}

/** Input that does not exist or cannot be opened (66). */
export class NoInputError extends CliError {
  override name = "NoInputError";
  constructor(message: string) {
    super(message, EXIT.noInput);
  }
}

/** Output that cannot be created (73). */
export class CantCreateError extends CliError {
  override name = "CantCreateError";
  constructor(message: string) {
    super(message, EXIT.cantCreate);
  }
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) {
    // --help and --version end with code 0 through the same path.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof ConfigError) return EXIT.config;
  if (error instanceof PcapError) return pcapExitCode(error);
  if (error instanceof PrivilegeError) return EXIT.noPermission;
  if (error instanceof LockHeldError) return EXIT.tempFail;
  if (
    error instanceof CaptureFileError || error instanceof BundleError ||
    error instanceof UnmatchedLabelsError
  ) {
    return EXIT.dataError;
  }
  if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
    return EXIT.noInput;
  }
  if (error instanceof Deno.errors.PermissionDenied) return EXIT.noPermission;
  if (error instanceof Deno.errors.BrokenPipe) return EXIT.ioError;
  return EXIT.software;
}

/**
 * Prints the error that ended a command as one line (commander has already
 * printed its own), the stack only with IDS_DEBUG set, and returns the exit code.
 */
export function reportError(error: unknown): ExitCode {
  const code = exitCodeOf(error);
  if (error instanceof CommanderError) return code;
  const message = error instanceof Error ? error.message : String(error);
  console.error(`ids-sensor: error: ${message}`);
  if (Deno.env.get("IDS_DEBUG") && error instanceof Error) console.error(error.stack);
  return code;
}

/** libpcap's failures by kind (the same table `capture` documents). */
export function pcapExitCode(error: PcapError): ExitCode {
  switch (error.kind) {
    case "bad-filter":
      return EXIT.dataError;
    case "no-such-device":
    case "interface-down":
      return EXIT.noInput;
    case "library-missing":
      return EXIT.unavailable;
    case "permission-denied":
      return EXIT.noPermission;
    case "output":
      return EXIT.cantCreate;
    default:
      return EXIT.ioError;
  }
}

/** The README's table, also printed by `ids-sensor --help`. */
export const EXIT_CODES_HELP = `
Exit codes (sysexits.h), the same for every command:
  0   done
  64  bad command line (unknown option, bad number, missing argument)
  65  unusable input (corrupt capture, invalid bundle or labels, bad BPF filter)
  66  no such input (file, folder or interface)
  69  libpcap is not installed (apt-get install libpcap0.8)
  70  internal error (IDS_DEBUG=1 prints the stack)
  73  cannot create an output file or folder
  74  I/O error while running
  75  locked by another run, try later
  77  permission denied (live capture needs root or CAP_NET_RAW)
  78  bad configuration file`;
