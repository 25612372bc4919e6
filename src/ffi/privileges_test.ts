import assert from "node:assert/strict";
import { lookupUser } from "./privileges.ts";

Deno.test("getpwnam through FFI agrees with /etc/passwd", () => {
  const root = lookupUser("root");
  assert.deepEqual(root && [root.uid, root.gid, root.home], [0, 0, "/root"]);
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("nobody:")
  );
  if (line) {
    const [, , uid, gid, , home] = line.split(":");
    const nobody = lookupUser("nobody")!;
    assert.deepEqual([nobody.uid, nobody.gid, nobody.home], [Number(uid), Number(gid), home]);
  }
  assert.equal(lookupUser("no-such-user-ids-sensor"), null);
});

const root = Deno.uid() === 0;
if (!root) console.log("skipping the privilege drop test: it needs root");

Deno.test({
  name: "dropPrivileges: every thread becomes nobody, root cannot be regained",
  ignore: !root,
  async fn() {
    // In a child process: the test runner itself must stay root.
    const script = `
      import { dropPrivileges, currentIds } from "${new URL("./privileges.ts", import.meta.url)}";
      const w = new Worker("data:text/javascript,setInterval(()=>{},1000)", { type: "module" });
      await new Promise((r) => setTimeout(r, 200));
      const user = dropPrivileges("nobody");
      const tasks = [...Deno.readDirSync("/proc/self/task")].map((t) =>
        Deno.readTextFileSync("/proc/self/task/" + t.name + "/status").match(/^Uid:\\s+(.*)$/m)[1]);
      let wrote = true;
      try { Deno.writeTextFileSync("/root/.ids-sensor-priv-test", "x"); } catch { wrote = false; }
      console.log(JSON.stringify({ user, ids: currentIds(), tasks, wrote }));
      w.terminate();
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const result = JSON.parse(text);
    const uid = result.user.uid;
    assert.notEqual(uid, 0);
    assert.deepEqual(result.ids, { uid, euid: uid, gid: result.user.gid, egid: result.user.gid });
    assert.ok(result.tasks.length >= 2, "several threads");
    for (const t of result.tasks) assert.equal(t, `${uid}\t${uid}\t${uid}\t${uid}`);
    assert.equal(result.wrote, false);
  },
});
