/**
 * DNS tunnels (iodine, dnscat2, DNSExfiltrator, Cobalt Strike's DNS
 * beacon): data carried in the names a client asks for under one domain
 * whose authoritative server is the other end. Flow statistics miss them
 * (a tunnel is one small UDP conversation with a resolver); the names show
 * them. The monitor reads the question of every DNS query to UDP port 53
 * the meter decodes anyway, and counts per client and domain (the last two
 * labels, three under a country's co/com/net/org/ac/gov/edu) the distinct
 * names that carry data within a minute: a subdomain of 40 characters or
 * more, or a query for NULL or TXT records (the types tunnels fetch their
 * downstream in). Reverse lookups (.arpa) and .local names are not counted.
 *
 * Fixed tables in typed arrays; a query costs a walk over its name and no
 * allocation. A finding (once per client and domain per 10 minutes) is an
 * object handed to the alert path. DNS over TCP, DoT and DoH are not read.
 */
import { FindingQueue } from "./finding_queue.ts";
import { bitsForDistinct, distinctEstimate } from "./sweep_episodes.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress } from "./flow_meter.ts";
import { mix32 } from "./mix32.ts";
import { WindowSlots } from "./window_slots.ts";

/** Distinct data-carrying names one client asks for under one domain within DNS_WINDOW_MICROS for a tunnel. */
export const DNS_TUNNEL_NAMES = 30;
/** A subdomain (the name less its domain) at least this long carries data. */
export const DNS_DATA_SUBDOMAIN_CHARS = 40;
const DNS_WINDOW_MICROS = 60e6;
/** A tunnel (client, domain) is reported again after this long. */
const REPORT_REPEAT_MICROS = 600e6;
const TYPE_NULL = 10, TYPE_TXT = 16;

const SLOTS = 2048, PROBE = 8, SET_WORDS = 32;
/** The set bits DNS_TUNNEL_NAMES distinct names leave in a slot's 1,024-bit set. */
const TUNNEL_BITS = bitsForDistinct(DNS_TUNNEL_NAMES);

/** What the monitor found; addresses and names as text. */
export interface DnsFinding {
  kind: "dns-tunnel";
  /** Packet time of the finding, and of the window's first data-carrying name. */
  atMicros: number;
  firstMicros: number;
  clientIp: string;
  clientPort: number;
  /** The server asked (a resolver, or the tunnel's own server when asked directly). */
  serverIp: string;
  ipVersion: number;
  /** The domain under which the names carry data. */
  domain: string;
  /** Distinct data-carrying names in the window (linear counting), and all queries for the domain in it. */
  names: number;
  queries: number;
  /** Characters of subdomain the window's queries for the domain carried. */
  subdomainChars: number;
  /** The name that made the finding, printable ASCII (others as "?"), at most 120 characters. */
  example: string;
  vlan: number;
}

/** What the monitor counted. */
export interface DnsCounters {
  /** Queries read (standard queries to port 53 with a question). */
  queries: number;
  /** Of them, names that carry data (a long subdomain, or a NULL or TXT query). */
  dataNames: number;
  /** Reverse (.arpa) and .local lookups: read, not counted. */
  ignoredNames: number;
  /** Cut short, not a standard query, a compressed or overlong name: counted, not analysed. */
  notAnalysed: number;
  findings: number;
  /** Findings not kept because MAX_PENDING_FINDINGS (finding_queue.ts) were waiting. */
  findingsDropped: number;
  /** (client, domain) slots taken over from another (the table is full). */
  slotsEvicted: number;
}

/** Per-packet DNS query analysis; call observe for each metered UDP packet to port 53. */
export class DnsMonitor {
  readonly counters: DnsCounters = {
    queries: 0,
    dataNames: 0,
    ignoredNames: 0,
    notAnalysed: 0,
    findings: 0,
    findingsDropped: 0,
    slotsEvicted: 0,
  };
  readonly #findings = new FindingQueue<DnsFinding>(this.counters);

  // Slots (client, VLAN, domain): their windows, counts and distinct names of the window.
  readonly #slots = new WindowSlots(SLOTS, PROBE, DNS_WINDOW_MICROS, this.counters);
  /** Per slot: queries, subdomain characters, set bits of the window's name set. */
  readonly #queries = new Float64Array(SLOTS);
  readonly #chars = new Float64Array(SLOTS);
  readonly #bits = new Uint16Array(SLOTS);
  readonly #names = new Uint32Array(SLOTS * SET_WORDS);
  /** Where the labels of the current name start (offsets in the batch's data). */
  readonly #labels = new Int32Array(128);

