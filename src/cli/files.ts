/**
 * Files a command reads and writes, checked before any work starts: a
 * missing input or an unwritable output is found in a second, not after an
 * hour of metering or training, and an existing output is never truncated
 * before the new one is complete (written beside it, then renamed over it).
 */
import { basename, dirname, join } from "node:path";
import { CantCreateError, CliError, DataError, EXIT, NoInputError } from "./exit.ts";

/** Checks that `path` is a readable file; `what` names it in the message ("capture file"). */
export async function checkInputFile(path: string, what: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw inputError(error, path, what);
  }
  if (info.isDirectory) throw new NoInputError(`${what} ${path} is a directory, not a file`);
  // A FIFO or device (`analyze <(tcpdump -w - ...)`) would block or lose data to a probe open.
  if (!info.isFile) return;
  try {
    (await Deno.open(path, { read: true })).close();
  } catch (error) {
    throw inputError(error, path, what);
  }
}

function inputError(error: unknown, path: string, what: string): Error {
  if (error instanceof Deno.errors.NotFound) {
    return new NoInputError(`${what} ${path} does not exist`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new CliError(`cannot read ${what} ${path}: permission denied`, EXIT.noPermission);
  }
  return new NoInputError(`cannot read ${what} ${path}: ${messageOf(error)}`);
}

/**
 * Checks a `--db` path before any work: absent (it will be created) or a
 * SQLite file; anything else is refused with its path.
 */
export async function checkSqliteFile(path: string, flag = "--db"): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new CliError(`${flag} ${path}: ${messageOf(error)}`, EXIT.noInput);
  }
  if (info.isDirectory) throw new CantCreateError(`${flag} ${path} is a directory, not a file`);
  if (info.size === 0) return;
  const file = await Deno.open(path, { read: true });
  try {
    const header = new Uint8Array(16);
    const read = await file.read(header);
    if (read !== 16 || new TextDecoder().decode(header) !== "SQLite format 3\0") {
      throw new DataError(`${flag} ${path} is not a SQLite database (give a new file or a store)`);
    }
  } finally {
    file.close();
  }
}

/**
 * Makes an output file's folder exist (`--alerts logs/eve.jsonl` into a new
 * folder works, as Suricata's log folder does); a folder that cannot be made,
 * or an output that is a folder, is refused with the flag and path.
 */
export async function prepareOutputFile(path: string, flag: string): Promise<void> {
  const folder = dirname(path);
  try {
    await Deno.mkdir(folder, { recursive: true });
  } catch (error) {
    throw new CantCreateError(
      `${flag} ${path}: cannot create its folder ${folder}: ${messageOf(error)}`,
    );
  }
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isDirectory) throw new CantCreateError(`${flag} ${path} is a directory, not a file`);
}

/**
 * Identity of an input file for "the same file again": its real path, size
 * and modification time.
 */
export async function fileIdentity(path: string): Promise<string> {
  const real = await Deno.realPath(path);
  const info = await Deno.stat(real);
  return `${real}:${info.size}:${info.mtime?.getTime() ?? 0}`;
}

/** An output file being written beside its final name. */
export interface AtomicOutput {
  /** Where the bytes go (the temporary file). */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes the stream and renames the temporary file to the final name. */
  commit(): Promise<void>;
  /** Closes the stream and removes the temporary file; the final name is untouched. */
  abort(): Promise<void>;
}

/**
 * Opens a temporary file in the folder of `path` (so the final rename stays
 * on one file system); fails now, naming `path`, when it cannot be created.
 */
export async function openAtomicOutput(path: string): Promise<AtomicOutput> {
  await refuseDirectory(path);
  const temporary = join(dirname(path), `.${basename(path)}.${Deno.pid}.partial`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  } catch (error) {
    throw outputError(error, path);
  }
  const writer = file.writable;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await writer.close().catch(() => {});
  };
  return {
    writable: writer,
    async commit() {
      await close();
      await Deno.rename(temporary, path);
    },
    async abort() {
      await close();
      await Deno.remove(temporary).catch(() => {});
    },
  };
}

/**
 * Checks that a folder output (a model bundle) can be made at `dir`: creates
 * it if missing and writes a probe file. An existing folder must be empty or
 * hold a bundle (`bundle.json`), so that `--out .` never mixes a bundle into
 * unrelated files.
 */
export async function checkOutputFolder(dir: string, keeps = "bundle.json"): Promise<void> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new CantCreateError(`cannot write ${dir}: it is a file`);
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
    if (entries.length > 0 && !entries.includes(keeps)) {
      throw new CantCreateError(
        `${dir} exists and holds other files (no ${keeps}): give a new or empty folder`,
      );
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) throw outputError(error, dir);
  }
  const probe = join(dir, `.probe.${Deno.pid}`);
  const existed = await Deno.stat(dir).then(() => true, () => false);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
    // Only a probe: a failed run must not leave an empty folder behind.
    if (!existed) await Deno.remove(dir);
  } catch (error) {
    throw outputError(error, dir);
  }
}

async function refuseDirectory(path: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isDirectory) throw new CantCreateError(`cannot write ${path}: it is a directory`);
}

function outputError(error: unknown, path: string): Error {
  if (error instanceof Deno.errors.NotFound) {
    return new CantCreateError(`cannot write ${path}: folder ${dirname(path)} does not exist`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new CantCreateError(`cannot write ${path}: permission denied`);
  }
  return new CantCreateError(`cannot write ${path}: ${messageOf(error)}`);
}

/**
 * Writes to stdout until the reader goes away: true while the pipe is open,
 * false once it closed (`flows ... | head`), which ends the command quietly
 * as Unix tools do.
 */
export async function writeToPipe(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  bytes: Uint8Array,
): Promise<boolean> {
  try {
    await writer.write(bytes);
    return true;
  } catch (error) {
    if (isClosedPipe(error)) return false;
    throw error;
  }
}

/** Whether `error` says the reading end of a pipe is gone (EPIPE). */
export function isClosedPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    (error instanceof Error && /broken pipe|os error 32/i.test(error.message));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
