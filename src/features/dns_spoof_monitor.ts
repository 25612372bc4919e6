/**
 * DNS spoofing on the path (dsniff's dnsspoof, Ettercap's dns_spoof,
 * Bettercap): an attacker who sees a client's query races the real server
 * with a forged answer from the server's address, the client's port and
 * the query's ID. Whoever comes first wins the client; the sensor sees
 * both. The monitor reads every DNS response (UDP from port 53) and keeps,
 * per (server, client, client port, query ID, question type and name), the
 * addresses its answer gave (A and AAAA records, as an order-independent
 * hash, with the response code) for 5 s: a second answer to the same query
 * that gives other addresses or another response code is a spoofed one
 * (the same answer twice, to a retransmitted query, is not).
 *
 * A direct-mapped table in typed arrays; a response costs a walk over its
 * question and answers and no allocation. A finding (once per client and
 * name per 10 minutes) is an object handed to the alert path.
 */
import { FindingQueue } from "./finding_queue.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress } from "./flow_meter.ts";
import { mix32 } from "./mix32.ts";
import { hashName, nameText } from "./dns_monitor.ts";

/** How long an answer is kept for a second answer to the same query to be compared with. */
const ANSWER_TTL_MICROS = 5e6;
const REPORT_REPEAT_MICROS = 600e6;
const SLOTS = 4096, REPORTS = 256;
const TYPE_A = 1, TYPE_AAAA = 28;
/** Addresses kept per answer for the finding's text. */
const KEPT = 4;

/** What the monitor found; addresses and names as text. */
export interface DnsSpoofFinding {
  kind: "dns-spoof";
  atMicros: number;
  /** When the first answer came. */
  firstMicros: number;
  /** The address both answers came from (the server asked), and the client. */
  serverIp: string;
  clientIp: string;
  clientPort: number;
  /** The question, printable ASCII (others "?"), at most 120 characters. */
  name: string;
  /** The two answers' addresses (at most 4 each; empty for an answer without any) and response codes. */
  firstAnswer: string[];
  secondAnswer: string[];
  firstRcode: number;
  secondRcode: number;
  vlan: number;
}

/** What the monitor counted. */
export interface DnsSpoofCounters {
  /** Responses read. */
  responses: number;
  /** Second answers to a query that gave the same addresses (retransmissions). */
  repeatedAnswers: number;
  /** Second answers that gave other addresses or another response code. */
  conflictingAnswers: number;
  /** Cut short, compressed questions, answers that run past the message: counted, not analysed. */
  notAnalysed: number;
  findings: number;
  findingsDropped: number;
}

/** Per-packet DNS response reading; call observe for each metered UDP packet from port 53. */
export class DnsSpoofMonitor {
  readonly counters: DnsSpoofCounters = {
    responses: 0,
    repeatedAnswers: 0,
    conflictingAnswers: 0,
    notAnalysed: 0,
    findings: 0,
    findingsDropped: 0,
  };
  readonly #findings = new FindingQueue<DnsSpoofFinding>(this.counters);
  readonly #key = new Uint32Array(SLOTS);
  readonly #time = new Float64Array(SLOTS).fill(-Infinity);
  readonly #answer = new Uint32Array(SLOTS);
  readonly #rcode = new Uint8Array(SLOTS);
  /** The first answer's addresses (up to KEPT, 16 bytes each) and how many. */
  readonly #addresses = new Uint8Array(SLOTS * KEPT * 16);
  readonly #addressCount = new Uint8Array(SLOTS);
  /** Reported (client, name) keys and when: a small direct-mapped table. */
  readonly #reportKey = new Uint32Array(REPORTS);
  readonly #reportTime = new Float64Array(REPORTS).fill(-Infinity);
  // The current answer's addresses (read by #readAnswers).
  readonly #current = new Uint8Array(KEPT * 16);
  #currentCount = 0;

