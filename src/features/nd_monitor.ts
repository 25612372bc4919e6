/**
 * IPv6 neighbour discovery (ICMPv6 133-136), the IPv6 link's ARP: host
 * discovery by Neighbor Solicitations to many addresses (nmap -6 -sn on the
 * local link, thc-ipv6's alive6), Neighbor Advertisements with the Override
 * flag claiming another host's address (parasite6, fake_advertise6: the
 * IPv6 ARP spoofing), and Router Advertisements from a router the link did
 * not have (fake_router6) or in a known router's name from another MAC
 * (kill_router6). The same shape as the ARP monitor: fixed tables in typed
 * arrays, a packet costs a few reads and writes and no allocation; a
 * finding (rare by construction) is an object for the alert path.
 */
import { mix32 } from "./mix32.ts";
import { FindingQueue } from "./finding_queue.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress } from "./flow_meter.ts";
import { ARP_SWEEP_TARGETS, macText } from "./arp_monitor.ts";
import { SweepEpisodes } from "./sweep_episodes.ts";

/** Distinct targets one source solicits within SWEEP_WINDOW_MICROS to be a sweep: as ARP's. */
export const ND_SWEEP_TARGETS = ARP_SWEEP_TARGETS;
/** How long an address-to-MAC binding counts as current (another MAC claiming it is a conflict). */
const BINDING_TTL_MICROS = 300e6;
/** The same claim, or the same router's advertisements, are reported again after this long. */
const REPEAT_MICROS = 600e6;
/**
 * Routers advertising within this long of the monitor's first ND message are
 * the link's own: RFC 4861's default MaxRtrAdvInterval is 600 s, so every
 * router on default timers has advertised once by then (and hosts' Router
 * Solicitations on link-up make them answer sooner). After it, a router not
 * seen before is a new one.
 */
export const ROUTER_LEARNING_MICROS = 600e6;
/** New-router lines per link (VLAN) per REPEAT at most: a flood of random routers (flood_router6) is counted, not a line each. */
const ROUTER_LINES_PER_LINK = 4;

const SENDERS = 1024, PROBE = 8, BINDINGS = 4096, ROUTERS = 64;

const NS = 135, NA = 136, RS = 133, RA = 134;

/** What the monitor found; addresses as text. */
export type NdFinding =
  | {
    kind: "nd-sweep";
    stage: "first" | "final";
    atMicros: number;
    firstMicros: number;
    lastMicros: number;
    senderIp: string;
    senderMac: string;
    /** The first target address solicited. */
    firstTarget: string;
    /** Distinct targets solicited in the episode (a 1024-bit set, linear counting, as the ARP monitor's). */
    targets: number;
    solicitations: number;
    bytes: number;
    vlan: number;
  }
  | {
    kind: "nd-spoof";
    atMicros: number;
    /** The frame's Ethernet source, which makes the claim. */
    senderMac: string;
    /** The claimant's own address (its latest solicitation's source), null when it showed none. */
    senderIp: string | null;
    claimedIp: string;
    /** The MAC the advertisement's target link-layer option claims, when not the frame's source. */
    claimedMac: string | null;
    /** The advertisement's IPv6 destination (a host, or ff02::1 for all). */
    targetIp: string;
    /** The MAC the claimed address was bound to within BINDING_TTL. */
    previousMac: string;
    vlan: number;
  }
  | {
    kind: "nd-rogue-router";
    atMicros: number;
    senderMac: string;
    /** The advertisement's source (a router's link-local address). */
    routerIp: string;
    /** Router lifetime in seconds (0: "I am no default router", what kill_router6 sends). */
    routerLifetime: number;
    /**
     * What is wrong: a router not known after the learning period ("new"),
     * a known router's address from another MAC ("other-mac"), or its
     * address and MAC with a hop limit or flags unlike its own ("unlike-its-own").
     */
    check: "new" | "other-mac" | "unlike-its-own";
    /** The MAC the link's known router with this address has ("other-mac"); null otherwise. */
    previousMac: string | null;
    vlan: number;
  };

