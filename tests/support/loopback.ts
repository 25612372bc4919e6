/**
 * Small helpers for tests that talk to real servers on loopback: a free
 * port, polling until something holds, and promtool's verdict on a
 * Prometheus exposition.
 */
import { toolAvailable } from "./environment.ts";

/** A TCP port on 127.0.0.1 nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Polls `probe` every 100 ms until it returns something other than
 * undefined or false (its value is returned; a throw counts as not yet);
 * fails naming `what` after `seconds`.
 */
export async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  seconds = 60,
): Promise<T> {
  for (let i = 0; i < seconds * 10; i++) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Why promtool checks cannot run here, or null. */
export function promtoolMissing(): string | null {
  return toolAvailable("promtool") ? null : "promtool missing (Debian package prometheus)";
}

/** `promtool check metrics` on `text`: exit code and everything it said. */
export async function promtoolCheck(text: string): Promise<{ code: number; said: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, said: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}
