import assert from "node:assert/strict";
import { type BufferedMessage, openDiskBuffer } from "./disk_buffer.ts";

const message = (i: number): BufferedMessage => ({
  subject: "ids.s.alerts",
  id: `s-r-${i}`,
  data: JSON.stringify({ i, pad: "x".repeat(200) }),
});

Deno.test("disk buffer: order kept across appends, prepends and a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const buffer = await openDiskBuffer(dir);
    await buffer.append([message(3), message(4)]);
    await buffer.append([message(5)]);
    await buffer.prepend([message(1), message(2)]);
    assert.equal(buffer.size, 5);
    const reopened = await openDiskBuffer(dir);
    assert.equal(reopened.size, 5);
    const seen: number[] = [];
    for (let segment = await reopened.peek(); segment; segment = await reopened.peek()) {
      seen.push(...segment.records.map((m) => JSON.parse(m.data).i));
      await reopened.settle(segment.seq);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(reopened.size, 0);
    assert.equal(reopened.bytes, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disk buffer: a partly sent segment keeps the rest; full: oldest dropped and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const buffer = await openDiskBuffer(dir, { maxBytes: 4096 });
    await buffer.append([message(1), message(2), message(3)]);
    const head = (await buffer.peek())!;
    await buffer.settle(head.seq, head.records.slice(1));
    assert.deepEqual((await buffer.peek())!.records.map((m) => m.id), ["s-r-2", "s-r-3"]);
    for (let i = 10; i < 40; i++) await buffer.append([message(i)]);
    assert.ok(buffer.bytes <= 4096, `${buffer.bytes} bytes kept`);
    assert.ok(buffer.dropped > 0);
    assert.equal(buffer.size + buffer.dropped, 2 + 30);
    // The newest survive; the count survives a reopen.
    const reopened = await openDiskBuffer(dir, { maxBytes: 4096 });
    assert.equal(reopened.dropped, buffer.dropped);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
