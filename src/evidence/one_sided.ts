/**
 * Conversations whose return path the sensor does not see: a SPAN port that
 * mirrors one direction, a tap on one fibre strand, asymmetric routing over
 * two links. There a missing answer is no evidence: a client's DNS query
 * looks unanswered, its connection half-open, a server's answers look
 * unsolicited. Suricata calls these streams `async-oneside`; Zeek reports
 * `possible_split_routing`.
 *
 * Proof that a return path is unseen comes from TCP, whose sides each show
 * they were answered: an originator that sends its handshake ACK or data
 * after its SYN while no packet came back; a responder that sends data or
 * ACKs after its SYN-ACK while no packet of the originator was seen (a
 * reflected SYN-ACK, a spoofed SYN's answer, is never followed by more than
 * its retransmissions). A symmetric capture shows that only when it lost a
 * whole side of a connection.
 *
 * The proof is kept per host pair, for the direction seen, in a fixed table
 * (`capacity` pairs; the pair with the fewest proofs is evicted, counted)
 * and expires `ttlMicros` after the pair's last proof. Any flow of the pair
 * with packets both ways ends it: the return path is seen after all.
 * Nothing is allocated per flow.
 */
import { HostTable } from "./host_table.ts";

/** Counts of what the one-sided evidence did. */
export interface OneSidedStats {
  /** TCP connections (first rows) with packets both ways. */
  twoWayTcpFlows: number;
  /** TCP connections that proved their return path unseen (one side answered, the other never seen). */
  proofFlows: number;
  /**
   * Flows whose missing answers (or requests) were not counted as evidence:
   * connections that proved they were answered, and flows of pairs or hosts
   * proven one-way (see HostEvidence for what each still counts).
   */
  excusedFlows: number;
  /** Flagged flows among those whose model votes were not counted toward an alert. */
  excusedVotes: number;
  /** Pairs whose return path showed up again (a flow of theirs with packets both ways). */
  pairsCleared: number;
  /** Pairs proven one-sided now (within the expiry). */
  pairs: number;
  /** Pairs pushed out of the full table (their flows count as evidence again). */
  pairsEvicted: number;
  capacity: number;
  bytes: number;
}

/** Proof flows before a run counts as mostly one-sided. */
export const ONE_SIDED_MIN_PROOFS = 10;
/** Share of TCP connections proven one-sided from which a run is mostly one-sided. */
export const ONE_SIDED_SHARE = 0.5;

/**
 * The warning for a run whose TCP connections are mostly seen one side only,
 * or null: `proofFlows` of `proofFlows + twoWayTcpFlows`.
 */
export function oneSidedWarning(
  s: Pick<OneSidedStats, "proofFlows" | "twoWayTcpFlows">,
): string | null {
  const all = s.proofFlows + s.twoWayTcpFlows;
  if (s.proofFlows < ONE_SIDED_MIN_PROOFS || s.proofFlows < ONE_SIDED_SHARE * all) return null;
  return `warning: ${Math.round((100 * s.proofFlows) / all)}% of TCP connections ` +
    `(${s.proofFlows} of ${all}) were seen one side only: this capture does not see the ` +
    `return path of most conversations (a SPAN port or tap mirroring one direction, asymmetric ` +
    `routing); missing answers there are not counted as evidence (probes, half-open ` +
    `connections, unsolicited replies)`;
}

/** Bits of a pair entry: which of its directions was seen alone. */
const LOW_TO_HIGH = 1, HIGH_TO_LOW = 2;
/** Bits of a host entry: its peers' answers were unseen (a talker), or its own packets were (silent). */
const TALKER = 1, SILENT = 2;
/** Entry counters: proofs (eviction takes the fewest), latest proof time, bits. */
const O_PROOFS = 0, O_LAST = 1, O_BITS = 2, O_FIELDS = 3;

/** Where a flow's return path was proven unseen (`OneSidedPairs.observe`). */
export const SEEN_BOTH = 0, UNSEEN_PAIR = 1, UNSEEN_HOST = 2;