/** What the monitor counted. */
export interface NdCounters {
  solicitations: number;
  advertisements: number;
  routerSolicitations: number;
  routerAdvertisements: number;
  /** Duplicate address detection (solicitations from ::): not requests for others. */
  dadProbes: number;
  /** Advertisements with the Override flag for an address bound to another MAC. */
  overrideConflicts: number;
  /** Router advertisements from a router not known on the link (after learning) or in a known one's name from another MAC. */
  rogueRouterAdvertisements: number;
  /** ND messages with a hop limit other than 255 (off-link, hosts drop them) or cut short: counted, not analysed. */
  notAnalysed: number;
  findings: number;
  findingsDropped: number;
  /** Source slots taken over from another source (the table is full). */
  sendersEvicted: number;
  /** Routers not remembered because the router table was full. */
  routersNotKept: number;
  /**
   * Solicitations to a unicast address: reachability probes of a neighbour
   * the sender knows (RFC 4861 7.3.3, a poller's kernel every half minute), not
   * discovery (which asks the target's solicited-node multicast group).
   */
  unicastSolicitations: number;
}

/** Per-packet ND analysis; call observe for each metered ICMPv6 packet of type 133-136. */
export class NdMonitor {
  readonly counters: NdCounters = {
    solicitations: 0,
    advertisements: 0,
    routerSolicitations: 0,
    routerAdvertisements: 0,
    dadProbes: 0,
    overrideConflicts: 0,
    rogueRouterAdvertisements: 0,
    notAnalysed: 0,
    findings: 0,
    findingsDropped: 0,
    sendersEvicted: 0,
    routersNotKept: 0,
    unicastSolicitations: 0,
  };
  readonly #findings = new FindingQueue<NdFinding>(this.counters);
  /** Packet time of the first ND message (start of the router learning period). */
  #firstSeen = -1;
  /** Scratch for one address (target, link-local router) read from a message body. */
  readonly #word = new Uint32Array(4);
  readonly #wordBytes = new Uint8Array(this.#word.buffer);
  /**
   * The packet's time, for the per-packet methods: a double this large
   * passed as an argument to a call that is not inlined is boxed, one
   * allocation per packet (MACs are passed as two 24-bit halves for the
   * same reason: small integers are never boxed).
   */
  readonly #sweeps = new SweepEpisodes(SENDERS, ND_SWEEP_TARGETS);
  /** #endEpisode for the sweeps' expiry (one function, made once). */
  readonly #endEpisodeOf = (s: number, t: number) => this.#endEpisode(s, t);
  readonly #clock = this.#sweeps.clock;

  // Sources of solicitations: key (address, VLAN), MAC, first target (whether a slot is in use and its counts: #sweeps).
  readonly #senderKey = new Uint32Array(SENDERS * 4);
  readonly #senderVlan = new Int32Array(SENDERS);
  readonly #senderMacHigh = new Uint32Array(SENDERS);
  readonly #senderMacLow = new Uint32Array(SENDERS);
  readonly #senderFirstTarget = new Uint32Array(SENDERS * 4);

  // Bindings address -> MAC (direct-mapped by a hash of address and VLAN).
  readonly #bindingKey = new Uint32Array(BINDINGS * 4);
  readonly #bindingVlan = new Int32Array(BINDINGS).fill(-1);
  readonly #bindingMacHigh = new Uint32Array(BINDINGS);
  readonly #bindingMacLow = new Uint32Array(BINDINGS);
  readonly #bindingTime = new Float64Array(BINDINGS);
  /** 1: learnt from the address's own solicitations (its source); 0: from an advertisement (a claim). */
  readonly #bindingOwn = new Uint8Array(BINDINGS);

  // Routers of each link: address, VLAN, MAC (a short list: a link has a router or two).
  readonly #routerKey = new Uint32Array(ROUTERS * 4);
  readonly #routerVlan = new Int32Array(ROUTERS).fill(-1);
  readonly #routerMacHigh = new Uint32Array(ROUTERS);
  readonly #routerMacLow = new Uint32Array(ROUTERS);
  /** The router's current hop limit and flags (RA bytes 4-5), from its latest advertisement with a lifetime. */
  readonly #routerSettings = new Uint16Array(ROUTERS);
  /** Per VLAN: when its new-router lines' REPEAT period began, and lines in it. */
  readonly #linkLinesStart = new Float64Array(4096).fill(-Infinity);
  readonly #linkLines = new Uint8Array(4096);

