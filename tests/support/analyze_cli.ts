/**
 * Runs `ids-sensor analyze CAPTURE` (this checkout's main.ts) with its
 * alerts written to a temporary file: the alert lines as parsed JSON and
 * what it printed on stderr. Fails the test when it exits non-zero.
 */
import assert from "node:assert/strict";
import { repoRoot } from "./environment.ts";

export async function analyzeCapture<T>(
  capture: string,
  extraArgs: string[] = [],
): Promise<{ alerts: T[]; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ids-analyze-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${repoRoot}main.ts`,
        "analyze",
        capture,
        "--alerts",
        `${dir}/alerts.jsonl`,
        ...extraArgs,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const text = await Deno.readTextFile(`${dir}/alerts.jsonl`);
    return {
      alerts: text.split("\n").filter((line) => line).map((line) => JSON.parse(line)),
      stderr,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
