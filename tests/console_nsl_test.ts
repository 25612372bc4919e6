/**
 * NSL-KDD prediction through the console: a bundle trained by `ids-sensor
 * train --format nsl-kdd` on the first 3,000 records of the shared NSL-KDD
 * file serves `POST /api/v1/predict` (format nsl-kdd) on 2,000 later records
 * it never saw, labelled and unlabelled. Skips when ../shared/data is absent.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot, sharedDataDir } from "./support/environment.ts";
import { startConsoleProcess } from "./support/console_server.ts";

const data = sharedDataDir();
const NSL = data ? `${data}nsl-kdd/` : null;
const present = NSL !== null && (() => {
  try {
    return Deno.statSync(`${NSL}KDDTrain+_20Percent.txt`).isFile;
  } catch {
    return false;
  }
})();
if (!present) console.warn("console_nsl_test skipped: ../shared/data/nsl-kdd not found");

Deno.test({
  name: "console: NSL-KDD records predicted by an NSL-KDD bundle, labelled and unlabelled",
  ignore: !present,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "console-nsl-" });
    const lines = (await Deno.readTextFile(`${NSL}KDDTrain+_20Percent.txt`)).trim().split("\n");
    await Deno.writeTextFile(join(dir, "train.txt"), lines.slice(0, 3000).join("\n") + "\n");
    for (const f of ["field-names.csv", "attack-types.csv"]) {
      await Deno.copyFile(`${NSL}${f}`, join(dir, f));
    }
    const trained = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${repoRoot}main.ts`,
        "train",
        "--csv",
        join(dir, "train.txt"),
        "--format",
        "nsl-kdd",
        "--out",
        join(dir, "model"),
        "--epochs",
        "2",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(trained.success, new TextDecoder().decode(trained.stderr));
    const server = await startConsoleProcess(join(dir, "ids.sqlite"), [
      "--nsl-model",
      join(dir, "model"),
    ]);
    try {
      const headers = { authorization: `Bearer ${server.token}` };
      const heldOut = lines.slice(10_000, 12_000);
      const predict = async (text: string) => {
        const form = new FormData();
        form.set("file", new File([text], "records.txt"));
        form.set("format", "nsl-kdd");
        const response = await fetch(`${server.url}/api/v1/predict`, {
          method: "POST",
          headers,
          body: form,
        });
        const job = await response.json();
        assert.equal(response.status, 202, JSON.stringify(job));
        for (let k = 0; k < 300; k++) {
          const done = await (await fetch(`${server.url}/api/v1/jobs/${job.id}?limit=10000`, {
            headers,
          })).json();
          if (done.state === "done" || done.state === "failed") return done;
          await new Promise((r) => setTimeout(r, 200));
        }
        throw new Error("the job did not finish");
      };
      const labelled = await predict(heldOut.join("\n"));
      assert.equal(labelled.state, "done", JSON.stringify(labelled));
      assert.equal(labelled.predictions_total, 2000);
      // Binary view of the records' own labels against the verdicts.
      let right = 0;
      for (const p of labelled.predictions) {
        const attack = p.label !== "normal";
        if (attack === (p.verdict !== "benign")) right++;
      }
      const accuracy = right / labelled.predictions.length;
      console.log(`NSL-KDD held-out attack-vs-normal accuracy through the console: ${accuracy}`);
      assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);

      // Without the label and difficulty columns (41 fields), as a live feed would give them.
      const bare = heldOut.slice(0, 500).map((l) => l.split(",").slice(0, 41).join(",")).join("\n");
      const unlabelled = await predict(bare);
      assert.equal(unlabelled.state, "done", JSON.stringify(unlabelled));
      assert.equal(unlabelled.predictions_total, 500);
      assert.ok(unlabelled.predictions.every((p: { label?: string }) => p.label === undefined));
      assert.deepEqual(
        unlabelled.predictions.map((p: { class: string }) => p.class),
        labelled.predictions.slice(0, 500).map((p: { class: string }) => p.class),
      );
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
