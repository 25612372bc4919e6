import assert from "node:assert/strict";
import { join } from "node:path";
import { countQueued, openDiskQueue } from "./disk_queue.ts";

const record = (i: number) => ({ i, pad: "x".repeat(200) });
type Rec = ReturnType<typeof record>;

async function drain(dir: string): Promise<number[]> {
  const queue = await openDiskQueue<Rec>(dir);
  const seen: number[] = [];
  for (let segment = await queue.peek(); segment; segment = await queue.peek()) {
    seen.push(...segment.records.map((r) => r.i));
    await queue.settle(segment.seq);
  }
  return seen;
}

Deno.test("disk queue: order across appends, prepends, a partial settle and a reopen", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const queue = await openDiskQueue<Rec>(dir);
    await queue.append([record(3), record(4)]);
    await queue.append([record(5)]);
    await queue.prepend([record(0), record(1), record(2)]);
    const head = (await queue.peek())!;
    await queue.settle(head.seq, head.records.slice(1));
    assert.equal(queue.size, 5);
    const reopened = await openDiskQueue<Rec>(dir);
    assert.equal(reopened.size, 5);
    assert.deepEqual(await drain(dir), [1, 2, 3, 4, 5]);
    const empty = await openDiskQueue<Rec>(dir);
    assert.equal(empty.size, 0);
    assert.equal(empty.bytes, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disk queue: bounded by bytes or records, oldest dropped and counted across reopens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const byBytes = await openDiskQueue<Rec>(join(dir, "bytes"), { maxBytes: 4096 });
    for (let i = 0; i < 30; i++) await byBytes.append([record(i)]);
    assert.ok(byBytes.bytes <= 4096, `${byBytes.bytes} bytes kept`);
    assert.ok(byBytes.dropped > 0);
    assert.equal(byBytes.size + byBytes.dropped, 30);
    assert.equal((await openDiskQueue<Rec>(join(dir, "bytes"))).dropped, byBytes.dropped);

    const byRecords = await openDiskQueue<Rec>(join(dir, "records"), { maxRecords: 3 });
    for (let i = 0; i < 5; i++) await byRecords.append([record(i)]);
    assert.equal(byRecords.size, 3);
    assert.equal(byRecords.dropped, 2);
    assert.deepEqual(await drain(join(dir, "records")), [2, 3, 4]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disk queue: a damaged line or a removed segment is skipped and counted once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const queue = await openDiskQueue<Rec>(dir);
    await queue.append([record(1), record(2), record(3)]);
    await queue.append([record(4)]);
    await queue.append([record(5)]);
    const files = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((n) =>
      n.endsWith(".jsonl")
    ).sort();
    const first = join(dir, files[0]);
    const lines = (await Deno.readTextFile(first)).split("\n");
    lines[1] = lines[1].slice(0, 20); // record 2 cut short
    await Deno.writeTextFile(first, lines.join("\n"));
    const reopened = await openDiskQueue<Rec>(dir);
    assert.equal(await countQueued(dir), 5, "lines on disk, the damaged one included");
    await Deno.remove(join(dir, files[1])); // record 4 gone while the queue is open
    assert.deepEqual((await reopened.peek())!.records.map((r) => r.i), [1, 3]);
    assert.deepEqual((await reopened.peek())!.records.map((r) => r.i), [1, 3]);
    assert.equal(reopened.dropped, 1, "the damaged line counted once");
    const seen: number[] = [];
    for (let segment = await reopened.peek(); segment; segment = await reopened.peek()) {
      seen.push(...segment.records.map((r) => r.i));
      await reopened.settle(segment.seq);
    }
    assert.deepEqual(seen, [1, 3, 5]);
    assert.equal(reopened.dropped, 2);
    assert.equal(reopened.size, 0);
    assert.equal((await openDiskQueue<Rec>(dir)).dropped, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
