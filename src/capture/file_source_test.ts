import assert from "node:assert/strict";
import {
  CaptureFileError,
  createCaptureFileStats,
  encodePcap,
  type PacketToWrite,
  readCaptureFile,
  type ReadCaptureFileOptions,
} from "./mod.ts";
import { sharedCaptures, toolAvailable } from "../../tests/support/environment.ts";

/** Packets whose first four bytes hold their index, so content can be checked. */
function numberedPackets(count: number, size: (i: number) => number): PacketToWrite[] {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(size(i));
    new DataView(data.buffer).setUint32(0, i);
    for (let j = 4; j < data.length; j++) data[j] = (i + j) & 0xff;
    return { data, timestampMicros: 1_700_000_000_000_000 + i * 1001, wireLength: size(i) + 7 };
  });
}

/** Runs `fn`, asserts it rejects with a CaptureFileError, returns that error. */
async function rejectsWith(fn: () => Promise<unknown>): Promise<CaptureFileError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof CaptureFileError, String(error));
    return error;
  }
  throw new assert.AssertionError({ message: "expected a CaptureFileError" });
}

async function writeTemp(bytes: Uint8Array, suffix = ".pcap"): Promise<string> {
  const path = await Deno.makeTempFile({ suffix });
  await Deno.writeFile(path, bytes);
  return path;
}

interface Collected {
  indexes: number[];
  timestamps: number[];
  wire: number[];
  contentOk: boolean;
}

async function collect(path: string, options: ReadCaptureFileOptions = {}): Promise<Collected> {
  const out: Collected = { indexes: [], timestamps: [], wire: [], contentOk: true };
  for await (const batch of readCaptureFile(path, options)) {
    for (let i = 0; i < batch.count; i++) {
      const at = batch.offset[i];
      const length = batch.capturedLength[i];
      const view = new DataView(batch.data.buffer, batch.data.byteOffset + at, length);
      const index = view.getUint32(0);
      for (let j = 4; j < length; j++) {
        if (batch.data[at + j] !== ((index + j) & 0xff)) out.contentOk = false;
      }
      out.indexes.push(index);
      out.timestamps.push(batch.timestampMicros[i]);
      out.wire.push(batch.wireLength[i]);
    }
  }
  return out;
}

Deno.test("capture file: every pcap variant (endianness, ns) reads back exactly", async () => {
  const packets = numberedPackets(50, (i) => 60 + i);
  for (const littleEndian of [true, false]) {
    for (const nanosecond of [true, false]) {
      const path = await writeTemp(encodePcap(packets, { littleEndian, nanosecond }));
      const got = await collect(path);
      assert.deepEqual(got.indexes, packets.map((_, i) => i));
      assert.deepEqual(got.timestamps, packets.map((p) => p.timestampMicros));
      assert.deepEqual(got.wire, packets.map((p) => p.wireLength));
      assert.ok(got.contentOk);
      await Deno.remove(path);
    }
  }
});

Deno.test("capture file: packets straddling chunk and batch boundaries arrive intact", async () => {
  const packets = numberedPackets(3000, (i) => 64 + ((i * 37) % 1400));
  const path = await writeTemp(encodePcap(packets));
  const stats = createCaptureFileStats(path);
  // The smallest chunk the reader allows (about 0.5 MiB) against a 2.3 MB file.
  const got = await collect(path, { chunkBytes: 1, batchSize: 97, stats });
  assert.deepEqual(got.indexes.length, 3000);
  assert.deepEqual(got.indexes, packets.map((_, i) => i));
  assert.ok(got.contentOk);
  assert.deepEqual(stats.packets, 3000);
  assert.deepEqual(stats.format, "pcap");
  assert.deepEqual(stats.truncatedTail, null);
  await Deno.remove(path);
});

Deno.test("capture file: a consumer that stops early leaves no read ahead in flight", async () => {
  const packets = numberedPackets(3000, (i) => 64 + ((i * 37) % 1400));
  const path = await writeTemp(encodePcap(packets));
  // Small chunks: while the first batch is out, the next bytes are being read ahead; leaving
  // the loop must wait for that read before closing the file (the test's op sanitizer checks).
  for (const stopAfter of [1, 5]) {
    let batches = 0;
    for await (const _ of readCaptureFile(path, { chunkBytes: 1, batchSize: 97 })) {
      if (++batches === stopAfter) break;
    }
    assert.deepEqual(batches, stopAfter);
  }
  await Deno.remove(path);
});

Deno.test("capture file: truncated at every length, complete packets survive and the tail is reported", async () => {
  const packets = numberedPackets(6, (i) => 40 + i * 3);
  const whole = encodePcap(packets);
  const recordEnds: number[] = [];
  let at = 24;
  for (const p of packets) recordEnds.push(at += 16 + p.data.length);
  for (let length = 0; length < whole.length; length++) {
    const path = await writeTemp(whole.subarray(0, length));
    const stats = createCaptureFileStats(path);
    if (length < 24) {
      const error = await rejectsWith(() => collect(path, { stats }));
      assert.deepEqual(error.offset, 0);
      assert.ok(/empty|ends inside|not a pcap/.test(error.message), error.message);
    } else {
      const got = await collect(path, { stats });
      const complete = recordEnds.filter((end) => end <= length).length;
      assert.deepEqual(got.indexes.length, complete, `length ${length}`);
      assert.ok(got.contentOk);
      const onBoundary = length === 24 || recordEnds.includes(length);
      assert.deepEqual(stats.truncatedTail === null, onBoundary, `length ${length}`);
      if (!onBoundary) {
        assert.deepEqual(
          stats.truncatedTail!.offset,
          complete === 0 ? 24 : recordEnds[complete - 1],
        );
        assert.deepEqual(stats.skippedPackets["truncated-record"], 1);
      }
    }
    await Deno.remove(path);
  }
});

