import assert from "node:assert/strict";
import { join } from "node:path";
import { CaptureFileError, createCaptureFileStats, readCaptureFile } from "../capture/mod.ts";
import {
  DETECTION_METER_DEFAULTS,
  type FlowBatch,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  meterFlows,
  type ShardedFlowBatch,
} from "../features/mod.ts";
import { FileMeterShards } from "./file_meter_shards.ts";
import { addCounters, shareOfMeter } from "./meter_shards.ts";

const LAB = new URL("../../tests/fixtures/", import.meta.url).pathname;
const CAPTURES = [
  "lab/mixed/capture.pcap",
  "lab/syn-flood/capture.pcap",
  "lab/slowloris/capture.pcap",
  "lab-wide/benign/capture.pcap",
].map((path) => join(LAB, path));

/** Every column of every row, in order, as text (one line a row). */
function rowsOf(batch: FlowBatch): string[] {
  const rows: string[] = [];
  for (let i = 0; i < batch.count; i++) {
    rows.push(
      [
        Array.from(batch.features.subarray(i * batch.width, (i + 1) * batch.width)),
        Array.from(batch.srcAddr.subarray(i * 16, i * 16 + 16)),
        Array.from(batch.dstAddr.subarray(i * 16, i * 16 + 16)),
        batch.srcPort[i],
        batch.dstPort[i],
        batch.protocol[i],
        batch.ipVersion[i],
        batch.vlan[i],
        batch.startMicros[i],
        batch.endMicros[i],
        batch.connState[i],
        batch.endReason[i],
        batch.fwdPackets[i],
        batch.bwdPackets[i],
        batch.interim[i],
        batch.exportSeq[i],
      ].join("|"),
    );
  }
  return rows;
}

/** Counters without the tables' own sizes (two tables' high-water marks differ from one's). */
function comparable(counters: FlowMeterCounters): FlowMeterCounters {
  return { ...counters, tableBytes: 0 };
}

async function meterOnce(path: string, options: FlowMeterOptions) {
  const meter = new FlowMeter(options);
  const rows: string[] = [];
  for await (const batch of meterFlows(readCaptureFile(path), options, meter)) {
    rows.push(...rowsOf(batch));
  }
  return { rows, counters: comparable(meter.counters()) };
}

async function meterSharded(path: string, shards: number, options: FlowMeterOptions) {
  const sharded = new FileMeterShards(path, shards, options);
  const rows: string[] = [];
  for await (const batch of sharded.flows()) rows.push(...rowsOf(batch));
  return { rows, counters: comparable(sharded.counters()) };
}

/**
 * Shard meters on this thread (as the workers run them): every shard sees
 * every batch; their rows sorted by merge keys, as FileMeterShards merges them.
 */
async function meterShardsHere(path: string, shards: number, options: FlowMeterOptions) {
  const meters = Array.from(
    { length: shards },
    (_, index) =>
      new FlowMeter({ ...shareOfMeter(options, shards), shard: { index, count: shards } }),
  );
  const keyed: { a: number; b: number; shard: number; row: string }[] = [];
  const drain = (meter: FlowMeter, shard: number) => {
    for (const batch of meter.drain()) {
      const order = (batch as ShardedFlowBatch).order;
      rowsOf(batch).forEach((row, i) =>
        keyed.push({ a: order[2 * i], b: order[2 * i + 1], shard, row })
      );
      meter.recycle(batch);
    }
  };
  for await (const batch of readCaptureFile(path)) {
    meters.forEach((meter, shard) => {
      meter.push(batch);
      drain(meter, shard);
      while (meter.continueExpiry()) drain(meter, shard);
    });
  }
  meters.forEach((meter, shard) => {
    while (meter.flushStep()) drain(meter, shard);
    drain(meter, shard);
  });
  keyed.sort((x, y) => x.a - y.a || x.b - y.b || x.shard - y.shard);
  return {
    rows: keyed.map((k) => k.row),
    counters: comparable(meters.map((m) => m.counters()).reduce((s, c) => addCounters(s, c))),
  };
}

