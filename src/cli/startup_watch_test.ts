import assert from "node:assert/strict";
import { watchStartup } from "./startup_watch.ts";

Deno.test("startup watch: names the stage it is waiting for until done, then stays quiet", async () => {
  const lines: string[] = [];
  const watch = watchStartup((line) => lines.push(line), 20);
  watch.stage("capture workers on eth0");
  await new Promise((resolve) => setTimeout(resolve, 70));
  watch.stage("inference workers");
  await new Promise((resolve) => setTimeout(resolve, 70));
  watch.done();
  const seen = lines.length;
  await new Promise((resolve) => setTimeout(resolve, 70));
  assert.equal(lines.length, seen, "no line after done");
  assert(lines.some((l) => l.endsWith("waiting for capture workers on eth0")), lines.join("\n"));
  assert(lines.at(-1)!.endsWith("waiting for inference workers"), lines.join("\n"));
  assert.match(lines[0], /^ids-sensor: still starting after \d+ s: /);
});
