/**
 * Builds packets byte by byte for the decoder and flow-table tests, and
 * packs them into a PacketBatch the way a capture source would.
 */
import { createPacketBatch, type PacketBatch } from "../../src/capture/packet_batch.ts";

/** A packet to put in a batch. */
export interface TestPacket {
  data: Uint8Array;
  ts: number;
  linkType?: number;
}

/** Packs packets into one batch (Ethernet unless stated). */
export function batchOf(packets: TestPacket[]): PacketBatch {
  const bytes = packets.reduce((n, p) => n + p.data.length, 0);
  const batch = createPacketBatch(Math.max(1, packets.length), bytes);
  let at = 0;
  packets.forEach((p, i) => {
    batch.data.set(p.data, at);
    batch.offset[i] = at;
    batch.capturedLength[i] = p.data.length;
    batch.wireLength[i] = p.data.length;
    batch.timestampMicros[i] = p.ts;
    batch.linkType[i] = p.linkType ?? 1;
    at += p.data.length;
  });
  batch.count = packets.length;
  return batch;
}

const concat = (...parts: ArrayLike<number>[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, at);
    at += p.length;
  }
  return out;
};

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** Ethernet header with optional VLAN tags ([tpid, vid] pairs, outermost first). */
export function ethernet(
  etherType: number,
  payload: Uint8Array,
  tags: [number, number][] = [],
): Uint8Array {
  const header = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const tagBytes = tags.flatMap(([tpid, vid]) => [...u16(tpid), ...u16(vid)]);
  return concat(header, tagBytes, u16(etherType), payload);
}

export interface Ipv4Options {
  src?: number[];
  dst?: number[];
  protocol: number;
  options?: number[];
  id?: number;
  moreFragments?: boolean;
  fragmentOffset8?: number;
  totalLength?: number;
  /** Default 64. */
  ttl?: number;
}

/** IPv4 header (with options padded to 4 bytes) + payload. */
export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const options = [...(o.options ?? [])];
  while (options.length % 4 !== 0) options.push(0);
  const ihl = 5 + options.length / 4;
  const total = o.totalLength ?? ihl * 4 + payload.length;
  const flags = (o.moreFragments ? 0x2000 : 0) | (o.fragmentOffset8 ?? 0);
  return concat(
    [0x40 | ihl, 0, ...u16(total), ...u16(o.id ?? 1), ...u16(flags), o.ttl ?? 64, o.protocol, 0, 0],
    o.src ?? [10, 0, 0, 1],
    o.dst ?? [10, 0, 0, 2],
    options,
    payload,
  );
}

/** IPv6 header + payload; `next` is the first next-header value. */
export function ipv6(
  next: number,
  payload: Uint8Array,
  src?: number[],
  dst?: number[],
): Uint8Array {
  const s = src ?? [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
  const d = dst ?? [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2];
  return concat([0x60, 0, 0, 0, ...u16(payload.length), next, 64], s, d, payload);
}

/** An IPv6 extension header of `length8` 8-byte units (hop-by-hop, routing, destination). */
export function ipv6Extension(next: number, length8: number): number[] {
  const bytes = new Array(length8 * 8).fill(0);
  bytes[0] = next;
  bytes[1] = length8 - 1;
  return bytes;
}

export interface TcpOptions {
  sport: number;
  dport: number;
  flags: number;
  window?: number;
  seq?: number;
  mss?: number;
  payload?: number;
}

/** TCP header (+ MSS option when given) + `payload` zero bytes. */
export function tcp(o: TcpOptions): Uint8Array {
  const options = o.mss !== undefined ? [2, 4, ...u16(o.mss)] : [];
  const offset = 5 + options.length / 4;
  return concat(
    [
      ...u16(o.sport),
      ...u16(o.dport),
      ...u32(o.seq ?? 0),
      ...u32(0),
      offset << 4,
      o.flags,
      ...u16(o.window ?? 1024),
    ],
    [0, 0, 0, 0],
    options,
    new Uint8Array(o.payload ?? 0),
  );
}

/** UDP header + `payload` zero bytes. */
export function udp(sport: number, dport: number, payload = 0): Uint8Array {
  return concat([...u16(sport), ...u16(dport), ...u16(8 + payload), 0, 0], new Uint8Array(payload));
}

/** ICMP header (type, code, checksum, 4 rest bytes) + payload. */
export function icmp(type: number, code: number, payload = 0): Uint8Array {
  return concat([type, code, 0, 0, 0, 1, 0, 1], new Uint8Array(payload));
}

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

/** Ethernet/IPv4/TCP between 10.0.0.a:sport and 10.0.0.b:dport. */
export function tcp4(
  a: number,
  b: number,
  sport: number,
  dport: number,
  flags: number,
  payload = 0,
  window = 1024,
): Uint8Array {
  return ethernet(
    0x0800,
    ipv4(
      { src: [10, 0, 0, a], dst: [10, 0, 0, b], protocol: 6 },
      tcp({ sport, dport, flags, payload, window }),
    ),
  );
}
