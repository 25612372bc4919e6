import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { readJsonlAlerts } from "../src/alert/sinks/mod.ts";

const N = 500;

/** Rows in the store's `alerts` table (0 while the child has not created it yet). */
function countRows(path: string): number {
  const db = new DatabaseSync(path);
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'alerts'").get();
    if (!table) return 0;
    return (db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

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
        // The SQLite sink still holds every row in its buffer (the JSONL sink writes on the
        // next tick by design, so only SQLite proves that the handler flushes).
        assert.equal(countRows(`${dir}/ids.db`), 0);
        child.kill(signal);
        const status = await child.status;
        reader.releaseLock();
        await child.stdout.cancel();
        assert.equal(status.code, 0);
        assert.equal((await readJsonlAlerts(`${dir}/alerts.jsonl`)).length, N);
        assert.equal(countRows(`${dir}/ids.db`), N);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