/** Host pairs and hosts whose return path is proven unseen, by direction. */
export class OneSidedPairs {
  readonly ttlMicros: number;
  readonly #pairs: HostTable;
  readonly #hosts: HostTable;
  readonly #stats = {
    twoWayTcpFlows: 0,
    proofFlows: 0,
    excusedFlows: 0,
    excusedVotes: 0,
    pairsCleared: 0,
  };
  /** Entries ever made: none (a symmetric capture), and a flow costs no lookup. */
  #entries = 0;

  constructor(capacity = 16384, ttlMicros = 600e6) {
    this.#pairs = new HostTable(capacity, 8, O_FIELDS);
    this.#hosts = new HostTable(capacity, 4, O_FIELDS);
    this.ttlMicros = ttlMicros;
  }

  /**
   * Whether the run so far is mostly one-sided: at least two proofs, and no
   * fewer than the TCP connections seen both ways. Only then does a host's
   * proof with some peers stand for its other peers too; on a symmetric
   * capture a few forged proofs cannot open it.
   */
  get mostlyOneSided(): boolean {
    const s = this.#stats;
    return s.proofFlows >= 2 && s.proofFlows >= s.twoWayTcpFlows;
  }

  /**
   * Notes one flow (its first row) between the addresses at `src[srcAt..+16)`
   * and `dst[dstAt..+16)`: `proof` when it proved its return path unseen,
   * `twoWay` when it had packets both ways (TCP ones count toward the share).
   * Returns where its backward direction (dst to src) is proven unseen:
   * UNSEEN_PAIR (this flow, or an earlier one of the pair within the
   * expiry), UNSEEN_HOST (while the run is mostly one-sided: the source's
   * peers are unseen, or the destination is, with other hosts), or SEEN_BOTH.
   */
  observe(
    src: Uint8Array,
    srcAt: number,
    dst: Uint8Array,
    dstAt: number,
    tcp: boolean,
    proof: boolean,
    twoWay: boolean,
    nowMicros: number,
  ): number {
    if (twoWay && tcp) this.#stats.twoWayTcpFlows++;
    if (!proof && this.#entries === 0) return SEEN_BOTH;
    const pairs = this.#pairs;
    const seen = this.#pairKey(src, srcAt, dst, dstAt);
    if (proof) {
      this.#stats.proofFlows++;
      this.#prove(pairs, seen, nowMicros);
      this.#hostKey(src, srcAt);
      this.#prove(this.#hosts, TALKER, nowMicros);
      this.#hostKey(dst, dstAt);
      this.#prove(this.#hosts, SILENT, nowMicros);
      return UNSEEN_PAIR;
    }
    if (twoWay) {
      // The return path is seen after all: the pair and its hosts lose their proofs.
      if (this.#clear(pairs, nowMicros, true) !== 0) this.#stats.pairsCleared++;
      this.#hostKey(src, srcAt);
      this.#clear(this.#hosts, nowMicros, true);
      this.#hostKey(dst, dstAt);
      this.#clear(this.#hosts, nowMicros, true);
      return SEEN_BOTH;
    }
    if ((this.#clear(pairs, nowMicros, false) & seen) !== 0) return UNSEEN_PAIR;
    if (!this.mostlyOneSided) return SEEN_BOTH;
    this.#hostKey(src, srcAt);
    if ((this.#clear(this.#hosts, nowMicros, false) & TALKER) !== 0) return UNSEEN_HOST;
    this.#hostKey(dst, dstAt);
    return (this.#clear(this.#hosts, nowMicros, false) & SILENT) !== 0 ? UNSEEN_HOST : SEEN_BOTH;
  }

  /** Counts a flow `observe` said was unseen the other way, and whether its model vote was dropped. */
  excused(voteDropped: boolean): void {
    this.#stats.excusedFlows++;
    if (voteDropped) this.#stats.excusedVotes++;
  }

  stats(): OneSidedStats {
    const t = this.#pairs;
    let pairs = 0;
    t.forEachLive((s) => {
      if (t.counters[s * O_FIELDS + O_BITS] !== 0) pairs++;
    });
    return {
      ...this.#stats,
      pairs,
      pairsEvicted: t.stats.evicted + this.#hosts.stats.evicted,
      capacity: t.capacity,
      bytes: this.bytes,
    };
  }

  get bytes(): number {
    return this.#pairs.bytes + this.#hosts.bytes;
  }

  /** Adds a proof with `bits` to the entry of `table.key`. */
  #prove(table: HostTable, bits: number, nowMicros: number): void {
    const s = table.upsert();
    if (s < 0) return;
    if (table.created) this.#entries++;
    const c = table.counters, b = s * O_FIELDS;
    c[b + O_PROOFS]++;
    c[b + O_LAST] = nowMicros;
    c[b + O_BITS] = c[b + O_BITS] | bits;
  }

  /**
   * The bits of the entry of `table.key` (0 when absent); an expired entry,
   * or any entry when `always`, loses them (first to go when the table is full).
   */
  #clear(table: HostTable, nowMicros: number, always: boolean): number {
    const s = table.find();
    if (s < 0) return 0;
    const c = table.counters, b = s * O_FIELDS;
    const bits = c[b + O_BITS];
    if (bits === 0) return 0;
    if (always || nowMicros - c[b + O_LAST] > this.ttlMicros) {
      c[b + O_BITS] = 0;
      c[b + O_PROOFS] = 0;
      return always ? bits : 0;
    }
    return bits;
  }

  /**
   * Writes the pair's key (lower address first) into the pair table's key
   * and returns the bit of the direction src to dst.
   */
  #pairKey(src: Uint8Array, srcAt: number, dst: Uint8Array, dstAt: number): number {
    let order = 0;
    for (let k = 0; k < 16 && order === 0; k++) order = src[srcAt + k] - dst[dstAt + k];
    const key = this.#pairs.key;
    if (order <= 0) {
      words(src, srcAt, key, 0);
      words(dst, dstAt, key, 4);
      return LOW_TO_HIGH;
    }
    words(dst, dstAt, key, 0);
    words(src, srcAt, key, 4);
    return HIGH_TO_LOW;
  }

  #hostKey(bytes: Uint8Array, at: number): void {
    words(bytes, at, this.#hosts.key, 0);
  }
}

/** The 16 address bytes at `at` as four big-endian words into `out[to..to+4)`. */
function words(bytes: Uint8Array, at: number, out: Uint32Array, to: number): void {
  for (let w = 0; w < 4; w++) {
    const o = at + w * 4;
    out[to + w] = ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>>
      0;
  }
}
