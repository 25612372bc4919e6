/**
 * Packets that no flow statistic shows because they are wrong by
 * construction, as Suricata's decoder events flag them: a land attack (a
 * SYN from an address and port to the same address and port), fragments
 * that reach past the 65,535 bytes a datagram may have (ping of death) and
 * fragments that overlap others of the same datagram (teardrop and the
 * evasion tricks built on it), first fragments too short to hold a TCP
 * header (RFC 1858's tiny fragments: nmap -f splits its probes so that a
 * filter reading one packet sees no ports or flags), IPv4 and IPv6;
 * protocol scans (many IP protocols from one host to another); and TCP
 * segments with SYN and FIN or RST together, which no stack sends and OS
 * fingerprinting probes do (nmap -O's T3, hping3 -SF, queso). Fixed tables, no allocation per
 * packet: a repeat of a finding already made is recognised by numbers
 * before any text is made; a finding (rare) is an object for the alert path.
 */
import { mix32 } from "./mix32.ts";
import { FindingQueue } from "./finding_queue.ts";
import { DatagramSlots } from "./datagram_slots.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress, formatIpv4 } from "./flow_meter.ts";

/**
 * Distinct IP protocols other than TCP, UDP, ICMP and ICMPv6 one source
 * sends one target within PROTOCOL_WINDOW to be a protocol scan (nmap -sO
 * tries about 250; hosts speak a handful: GRE, ESP, IGMP, OSPF, VRRP, SCTP).
 */
export const PROTOCOL_SCAN_PROTOCOLS = 10;
const PROTOCOL_WINDOW_MICROS = 10e6;
const PAIRS = 256;
/** The same kind of finding between the same hosts is reported again after this long. */
const REPEAT_MICROS = 600e6;
const DATAGRAMS = 1024, RANGES = 8;

export type IpAnomalyKind =
  | "land"
  | "fragment-overrun"
  | "fragment-overlap"
  | "tiny-fragment"
  | "protocol-scan"
  | "syn-fin-rst";
/** A TCP header without options: a first fragment shorter than this splits it. */
const TCP_HEADER_MIN = 20;
/** A number per kind, for the repeat keys. */
const KIND_CODES: Record<IpAnomalyKind, number> = {
  "land": 1,
  "fragment-overrun": 2,
  "fragment-overlap": 3,
  "protocol-scan": 4,
  "tiny-fragment": 5,
  "syn-fin-rst": 6,
};

/** One anomaly; addresses as text. */
export interface IpAnomalyFinding {
  kind: IpAnomalyKind;
  atMicros: number;
  srcIp: string;
  dstIp: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  /** Fragments: the datagram's IP id and where the offending fragment lay (bytes). */
  ipId: number;
  fragmentStart: number;
  fragmentEnd: number;
  /** Protocol scans: distinct IP protocols (other than TCP, UDP, ICMP, ICMPv6) sent to the target. */
  protocols: number;
  vlan: number;
}

/** What the monitor counted. */
export interface IpAnomalyCounters {
  /** IPv4 and IPv6 fragments looked at (first and later ones). */
  fragments: number;
  land: number;
  fragmentOverruns: number;
  fragmentOverlaps: number;
  /** First fragments of TCP too short to hold its header. */
  tinyFragments: number;
  /** Packets of protocols other than TCP, UDP, ICMP and ICMPv6 (counted for protocol scans). */
  otherProtocolPackets: number;
  protocolScans: number;
  /** TCP segments with SYN and FIN or RST together. */
  synFinRst: number;
  findings: number;
  findingsDropped: number;
  /** Datagrams whose fragments were no longer compared because the table was full. */
  datagramsEvicted: number;
}

export class IpAnomalyMonitor {
  readonly counters: IpAnomalyCounters = {
    fragments: 0,
    land: 0,
    fragmentOverruns: 0,
    fragmentOverlaps: 0,
    tinyFragments: 0,
    otherProtocolPackets: 0,
    protocolScans: 0,
    synFinRst: 0,
    findings: 0,
    findingsDropped: 0,
    datagramsEvicted: 0,
  };
  readonly #findings = new FindingQueue<IpAnomalyFinding>(this.counters);
  /** Reported (kind, source, destination, VLAN), by a hash of them, and when (findings only). */
  readonly #reported = new Map<number, number>();

  // Datagrams being fragmented (source, destination, id and protocol): the ranges of their fragments.
  readonly #datagrams = new DatagramSlots(DATAGRAMS);
  readonly #rangeCount = new Uint8Array(DATAGRAMS);
  /** Start and end (bytes) of each fragment seen, RANGES per datagram. */
  readonly #ranges = new Uint32Array(DATAGRAMS * RANGES * 2);

  // Host pairs sending other protocols: key (two address hashes), window start, protocols seen.
  readonly #pairKey = new Uint32Array(PAIRS * 2);
  readonly #pairStart = new Float64Array(PAIRS).fill(-Infinity);
  readonly #pairCount = new Uint16Array(PAIRS);
  readonly #pairSet = new Uint32Array(PAIRS * 8);

