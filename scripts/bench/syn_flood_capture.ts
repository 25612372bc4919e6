/**
 * Writes a spoofed SYN flood as a pcap file: every packet a TCP SYN from a
 * distinct source address (a bijection of the packet number, so no source
 * repeats within 2^32 packets) and a random source port, to one target, at
 * a fixed rate. The worst case for a flow table (every packet a new
 * half-open flow) and for anything that keeps state per source.
 *
 *   deno run -A scripts/bench/syn_flood_capture.ts OUT.pcap [packets] [pps] [target] [port]
 *
 * Keep the output in /tmp: 5 million packets are 370 MB.
 */
import { PCAP_FILE_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from "../../src/capture/mod.ts";
import { PcapStream } from "./pcap_stream.ts";

/** Options for writeSynFloodCapture. */
export interface SynFloodOptions {
  /** SYNs to write, each from its own source. */
  packets: number;
  /** Packets per second (timestamps only; the file is written as fast as possible). Default 100,000. */
  pps?: number;
  /** Target IPv4 address, dotted. Default 10.66.0.10. */
  target?: string;
  /** Target TCP port. Default 80. */
  port?: number;
  /** First packet time, microseconds since the epoch. Default 2023-11-14T22:13:20Z. */
  startMicros?: number;
  seed?: number;
}

/** What was written. */
export interface SynFloodSummary {
  packets: number;
  bytes: number;
  startMicros: number;
  endMicros: number;
}

/** Ethernet + IPv4 + TCP header, no payload. */
const FRAME_BYTES = 14 + 20 + 20;

/** Writes the flood to `path`, streaming (memory stays flat for any size). */
export async function writeSynFloodCapture(
  path: string,
  options: SynFloodOptions,
): Promise<SynFloodSummary> {
  const pps = options.pps ?? 100_000;
  const port = options.port ?? 80;
  const target = (options.target ?? "10.66.0.10").split(".").map(Number);
  if (target.length !== 4 || target.some((x) => !(x >= 0 && x <= 255))) {
    throw new RangeError(`target must be a dotted IPv4 address, got ${options.target}`);
  }
  const targetWord = ((target[0] << 24) | (target[1] << 16) | (target[2] << 8) | target[3]) >>> 0;
  let seed = options.seed ?? 7;
  const random16 = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return (seed >>> 15) & 0xffff;
  };
  const out = await PcapStream.create(path);
  const view = out.view;
  const start = options.startMicros ?? 1_700_000_000 * 1e6;
  let time = start;
  for (let n = 0; n < options.packets; n++) {
    time = start + Math.floor(n * 1e6 / pps);
    let at = await out.record(time, FRAME_BYTES);
    view.setUint16(at + 12, 0x0800);
    at += 14;
    // Odd multiplier: a bijection on 32 bits, so every source is distinct.
    let source = (Math.imul(n + 1, 0x9e3779b1) >>> 0) | 0;
    if (source >>> 0 === targetWord) source ^= 1;
    view.setUint8(at, 0x45);
    view.setUint16(at + 2, 40);
    view.setUint16(at + 4, random16());
    view.setUint8(at + 8, 64);
    view.setUint8(at + 9, 6);
    view.setUint32(at + 12, source >>> 0);
    view.setUint32(at + 16, targetWord);
    at += 20;
    view.setUint16(at, 1024 + (random16() % 64000));
    view.setUint16(at + 2, port);
    view.setUint32(at + 4, (random16() << 16) | random16());
    view.setUint8(at + 12, 0x50);
    view.setUint8(at + 13, 0x02); // SYN
    view.setUint16(at + 14, 64240);
  }
  await out.close();
  return {
    packets: options.packets,
    bytes: PCAP_FILE_HEADER_BYTES + options.packets * (PCAP_RECORD_HEADER_BYTES + FRAME_BYTES),
    startMicros: start,
    endMicros: time,
  };
}

if (import.meta.main) {
  const [out, packets = "1000000", pps = "100000", target = "10.66.0.10", port = "80"] = Deno.args;
  if (!out) {
    console.error("usage: syn_flood_capture.ts OUT.pcap [packets] [pps] [target] [port]");
    Deno.exit(64);
  }
  const summary = await writeSynFloodCapture(out, {
    packets: Number(packets),
    pps: Number(pps),
    target,
    port: Number(port),
  });
  console.log(JSON.stringify(summary));
}
