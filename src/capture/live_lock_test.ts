/** The capture lock: exclusive while its holder lives, taken over once it is gone. */
import assert from "node:assert/strict";
import { acquireCaptureLock, LockHeldError, processStartTicks } from "./live_lock.ts";

const procReason = processStartTicks(Deno.pid) === null ? "needs /proc" : null;
if (procReason) console.warn(`capture lock tests: skipped, ${procReason}`);

Deno.test({
  name: "capture lock: a second acquire fails while held, succeeds after release",
  ignore: procReason !== null,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const path = `${dir}/.capture.lock`;
      const lock = acquireCaptureLock(path);
      assert.equal(JSON.parse(Deno.readTextFileSync(path)).pid, Deno.pid);
      assert.throws(() => acquireCaptureLock(path), (error) => {
        assert(error instanceof LockHeldError);
        assert.equal(error.holder.pid, Deno.pid);
        return true;
      });
      lock.release();
      assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
      acquireCaptureLock(path).release();
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture lock: a dead holder, a reused pid or a garbled file is stale and taken over",
  ignore: procReason !== null,
  async fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const path = `${dir}/.capture.lock`;
      const dead = new Deno.Command("true").spawn();
      await dead.status;
      const stale = [
        JSON.stringify({ pid: dead.pid, startTicks: null, acquired: "x" }),
        // Our own pid, but a different start time: the pid was reused.
        JSON.stringify({
          pid: Deno.pid,
          startTicks: processStartTicks(Deno.pid)! + 1,
          acquired: "x",
        }),
        "{ half-written",
      ];
      for (const content of stale) {
        Deno.writeTextFileSync(path, content);
        const lock = acquireCaptureLock(path);
        assert.equal(JSON.parse(Deno.readTextFileSync(path)).pid, Deno.pid);
        lock.release();
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