Deno.test("capture file: an impossible record length stops with its file offset after the good packets", async () => {
  const packets = numberedPackets(10, () => 100);
  const bytes = encodePcap(packets);
  const badRecord = 24 + 4 * (16 + 100);
  new DataView(bytes.buffer).setUint32(badRecord + 8, 0x7fffffff, true);
  const path = await writeTemp(bytes);
  const seen: number[] = [];
  const error = await rejectsWith(async () => {
    for await (const batch of readCaptureFile(path)) {
      for (let i = 0; i < batch.count; i++) seen.push(batch.offset[i]);
    }
  });
  assert.deepEqual(error.offset, badRecord);
  assert.deepEqual(error.packetsBefore, 4);
  assert.deepEqual(seen.length, 4);
  assert.ok(error.message.includes(`offset ${badRecord}`));

  // With onError "stop" the same damage is recorded instead of thrown.
  const stats = createCaptureFileStats(path);
  const got = await collect(path, { stats, onError: "stop" });
  assert.deepEqual(got.indexes, [0, 1, 2, 3]);
  assert.deepEqual(stats.error?.offset, badRecord);
  await Deno.remove(path);
});

Deno.test("capture file: a file that is not a capture is refused clearly", async () => {
  const path = await writeTemp(
    new TextEncoder().encode("Source IP,Destination IP\n1.2.3.4,5.6.7.8\n"),
  );
  const error = await rejectsWith(() => collect(path));
  assert.ok(error.message.includes("not a pcap or pcapng file"), error.message);
  await Deno.remove(path);
});

const captures = sharedCaptures();
const tshark = toolAvailable("tshark");

Deno.test({
  name: "capture file: packet counts and timestamps equal tshark's on every shared capture",
  ignore: captures.length === 0 || !tshark,
  async fn() {
    for (const path of captures) {
      const output = new Deno.Command("tshark", {
        args: ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const rows = new TextDecoder().decode(output.stdout).trim().split("\n").filter((l) => l);
      const timestamps: number[] = [];
      const lengths: number[] = [];
      for await (const batch of readCaptureFile(path)) {
        for (let i = 0; i < batch.count; i++) {
          timestamps.push(batch.timestampMicros[i]);
          lengths.push(batch.wireLength[i]);
        }
      }
      assert.deepEqual(timestamps.length, rows.length, path);
      rows.forEach((row, i) => {
        const [epoch, length] = row.split("\t");
        assert.deepEqual(lengths[i], Number(length), `${path} packet ${i + 1} length`);
        // tshark prints nanoseconds; compare to the microsecond.
        assert.ok(
          Math.abs(timestamps[i] - Number(epoch) * 1e6) < 2,
          `${path} packet ${i + 1} time`,
        );
      });
    }
  },
});

Deno.test({
  name: "capture file: every truncation of a real pcapng keeps the complete packets",
  ignore: captures.length === 0,
  async fn() {
    const path = captures.find((p) => p.endsWith("tcp_handshake.pcapng"));
    if (!path) return;
    const whole = await Deno.readFile(path);
    const full = createCaptureFileStats(path);
    for await (const _ of readCaptureFile(path, { stats: full })) { /* count */ }
    let previous = 0;
    for (let length = 0; length <= whole.length; length += 7) {
      const cut = await writeTemp(whole.subarray(0, length), ".pcapng");
      const stats = createCaptureFileStats(cut);
      try {
        for await (const _ of readCaptureFile(cut, { stats })) { /* count */ }
      } catch (error) {
        // Only a cut inside the first section header may be refused outright.
        assert.ok(error instanceof CaptureFileError, String(error));
        assert.deepEqual(stats.packets, 0);
      }
      assert.ok(stats.packets >= previous && stats.packets <= full.packets);
      previous = stats.packets;
      await Deno.remove(cut);
    }
  },
});

Deno.test({
  name: "capture file: real pcapng files larger than a chunk read the same through the read-ahead",
  ignore: captures.length === 0,
  async fn() {
    // The smallest chunk (about 0.5 MiB) splits these files, so blocks straddle buffer swaps.
    const large = captures.filter((p) => p.endsWith(".pcapng") && Deno.statSync(p).size > 600_000);
    assert.ok(large.length > 0);
    for (const path of large) {
      const read = async (options: ReadCaptureFileOptions) => {
        const rows: string[] = [];
        for await (const batch of readCaptureFile(path, options)) {
          for (let i = 0; i < batch.count; i++) {
            const at = batch.offset[i],
              bytes = batch.data.subarray(at, at + batch.capturedLength[i]);
            rows.push(`${batch.timestampMicros[i]} ${batch.linkType[i]} ${bytes.join(",")}`);
          }
        }
        return rows;
      };
      assert.deepEqual(await read({ chunkBytes: 1, batchSize: 97 }), await read({}), path);
    }
  },
});

if (captures.length === 0) {
  console.warn("capture_file_test: ../shared/data/pcaps absent, real-capture tests skipped");
}
if (!tshark) console.warn("capture_file_test: tshark not installed, tshark comparison skipped");
