/**
 * A lock file so two captures (two cron runs) never write the same folder at
 * once. Created with O_EXCL; it records the holder's pid and process start
 * time, so a lock left by a dead process (or a reused pid) is taken over.
 */

/** Who holds a lock. */
export interface LockHolder {
  pid: number;
  /** Kernel start time of the process (clock ticks since boot, /proc/PID/stat). */
  startTicks: number | null;
  acquired: string;
}

/** A held lock; release it when done. */
export interface CaptureLock {
  path: string;
  release(): void;
}

/** Thrown when another live process holds the lock. */
export class LockHeldError extends Error {
  readonly holder: LockHolder;
  constructor(path: string, holder: LockHolder) {
    super(`${path} is held by pid ${holder.pid} since ${holder.acquired}`);
    this.name = "LockHeldError";
    this.holder = holder;
  }
}

/**
 * Takes the lock at `path` or throws LockHeldError. A stale lock (holder
 * gone, or its pid now belongs to another process) is removed and retaken
 * once; a narrow race remains if two runs find the same stale lock at the
 * same instant.
 */
export function acquireCaptureLock(path: string): CaptureLock {
  const holder: LockHolder = {
    pid: Deno.pid,
    startTicks: processStartTicks(Deno.pid),
    acquired: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = Deno.openSync(path, { write: true, createNew: true });
      file.writeSync(new TextEncoder().encode(JSON.stringify(holder) + "\n"));
      file.close();
      return {
        path,
        release: () => {
          try {
            Deno.removeSync(path);
          } catch (error) {
            if (!(error instanceof Deno.errors.NotFound)) throw error;
          }
        },
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const existing = readHolder(path);
    if (existing && holderAlive(existing)) throw new LockHeldError(path, existing);
    try {
      Deno.removeSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const existing = readHolder(path);
  throw new LockHeldError(path, existing ?? { pid: 0, startTicks: null, acquired: "unknown" });
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path));
    if (typeof parsed?.pid !== "number") return null;
    return parsed as LockHolder;
  } catch {
    // Unreadable or half-written (the holder died mid-write): treat as stale.
    return null;
  }
}

function holderAlive(holder: LockHolder): boolean {
  const ticks = processStartTicks(holder.pid);
  if (ticks === null) return false;
  return holder.startTicks === null || holder.startTicks === ticks;
}

/** Start time of a process from /proc/PID/stat (field 22), or null when it does not exist. */
export function processStartTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}
