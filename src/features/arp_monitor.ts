/**
 * ARP, which the flow table never sees: host discovery by ARP (a sweep of
 * the local subnet, what nmap -sn and arp-scan send on the local link) and
 * ARP spoofing (a reply nobody asked for, claiming an address: what
 * arpspoof and ettercap send to poison a cache). Fixed tables in typed
 * arrays; a packet costs a few reads and writes and no allocation. A
 * finding (rare by construction: once per sender episode or per claim) is
 * an object handed to the alert path.
 */
import { mix32 } from "./mix32.ts";
import { FindingQueue } from "./finding_queue.ts";
import { SweepEpisodes } from "./sweep_episodes.ts";
import { ANSWER_MEMORY_MICROS, AnsweredTargets } from "./answered_targets.ts";
import type { PacketBatch } from "../capture/mod.ts";
import { formatIpv4 } from "./flow_meter.ts";

/** Distinct addresses one sender asks for within SWEEP_WINDOW_MICROS to be a sweep (as ICMP sweeps: 25). */
export const ARP_SWEEP_TARGETS = 25;
/** A reply answers a request made at most this long before it. */
const REQUEST_TTL_MICROS = 5e6;
/**
 * Once answered, a request covers further replies only this long (the same
 * answer twice, or two interfaces of one host answering): a claim sent
 * seconds later is a claim nobody asked for, as arpspoof repeats its own.
 */
const ANSWER_GRACE_MICROS = 1e6;
/** How long an IP-to-MAC binding counts as current (a different MAC claiming it is a conflict). */
const BINDING_TTL_MICROS = 300e6;
/** The same claim (MAC, address) is reported again after this long. */
const CLAIM_REPEAT_MICROS = 600e6;

const SENDERS = 1024, PROBE = 8;
const REQUESTS = 4096, BINDINGS = 4096, ANSWERED_PAIRS = 16384;

/** What the monitor found; addresses as text. */
export type ArpFinding =
  | {
    kind: "arp-sweep";
    stage: "first" | "final";
    /** Packet time of the finding, and the first and latest requests of the episode. */
    atMicros: number;
    firstMicros: number;
    lastMicros: number;
    senderIp: string;
    senderMac: string;
    /** The first address asked for. */
    firstTarget: string;
    /** Distinct addresses asked for in the episode (a 1024-bit set, linear counting: within a few percent up to several hundred). */
    targets: number;
    requests: number;
    bytes: number;
    vlan: number;
  }
  | {
    kind: "arp-spoof";
    atMicros: number;
    /** The MAC making the claim (the frame's Ethernet source) and the address it claims. */
    senderMac: string;
    /** The claimant's own address: the latest other address it was bound to (null: none seen). */
    senderIp: string | null;
    claimedIp: string;
    /** The MAC the reply claims for claimedIp when it is not its Ethernet source's (null: the same). */
    claimedMac: string | null;
    /** The host the reply went to (whose cache it poisons). */
    targetIp: string;
    targetMac: string;
    /** The MAC the claimed address was bound to before, when one was (within BINDING_TTL). */
    previousMac: string | null;
    vlan: number;
  };

/** What the monitor counted. */
export interface ArpCounters {
  requests: number;
  replies: number;
  /** ARP messages not for IPv4 over Ethernet, or cut short: counted, not analysed. */
  notAnalysed: number;
  /** Address-conflict probes (sender 0.0.0.0) and announcements (sender = target): not requests for others. */
  probesAndAnnouncements: number;
  unsolicitedReplies: number;
  /**
   * Of those, replies to a host never seen speaking ARP that claim nothing
   * another MAC holds: their request may be on the side a one-way capture
   * does not see (a SPAN of one direction, one strand of a tap). Counted, not findings.
   */
  unverifiableReplies: number;
  findings: number;
  /** Findings not kept because MAX_PENDING_FINDINGS (finding_queue.ts) were waiting. */
  findingsDropped: number;
  /** Sender slots taken over from another sender (the table is full). */
  sendersEvicted: number;
  /**
   * Requests not counted toward a sweep: sent to a unicast MAC (a cache
   * refresh: the sender knows the answer) or for an address that answered
   * the sender lately (see answered_targets.ts).
   */
  knownTargetRequests: number;
}

