import assert from "node:assert/strict";
import { adviseHugePages } from "./native_memory.ts";

/** The kernel's transparent huge page mode ("always", "madvise" or "never"), or "" where unknown. */
function thpMode(): string {
  try {
    const text = Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled");
    return text.match(/\[(\w+)\]/)?.[1] ?? "";
  } catch {
    return "";
  }
}

/** The smaps block of the mapping holding `address`. */
function smapsOf(address: bigint): string {
  const blocks = Deno.readTextFileSync("/proc/self/smaps").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return blocks.find((block) => {
    const [from, to] = block.slice(0, block.indexOf(" ")).split("-").map((h) => BigInt(`0x${h}`));
    return from <= address && address < to;
  }) ?? "";
}

Deno.test("adviseHugePages marks a large table's 2 MiB-aligned part for huge pages", () => {
  const mode = thpMode();
  if (mode === "" || mode === "never") {
    console.log(`skipped: transparent huge pages are ${mode || "unknown"} on this kernel`);
    return;
  }
  assert.equal(adviseHugePages(new Float64Array(1024)), 0, "small arrays are left alone");
  const table = new Float64Array(16 * 1024 * 1024 / 8);
  const advised = adviseHugePages(table);
  // The aligned part of 16 MiB is at least 14 MiB whatever the array's alignment.
  assert.ok(advised >= 14 * 1024 * 1024 && advised <= table.byteLength, `${advised} bytes`);
  const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(table)));
  const middle = address + BigInt(table.byteLength / 2);
  const smaps = smapsOf(middle);
  assert.match(smaps, /VmFlags:.*\bhg\b/, "the mapping carries the huge page flag");
  table.fill(1); // values stay what is written
  assert.equal(table[table.length - 1] + table[0], 2);
});
