/**
 * ICMP tunnels (ptunnel, ptunnel-ng, icmpsh, hans): a TCP session or a
 * shell carried in the payloads of echo requests and replies, through
 * firewalls that let ping pass. A ping tool fills every payload with one
 * pattern after its timestamp (Linux ping: bytes counting up from 0x10 at
 * offset 16 whatever the size; Windows: the alphabet; fping, nmap: zeros
 * or nothing), and a reply echoes its request; a tunnel's payloads are its
 * data, each one different. The monitor counts, per host pair (either
 * direction) and minute, echo requests and replies (ICMP 8/0, ICMPv6
 * 128/129), their payload bytes, and distinct payload contents: a hash of
 * payload bytes 16 to 47 (past a timestamp) in a 256-bit set. Sizes do not
 * enter the hash: an administrator's pings of many sizes (path MTU by
 * hand) are one pattern.
 *
 * Fixed tables in typed arrays; a message costs a few reads and writes and
 * no allocation. A finding (once per pair per 10 minutes) is an object
 * handed to the alert path.
 */
import { FindingQueue } from "./finding_queue.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress } from "./flow_meter.ts";
import { mix32 } from "./mix32.ts";
import { WindowSlots } from "./window_slots.ts";

/** Echo payload bytes between two hosts within a minute for a tunnel. */
export const ICMP_TUNNEL_BYTES = 32768;
/** ... in at least this many distinct payload contents. */
export const ICMP_TUNNEL_CONTENTS = 50;
const CONTENT_WORDS = 8, CONTENT_FROM = 16, CONTENT_BYTES = 32;
/** The set bits ICMP_TUNNEL_CONTENTS distinct values leave in a 256-bit set (linear counting). */
const TUNNEL_BITS = Math.ceil(256 * (1 - Math.exp(-ICMP_TUNNEL_CONTENTS / 256)));
const WINDOW_MICROS = 60e6;
const REPORT_REPEAT_MICROS = 600e6;
const SLOTS = 1024, PROBE = 8;

/** What the monitor found; addresses as text. */
export interface IcmpFinding {
  kind: "icmp-tunnel";
  atMicros: number;
  /** The window's first echo message. */
  firstMicros: number;
  /** The host that sent the window's first request (the tunnel's client), and its peer. */
  clientIp: string;
  serverIp: string;
  protocol: number;
  requests: number;
  replies: number;
  payloadBytes: number;
  /** Distinct payload contents (bytes 16-47; linear counting on 256 bits). */
  contents: number;
  vlan: number;
}

/** What the monitor counted. */
export interface IcmpCounters {
  echoRequests: number;
  echoReplies: number;
  findings: number;
  findingsDropped: number;
  /** Pair slots taken over from another while in use. */
  slotsEvicted: number;
}

/** Per-packet echo analysis; call observe for each metered ICMP or ICMPv6 echo request or reply. */
export class IcmpMonitor {
  readonly counters: IcmpCounters = {
    echoRequests: 0,
    echoReplies: 0,
    findings: 0,
    findingsDropped: 0,
    slotsEvicted: 0,
  };
  readonly #findings = new FindingQueue<IcmpFinding>(this.counters);

  readonly #slots = new WindowSlots(SLOTS, PROBE, WINDOW_MICROS, this.counters);
  readonly #requests = new Float64Array(SLOTS);
  readonly #replies = new Float64Array(SLOTS);
  readonly #bytes = new Float64Array(SLOTS);
  /** Per slot: payload contents seen (a 256-bit set) and how many bits are set. */
  readonly #contents = new Uint32Array(SLOTS * CONTENT_WORDS);
  readonly #contentBits = new Uint16Array(SLOTS);
  /** Per slot: the first requester's address (16 bytes) and whether one was seen this window. */
  readonly #client = new Uint8Array(SLOTS * 16);
  readonly #hasClient = new Uint8Array(SLOTS);

  /** Analyses packet `index` of `batch`, decoded into `p` (an echo request or reply). */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const request = p.srcPort === 8 || p.srcPort === 128;
    if (request) this.counters.echoRequests++;
    else this.counters.echoReplies++;
    const t = batch.timestampMicros[index];
    // The pair, whichever way the message goes.
    const a = p.srcWords, b = p.dstWords;
    let key = mix32(p.vlan + 1);
    for (let k = 0; k < 4; k++) key = mix32(key ^ (mix32(a[k]) + mix32(b[k])));
    const slots = this.#slots, s = slots.slot(key, t);
    if (slots.fresh) {
      this.#requests[s] = 0;
      this.#replies[s] = 0;
      this.#bytes[s] = 0;
      this.#contents.fill(0, s * CONTENT_WORDS, (s + 1) * CONTENT_WORDS);
      this.#contentBits[s] = 0;
      this.#hasClient[s] = 0;
    }
    if (request) {
      this.#requests[s]++;
      if (this.#hasClient[s] === 0) {
        this.#client.set(p.srcAddr, s * 16);
        this.#hasClient[s] = 1;
      }
    } else this.#replies[s]++;
    this.#bytes[s] += p.payloadBytes;
    // The payload's bytes 16-47 as captured (a timestamp comes first; the snap length may cut it).
    const data = batch.data;
    const end = Math.min(
      batch.offset[index] + batch.capturedLength[index],
      p.payloadOffset + p.payloadBytes,
      p.payloadOffset + CONTENT_FROM + CONTENT_BYTES,
    );
    let h = 0x811c9dc5;
    for (let i = p.payloadOffset + CONTENT_FROM; i < end; i++) {
      h = Math.imul(h ^ data[i], 0x01000193);
    }
    const bit = mix32(h) & (CONTENT_WORDS * 32 - 1);
    const word = s * CONTENT_WORDS + (bit >>> 5), mask = 1 << (bit & 31);
    if ((this.#contents[word] & mask) === 0) {
      this.#contents[word] |= mask;
      this.#contentBits[s]++;
    }
    const requests = this.#requests[s], replies = this.#replies[s];
    if (
      this.#bytes[s] < ICMP_TUNNEL_BYTES || this.#contentBits[s] < TUNNEL_BITS ||
      t - slots.reported[s] < REPORT_REPEAT_MICROS
    ) return;
    slots.reported[s] = t;
    // The client: the window's first requester; the server: the other end of this message.
    const client = this.#client.subarray(s * 16, s * 16 + 16);
    const clientIsSource = equalBytes(client, p.srcAddr);
    this.#findings.push({
      kind: "icmp-tunnel",
      atMicros: t,
      firstMicros: slots.windowStart[s],
      clientIp: formatAddress(client, p.ipVersion),
      serverIp: formatAddress(clientIsSource ? p.dstAddr : p.srcAddr, p.ipVersion),
      protocol: p.protocol,
      requests,
      replies,
      payloadBytes: this.#bytes[s],
      contents: Math.round(-256 * Math.log(1 - Math.min(this.#contentBits[s], 255) / 256)),
      vlan: p.vlan,
    });
  }

  /** The findings since the last call. */
  take(): IcmpFinding[] {
    return this.#findings.take();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let k = 0; k < 16; k++) if (a[k] !== b[k]) return false;
  return true;
}