/** Per-packet ARP analysis; call observe for each packet the decoder calls ARP. */
export class ArpMonitor {
  readonly counters: ArpCounters = {
    requests: 0,
    replies: 0,
    notAnalysed: 0,
    probesAndAnnouncements: 0,
    unsolicitedReplies: 0,
    unverifiableReplies: 0,
    findings: 0,
    findingsDropped: 0,
    sendersEvicted: 0,
    knownTargetRequests: 0,
  };
  readonly #findings = new FindingQueue<ArpFinding>(this.counters);

  // Senders of requests: key (IP, VLAN), MAC, first address asked for; whether a slot is in use and its counts: #sweeps.
  readonly #senderIp = new Uint32Array(SENDERS);
  readonly #senderVlan = new Int32Array(SENDERS);
  readonly #senderMacHigh = new Uint32Array(SENDERS);
  readonly #senderMacLow = new Uint16Array(SENDERS);
  readonly #senderFirstTarget = new Uint32Array(SENDERS);
  readonly #sweeps = new SweepEpisodes(SENDERS, ARP_SWEEP_TARGETS);
  /** #endEpisode for the sweeps' expiry (one function, made once). */
  readonly #endEpisodeOf = (s: number, t: number) => this.#endEpisode(s, t);

  // Requests seen: (requester IP, asked IP, VLAN) -> time.
  readonly #requestKey = new Uint32Array(REQUESTS * 2);
  readonly #requestVlan = new Int32Array(REQUESTS).fill(-1);
  readonly #requestTime = new Float64Array(REQUESTS);
  /** When the request was first answered (-1: not yet). */
  readonly #answerTime = new Float64Array(REQUESTS);
  /** (requester, address) pairs answered lately: asked again, they are a poller's, not discovery. */
  readonly #answered = new AnsweredTargets(ANSWERED_PAIRS, ANSWER_MEMORY_MICROS);

  // Bindings IP -> MAC learnt from senders.
  readonly #bindingIp = new Uint32Array(BINDINGS);
  readonly #bindingVlan = new Int32Array(BINDINGS).fill(-1);
  readonly #bindingMacHigh = new Uint32Array(BINDINGS);
  readonly #bindingMacLow = new Uint16Array(BINDINGS);
  readonly #bindingTime = new Float64Array(BINDINGS);
  /** 1 when the binding came from a reply nobody asked for (a claim, not an address of its own). */
  readonly #bindingClaimed = new Uint8Array(BINDINGS);

  /**
   * Claims reported, by a hash of (claimant MAC, address, VLAN), and when (findings only);
   * -1 for a claim that proved nothing when last seen (see #spoof).
   */
  readonly #claims = new Map<number, number>();

