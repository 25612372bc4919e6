/**
 * `ids-sensor flows --shards N`: worker threads meter shares of the flows and
 * the command prints exactly what one table prints (rows, order, summary).
 */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIXED = new URL("./fixtures/lab/mixed/capture.pcap", import.meta.url).pathname;

async function flows(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "flows", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The summary without its timing. */
const summary = (stderr: string) => stderr.replace(/ in [\d.]+ s \(\d+ packets\/s\)/, "");

Deno.test("flows --shards 2 prints what one table prints; --shards with --iface is refused", async () => {
  const one = await flows([MIXED]);
  const two = await flows([MIXED, "--shards", "2", "--format", "csv"]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.ok(one.stdout.split("\n").length > 50);
  assert.equal(two.stdout, one.stdout);
  assert.equal(summary(two.stderr), summary(one.stderr));
  const live = await flows(["--iface", "lo", "--shards", "2"]);
  assert.equal(live.code, 64, live.stderr);
  assert.match(live.stderr, /--shards meters a capture file/);
});
