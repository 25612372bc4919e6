import assert from "node:assert/strict";
import { DistinctSketches, foldKey, HostTable, KEY_SEED, PROBES } from "./host_table.ts";

function put(table: HostTable, a: number, b = 0): number {
  table.key[0] = a;
  table.key[1] = b;
  const s = table.upsert();
  if (s >= 0) table.counters[s * table.fields]++;
  return s;
}

Deno.test("host table: a million distinct keys stay in the fixed capacity, every eviction counted", () => {
  const table = new HostTable(1024, 2, 2);
  const bytes = table.bytes;
  for (let k = 0; k < 1_000_000; k++) put(table, k, 7);
  assert.equal(table.capacity, 1024);
  assert(table.size <= 1024);
  assert.equal(table.bytes, bytes, "no growth");
  assert.equal(table.stats.inserted, 1_000_000);
  assert.equal(table.stats.inserted - table.stats.evicted, table.size);
});

Deno.test("host table: heavy hitters survive a churn of one-flow keys; pinned entries are never evicted", () => {
  const table = new HostTable(256, 2, 1);
  const heavy = put(table, 42);
  for (let k = 0; k < 100; k++) put(table, 42);
  const pinned = put(table, 43);
  table.group[pinned] = 1;
  for (let k = 0; k < 100_000; k++) put(table, 1000 + k);
  table.key[0] = 42;
  table.key[1] = 0;
  assert.equal(table.find(), heavy);
  assert.equal(table.counters[heavy], 101);
  table.key[0] = 43;
  assert.equal(table.find(), pinned);
  assert.equal(table.counters[pinned], 1);
});

Deno.test("host table: an eviction is reported by the upsert that made it, not by later upserts of existing keys", () => {
  const table = new HostTable(16, 1, 1);
  let evictions = 0;
  let evictedFlows = 0;
  let last = -1;
  for (let k = 0; k < 1000; k++) {
    last = put(table, k);
    if (table.evictedFlows > 0) {
      evictions++;
      evictedFlows += table.evictedFlows;
    }
    put(table, k);
    assert.equal(table.evictedFlows, 0, "an upsert of a live key evicts nothing");
  }
  assert(last >= 0);
  assert.equal(evictions, table.stats.evicted);
  // Every key got two flows before any eviction could reach it (the second put of its own turn).
  assert.equal(evictedFlows, 2 * table.stats.evicted);
});

Deno.test("host table: a window of pinned slots refuses a new key and counts it", () => {
  const table = new HostTable(16, 1, 1);
  for (let k = 0; k < 10_000 && table.stats.refused === 0; k++) {
    table.key[0] = k;
    const s = table.upsert();
    if (s >= 0) table.group[s] = 1;
  }
  assert.equal(table.size, 16);
  assert(table.stats.refused >= 1);
  assert(PROBES <= 16);
});

Deno.test("host table: reset forgets every entry at once", () => {
  const table = new HostTable(64, 1, 1);
  put(table, 5);
  put(table, 5);
  table.reset();
  assert.equal(table.size, 0);
  table.key[0] = 5;
  assert.equal(table.find(), -1);
  const again = put(table, 5);
  assert.equal(table.counters[again], 1, "counters start from zero");
});

Deno.test("distinct sketches: close for a few items, within 25% for 40,000", () => {
  const sketches = new DistinctSketches(2);
  const h = (k: number) => {
    let x = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
  for (let k = 0; k < 5; k++) sketches.add(0, h(k));
  for (let k = 0; k < 5; k++) sketches.add(0, h(k)); // repeats do not count
  assert(Math.abs(sketches.estimate(0) - 5) <= 1, `estimate ${sketches.estimate(0)}`);
  for (let k = 0; k < 40_000; k++) sketches.add(1, h(k));
  const e = sketches.estimate(1);
  assert(Math.abs(e - 40_000) < 10_000, `estimate ${e}`);
});

Deno.test("host table: a key hashed from a shared prefix lands where the whole key's hash puts it", () => {
  const table = new HostTable(1024, 3, 1);
  const slots: number[] = [];
  for (let k = 0; k < 40; k++) {
    table.key.set([0x0a000000 + k, k * 31, 6]);
    slots.push(table.upsert());
  }
  assert.equal(table.stats.evicted, 0);
  for (let k = 0; k < 40; k++) {
    table.key.set([0x0a000000 + k, k * 31, 6]);
    const prefix = foldKey(KEY_SEED, table.key, 0, 1);
    assert.equal(table.find(prefix, 1), slots[k]);
    assert.equal(table.upsert(foldKey(prefix, table.key, 1, 2), 2), slots[k]);
    assert.equal(table.created, false);
  }
});