  /** Claims and rogue routers reported, by a hash of (kind, MAC, address, VLAN), and when (findings only). */
  readonly #reported = new Map<number, number>();

  /**
   * Analyses metered packet `index` of `batch`, decoded into `p` (ICMPv6,
   * type p.srcPort in 133-136): its message starts l4HeaderBytes before the
   * payload (the decoder takes the ICMPv6 header as 8 bytes when it has them).
   */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const data = batch.data;
    const at = p.payloadOffset - p.l4HeaderBytes;
    const end = Math.min(
      batch.offset[index] + batch.capturedLength[index],
      at + p.l4HeaderBytes + p.payloadBytes,
    );
    const type = p.srcPort;
    // Every ND message is sent with hop limit 255 (RFC 4861): any other was routed, and hosts drop it.
    const minimum = type === RS ? 8 : type === RA ? 16 : 24;
    if (p.ttl !== 255 || end - at < minimum) {
      this.counters.notAnalysed++;
      return;
    }
    const t = p.timeMicros;
    this.#clock[0] = t;
    if (this.#firstSeen < 0) this.#firstSeen = t;
    // The claimant is the frame's Ethernet source; without Ethernet, the link-layer option's MAC.
    let macHigh = -1, macLow = 0;
    const frame = batch.offset[index];
    if (batch.linkType[index] === 1) {
      macHigh = readMacHalf(data, frame + 6);
      macLow = readMacHalf(data, frame + 9);
    }
    const optionsAt = at + (type === RS ? 8 : type === RA ? 16 : 24);
    const option = findLinkOption(data, optionsAt, end, type === NA ? 2 : 1);
    let optHigh = macHigh, optLow = macLow;
    if (option >= 0) {
      optHigh = readMacHalf(data, option), optLow = readMacHalf(data, option + 3);
    }
    if (macHigh < 0) macHigh = optHigh, macLow = optLow;
    if (macHigh < 0) {
      this.counters.notAnalysed++;
      return;
    }
    const src = p.srcWords, vlan = p.vlan;
    const unspecified = (src[0] | src[1] | src[2] | src[3]) === 0;
    if (type === NS) {
      this.counters.solicitations++;
      if (unspecified) {
        this.counters.dadProbes++;
        return;
      }
      this.#bind(src, vlan, optHigh, optLow, 1);
      readAddress(data, at + 8, this.#wordBytes);
      if (p.dstAddr[0] !== 0xff) this.counters.unicastSolicitations++;
      else this.#countSolicitation(p, macHigh, macLow, batch.wireLength[index]);
    } else if (type === NA) {
      this.counters.advertisements++;
      readAddress(data, at + 8, this.#wordBytes);
      const override = (data[at + 4] & 0x20) !== 0;
      this.#advertised(p, macHigh, macLow, optHigh, optLow, override);
    } else if (type === RS) {
      this.counters.routerSolicitations++;
      if (!unspecified) this.#bind(src, vlan, optHigh, optLow, 1);
    } else {
      this.counters.routerAdvertisements++;
      if (!unspecified) this.#bind(src, vlan, optHigh, optLow, 1);
      // Router lifetime; current hop limit and flags (managed, other, home agent, preference).
      const settings = (data[at + 4] << 8) | data[at + 5];
      this.#routerAdvertised(p, macHigh, macLow, (data[at + 6] << 8) | data[at + 7], settings);
    }
  }

  /** Ends the episodes of sources quiet since before `nowMicros` - EPISODE_GAP (their closing lines). */
  expire(nowMicros: number): void {
    this.#sweeps.endQuiet(nowMicros, this.#endEpisodeOf);
  }

  /** Ends every episode (end of input). */
  flush(): void {
    this.#sweeps.endAll(this.#endEpisodeOf);
  }

  /** The findings since the last call. */
  take(): NdFinding[] {
    return this.#findings.take();
  }

  /** A solicitation from p's source for the target in #word: the ARP monitor's sweep count. */
  #countSolicitation(p: DecodedPacket, macHigh: number, macLow: number, bytes: number) {
    const t = this.#clock[0], sweeps = this.#sweeps;
    const s = this.#senderSlot(p.srcWords, p.vlan);
    const target = this.#word;
    if (sweeps.isLive(s) && sweeps.quietAt(s, t)) this.#endEpisode(s, t);
    if (!sweeps.isLive(s)) {
      this.#senderKey.set(p.srcWords, s * 4);
      this.#senderVlan[s] = p.vlan;
      this.#senderFirstTarget.set(target, s * 4);
      sweeps.start(s);
    }
    this.#senderMacHigh[s] = macHigh;
    this.#senderMacLow[s] = macLow;
    if (sweeps.probe(s, wordsHash(target, 0), bytes)) {
      this.#findings.push(this.#sweep(s, "first", t));
    }
  }

  #endEpisode(s: number, t: number): void {
    if (this.#sweeps.owesClosingLine(s)) {
      this.#findings.push(this.#sweep(s, "final", Math.max(t, this.#sweeps.latestProbe(s))));
    }
    this.#sweeps.end(s);
  }

