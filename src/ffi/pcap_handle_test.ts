/**
 * The fmemopen batch path without a live interface: libpcap reads a capture
 * file (pcap_open_offline) and its own pcap_dump writes the records into a
 * SharedArrayBuffer through fmemopen, one pcap_dispatch per batch; the
 * records parsed in place must equal the packets written.
 */
import assert from "node:assert/strict";
import { createPacketBatch, encodePcap, parsePcapRecords } from "../capture/mod.ts";
import { loadLibpcap, MemoryDumpTarget } from "./mod.ts";
import { cString, errorBufferText } from "./libc.ts";

let libpcapReason: string | null = null;
try {
  loadLibpcap();
} catch (error) {
  libpcapReason = error instanceof Error ? error.message : String(error);
  console.warn(`fmemopen path tests: skipped, ${libpcapReason}`);
}

Deno.test({
  name: "ffi: pcap_dispatch + pcap_dump into fmemopen'd shared memory yields every packet intact",
  ignore: libpcapReason !== null,
  fn() {
    const packets = Array.from({ length: 5000 }, (_, i) => {
      const data = new Uint8Array(60 + (i * 37) % 1400).map((_, j) => (i + j) & 0xff);
      return {
        data,
        timestampMicros: 1_700_000_000_000_000 + i * 1234,
        wireLength: data.length + (i % 3),
      };
    });
    const path = Deno.makeTempFileSync({ suffix: ".pcap" });
    const pcap = loadLibpcap();
    const errorBuffer = new Uint8Array(256);
    try {
      Deno.writeFileSync(path, encodePcap(packets, { snapLength: 2048 }));
      const handle = pcap.symbols.pcap_open_offline(cString(path), errorBuffer);
      assert.ok(handle, errorBufferText(errorBuffer));
      // A small slot forces many dispatches and slot refills.
      const slotBytes = 64 << 10;
      const memory = new Uint8Array(new SharedArrayBuffer(slotBytes));
      const target = new MemoryDumpTarget(handle, memory);
      const largest = 16 + pcap.symbols.pcap_snapshot(handle);
      const batch = createPacketBatch(1024, 0);
      batch.data = memory;
      let seen = 0;
      let dispatches = 0;
      try {
        while (true) {
          target.rewind();
          let used = 0;
          for (let room = Math.floor((slotBytes - 1) / largest); room >= 1;) {
            const count = pcap.symbols.pcap_dispatch(
              handle,
              room,
              pcap.pcapDumpFunction,
              target.dumper,
            );
            assert.ok(count >= 0);
            dispatches++;
            if (count === 0) break;
            used = target.flushedEnd();
            room = Math.floor((slotBytes - 1 - used) / largest);
          }
          if (used === 0) break;
          for (let position = 0; position < used;) {
            batch.count = 0;
            const result = parsePcapRecords(memory, position, used, batch, 1, true, false);
            assert.equal(result.corruptAt, -1, result.corruptReason);
            assert.ok(result.consumed > 0);
            position += result.consumed;
            for (let i = 0; i < batch.count; i++, seen++) {
              const expected = packets[seen];
              assert.equal(batch.capturedLength[i], expected.data.length);
              assert.equal(batch.wireLength[i], expected.wireLength);
              assert.equal(batch.timestampMicros[i], expected.timestampMicros);
              const bytes = memory.subarray(
                batch.offset[i],
                batch.offset[i] + batch.capturedLength[i],
              );
              assert.deepEqual(bytes, expected.data);
            }
          }
        }
      } finally {
        target.close();
        pcap.symbols.pcap_close(handle);
      }
      assert.equal(seen, packets.length);
      assert.ok(dispatches > 100, `only ${dispatches} dispatches: slots were not refilled`);
    } finally {
      Deno.removeSync(path);
    }
  },
});