  /** A metered packet: a land attack when a TCP SYN goes from an address and port to the same. */
  observeMetered(p: DecodedPacket): void {
    if (p.srcPort !== p.dstPort || p.protocol !== 6 || (p.tcpFlags & 0x12) !== 0x02) return;
    const s = p.srcWords, d = p.dstWords;
    if (s[0] !== d[0] || s[1] !== d[1] || s[2] !== d[2] || s[3] !== d[3]) return;
    this.counters.land++;
    const host = addressHash(s, 0);
    if (!this.#firstOf("land", host, host, p.vlan, p.timeMicros)) return;
    const f = this.#finding("land", p, p.timeMicros, 6);
    f.srcPort = f.dstPort = p.srcPort;
    this.#findings.push(f);
  }

  /** A metered TCP segment with SYN and FIN or RST together (the caller checks the flags). */
  observeSynFinRst(p: DecodedPacket): void {
    this.counters.synFinRst++;
    const a = addressHash(p.srcWords, 0), b = addressHash(p.dstWords, 0);
    if (!this.#firstOf("syn-fin-rst", a, b, p.vlan, p.timeMicros)) return;
    const f = this.#finding("syn-fin-rst", p, p.timeMicros, 6);
    f.srcPort = p.srcPort;
    f.dstPort = p.dstPort;
    this.#findings.push(f);
  }

  /**
   * A metered packet of a protocol other than TCP, UDP, ICMP and ICMPv6
   * (rare: the caller filters): counts the distinct protocols its source
   * sends its destination, a protocol scan at PROTOCOL_SCAN_PROTOCOLS.
   */
  observeOtherProtocol(p: DecodedPacket): void {
    this.counters.otherProtocolPackets++;
    const a = addressHash(p.srcWords, p.vlan), b = addressHash(p.dstWords, 0);
    const slot = mix32(a ^ b) & (PAIRS - 1);
    const t = p.timeMicros;
    if (
      this.#pairKey[2 * slot] !== a || this.#pairKey[2 * slot + 1] !== b ||
      t - this.#pairStart[slot] > PROTOCOL_WINDOW_MICROS
    ) {
      this.#pairKey[2 * slot] = a;
      this.#pairKey[2 * slot + 1] = b;
      this.#pairStart[slot] = t;
      this.#pairCount[slot] = 0;
      this.#pairSet.fill(0, slot * 8, slot * 8 + 8);
    }
    const word = slot * 8 + (p.protocol >>> 5), bit = 1 << (p.protocol & 31);
    if ((this.#pairSet[word] & bit) !== 0) return;
    this.#pairSet[word] |= bit;
    if (++this.#pairCount[slot] !== PROTOCOL_SCAN_PROTOCOLS) return;
    this.counters.protocolScans++;
    if (!this.#firstOf("protocol-scan", a, b, p.vlan, t)) return;
    const f = this.#finding("protocol-scan", p, t, p.protocol);
    f.protocols = PROTOCOL_SCAN_PROTOCOLS;
    this.#findings.push(f);
  }

  /**
   * An IPv4 fragment (first or later: DecodedPacket.ipv4Fragment) whose
   * header starts at `at` in packet `index` of `batch` (ipOffset; the
   * decoder checked its header and total lengths before calling it a
   * fragment, whatever became of the transport header after).
   */
  observeFragment(batch: PacketBatch, index: number, at: number, p: DecodedPacket): void {
    const data = batch.data;
    if (batch.offset[index] + batch.capturedLength[index] - at < 20) return;
    this.counters.fragments++;
    const headerBytes = (data[at] & 0x0f) * 4;
    const totalLength = (data[at + 2] << 8) | data[at + 3];
    const id = (data[at + 4] << 8) | data[at + 5];
    const start = (((data[at + 6] << 8) | data[at + 7]) & 0x1fff) * 8;
    const end = start + Math.max(0, totalLength - headerBytes);
    const protocol = data[at + 9];
    const src = ((data[at + 12] << 24) | (data[at + 13] << 16) | (data[at + 14] << 8) |
      data[at + 15]) >>> 0;
    const dst = ((data[at + 16] << 24) | (data[at + 17] << 16) | (data[at + 18] << 8) |
      data[at + 19]) >>> 0;
    const t = batch.timestampMicros[index];
    const moreFragments = (data[at + 6] & 0x20) !== 0;
    const kind = this.#fragmentAnomaly(
      headerBytes + end,
      src,
      dst,
      (id << 8) | protocol,
      start,
      end,
      t,
    ) ?? this.#tiny(protocol, start, end, moreFragments);
    if (kind === null || !this.#firstOf(kind, src, dst, p.vlan, t)) return;
    // A later fragment's decoded addresses are not its own (the decoder stops at its IP header).
    const f = this.#finding(kind, p, t, protocol, formatIpv4(src), formatIpv4(dst));
    this.#findings.push(fragmentDetail(f, id, start, end));
  }

  /** An IPv6 fragment (DecodedPacket.ipv6Fragment): the same checks as for IPv4. */
  observeFragment6(p: DecodedPacket): void {
    this.counters.fragments++;
    const start = p.fragmentStart, end = p.fragmentEnd, t = p.timeMicros;
    const a = addressHash(p.srcWords, 0), b = addressHash(p.dstWords, 0);
    // The fragmentable part of an IPv6 datagram is at most 65,535 bytes (without a jumbogram).
    const kind = this.#fragmentAnomaly(
      end,
      a,
      b,
      mix32(p.fragmentId) ^ p.fragmentNext,
      start,
      end,
      t,
    ) ?? this.#tiny(p.fragmentNext, start, end, true);
    if (kind === null || !this.#firstOf(kind, a, b, p.vlan, t)) return;
    this.#findings.push(
      fragmentDetail(this.#finding(kind, p, t, p.fragmentNext), p.fragmentId, start, end),
    );
  }

  /**
   * What is wrong with fragment [start, end) of datagram (a, b, key) whose
   * datagram reaches `reach` bytes: an overrun, an overlap, or nothing.
   */
  #fragmentAnomaly(
    reach: number,
    a: number,
    b: number,
    key: number,
    start: number,
    end: number,
    t: number,
  ): IpAnomalyKind | null {
    if (reach > 65535) {
      this.counters.fragmentOverruns++;
      return "fragment-overrun";
    }
    const datagrams = this.#datagrams, slot = datagrams.slot(a, b, key, t);
    if (datagrams.created) this.#rangeCount[slot] = 0;
    this.counters.datagramsEvicted = datagrams.evicted;
    return this.#overlaps(slot, start, end) ? "fragment-overlap" : null;
  }

  /** "tiny-fragment" for a first fragment of TCP, more to follow, too short for a TCP header (counted). */
  #tiny(protocol: number, start: number, end: number, more: boolean): IpAnomalyKind | null {
    if (protocol !== 6 || start !== 0 || !more || end - start >= TCP_HEADER_MIN) return null;
    this.counters.tinyFragments++;
    return "tiny-fragment";
  }

  /** Whether [start, end) overlaps a fragment of datagram `slot` seen before (then counted); remembers it. */
  #overlaps(slot: number, start: number, end: number): boolean {
    const base = slot * RANGES * 2, count = this.#rangeCount[slot];
    let overlap = false;
    for (let k = 0; k < count; k++) {
      const s = this.#ranges[base + 2 * k], e = this.#ranges[base + 2 * k + 1];
      // The same fragment again (a retransmission, a duplicate on a mirror port) is no overlap.
      if (start < e && s < end && !(start === s && end === e)) {
        this.counters.fragmentOverlaps++;
        overlap = true;
        break;
      }
    }
    if (count < RANGES) {
      this.#ranges[base + 2 * count] = start;
      this.#ranges[base + 2 * count + 1] = end;
      this.#rangeCount[slot] = count + 1;
    }
    return overlap;
  }

  /** The findings since the last call. */
  take(): IpAnomalyFinding[] {
    return this.#findings.take();
  }

  /**
   * True when (kind, a, b, vlan) was not reported within REPEAT_MICROS
   * (then it is, now): numbers only, so a flood of the same anomaly makes
   * no text and no object per packet.
   */
  #firstOf(kind: IpAnomalyKind, a: number, b: number, vlan: number, t: number): boolean {
    const key = mix32(KIND_CODES[kind] ^ mix32(a ^ mix32(b ^ vlan)));
    const last = this.#reported.get(key);
    if (last !== undefined && t - last < REPEAT_MICROS) return false;
    if (this.#reported.size >= DATAGRAMS) this.#reported.clear();
    this.#reported.set(key, t);
    return true;
  }

  /** A finding of `kind` about packet `p`'s hosts (or those given), no port or fragment detail yet. */
  #finding(
    kind: IpAnomalyKind,
    p: DecodedPacket,
    t: number,
    protocol: number,
    srcIp = formatAddress(p.srcAddr, p.ipVersion),
    dstIp = formatAddress(p.dstAddr, p.ipVersion),
  ): IpAnomalyFinding {
    return {
      kind,
      atMicros: t,
      srcIp,
      dstIp,
      protocol,
      srcPort: 0,
      dstPort: 0,
      ipId: 0,
      fragmentStart: 0,
      fragmentEnd: 0,
      protocols: 0,
      vlan: p.vlan,
    };
  }
}

/** A 16-byte decoder address (as its four words, with `salt`) mixed into 32 bits. */
function addressHash(w: Uint32Array, salt: number): number {
  return mix32(w[0] ^ mix32(w[1] ^ mix32(w[2] ^ mix32(w[3] ^ salt))));
}

/** `f` with the datagram's id and the offending fragment's bytes. */
function fragmentDetail(f: IpAnomalyFinding, id: number, start: number, end: number) {
  f.ipId = id;
  f.fragmentStart = start;
  f.fragmentEnd = end;
  return f;
}
