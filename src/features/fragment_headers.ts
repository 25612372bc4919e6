/**
 * TCP headers split across IPv4 fragments (RFC 1858's tiny fragments: nmap
 * -f sends each SYN's 20-byte header as fragments of 8, 8 and 4 bytes). The
 * decoder reads one packet at a time, so such a segment has no ports and
 * makes no flow: the scan would be seen only as its target's answers. This
 * keeps the first 64 bytes of each such datagram as its fragments come (in
 * any order) and, once the TCP header and the datagram's last fragment are
 * in, writes the datagram's IP header and TCP header as one raw IPv4 packet
 * (its total length the whole datagram's) for the meter to decode and add.
 * Datagrams fragmented the ordinary way (a first fragment holding the whole
 * header) never come here. Fixed tables, no allocation per fragment.
 */
import type { PacketBatch } from "../capture/mod.ts";
import { DatagramSlots } from "./datagram_slots.ts";

const DATAGRAMS = 256;
/** Bytes of transport header kept per datagram (a TCP header is at most 60). */
const HEADER_BYTES = 64;
/** LINKTYPE_IPV4: the rebuilt packet is a bare IPv4 datagram. */
const RAW_IPV4 = 228;

export class FragmentHeaders {
  /** Datagrams whose TCP header was put together from fragments (then metered). */
  rebuilt = 0;
  /** Datagrams given up before complete because the table was full. */
  get evicted(): number {
    return this.#datagrams.evicted;
  }
  /** The rebuilt packet, as a one-packet batch for decodePacket. */
  readonly packet: PacketBatch = {
    count: 1,
    data: new Uint8Array(60 + HEADER_BYTES),
    offset: new Uint32Array(1),
    capturedLength: new Uint32Array(1),
    wireLength: new Uint32Array(1),
    timestampMicros: new Float64Array(1),
    linkType: new Uint16Array([RAW_IPV4]),
  };

  readonly #datagrams = new DatagramSlots(DATAGRAMS);
  readonly #header = new Uint8Array(DATAGRAMS * HEADER_BYTES);
  /** One bit per header byte held (64 bits: two words). */
  readonly #have = new Uint32Array(DATAGRAMS * 2);
  /** The first fragment's IP header (up to 60 bytes) and its length (0: not seen yet). */
  readonly #ipHeader = new Uint8Array(DATAGRAMS * 60);
  readonly #ipHeaderBytes = new Uint8Array(DATAGRAMS);
  /** Transport bytes of the whole datagram (the last fragment's end; 0: not seen yet). */
  readonly #l4Bytes = new Uint32Array(DATAGRAMS);
  readonly #done = new Uint8Array(DATAGRAMS);

  /**
   * Offers an IPv4 fragment of TCP whose IP header is at `at` in packet
   * `index` of `batch`: a first fragment too short for the TCP header, or a
   * later one starting within the first 64 bytes. True when it completed a
   * datagram's header: `packet` holds the rebuilt packet.
   */
  offer(batch: PacketBatch, index: number, at: number): boolean {
    const data = batch.data, end = batch.offset[index] + batch.capturedLength[index];
    if (end - at < 20) return false;
    const ihl = (data[at] & 0x0f) * 4;
    const total = (data[at + 2] << 8) | data[at + 3];
    const field = (data[at + 6] << 8) | data[at + 7];
    const start = (field & 0x1fff) * 8, more = (field & 0x2000) !== 0;
    if (data[at + 9] !== 6 || ihl < 20 || total < ihl || end - at < ihl) return false;
    if (start >= HEADER_BYTES && more) return false;
    const src = ((data[at + 12] << 24) | (data[at + 13] << 16) | (data[at + 14] << 8) |
      data[at + 15]) >>> 0;
    const dst = ((data[at + 16] << 24) | (data[at + 17] << 16) | (data[at + 18] << 8) |
      data[at + 19]) >>> 0;
    const id = (data[at + 4] << 8) | data[at + 5];
    const t = batch.timestampMicros[index];
    // A last fragment far out (ordinary fragmentation's tail) is kept only for a datagram seen.
    const datagrams = this.#datagrams, s = datagrams.slot(src, dst, id, t, start < HEADER_BYTES);
    if (s < 0) return false;
    if (datagrams.created) {
      this.#have[2 * s] = 0;
      this.#have[2 * s + 1] = 0;
      this.#ipHeaderBytes[s] = 0;
      this.#l4Bytes[s] = 0;
      this.#done[s] = 0;
    }
    if (this.#done[s] === 1) return false;
    if (start === 0) {
      this.#ipHeader.set(data.subarray(at, at + ihl), s * 60);
      this.#ipHeaderBytes[s] = ihl;
    }
    const length = total - ihl;
    if (!more) this.#l4Bytes[s] = start + length;
    // The fragment's bytes within the first HEADER_BYTES (as far as captured).
    const from = at + ihl, upto = Math.min(start + length, HEADER_BYTES, start + (end - from));
    for (let k = start; k < upto; k++) {
      this.#header[s * HEADER_BYTES + k] = data[from + k - start];
      this.#have[s * 2 + (k >>> 5)] |= 1 << (k & 31);
    }
    return this.#complete(s, t, batch.wireLength[index]);
  }

  /** Whether datagram `s` has its IP header, TCP header and total length; then rebuilds it. */
  #complete(s: number, t: number, wire: number): boolean {
    const ihl = this.#ipHeaderBytes[s], l4 = this.#l4Bytes[s];
    if (ihl === 0 || l4 === 0 || !this.#holds(s, 13)) return false;
    const tcpHeader = (this.#header[s * HEADER_BYTES + 12] >> 4) * 4;
    if (tcpHeader < 20 || !this.#holds(s, Math.min(tcpHeader, l4))) return false;
    if (ihl + l4 > 65535) return false;
    this.#done[s] = 1;
    const out = this.packet.data, kept = Math.min(tcpHeader, l4);
    out.set(this.#ipHeader.subarray(s * 60, s * 60 + ihl), 0);
    const total = ihl + l4;
    out[2] = total >> 8;
    out[3] = total & 0xff;
    out[6] = 0;
    out[7] = 0;
    out.set(this.#header.subarray(s * HEADER_BYTES, s * HEADER_BYTES + kept), ihl);
    this.packet.capturedLength[0] = ihl + kept;
    this.packet.wireLength[0] = Math.max(wire, total);
    this.packet.timestampMicros[0] = t;
    this.rebuilt++;
    return true;
  }

  /** Whether datagram `s` holds every header byte below `n`. */
  #holds(s: number, n: number): boolean {
    for (let k = 0; k < n; k++) {
      if ((this.#have[s * 2 + (k >>> 5)] & (1 << (k & 31))) === 0) return false;
    }
    return true;
  }
}
