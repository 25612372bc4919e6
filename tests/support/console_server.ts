/**
 * Starts the real console (`ids-sensor serve` in a child process, port 0) for
 * API, browser and benchmark runs, and reads back its URL and token.
 */
import { repoRoot } from "./environment.ts";

/** A console child process. */
export interface ConsoleProcess {
  url: string;
  token: string;
  /** Everything it printed on stderr so far. */
  log(): string;
  /** SIGTERM, then waits for exit; returns the exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `ids-sensor serve --db DB --listen 127.0.0.1:0 ...extra` and waits for its URL.
 * `sensor` is the command that runs ids-sensor (default: this Deno, -A, this checkout's main.ts).
 */
export async function startConsoleProcess(
  db: string,
  extra: string[] = [],
  sensor: string[] = [Deno.execPath(), "run", "-A", `${repoRoot}main.ts`],
): Promise<ConsoleProcess> {
  const child = new Deno.Command(sensor[0], {
    args: [
      ...sensor.slice(1),
      "serve",
      "--db",
      db,
      "--listen",
      "127.0.0.1:0",
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  const deadline = Date.now() + 60_000;
  let url = "";
  while (!url) {
    const match = /console on (https?:\/\/[^\s]+)/.exec(text);
    if (match) url = match[1];
    else if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the console did not start within 60 s:\n${text}`);
    } else await new Promise((r) => setTimeout(r, 100));
  }
  const tokenPath = /token (?:written to|in) (\S+)/.exec(text)?.[1] ?? `${db}.token`;
  const token = (await Deno.readTextFile(tokenPath)).trim();
  return {
    url,
    token,
    log: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const status = await child.status;
      await pump.catch(() => {});
      return status.code;
    },
  };
}

/**
 * Starts the console with `sensor` (see startConsoleProcess) and checks that it serves the
 * login page, the dashboard and its assets (read from files at run time) with its token.
 */
export async function assertConsoleServes(db: string, sensor: string[]): Promise<void> {
  const server = await startConsoleProcess(db, [], sensor);
  try {
    const headers = { authorization: `Bearer ${server.token}` };
    for (const path of ["/login", "/", "/assets/app.js", "/assets/uPlot.iife.min.js"]) {
      const response = await fetch(`${server.url}${path}`, { headers });
      const body = await response.text();
      if (response.status !== 200 || body.length < 100) {
        throw new Error(`${path}: ${response.status} ${body.slice(0, 200)}\n${server.log()}`);
      }
    }
  } finally {
    await server.stop();
  }
  if (/Requires (read|write) access/.test(server.log())) {
    throw new Error(`the console was refused a file:\n${server.log()}`);
  }
}