  /** Analyses packet `index` of `batch`, whose ARP message starts at `at` (DecodedPacket.arpOffset). */
  observe(batch: PacketBatch, index: number, at: number, vlan: number): void {
    const data = batch.data;
    const end = batch.offset[index] + batch.capturedLength[index];
    // Ethernet (1) hardware, IPv4 (0x0800) protocol, 6- and 4-byte addresses: 28 bytes.
    if (
      end - at < 28 || data[at] !== 0 || data[at + 1] !== 1 || data[at + 2] !== 8 ||
      data[at + 3] !== 0 || data[at + 4] !== 6 || data[at + 5] !== 4
    ) {
      this.counters.notAnalysed++;
      return;
    }
    const op = (data[at + 6] << 8) | data[at + 7];
    const macHigh = ((data[at + 8] << 24) | (data[at + 9] << 16) | (data[at + 10] << 8) |
      data[at + 11]) >>> 0;
    const macLow = (data[at + 12] << 8) | data[at + 13];
    const senderIp = readIp(data, at + 14);
    const targetIp = readIp(data, at + 24);
    const t = batch.timestampMicros[index];
    if (op === 1) {
      this.counters.requests++;
      if (senderIp === 0 || senderIp === targetIp) {
        this.counters.probesAndAnnouncements++;
        if (senderIp !== 0) this.#bind(senderIp, vlan, macHigh, macLow, t);
        return;
      }
      this.#bind(senderIp, vlan, macHigh, macLow, t);
      this.#rememberRequest(senderIp, targetIp, vlan, t);
      // Discovery asks everyone (broadcast) for addresses that never answered this sender. A
      // request to a unicast MAC is a cache refresh (Linux's NUD probe of an entry gone stale,
      // every 15-45 s while a poller uses it); an address that answered lately is asked again
      // by a poller whose kernel forgot it. Neither counts toward a sweep.
      const frame = batch.offset[index];
      const unicast = batch.linkType[index] === 1 && frame + 6 <= at && (data[frame] & 1) === 0;
      if (
        unicast ||
        this.#answered.answered(
          pairSlotHash(senderIp, targetIp, vlan),
          pairCheckHash(senderIp, targetIp, vlan),
          t,
        )
      ) {
        this.counters.knownTargetRequests++;
      } else {
        this.#countRequest(senderIp, vlan, macHigh, macLow, targetIp, t, batch.wireLength[index]);
      }
    } else if (op === 2) {
      this.counters.replies++;
      if (senderIp === 0 || senderIp === targetIp) {
        this.counters.probesAndAnnouncements++;
        if (senderIp !== 0) this.#bind(senderIp, vlan, macHigh, macLow, t);
        return;
      }
      const targetMacHigh = ((data[at + 18] << 24) | (data[at + 19] << 16) | (data[at + 20] << 8) |
        data[at + 21]) >>> 0;
      const targetMacLow = (data[at + 22] << 8) | data[at + 23];
      const broadcast = (targetMacHigh === 0xffffffff && targetMacLow === 0xffff) ||
        (targetMacHigh === 0 && targetMacLow === 0);
      const unsolicited = !broadcast && targetIp !== 0 &&
        !this.#wasAsked(targetIp, senderIp, vlan, t);
      if (unsolicited) {
        this.counters.unsolicitedReplies++;
        // The claim is the frame sender's: a reply whose Ethernet source is not
        // the MAC it claims for the address (arpspoof "restoring" the caches it
        // poisoned) is that source's claim, not the claimed host's.
        const frame = batch.offset[index] + 6;
        let claimantHigh = macHigh, claimantLow = macLow;
        if (batch.linkType[index] === 1 && frame + 6 <= at) {
          claimantHigh = ((data[frame] << 24) | (data[frame + 1] << 16) | (data[frame + 2] << 8) |
            data[frame + 3]) >>> 0;
          claimantLow = (data[frame + 4] << 8) | data[frame + 5];
        }
        this.#spoof(
          claimantHigh,
          claimantLow,
          macHigh,
          macLow,
          senderIp,
          targetIp,
          targetMacHigh,
          targetMacLow,
          vlan,
          t,
        );
      }
      this.#bind(senderIp, vlan, macHigh, macLow, t, unsolicited);
    } else {
      this.counters.notAnalysed++;
    }
  }

  /** Ends the episodes of senders quiet since before `nowMicros` - EPISODE_GAP (their closing lines). */
  expire(nowMicros: number): void {
    this.#sweeps.endQuiet(nowMicros, this.#endEpisodeOf);
  }

  /** Ends every episode (end of input). */
  flush(): void {
    this.#sweeps.endAll(this.#endEpisodeOf);
  }

  /** The findings since the last call. */
  take(): ArpFinding[] {
    return this.#findings.take();
  }

  #countRequest(
    ip: number,
    vlan: number,
    macHigh: number,
    macLow: number,
    target: number,
    t: number,
    bytes: number,
  ): void {
    const sweeps = this.#sweeps;
    sweeps.clock[0] = t;
    const s = this.#senderSlot(ip, vlan, t);
    if (sweeps.isLive(s) && sweeps.quietAt(s, t)) this.#endEpisode(s, t);
    if (!sweeps.isLive(s)) {
      this.#senderIp[s] = ip;
      this.#senderVlan[s] = vlan;
      this.#senderFirstTarget[s] = target;
      sweeps.start(s);
    }
    this.#senderMacHigh[s] = macHigh;
    this.#senderMacLow[s] = macLow;
    if (sweeps.probe(s, mix32(target), bytes)) this.#findings.push(this.#sweep(s, "first", t));
  }

  /** Closes sender `s`'s episode: a closing line when it was reported and asked for more since. */
  #endEpisode(s: number, t: number): void {
    if (this.#sweeps.owesClosingLine(s)) {
      this.#findings.push(this.#sweep(s, "final", Math.max(t, this.#sweeps.latestProbe(s))));
    }
    this.#sweeps.end(s);
  }

  #sweep(s: number, stage: "first" | "final", t: number): ArpFinding {
    const sweeps = this.#sweeps;
    return {
      kind: "arp-sweep",
      stage,
      atMicros: t,
      firstMicros: sweeps.firstProbe(s),
      lastMicros: sweeps.latestProbe(s),
      senderIp: formatIpv4(this.#senderIp[s]),
      senderMac: macText(this.#senderMacHigh[s], this.#senderMacLow[s]),
      firstTarget: formatIpv4(this.#senderFirstTarget[s]),
      targets: sweeps.targets(s),
      requests: sweeps.probes(s),
      bytes: sweeps.bytes(s),
      vlan: this.#senderVlan[s],
    };
  }

  /** The sender's slot: its own, a free one, or the stalest of its probe run (taken over). */
  #senderSlot(ip: number, vlan: number, t: number): number {
    const start = mix32(ip ^ (vlan << 20)) & (SENDERS - 1);
    let stalest = start, stalestTime = Infinity;
    for (let k = 0; k < PROBE; k++) {
      const s = (start + k) & (SENDERS - 1);
      if (!this.#sweeps.isLive(s)) return s;
      if (this.#senderIp[s] === ip && this.#senderVlan[s] === vlan) return s;
      const last = this.#sweeps.latestProbe(s);
      if (last < stalestTime) stalest = s, stalestTime = last;
    }
    this.#endEpisode(stalest, t);
    this.counters.sendersEvicted++;
    return stalest;
  }

  #rememberRequest(from: number, asked: number, vlan: number, t: number): void {
    const r = pairSlotHash(from, asked, vlan) & (REQUESTS - 1);
    this.#requestKey[2 * r] = from;
    this.#requestKey[2 * r + 1] = asked;
    this.#requestVlan[r] = vlan;
    this.#requestTime[r] = t;
    this.#answerTime[r] = -1;
  }

  /**
   * Whether a reply now answers a request of `from` for `asked`: made within
   * REQUEST_TTL, and not answered more than ANSWER_GRACE ago (a newer
   * request in the same slot may have replaced it: then it is unsolicited).
   */
  #wasAsked(from: number, asked: number, vlan: number, t: number): boolean {
    const r = pairSlotHash(from, asked, vlan) & (REQUESTS - 1);
    if (
      this.#requestKey[2 * r] !== from || this.#requestKey[2 * r + 1] !== asked ||
      this.#requestVlan[r] !== vlan || t - this.#requestTime[r] > REQUEST_TTL_MICROS
    ) return false;
    const answered = this.#answerTime[r];
    if (answered < 0) {
      this.#answerTime[r] = t;
      this.#answered.remember(pairSlotHash(from, asked, vlan), pairCheckHash(from, asked, vlan), t);
      return true;
    }
    return t - answered <= ANSWER_GRACE_MICROS;
  }

  #bind(
    ip: number,
    vlan: number,
    macHigh: number,
    macLow: number,
    t: number,
    claimed = false,
  ): void {
    const b = mix32(ip ^ (vlan << 20)) & (BINDINGS - 1);
    this.#bindingClaimed[b] = claimed ? 1 : 0;
    this.#bindingIp[b] = ip;
    this.#bindingVlan[b] = vlan;
    this.#bindingMacHigh[b] = macHigh;
    this.#bindingMacLow[b] = macLow;
    this.#bindingTime[b] = t;
  }

  /**
   * The cheap half of an unsolicited reply that proves nothing: its target
   * never spoke ARP here (no binding of its own: its request, if any, went
   * unseen), no other MAC holds the address it claims, and it is its frame
   * sender's own claim. The other half, that the claimant's MAC has no other
   * address, scans the bindings: asked once per claim (see #spoof).
   */
  #quietClaim(
    target: number,
    claimed: number,
    vlan: number,
    bodyHigh: number,
    bodyLow: number,
    claimantHigh: number,
    claimantLow: number,
    t: number,
  ): boolean {
    const b = mix32(target ^ (vlan << 20)) & (BINDINGS - 1);
    const speaks = this.#bindingIp[b] === target && this.#bindingVlan[b] === vlan &&
      this.#bindingClaimed[b] === 0 && t - this.#bindingTime[b] <= BINDING_TTL_MICROS;
    return !speaks && claimantHigh === bodyHigh && claimantLow === bodyLow &&
      this.#otherBinding(claimed, vlan, bodyHigh, bodyLow, t) < 0;
  }

  /** The binding (slot) of `ip` to a MAC other than (macHigh, macLow) now, or -1. */
  #otherBinding(ip: number, vlan: number, macHigh: number, macLow: number, t: number): number {
    const b = mix32(ip ^ (vlan << 20)) & (BINDINGS - 1);
    if (
      this.#bindingIp[b] !== ip || this.#bindingVlan[b] !== vlan ||
      t - this.#bindingTime[b] > BINDING_TTL_MICROS
    ) return -1;
    return this.#bindingMacHigh[b] === macHigh && this.#bindingMacLow[b] === macLow ? -1 : b;
  }

  /**
   * The address other than `except` that MAC (high, low) was bound to most
   * recently within BINDING_TTL by its own traffic (requests, answers;
   * never by a claim nobody asked for), or -1: a scan of the bindings, made
   * only for a finding.
   */
  #addressOf(high: number, low: number, except: number, vlan: number, t: number): number {
    let best = -1, bestTime = -Infinity;
    for (let b = 0; b < BINDINGS; b++) {
      if (
        this.#bindingMacHigh[b] === high && this.#bindingMacLow[b] === low &&
        this.#bindingVlan[b] === vlan && this.#bindingIp[b] !== except &&
        this.#bindingClaimed[b] === 0 &&
        this.#bindingTime[b] > bestTime && t - this.#bindingTime[b] <= BINDING_TTL_MICROS
      ) {
        best = this.#bindingIp[b];
        bestTime = this.#bindingTime[b];
      }
    }
    return best;
  }

  /**
   * A claim of `claimed` for MAC (bodyHigh, bodyLow), in a reply from
   * (macHigh, macLow) to `target`: a finding unless the same claimant made
   * the same claim within CLAIM_REPEAT (recognised by numbers, so a flood of
   * replies makes no text per packet). Runs before the reply's binding.
   */
  #spoof(
    macHigh: number,
    macLow: number,
    bodyHigh: number,
    bodyLow: number,
    claimed: number,
    target: number,
    targetMacHigh: number,
    targetMacLow: number,
    vlan: number,
    t: number,
  ): void {
    const key = mix32(macHigh ^ mix32(macLow ^ mix32(claimed ^ mix32(vlan))));
    const last = this.#claims.get(key);
    if (last !== undefined && last >= 0 && t - last < CLAIM_REPEAT_MICROS) return;
    // A reply that claims nothing anyone else holds, to a host never seen asking: its request
    // may be on the side a one-way capture misses. Counted, not a finding; the claimant's
    // other addresses are looked for once per claim (marked -1), not per reply of a flood.
    if (
      this.#quietClaim(target, claimed, vlan, bodyHigh, bodyLow, macHigh, macLow, t) &&
      (last === -1 || this.#addressOf(macHigh, macLow, claimed, vlan, t) < 0)
    ) {
      this.counters.unverifiableReplies++;
      if (last === undefined && this.#claims.size >= BINDINGS) this.#claims.clear();
      this.#claims.set(key, -1);
      return;
    }
    if (this.#claims.size >= BINDINGS) this.#claims.clear();
    this.#claims.set(key, t);
    const previous = this.#otherBinding(claimed, vlan, bodyHigh, bodyLow, t);
    const own = this.#addressOf(macHigh, macLow, claimed, vlan, t);
    this.#findings.push({
      kind: "arp-spoof",
      atMicros: t,
      senderMac: macText(macHigh, macLow),
      senderIp: own < 0 ? null : formatIpv4(own),
      claimedIp: formatIpv4(claimed),
      claimedMac: bodyHigh === macHigh && bodyLow === macLow ? null : macText(bodyHigh, bodyLow),
      targetIp: formatIpv4(target),
      targetMac: macText(targetMacHigh, targetMacLow),
      previousMac: previous < 0
        ? null
        : macText(this.#bindingMacHigh[previous], this.#bindingMacLow[previous]),
      vlan,
    });
  }
}

/** Hash of (requester, asked address, VLAN): the request table's slot, the answered pairs' slot. */
function pairSlotHash(from: number, asked: number, vlan: number): number {
  return mix32(from ^ mix32(asked) ^ (vlan << 20));
}

/** A second hash of the pair, mixed the other way round: the answered pairs' fingerprint. */
function pairCheckHash(from: number, asked: number, vlan: number): number {
  return mix32(asked ^ mix32(from ^ 0x5bd1e995) ^ (vlan << 12));
}

function readIp(data: Uint8Array, at: number): number {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
}

/** A MAC held as its high four bytes and low two, as text (findings only). */
export function macText(high: number, low: number): string {
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  return [high >>> 24, (high >>> 16) & 255, (high >>> 8) & 255, high & 255, low >>> 8, low & 255]
    .map(hex).join(":");
}
