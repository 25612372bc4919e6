/**
 * Measures the libpcap FFI paths on a capture file:
 * - "fmemopen": pcap_open_offline + pcap_dispatch with pcap_dump writing into
 *   memory (the live path's mechanism), records parsed in place;
 * - "typescript": the pure TypeScript file reader, for comparison.
 *
 *   deno run -A scripts/bench_capture_ffi.ts CAPTURE.pcap
 *
 * For live throughput see scripts/bench_live_capture.sh.
 */
import {
  createPacketBatch,
  parsePcapRecords,
  type PcapParseResult,
  readCaptureFile,
} from "../src/capture/mod.ts";
import { loadLibpcap, MemoryDumpTarget } from "../src/ffi/mod.ts";
import { cString, errorBufferText } from "../src/ffi/libc.ts";

const path = Deno.args[0];
if (!path) throw new Error("usage: bench_capture_ffi.ts CAPTURE.pcap");

function fmemopenPath(
  slotBytes: number,
  stdioBufferBytes = 0,
): { packets: number; seconds: number } {
  const pcap = loadLibpcap();
  const errorBuffer = new Uint8Array(256);
  const handle = pcap.symbols.pcap_open_offline(cString(path), errorBuffer);
  if (handle === null) throw new Error(errorBufferText(errorBuffer));
  const memory = new Uint8Array(new SharedArrayBuffer(slotBytes));
  const target = new MemoryDumpTarget(handle, memory, stdioBufferBytes);
  const linkType = pcap.symbols.pcap_datalink(handle);
  const largest = 16 + pcap.symbols.pcap_snapshot(handle);
  const batch = createPacketBatch(1 << 16, 0);
  batch.data = memory;
  const result: PcapParseResult = { consumed: 0, corruptAt: -1, corruptReason: "" };
  let packets = 0;
  const started = performance.now();
  while (true) {
    target.rewind();
    let used = 0;
    let last = 1;
    while (last > 0) {
      const room = Math.floor((slotBytes - 1 - used) / largest);
      if (room < 1) break;
      last = pcap.symbols.pcap_dispatch(handle, room, pcap.pcapDumpFunction, target.dumper);
      if (last < 0) throw new Error("pcap_dispatch failed");
      used = target.flushedEnd();
    }
    if (used === 0) break;
    for (let position = 0; position < used;) {
      batch.count = 0;
      parsePcapRecords(memory, position, used, batch, linkType, true, false, result);
      position += result.consumed;
      packets += batch.count;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  target.close();
  pcap.symbols.pcap_close(handle);
  return { packets, seconds };
}

async function typescriptPath(): Promise<{ packets: number; seconds: number }> {
  let packets = 0;
  const started = performance.now();
  for await (const batch of readCaptureFile(path)) packets += batch.count;
  return { packets, seconds: (performance.now() - started) / 1000 };
}

for (
  const [name, run] of [
    ["fmemopen 8 MiB slots", () => fmemopenPath(8 << 20)],
    ["fmemopen 32 MiB slots", () => fmemopenPath(32 << 20)],
    ["fmemopen 8 MiB, stdio 64K", () => fmemopenPath(8 << 20, 65536)],
    ["fmemopen 8 MiB, stdio 1M", () => fmemopenPath(8 << 20, 1 << 20)],
    ["typescript reader", typescriptPath],
  ] as const
) {
  const { packets, seconds } = await run();
  console.log(
    `${name.padEnd(24)} ${packets} packets in ${seconds.toFixed(3)} s = ${
      (packets / seconds / 1e6).toFixed(2)
    } Mpps`,
  );
}
