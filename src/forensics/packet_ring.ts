/**
 * A bounded ring of the most recent raw packets, fed batch by batch: each
 * batch's packet bytes are copied with one `set` into a fixed byte ring and
 * its per-packet lengths, times and link types into fixed typed arrays, so
 * keeping evidence costs one memcpy per batch and no allocation per packet.
 * When an alert is emitted, the packets between its two hosts are picked out
 * of the ring (only then is anything decoded) and written as a pcap; for an
 * ARP monitor's alert, the ARP frames it is about.
 */
import { encodePcap, type PacketBatch, type PacketToWrite } from "../capture/mod.ts";
import { DECODE_OUTCOMES, DecodedPacket, decodePacket, parseAddress } from "../features/mod.ts";

const ARP_OUTCOME = DECODE_OUTCOMES.indexOf("arp");

/** Sizes of a packet ring. */
export interface PacketRingOptions {
  /** Bytes of packet data kept (default 64 MiB). */
  capacityBytes?: number;
  /** Packets kept (default 262,144). */
  capacityPackets?: number;
}

/** Limits of one evidence capture. */
export interface EvidenceLimits {
  /** Most bytes of one pcap (default 1 MiB); the earliest packets are kept. */
  maxBytes?: number;
  /** Most packets of one pcap (default 10,000). */
  maxPackets?: number;
  /** Seconds before the first and after the last flow packet still taken (default 1). */
  slackSeconds?: number;
}

/**
 * What an alert's evidence is matched by: its two hosts and its flow times
 * (an EVE alert is one). An alert standing for many sources (a spoofed flood)
 * takes every packet to or from its target; one standing for many targets (a
 * sweep) every packet to or from its source. An ARP alert (proto "ARP")
 * takes the ARP frames whose sender hardware address is its sender_mac, and,
 * for spoofing, every ARP frame naming the claimed address (the owner's
 * answers beside the claimant's).
 */
export interface EvidenceRequest {
  src_ip: string;
  dest_ip: string;
  proto?: string;
  /** ISO times of the group's first and last packet. */
  flow: { start: string; end: string };
  alert?: { sources?: number; targets?: number };
  arp?: { sender_mac: string; claimed_ip?: string };
}

/** A written evidence pcap. */
export interface EvidencePcap {
  pcap: Uint8Array;
  packets: number;
  /** Packets of the group left out by the size limits. */
  truncatedPackets: number;
}

/** Counters of a ring. */
export interface PacketRingStats {
  batches: number;
  packets: number;
  bytes: number;
  /** Packets whose data did not fit one ring (a batch larger than the ring): never kept. */
  skippedPackets: number;
  /** Packets held now. */
  heldPackets: number;
}

/** Parses a MAC address (six colon- or dash-separated hex bytes); null if malformed. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return null;
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function hashAddress(words: Uint32Array | Uint8Array): number {
  const w = words instanceof Uint32Array
    ? words
    : new Uint32Array(words.buffer, words.byteOffset, 4);
  return Math.imul(
    w[0] ^ Math.imul(w[1], 0x9e3779b1) ^ Math.imul(w[2], 0x85ebca6b) ^
      Math.imul(w[3], 0xc2b2ae35),
    0x27d4eb2f,
  ) >>> 0;
}

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  for (let k = 0; k < 16; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** One alert's wants and what it has taken so far, during an evidence pass. */
interface Wanted {
  a: Uint8Array;
  b: Uint8Array;
  /** Only this host must be on the packet (many sources or many targets); else both. */
  host: Uint8Array | null;
  /** ARP alerts: the sender hardware address and the claimed IPv4 address (or null). */
  arpMac: Uint8Array | null;
  arpClaimed: Uint8Array | null;
  from: number;
  to: number;
  slots: number[];
  bytes: number;
  truncated: number;
  linkType: number;
}

/**
 * Offers an ARP frame (ARP header at `at`) to the ARP alerts that want it:
 * Ethernet/IPv4 ARP whose sender hardware address is the alert's MAC, or
 * whose sender or target address is its claimed address, within its times.
 */
function takeArp(
  alerts: readonly Wanted[],
  view: PacketBatch,
  slot: number,
  at: number,
  take: (w: Wanted, slot: number, view: PacketBatch) => void,
): void {
  const data = view.data, end = view.offset[slot] + view.capturedLength[slot];
  if (end - at < 28 || data[at + 4] !== 6 || data[at + 5] !== 4) return;
  const t = view.timestampMicros[slot];
  for (const w of alerts) {
    if (t < w.from || t > w.to) continue;
    const mac = w.arpMac!, claimed = w.arpClaimed;
    let match = true;
    for (let k = 0; k < 6 && match; k++) match = data[at + 8 + k] === mac[k];
    if (!match && claimed) {
      match = true;
      for (let k = 0; k < 4 && match; k++) match = data[at + 14 + k] === claimed[k];
      if (!match) {
        match = true;
        for (let k = 0; k < 4 && match; k++) match = data[at + 24 + k] === claimed[k];
      }
    }
    if (match) take(w, slot, view);
  }
}