Deno.test("flow meter shards: their rows, merged by key, are one meter's rows in its order; counters add up to its", async () => {
  for (const path of CAPTURES) {
    const one = await meterOnce(path, {});
    assert.ok(one.rows.length > 10, `${path}: ${one.rows.length} flows`);
    for (const shards of [2, 3, 5]) {
      const many = await meterShardsHere(path, shards, {});
      assert.deepEqual(many.rows, one.rows, `${path}, ${shards} shards: rows`);
      assert.deepEqual(many.counters, one.counters, `${path}, ${shards} shards: counters`);
    }
  }
});

Deno.test("flow meter shards with the detection meter (memcap, interim rows): the same rows", async () => {
  // Interim rows leave each table in row order, which shards do not share: compared as a set.
  const options = { ...DETECTION_METER_DEFAULTS };
  for (const path of CAPTURES) {
    const one = await meterOnce(path, options);
    const many = await meterShardsHere(path, 2, options);
    assert.deepEqual([...many.rows].sort(), [...one.rows].sort(), path);
    assert.deepEqual({ ...many.counters, memcapBytes: 0 }, { ...one.counters, memcapBytes: 0 });
    assert.equal(many.counters.memcapBytes, options.memcapBytes, "the shards' memcaps add up");
  }
});

// One test for the worker threads: each test type-checks the worker module again (seconds).
Deno.test("sharded file metering in worker threads: one meter's rows, order, counters and errors; an early stop ends them", async (t) => {
  await t.step("rows, order and counters", async () => {
    const path = CAPTURES[0];
    const one = await meterOnce(path, {});
    const many = await meterSharded(path, 2, {});
    assert.deepEqual(many.rows, one.rows);
    assert.deepEqual(many.counters, one.counters);
  });
  await t.step(
    "a corrupt record ends with the same error after the same rows",
    corruptRecordEndsTheSame,
  );
  await t.step("a consumer that stops early ends the workers", earlyStopEndsTheWorkers);
});

async function corruptRecordEndsTheSame() {
  const bytes = await Deno.readFile(CAPTURES[0]);
  const view = new DataView(bytes.buffer);
  // Walk to the middle record and make its captured length impossible.
  let offset = 24, records = 0;
  const target = Math.floor(bytes.length / 2);
  while (offset < target) {
    offset += 16 + view.getUint32(offset + 8, true);
    records++;
  }
  assert.ok(records > 100);
  view.setUint32(offset + 8, 0x7fffffff, true);
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "corrupt.pcap");
    await Deno.writeFile(path, bytes);
    const single: string[] = [];
    const singleError = await (async () => {
      try {
        for await (const batch of meterFlows(readCaptureFile(path), {})) {
          single.push(...rowsOf(batch));
        }
      } catch (error) {
        return error;
      }
    })();
    assert.ok(singleError instanceof CaptureFileError);
    const stats = createCaptureFileStats(path);
    const sharded = new FileMeterShards(path, 2, {}, stats);
    const rows: string[] = [];
    const error = await (async () => {
      try {
        for await (const batch of sharded.flows()) rows.push(...rowsOf(batch));
      } catch (error) {
        return error;
      }
    })();
    assert.ok(error instanceof CaptureFileError, String(error));
    assert.equal(error.message, singleError.message);
    assert.deepEqual(rows, single);
    assert.equal(stats.error?.message, singleError.message);
    assert.equal(stats.packets, records, "the reader's statistics come back");
    assert.ok(sharded.finishedCounters(), "counters up to the damage");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function earlyStopEndsTheWorkers() {
  const sharded = new FileMeterShards(CAPTURES[0], 2, {});
  for await (const batch of sharded.flows()) {
    assert.ok(batch.count > 0);
    break;
  }
  assert.equal(sharded.finishedCounters(), null);
}

Deno.test("a sharded FlowMeter refuses a packet observer and a shard out of range", () => {
  const observer = { observe() {} };
  assert.throws(
    () => new FlowMeter({ shard: { index: 0, count: 2 }, packetObserver: observer }),
    /packet observer/,
  );
  assert.throws(() => new FlowMeter({ shard: { index: 2, count: 2 } }), /shard must be/);
  assert.throws(() => new FileMeterShards(CAPTURES[0], 0, {}), /whole number/);
});
