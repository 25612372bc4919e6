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

/** Starts `ids-sensor serve --db DB --listen 127.0.0.1:0 ...extra` and waits for its URL. */
export async function startConsoleProcess(
  db: string,
  extra: string[] = [],
): Promise<ConsoleProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${repoRoot}main.ts`,
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
