import assert from "node:assert/strict";
import { countSpooled, openSpool } from "./spool.ts";
import { numberedAlert as sampleAlert } from "../../tests/support/sample_alert.ts";
import type { NotifyMessage } from "./message.ts";

const msg = (k: number): NotifyMessage => ({ type: "alert", alert: sampleAlert(k) });
const id = (m: NotifyMessage | null) => m?.type === "alert" ? m.alert.src_port - 40000 : -1;

Deno.test("spool keeps order across reopen, prepend goes first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = await openSpool(dir);
    await spool.append([msg(1), msg(2), msg(3)]);
    await spool.prepend(msg(0));
    const again = await openSpool(dir);
    assert.equal(again.size, 4);
    const seen: number[] = [];
    for (let m = await again.peek(); m; m = await again.peek()) {
      seen.push(id(m));
      await again.shift();
    }
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(again.size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a full spool drops the oldest and counts them, across restarts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spool = await openSpool(dir, { maxMessages: 3 });
    await spool.append([msg(1), msg(2), msg(3), msg(4), msg(5)]);
    assert.equal(spool.size, 3);
    assert.equal(spool.dropped, 2);
    assert.equal(id(await spool.peek()), 3);
    const again = await openSpool(dir, { maxMessages: 3 });
    assert.equal(again.dropped, 2);
    assert.equal(again.size, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a spool left by the one-file-per-message version is taken over, nothing lost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/1000000000000000.json`, JSON.stringify(msg(7)));
    await Deno.writeTextFile(`${dir}/1000000000000001.json`, JSON.stringify(msg(8)));
    assert.equal(await countSpooled(dir), 2);
    const spool = await openSpool(dir);
    assert.equal(spool.size, 2);
    assert.equal(id(await spool.peek()), 7);
    await spool.shift();
    assert.equal(id(await spool.peek()), 8);
    assert.equal(spool.dropped, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