  #sweep(s: number, stage: "first" | "final", t: number): NdFinding {
    const sweeps = this.#sweeps;
    return {
      kind: "nd-sweep",
      stage,
      atMicros: t,
      firstMicros: sweeps.firstProbe(s),
      lastMicros: sweeps.latestProbe(s),
      senderIp: wordsText(this.#senderKey, s * 4),
      senderMac: macHalvesText(this.#senderMacHigh[s], this.#senderMacLow[s]),
      firstTarget: wordsText(this.#senderFirstTarget, s * 4),
      targets: sweeps.targets(s),
      solicitations: sweeps.probes(s),
      bytes: sweeps.bytes(s),
      vlan: this.#senderVlan[s],
    };
  }

  /** The source's slot: its own, a free one, or the stalest of its probe run (taken over). */
  #senderSlot(w: Uint32Array, vlan: number): number {
    const start = wordsHash(w, vlan) & (SENDERS - 1);
    const key = this.#senderKey;
    let stalest = start, stalestTime = Infinity;
    for (let k = 0; k < PROBE; k++) {
      const s = (start + k) & (SENDERS - 1);
      if (!this.#sweeps.isLive(s)) return s;
      if (
        this.#senderVlan[s] === vlan && key[s * 4] === w[0] && key[s * 4 + 1] === w[1] &&
        key[s * 4 + 2] === w[2] && key[s * 4 + 3] === w[3]
      ) return s;
      const last = this.#sweeps.latestProbe(s);
      if (last < stalestTime) stalest = s, stalestTime = last;
    }
    this.#endEpisode(stalest, this.#clock[0]);
    this.counters.sendersEvicted++;
    return stalest;
  }

  /**
   * An advertisement for the target in #word, from (macHigh, macLow),
   * claiming (optHigh, optLow): with the Override flag, a claim on an
   * address bound to another MAC is a finding. A claim never replaces a
   * current binding to another MAC (the attacker's claim would otherwise
   * make the true owner's next answer look like the claim); the owner's
   * own solicitations do.
   */
  #advertised(
    p: DecodedPacket,
    macHigh: number,
    macLow: number,
    optHigh: number,
    optLow: number,
    override: boolean,
  ): void {
    const w = this.#word, vlan = p.vlan, t = this.#clock[0];
    const b = this.#slotOf(w, vlan);
    const current = this.#isBound(b, w, vlan);
    if (current && (this.#bindingMacHigh[b] !== optHigh || this.#bindingMacLow[b] !== optLow)) {
      if (!override) return;
      this.counters.overrideConflicts++;
      if (!this.#firstReport(1, macHigh, macLow, wordsHash(w, vlan), t)) return;
      const own = this.#addressOf(macHigh, macLow, vlan, t);
      this.#findings.push({
        kind: "nd-spoof",
        atMicros: t,
        senderMac: macHalvesText(macHigh, macLow),
        senderIp: own < 0 ? null : wordsText(this.#bindingKey, own * 4),
        claimedIp: wordsText(w, 0),
        claimedMac: optHigh === macHigh && optLow === macLow
          ? null
          : macHalvesText(optHigh, optLow),
        targetIp: formatAddress(p.dstAddr, 6),
        previousMac: macHalvesText(this.#bindingMacHigh[b], this.#bindingMacLow[b]),
        vlan,
      });
      return;
    }
    if (!current || this.#bindingOwn[b] === 0) this.#store(b, w, vlan, optHigh, optLow, 0);
    else this.#bindingTime[b] = t;
  }

  /**
   * A router advertisement from p's source (a router's link-local address)
   * and MAC (macHigh, macLow): during the learning period its router is
   * the link's; after it, a router neither by address nor by MAC known is a
   * new one; a known router's address from another MAC is spoofed at any time.
   */
  #routerAdvertised(
    p: DecodedPacket,
    macHigh: number,
    macLow: number,
    lifetime: number,
    settings: number,
  ): void {
    const w = p.srcWords, vlan = p.vlan, t = this.#clock[0];
    let sameAddress = -1, sameMac = -1, free = -1, unlike = -1;
    for (let r = 0; r < ROUTERS; r++) {
      const v = this.#routerVlan[r];
      if (v < 0) {
        if (free < 0) free = r;
        continue;
      }
      if (v !== vlan) continue;
      const k = this.#routerKey;
      const macMatch = this.#routerMacHigh[r] === macHigh && this.#routerMacLow[r] === macLow;
      if (
        k[r * 4] === w[0] && k[r * 4 + 1] === w[1] && k[r * 4 + 2] === w[2] && k[r * 4 + 3] === w[3]
      ) {
        if (macMatch) {
          // A known router. Lifetime 0 with its own settings is its goodbye (radvd on exit);
          // other settings are another sender's (kill_router6 '*' copies address and MAC but
          // not the hop limit and flags). A router reconfigured makes one line (its settings
          // are taken from advertisements with a lifetime, a kill's never).
          const own = this.#routerSettings[r];
          if (lifetime > 0) this.#routerSettings[r] = settings;
          if (own === settings) return;
          unlike = r;
          break;
        }
        sameAddress = r;
      } else if (macMatch) sameMac = r;
    }
    const learning = t - this.#firstSeen < ROUTER_LEARNING_MICROS;
    if (unlike < 0 && sameAddress < 0 && (sameMac >= 0 || learning)) {
      // Another address of a known router, or a router of the learning period: the link's.
      if (free < 0) this.counters.routersNotKept++;
      else {
        this.#routerKey.set(w, free * 4);
        this.#routerVlan[free] = vlan;
        this.#routerMacHigh[free] = macHigh;
        this.#routerMacLow[free] = macLow;
        this.#routerSettings[free] = settings;
      }
      return;
    }
    this.counters.rogueRouterAdvertisements++;
    if (unlike < 0 && sameAddress < 0) {
      // A new router: a few lines per link per REPEAT, so a flood of random ones is no line each.
      const link = vlan & 4095;
      if (t - this.#linkLinesStart[link] >= REPEAT_MICROS) {
        this.#linkLinesStart[link] = t;
        this.#linkLines[link] = 0;
      }
      if (this.#linkLines[link] >= ROUTER_LINES_PER_LINK) return;
    }
    if (!this.#firstReport(2, macHigh, macLow, wordsHash(w, vlan), t)) return;
    if (unlike < 0 && sameAddress < 0) this.#linkLines[vlan & 4095]++;
    this.#findings.push({
      kind: "nd-rogue-router",
      atMicros: t,
      senderMac: macHalvesText(macHigh, macLow),
      routerIp: formatAddress(p.srcAddr, 6),
      routerLifetime: lifetime,
      check: unlike >= 0 ? "unlike-its-own" : sameAddress >= 0 ? "other-mac" : "new",
      previousMac: sameAddress < 0
        ? null
        : macHalvesText(this.#routerMacHigh[sameAddress], this.#routerMacLow[sameAddress]),
      vlan,
    });
  }

  /**
   * True when (kind, MAC, address hash) was not reported within REPEAT
   * (then it is, now): numbers only, so a flood makes no text per packet.
   */
  #firstReport(kind: number, macHigh: number, macLow: number, address: number, t: number) {
    const key = mix32(kind ^ mix32(macHigh ^ mix32(macLow ^ mix32(address))));
    const last = this.#reported.get(key);
    if (last !== undefined && t - last < REPEAT_MICROS) return false;
    if (this.#reported.size >= BINDINGS) this.#reported.clear();
    this.#reported.set(key, t);
    return true;
  }

  #slotOf(w: Uint32Array, vlan: number): number {
    return wordsHash(w, vlan) & (BINDINGS - 1);
  }

  /** Whether slot `b` holds a current binding of address `w` on `vlan`. */
  #isBound(b: number, w: Uint32Array, vlan: number): boolean {
    const k = this.#bindingKey, t = this.#clock[0];
    return this.#bindingVlan[b] === vlan && k[b * 4] === w[0] && k[b * 4 + 1] === w[1] &&
      k[b * 4 + 2] === w[2] && k[b * 4 + 3] === w[3] &&
      t - this.#bindingTime[b] <= BINDING_TTL_MICROS;
  }

  /**
   * Binds address `w`, a message's own source, to a MAC, unless another
   * MAC's own messages bound it now: a message with a forged source
   * (kill_router6 in the router's name) must not make the true owner's next
   * answer look like the claim. A moved address is rebound when its old
   * binding has expired; a binding from a claim gives way at once.
   */
  #bind(w: Uint32Array, vlan: number, macHigh: number, macLow: number, own: number) {
    const b = this.#slotOf(w, vlan);
    if (
      this.#isBound(b, w, vlan) && this.#bindingOwn[b] === 1 &&
      (this.#bindingMacHigh[b] !== macHigh || this.#bindingMacLow[b] !== macLow)
    ) return;
    this.#store(b, w, vlan, macHigh, macLow, own);
  }

  #store(
    b: number,
    w: Uint32Array,
    vlan: number,
    macHigh: number,
    macLow: number,
    own: number,
  ): void {
    this.#bindingKey.set(w, b * 4);
    this.#bindingVlan[b] = vlan;
    this.#bindingMacHigh[b] = macHigh;
    this.#bindingMacLow[b] = macLow;
    this.#bindingTime[b] = this.#clock[0];
    this.#bindingOwn[b] = own;
  }

  /** The slot of the address MAC (high, low) used as its own source most recently (within BINDING_TTL), or -1: a scan made only for a finding. */
  #addressOf(high: number, low: number, vlan: number, t: number): number {
    let best = -1, bestTime = -Infinity;
    for (let b = 0; b < BINDINGS; b++) {
      if (
        this.#bindingOwn[b] === 1 && this.#bindingMacHigh[b] === high &&
        this.#bindingMacLow[b] === low && this.#bindingVlan[b] === vlan &&
        this.#bindingTime[b] > bestTime && t - this.#bindingTime[b] <= BINDING_TTL_MICROS
      ) {
        best = b;
        bestTime = this.#bindingTime[b];
      }
    }
    return best;
  }
}