/** The ring. One per sensor run; `keep` every batch, `evidence` when alerts are emitted. */
export class PacketRing {
  readonly capacityBytes: number;
  readonly capacityPackets: number;
  // The ring doubles as a PacketBatch so the decoder reads it in place.
  readonly #view: PacketBatch;
  // Batches held, oldest first: [firstSlot, packets, dataStart, dataBytes] per batch.
  #batches: number[] = [];
  #firstBatch = 0;
  #nextSlot = 0;
  #held = 0;
  #dataHead = 0;
  #stats = { batches: 0, packets: 0, bytes: 0, skippedPackets: 0 };

  constructor(options: PacketRingOptions = {}) {
    this.capacityBytes = Math.max(65_536, Math.floor(options.capacityBytes ?? 64 * 1024 * 1024));
    this.capacityPackets = Math.max(16, Math.floor(options.capacityPackets ?? 262_144));
    this.#view = {
      count: this.capacityPackets,
      data: new Uint8Array(this.capacityBytes),
      offset: new Uint32Array(this.capacityPackets),
      capturedLength: new Uint32Array(this.capacityPackets),
      wireLength: new Uint32Array(this.capacityPackets),
      timestampMicros: new Float64Array(this.capacityPackets),
      linkType: new Uint16Array(this.capacityPackets),
    };
  }

  /** Counters so far. */
  stats(): PacketRingStats {
    return { ...this.#stats, heldPackets: this.#held };
  }

  /** Copies a batch into the ring (a batch larger than the ring is kept in ring-sized parts). */
  keep(batch: PacketBatch): void {
    const n = batch.count;
    if (n === 0) return;
    this.#stats.batches++;
    let from = 0;
    // Split into runs whose byte span fits a quarter of the ring, so one
    // oversized batch never evicts everything in one go.
    const limit = this.capacityBytes >> 2;
    while (from < n) {
      let lo = batch.offset[from];
      let hi = lo + batch.capturedLength[from];
      let to = from + 1;
      while (to < n && to - from < this.capacityPackets >> 2) {
        const start = batch.offset[to];
        const end = start + batch.capturedLength[to];
        const newLo = Math.min(lo, start);
        const newHi = Math.max(hi, end);
        if (newHi - newLo > limit) break;
        lo = newLo;
        hi = newHi;
        to++;
      }
      if (hi - lo > limit) {
        // A single packet larger than a quarter of the ring: not kept.
        this.#stats.skippedPackets++;
      } else {
        this.#keepRun(batch, from, to, lo, hi);
      }
      from = to;
    }
  }

  #keepRun(batch: PacketBatch, from: number, to: number, lo: number, hi: number): void {
    const count = to - from;
    const bytes = hi - lo;
    const oldHead = this.#dataHead;
    const wraps = oldHead + bytes > this.capacityBytes;
    const start = wraps ? 0 : oldHead;
    // Evict the oldest batches whose bytes or slots the new run needs. On a
    // wrap the oldest are the previous lap's remnants past the old head: they go first.
    while (this.#firstBatch < this.#batches.length) {
      const b = this.#firstBatch;
      const dataStart = this.#batches[b + 2];
      const dataEnd = dataStart + this.#batches[b + 3];
      const overlaps = dataStart < start + bytes && start < dataEnd;
      const pastWrap = wraps && dataStart >= oldHead;
      if (!overlaps && !pastWrap && this.#held + count <= this.capacityPackets) break;
      this.#held -= this.#batches[b + 1];
      this.#firstBatch += 4;
    }
    if (this.#firstBatch > 4096) {
      this.#batches = this.#batches.slice(this.#firstBatch);
      this.#firstBatch = 0;
    }
    const view = this.#view;
    view.data.set(batch.data.subarray(lo, hi), start);
    const firstSlot = this.#nextSlot;
    // Bulk copies of the per-packet arrays (two pieces when the slots wrap).
    const first = Math.min(count, this.capacityPackets - firstSlot);
    const pieces: [number, number, number][] = [[from, firstSlot, first]];
    if (first < count) pieces.push([from + first, 0, count - first]);
    const shift = start - lo;
    for (const [src, dst, n] of pieces) {
      view.offset.set(batch.offset.subarray(src, src + n), dst);
      view.capturedLength.set(batch.capturedLength.subarray(src, src + n), dst);
      view.wireLength.set(batch.wireLength.subarray(src, src + n), dst);
      view.timestampMicros.set(batch.timestampMicros.subarray(src, src + n), dst);
      view.linkType.set(batch.linkType.subarray(src, src + n), dst);
      const offsets = view.offset;
      for (let k = dst, end = dst + n; k < end; k++) offsets[k] += shift;
    }
    this.#stats.bytes += bytes;
    const slot = (firstSlot + count) % this.capacityPackets;
    this.#nextSlot = slot;
    this.#held += count;
    this.#stats.packets += count;
    this.#dataHead = start + bytes;
    this.#batches.push(firstSlot, count, start, bytes);
  }

  /** Passes batches through, keeping each one first. */
  async *tap(source: AsyncIterable<PacketBatch>): AsyncGenerator<PacketBatch> {
    for await (const batch of source) {
      this.keep(batch);
      yield batch;
    }
  }

  /**
   * One pass over the ring for a set of alerts: for each, the packets between
   * its two hosts within its flow times (plus slack), oldest first, as a pcap
   * (null when the ring holds none of them any more).
   */
  evidence(requests: readonly EvidenceRequest[], limits: EvidenceLimits = {}): (
    EvidencePcap | null
  )[] {
    const maxBytes = limits.maxBytes ?? 1024 * 1024;
    const maxPackets = limits.maxPackets ?? 10_000;
    const slackMicros = (limits.slackSeconds ?? 1) * 1e6;
    const wanted: (Wanted | null)[] = requests.map((r) => {
      const a = parseAddress(r.src_ip);
      const b = parseAddress(r.dest_ip);
      const start = Date.parse(r.flow.start) * 1000;
      const end = Date.parse(r.flow.end) * 1000;
      if (!a || !b || !Number.isFinite(start) || !Number.isFinite(end)) return null;
      const host = (r.alert?.sources ?? 1) > 1 ? b : (r.alert?.targets ?? 1) > 1 ? a : null;
      const arpMac = r.proto === "ARP" && r.arp ? parseMac(r.arp.sender_mac) : null;
      const claimed = arpMac && r.arp?.claimed_ip ? parseAddress(r.arp.claimed_ip) : null;
      return {
        a,
        b,
        host,
        arpMac,
        arpClaimed: claimed && claimed.subarray(12),
        from: start - slackMicros,
        to: end + slackMicros,
        slots: [],
        bytes: 24,
        truncated: 0,
        linkType: -1,
      };
    });
    const byPair = new Map<number, Wanted[]>();
    const byHost = new Map<number, Wanted[]>();
    const byArp: Wanted[] = [];
    for (const w of wanted) {
      if (!w) continue;
      if (w.arpMac) {
        byArp.push(w);
        continue;
      }
      const [map, key] = w.host
        ? [byHost, hashAddress(w.host)]
        : [byPair, (hashAddress(w.a) ^ hashAddress(w.b)) >>> 0];
      const list = map.get(key);
      if (list) list.push(w);
      else map.set(key, [w]);
    }
    const take = (w: Wanted, slot: number, view: PacketBatch) => {
      if (w.linkType === -1) w.linkType = view.linkType[slot];
      const size = 16 + view.capturedLength[slot];
      if (
        view.linkType[slot] !== w.linkType || w.slots.length >= maxPackets ||
        w.bytes + size > maxBytes
      ) {
        w.truncated++;
        return;
      }
      w.slots.push(slot);
      w.bytes += size;
    };
    if (byPair.size + byHost.size + byArp.length > 0 && this.#held > 0) {
      const decoded = new DecodedPacket();
      const view = this.#view;
      let slot = (this.#nextSlot - this.#held + this.capacityPackets) % this.capacityPackets;
      for (let k = 0; k < this.#held; k++) {
        const outcome = decodePacket(view, slot, decoded);
        if (outcome === ARP_OUTCOME && byArp.length > 0) {
          takeArp(byArp, view, slot, decoded.arpOffset, take);
        } else if (outcome === 0) {
          const t = view.timestampMicros[slot];
          const srcHash = hashAddress(decoded.srcWords);
          const dstHash = hashAddress(decoded.dstWords);
          const pair = byPair.size > 0 ? byPair.get((srcHash ^ dstHash) >>> 0) : undefined;
          if (pair) {
            for (const w of pair) {
              if (t < w.from || t > w.to) continue;
              const forward = sameAddress(decoded.srcAddr, w.a) &&
                sameAddress(decoded.dstAddr, w.b);
              const backward = sameAddress(decoded.srcAddr, w.b) &&
                sameAddress(decoded.dstAddr, w.a);
              if (forward || backward) take(w, slot, view);
            }
          }
          if (byHost.size > 0) {
            for (
              const [hash, address] of [[srcHash, decoded.srcAddr], [
                dstHash,
                decoded.dstAddr,
              ]] as const
            ) {
              const list = byHost.get(hash);
              if (!list) continue;
              for (const w of list) {
                if (t < w.from || t > w.to || !sameAddress(address, w.host!)) continue;
                // A packet from the host to itself is taken once.
                if (address === decoded.dstAddr && sameAddress(decoded.srcAddr, w.host!)) continue;
                take(w, slot, view);
              }
            }
          }
        }
        if (++slot === this.capacityPackets) slot = 0;
      }
    }
    return wanted.map((w) => {
      if (!w || w.slots.length === 0) return null;
      const view = this.#view;
      const packets: PacketToWrite[] = w.slots.map((s) => ({
        data: view.data.subarray(view.offset[s], view.offset[s] + view.capturedLength[s]),
        timestampMicros: view.timestampMicros[s],
        wireLength: view.wireLength[s],
      }));
      return {
        pcap: encodePcap(packets, { linkType: w.linkType }),
        packets: packets.length,
        truncatedPackets: w.truncated,
      };
    });
  }
}
