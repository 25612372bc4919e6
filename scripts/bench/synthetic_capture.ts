/**
 * Writes a large, deterministic Ethernet/IPv4 capture for benchmarks: many
 * interleaved TCP conversations (handshake, data both ways, FIN teardown) and
 * UDP request/response pairs, with realistic packet sizes. Streams to disk so
 * multi-million-packet files need little memory.
 *
 *   deno run -A scripts/bench/synthetic_capture.ts OUT.pcap [packets] [concurrentFlows]
 */
import { PcapStream } from "./pcap_stream.ts";

/** Options for writeSyntheticCapture. */
export interface SyntheticCaptureOptions {
  /** Total packets to write. */
  packets: number;
  /** Conversations open at any moment (the flow table's live size). */
  concurrentFlows: number;
  seed?: number;
  /**
   * Only open conversations (one SYN each, never closed): every packet is a
   * new flow. Used to measure the flow table holding `packets` flows at once.
   */
  openOnly?: boolean;
  /**
   * With openOnly: packets each flow gets before a new one takes its slot
   * (default 1). Visits go round the slots, so every flow stays open.
   */
  packetsPerFlow?: number;
  /**
   * With openOnly: every `longEvery`-th flow goes on to `longPackets`
   * packets after the others stopped (a mix of short and long flows held at
   * once). Payloads stay small so the file does too (memory does not depend
   * on them).
   */
  longEvery?: number;
  longPackets?: number;
}

/** What was written. */
export interface SyntheticCaptureSummary {
  packets: number;
  bytes: number;
  conversations: number;
}

const ETHERNET = 14;
const IPV4 = 20;
const TCP = 20;
const UDP = 8;

/** Writes the capture to `path`. */
export async function writeSyntheticCapture(
  path: string,
  options: SyntheticCaptureOptions,
): Promise<SyntheticCaptureSummary> {
  let seed = options.seed ?? 1;
  const random = () => {
    // mulberry32: deterministic across runs and machines.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = await PcapStream.create(path);
  const view = out.view;

  // Conversation state, struct of arrays: step counts down packets left.
  const slots = Math.max(1, options.concurrentFlows);
  const client = new Uint32Array(slots);
  const server = new Uint32Array(slots);
  const clientPort = new Uint16Array(slots);
  const serverPort = new Uint16Array(slots);
  const isUdp = new Uint8Array(slots);
  const left = new Int32Array(slots);
  const total = new Int32Array(slots);
  let conversations = 0;
  const open = (slot: number) => {
    conversations++;
    client[slot] = (10 << 24) | (conversations * 2654435761 >>> 8 & 0xffffff);
    server[slot] = (172 << 24) | (16 << 16) | Math.floor(random() * 4096);
    clientPort[slot] = 1024 + Math.floor(random() * 60000);
    const udp = random() < 0.25;
    isUdp[slot] = udp ? 1 : 0;
    serverPort[slot] = udp ? 53 : [80, 443, 22, 8080][Math.floor(random() * 4)];
    // Open-only flows never reach their last step, so they are never closed.
    const length = options.openOnly
      ? Math.max(options.packetsPerFlow ?? 1, options.longPackets ?? 0) + 1
      : udp
      ? 2
      : 7 + Math.floor(random() * 30);
    left[slot] = length;
    total[slot] = length;
  };
  for (let s = 0; s < slots; s++) open(s);

  let time = 1_700_000_000 * 1e6;
  let bytes = 0;
  const longEvery = options.longEvery ?? 0;
  const longSlots = longEvery > 0 ? Math.ceil(slots / longEvery) : 0;
  const shortPackets = longEvery > 0 ? slots * (options.packetsPerFlow ?? 1) : options.packets;
  for (let n = 0; n < options.packets; n++) {
    // Past the short rounds, only the long flows (every longEvery-th slot) go on.
    const slot = n >= shortPackets
      ? ((n - shortPackets) % longSlots) * longEvery
      : options.openOnly
      ? n % slots
      : Math.floor(random() * slots);
    if (
      options.openOnly && n >= slots && n < shortPackets &&
      Math.floor(n / slots) % (options.packetsPerFlow ?? 1) === 0
    ) {
      open(slot);
    }
    const step = total[slot] - left[slot];
    const last = left[slot] === 1;
    const fromClient = isUdp[slot]
      ? step === 0
      : step === 0 || step === 2 || (step > 2 && random() < 0.4) ||
        last;
    let payload = 0;
    let flags = 0x10; // ACK
    if (isUdp[slot]) {
      payload = fromClient ? 30 + Math.floor(random() * 40) : 60 + Math.floor(random() * 400);
    } else if (step === 0) flags = 0x02; // SYN
    else if (step === 1) flags = 0x12; // SYN+ACK
    else if (last) flags = 0x11; // FIN+ACK
    else if (step > 2) {
      flags = 0x18; // PSH+ACK
      payload = fromClient ? Math.floor(random() * 300) : Math.floor(random() * 1460);
    }
    if (longEvery > 0) payload = Math.min(payload, 64);
    const l4 = isUdp[slot] ? UDP : TCP;
    const length = ETHERNET + IPV4 + l4 + payload;
    time += 1 + Math.floor(random() * 20);
    let at = await out.record(time, length);
    view.setUint16(at + 12, 0x0800);
    at += ETHERNET;
    view.setUint8(at, 0x45);
    view.setUint16(at + 2, IPV4 + l4 + payload);
    view.setUint8(at + 8, 64);
    view.setUint8(at + 9, isUdp[slot] ? 17 : 6);
    view.setUint32(at + 12, fromClient ? client[slot] : server[slot]);
    view.setUint32(at + 16, fromClient ? server[slot] : client[slot]);
    at += IPV4;
    view.setUint16(at, fromClient ? clientPort[slot] : serverPort[slot]);
    view.setUint16(at + 2, fromClient ? serverPort[slot] : clientPort[slot]);
    if (isUdp[slot]) view.setUint16(at + 4, UDP + payload);
    else {
      view.setUint32(at + 4, step * 1000);
      view.setUint32(at + 8, step === 0 ? 0 : step * 1000 + 1);
      view.setUint8(at + 12, 0x50);
      view.setUint8(at + 13, flags);
      view.setUint16(at + 14, 64240);
    }
    bytes += length;
    if (--left[slot] === 0 && !options.openOnly) open(slot);
  }
  await out.close();
  return { packets: options.packets, bytes, conversations };
}

if (import.meta.main) {
  const [out, packets = "2000000", flows = "20000"] = Deno.args;
  if (!out) {
    console.error("usage: synthetic_capture.ts OUT.pcap [packets] [concurrentFlows]");
    Deno.exit(2);
  }
  const summary = await writeSyntheticCapture(out, {
    packets: Number(packets),
    concurrentFlows: Number(flows),
  });
  console.log(JSON.stringify(summary));
}