  /** Analyses packet `index` of `batch`, decoded into `p` (UDP from port 53). */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const data = batch.data;
    const at = p.payloadOffset;
    const end = Math.min(batch.offset[index] + batch.capturedLength[index], at + p.payloadBytes);
    // A standard response (QR 1, opcode 0) to one question.
    if (
      end - at < 17 || (data[at + 2] & 0xf8) !== 0x80 || ((data[at + 4] << 8) | data[at + 5]) !== 1
    ) {
      this.counters.notAnalysed++;
      return;
    }
    let cursor = at + 12;
    for (let n = 0;; n++) {
      if (cursor >= end || n > 127) return this.#skip();
      const length = data[cursor];
      if (length === 0) break;
      if (length > 63) return this.#skip();
      cursor += length + 1;
    }
    const nameEnd = cursor;
    if (nameEnd + 5 > end) return this.#skip();
    const qtype = (data[nameEnd + 1] << 8) | data[nameEnd + 2];
    const rcode = data[at + 3] & 0x0f;
    const answers = (data[at + 6] << 8) | data[at + 7];
    const answer = this.#readAnswers(data, nameEnd + 5, end, answers);
    if (answer < 0) return this.#skip();
    this.counters.responses++;
    // The query: the client (the response's destination), its port, the ID, the question.
    const nameHash = hashName(data, at + 12, nameEnd);
    let key = mix32(nameHash ^ (qtype << 16) ^ ((data[at] << 8) | data[at + 1]));
    key = mix32(key ^ p.dstPort ^ (p.vlan << 16));
    // The server too: a client that asks two resolvers at once (Windows after a second's silence)
    // may get two different answers (a CDN's), each from its own server; a spoofer must use the
    // server's address for its answer to be taken.
    const client = p.dstWords, server = p.srcWords;
    for (let k = 0; k < 4; k++) key = mix32(key ^ client[k] ^ mix32(server[k] + k));
    const s = key & (SLOTS - 1);
    const t = batch.timestampMicros[index];
    const answerHash = (answer ^ mix32(rcode + 1)) >>> 0;
    if (this.#key[s] !== key || t - this.#time[s] > ANSWER_TTL_MICROS) {
      this.#key[s] = key;
      this.#time[s] = t;
      this.#answer[s] = answerHash;
      this.#rcode[s] = rcode;
      this.#addresses.set(this.#current, s * KEPT * 16);
      this.#addressCount[s] = this.#currentCount;
      return;
    }
    if (this.#answer[s] === answerHash) {
      this.counters.repeatedAnswers++;
      return;
    }
    this.counters.conflictingAnswers++;
    // Once per (client, name) per 10 minutes.
    let reportKey = mix32(nameHash ^ p.vlan);
    for (let k = 0; k < 4; k++) reportKey = mix32(reportKey ^ client[k]);
    const r = reportKey & (REPORTS - 1);
    if (this.#reportKey[r] === reportKey && t - this.#reportTime[r] < REPORT_REPEAT_MICROS) return;
    this.#reportKey[r] = reportKey;
    this.#reportTime[r] = t;
    const firstAddresses = this.#addresses.subarray(s * KEPT * 16, (s + 1) * KEPT * 16);
    this.#findings.push({
      kind: "dns-spoof",
      atMicros: t,
      firstMicros: this.#time[s],
      serverIp: formatAddress(p.srcAddr, p.ipVersion),
      clientIp: formatAddress(p.dstAddr, p.ipVersion),
      clientPort: p.dstPort,
      name: nameText(data, at + 12, nameEnd, 120),
      firstAnswer: addressList(firstAddresses, this.#addressCount[s]),
      secondAnswer: addressList(this.#current, this.#currentCount),
      firstRcode: this.#rcode[s],
      secondRcode: rcode,
      vlan: p.vlan,
    });
  }

  /** The findings since the last call. */
  take(): DnsSpoofFinding[] {
    return this.#findings.take();
  }

  #skip(): void {
    this.counters.notAnalysed++;
  }

  /**
   * Walks `count` answer records from `at`: an order-independent hash of
   * the A and AAAA records' addresses (the first KEPT kept in #current),
   * or -1 when a record runs past `end`.
   */
  #readAnswers(data: Uint8Array, at: number, end: number, count: number): number {
    let hash = 0;
    this.#currentCount = 0;
    this.#current.fill(0);
    for (let r = 0; r < count; r++) {
      // The owner name: labels, ending at the root or at a compression pointer.
      for (let n = 0;; n++) {
        if (at >= end || n > 127) return -1;
        const length = data[at];
        if (length === 0) {
          at++;
          break;
        }
        if (length >= 0xc0) {
          at += 2;
          break;
        }
        if (length > 63) return -1;
        at += length + 1;
      }
      if (at + 10 > end) return -1;
      const type = (data[at] << 8) | data[at + 1];
      const length = (data[at + 8] << 8) | data[at + 9];
      const rdata = at + 10;
      if (rdata + length > end) return -1;
      if ((type === TYPE_A && length === 4) || (type === TYPE_AAAA && length === 16)) {
        let h = 0x811c9dc5;
        for (let i = rdata; i < rdata + length; i++) h = Math.imul(h ^ data[i], 0x01000193);
        hash = (hash + mix32(h)) >>> 0;
        if (this.#currentCount < KEPT) {
          const slot = this.#currentCount * 16;
          // IPv4 as an IPv4-mapped address, as the meter keeps addresses.
          const to = length === 4 ? slot + 12 : slot;
          if (length === 4) this.#current[slot + 10] = this.#current[slot + 11] = 0xff;
          for (let i = 0; i < length; i++) this.#current[to + i] = data[rdata + i];
          this.#currentCount++;
        }
      }
      at = rdata + length;
    }
    return hash;
  }
}

/** The first `count` 16-byte addresses of `bytes` as text. */
function addressList(bytes: Uint8Array, count: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const address = bytes.subarray(k * 16, k * 16 + 16);
    const v4 = address[10] === 0xff && address[11] === 0xff &&
      address.subarray(0, 10).every((b) => b === 0);
    out.push(formatAddress(address, v4 ? 4 : 6));
  }
  return out;
}
