/**
 * Every process the lab starts goes through a ProcessGroup, so that a normal
 * end, an error and Ctrl-C all stop the same set of processes. Each command is
 * wrapped in coreutils `timeout`, so even a process this program loses track
 * of (a crash, a SIGKILL of the orchestrator) stops by itself.
 */

/** Result of a finished command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for a command started in a namespace. */
export interface SpawnOptions {
  /** Hard limit; the command gets SIGTERM then SIGKILL 2 s later. */
  timeoutSeconds: number;
  /** Working directory (tools such as hydra write state files into it). */
  cwd?: string;
  /** Keep stdout/stderr (else discarded). */
  collectOutput?: boolean;
  /** Feed this text on stdin. */
  stdin?: string;
  /** Extra environment variables (passwords for clients that read them there). */
  env?: Record<string, string>;
}

/** Runs a command to completion outside any namespace and returns its output. */
export async function run(argv: string[], allowFailure = false): Promise<CommandResult> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (!allowFailure && out.code !== 0) {
    throw new Error(`command failed (${out.code}): ${argv.join(" ")}\n${result.stderr.trim()}`);
  }
  return result;
}

/** A started process: wait for it, or stop it. */
export interface LabProcess {
  readonly pid: number;
  readonly argv: string[];
  /** Resolves when the process exits (never rejects). */
  readonly done: Promise<CommandResult>;
  /** SIGTERM, then SIGKILL after `graceMs` if still running. */
  stop(graceMs?: number): Promise<CommandResult>;
}

/** Tracks the lab's processes so they can all be stopped at once. */
export class ProcessGroup {
  #live = new Map<number, LabProcess>();
  #closed = false;

  /** Number of processes still running. */
  get size(): number {
    return this.#live.size;
  }

  /** Starts `argv` inside network namespace `namespace`, bounded by a timeout. */
  spawnIn(namespace: string, argv: string[], options: SpawnOptions): LabProcess {
    if (this.#closed) throw new Error("process group is closed");
    const full = [
      "ip",
      "netns",
      "exec",
      namespace,
      "timeout",
      "--kill-after=2",
      `${Math.max(1, Math.ceil(options.timeoutSeconds))}`,
      ...argv,
    ];
    const output = options.collectOutput ? "piped" : "null";
    const child = new Deno.Command(full[0], {
      args: full.slice(1),
      cwd: options.cwd,
      env: options.env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: output,
      stderr: output,
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      writer.write(new TextEncoder().encode(options.stdin)).then(() => writer.close()).catch(
        () => {},
      );
    }
    const decoder = new TextDecoder();
    const done: Promise<CommandResult> = (async () => {
      try {
        if (options.collectOutput) {
          const out = await child.output();
          return {
            code: out.code,
            stdout: decoder.decode(out.stdout),
            stderr: decoder.decode(out.stderr),
          };
        }
        const status = await child.status;
        return { code: status.code, stdout: "", stderr: "" };
      } catch (error) {
        return { code: -1, stdout: "", stderr: String(error) };
      } finally {
        this.#live.delete(child.pid);
      }
    })();
    const handle: LabProcess = {
      pid: child.pid,
      argv,
      done,
      stop: async (graceMs = 2000) => {
        // `timeout` passes SIGTERM on to the tool it runs.
        signal(child, "SIGTERM");
        const timer = setTimeout(() => signal(child, "SIGKILL"), graceMs);
        try {
          return await done;
        } finally {
          clearTimeout(timer);
        }
      },
    };
    this.#live.set(child.pid, handle);
    return handle;
  }

  /** Runs a command in a namespace to completion. */
  async runIn(namespace: string, argv: string[], options: SpawnOptions): Promise<CommandResult> {
    return await this.spawnIn(namespace, argv, options).done;
  }

  /** Stops every running process and refuses new ones. */
  async stopAll(graceMs = 2000): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live.values()].map((p) => p.stop(graceMs)));
  }
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // Already exited.
  }
}