  /** Analyses packet `index` of `batch`, decoded into `p` (UDP to port 53). */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const data = batch.data;
    const at = p.payloadOffset;
    const end = Math.min(batch.offset[index] + batch.capturedLength[index], at + p.payloadBytes);
    // A standard query (QR 0, opcode 0) with a question.
    if (
      end - at < 17 || (data[at + 2] & 0xf8) !== 0 || ((data[at + 4] << 8) | data[at + 5]) === 0
    ) {
      this.counters.notAnalysed++;
      return;
    }
    // The question's name: labels up to the root, no compression, at most 255 bytes.
    const labels = this.#labels;
    let n = 0, cursor = at + 12, nameBytes = 0;
    for (;;) {
      if (cursor >= end) return this.#skip();
      const length = data[cursor];
      if (length === 0) break;
      if (length > 63 || n === labels.length) return this.#skip();
      labels[n++] = cursor;
      nameBytes += length + 1;
      cursor += length + 1;
      if (nameBytes > 255) return this.#skip();
    }
    if (cursor + 3 > end || n < 2) return this.#skip();
    const type = (data[cursor + 1] << 8) | data[cursor + 2];
    this.counters.queries++;
    const top = labels[n - 1];
    if (labelIs(data, top, "arpa") || labelIs(data, top, "local")) {
      this.counters.ignoredNames++;
      return;
    }
    // The domain: the last two labels, three under a country's second-level registries.
    let domainLabels = 2;
    if (n >= 3 && data[top] === 2 && isSecondLevelRegistry(data, labels[n - 2])) domainLabels = 3;
    const domainStart = labels[n - domainLabels];
    const subdomainChars = domainStart - (at + 12) - 1;
    const carriesData = subdomainChars >= DNS_DATA_SUBDOMAIN_CHARS || type === TYPE_NULL ||
      type === TYPE_TXT;
    if (carriesData) this.counters.dataNames++;
    const t = batch.timestampMicros[index];
    const domainHash = hashName(data, domainStart, cursor);
    let key = mix32(domainHash ^ p.vlan);
    const src = p.srcWords;
    for (let k = 0; k < 4; k++) key = mix32(key ^ src[k]);
    const slots = this.#slots, s = slots.slot(key, t);
    if (slots.fresh) {
      this.#queries[s] = 0;
      this.#chars[s] = 0;
      this.#bits[s] = 0;
      this.#names.fill(0, s * SET_WORDS, (s + 1) * SET_WORDS);
    }
    this.#queries[s]++;
    this.#chars[s] += subdomainChars > 0 ? subdomainChars : 0;
    if (!carriesData) return;
    const bit = hashName(data, at + 12, cursor) & (SET_WORDS * 32 - 1);
    const word = s * SET_WORDS + (bit >>> 5), mask = 1 << (bit & 31);
    if ((this.#names[word] & mask) !== 0) return;
    this.#names[word] |= mask;
    if (++this.#bits[s] < TUNNEL_BITS || t - slots.reported[s] < REPORT_REPEAT_MICROS) return;
    slots.reported[s] = t;
    this.#findings.push({
      kind: "dns-tunnel",
      atMicros: t,
      firstMicros: slots.windowStart[s],
      clientIp: formatAddress(p.srcAddr, p.ipVersion),
      clientPort: p.srcPort,
      serverIp: formatAddress(p.dstAddr, p.ipVersion),
      ipVersion: p.ipVersion,
      domain: nameText(data, domainStart, cursor, 120),
      names: distinctEstimate(this.#bits[s]),
      queries: this.#queries[s],
      subdomainChars: this.#chars[s],
      example: exampleText(data, at + 12, domainStart, cursor),
      vlan: p.vlan,
    });
  }

  /** The findings since the last call. */
  take(): DnsFinding[] {
    return this.#findings.take();
  }

  #skip(): void {
    this.counters.notAnalysed++;
  }
}

/** FNV-1a over a name's bytes from `start` to `end` (label lengths included), case folded. */
export function hashName(data: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = data[i];
    h = Math.imul(h ^ (c >= 65 && c <= 90 ? c + 32 : c), 0x01000193);
  }
  return h >>> 0;
}

/** Whether the label at `at` is `word` (lower case), case folded. */
function labelIs(data: Uint8Array, at: number, word: string): boolean {
  if (data[at] !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    const c = data[at + 1 + k];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== word.charCodeAt(k)) return false;
  }
  return true;
}

const SECOND_LEVEL_REGISTRIES = ["co", "com", "net", "org", "ac", "gov", "edu"];

function isSecondLevelRegistry(data: Uint8Array, at: number): boolean {
  for (const word of SECOND_LEVEL_REGISTRIES) if (labelIs(data, at, word)) return true;
  return false;
}

/** A name of at most 120 characters: its subdomain's start, "...", when cut, and the domain. */
function exampleText(data: Uint8Array, start: number, domainStart: number, end: number): string {
  const domain = nameText(data, domainStart, end, 120);
  const room = 120 - domain.length - 3;
  const subdomain = nameText(data, start, domainStart, Math.max(room + 1, 0));
  return subdomain.length <= room
    ? `${subdomain}.${domain}`
    : `${subdomain.slice(0, room)}...${domain}`;
}

/** A name as dotted text, printable ASCII only (others "?"), at most `max` characters. */
export function nameText(data: Uint8Array, start: number, end: number, max: number): string {
  let out = "";
  for (let i = start; i < end && out.length < max;) {
    const length = data[i];
    if (length === 0) break;
    if (out.length > 0) out += ".";
    for (let k = 1; k <= length && out.length < max; k++) {
      const c = data[i + k];
      out += c >= 33 && c <= 126 ? String.fromCharCode(c) : "?";
    }
    i += length + 1;
  }
  return out;
}
