import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { readJsonlAlerts } from "../src/alert/sinks/mod.ts";

const N = 500;

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name: `${signal}: queued alerts reach the JSONL and SQLite sinks before exit`,
    ignore: Deno.build.os === "windows",
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            new URL("./support/sink_signal_child.ts", import.meta.url).pathname,
            dir,
            String(N),
          ],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const reader = child.stdout.getReader();
        let seen = "";
        while (!seen.includes("ready")) {
          const { value, done } = await reader.read();
          if (done) break;
          seen += new TextDecoder().decode(value);
        }
        assert(seen.includes("ready"), "child did not start");
        // Nothing is on disk yet: the buffers hold everything.
        assert.equal((await readJsonlAlerts(`${dir}/alerts.jsonl`)).length, 0);
        child.kill(signal);
        const status = await child.status;
        reader.releaseLock();
        await child.stdout.cancel();
        assert.equal(status.code, 0);
        assert.equal((await readJsonlAlerts(`${dir}/alerts.jsonl`)).length, N);
        const db = new DatabaseSync(`${dir}/ids.db`);
        try {
          assert.equal(
            (db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number }).n,
            N,
          );
        } finally {
          db.close();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