/** Three bytes of a MAC: a MAC is held as two such halves (small integers, never boxed). */
function readMacHalf(data: Uint8Array, at: number): number {
  return (data[at] << 16) | (data[at + 1] << 8) | data[at + 2];
}

/** A MAC held as two 24-bit halves, as text (findings only). */
function macHalvesText(high: number, low: number): string {
  return macText(((high << 8) | (low >>> 16)) >>> 0, low & 0xffff);
}

/** Copies the 16-byte address at `at` into `out` (the bytes behind the words, as the decoder's srcAddr). */
function readAddress(data: Uint8Array, at: number, out: Uint8Array): void {
  for (let k = 0; k < 16; k++) out[k] = data[at + k];
}

/**
 * The offset of the MAC in the first link-layer address option of `kind`
 * (1 source, 2 target) among the options in [at, end), or -1. Bounded: each
 * step advances by the option's length (0 ends the walk, as RFC 4861 says).
 */
function findLinkOption(data: Uint8Array, at: number, end: number, kind: number): number {
  while (at + 2 <= end) {
    const length = data[at + 1] * 8;
    if (length === 0) return -1;
    if (data[at] === kind && length >= 8 && at + 8 <= end) return at + 2;
    at += length;
  }
  return -1;
}

/** Four address words (with `salt`) mixed into 30 bits (a small integer: never boxed when returned). */
function wordsHash(w: Uint32Array, salt: number): number {
  return mix32(w[0] ^ mix32(w[1] ^ mix32(w[2] ^ mix32(w[3] ^ salt)))) & 0x3fffffff;
}

/** The IPv6 address held as four words at `at` of `words`, as text (findings only). */
function wordsText(words: Uint32Array, at: number): string {
  return formatAddress(new Uint8Array(words.buffer, words.byteOffset + at * 4, 16), 6);
}
