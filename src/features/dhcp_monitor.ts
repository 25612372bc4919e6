/**
 * DHCP on the local link (IPv4, BOOTP on UDP 67/68), read from the packets
 * the flow meter decodes anyway:
 *
 * - starvation: a flood of lease requests (DISCOVER, or REQUEST without a
 *   client address) from many client hardware addresses, what yersinia,
 *   dhcpig and dhcpstarv send to exhaust a server's pool so that a rogue
 *   server answers the next real client. Counted per link and relay
 *   (VLAN, giaddr) with the sweep counter (sweep_episodes.ts): distinct
 *   client addresses within 10 s.
 * - a rogue server: a second server on the link whose offer or
 *   acknowledgement names another router, another subnet or other DNS
 *   servers than the server seen there first (a home router plugged into
 *   the office, or an attacker making itself the clients' gateway or
 *   resolver). Two servers that agree (a failover pair, a split scope) are
 *   counted, not reported.
 *
 * Fixed tables in typed arrays; a DHCP message costs an option walk and no
 * allocation. A finding (once per episode or per server and 10 minutes) is
 * an object handed to the alert path. DHCPv6 is not read.
 */
import { mix32 } from "./mix32.ts";
import { FindingQueue } from "./finding_queue.ts";
import { bitsForDistinct, SweepEpisodes } from "./sweep_episodes.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatIpv4 } from "./flow_meter.ts";
import { macText } from "./arp_monitor.ts";

/**
 * Distinct client hardware addresses asking for a lease on one link within
 * 10 s for a starvation: 20 new clients a second for 10 s. A link's clients
 * ask when they boot or join; the tools ask hundreds to thousands of times
 * a second, each time as another client, until the pool is gone (a /24
 * holds 250 leases).
 */
export const DHCP_STARVATION_CLIENTS = 200;
/** The sweep counter's threshold is in set bits of its 1,024-bit set: the bits DHCP_STARVATION_CLIENTS distinct addresses set. */
const STARVATION_BITS = bitsForDistinct(DHCP_STARVATION_CLIENTS);
/** How long a server counts as present on its link after its latest offer or acknowledgement. */
const SERVER_TTL_MICROS = 3600e6;
/** A rogue server is reported again after this long. */
const ROGUE_REPEAT_MICROS = 600e6;

const LINKS = 64, PROBE = 8, SERVERS = 64;
const BOOTP_BYTES = 240, MAGIC_COOKIE = 0x63825363;
/** Where BOOTP's client hardware address ends (op, ..., chaddr's first 6 bytes). */
const CHADDR_END = 34;
const DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5;

/** What a rogue server's answer differs in from the server seen first. */
export type DhcpDifference = "router" | "subnet" | "dns";

/** What the monitor found; addresses as text. */
export type DhcpFinding =
  | {
    kind: "dhcp-starvation";
    stage: "first" | "final";
    /** Packet time of the finding, and the first and latest requests of the episode. */
    atMicros: number;
    firstMicros: number;
    lastMicros: number;
    /** The relay the requests came through (giaddr), null when they were local. */
    relay: string | null;
    /**
     * The client hardware address of the request that made the line (the
     * one that reached the threshold, or the latest). The tools forge a new
     * one, and the frame's Ethernet source with it, for every request: no
     * address names the attacker, and the episode's first may be a real
     * client's.
     */
    clientMac: string;
    /** Distinct client hardware addresses of the episode (linear counting). */
    clients: number;
    requests: number;
    bytes: number;
    vlan: number;
  }
  | {
    kind: "dhcp-rogue-server";
    atMicros: number;
    /** The server (its identifier option, else the packet's source) and its Ethernet source ("" when the link has none). */
    serverIp: string;
    serverMac: string;
    /** The client it answered, and the address it offered or acknowledged. */
    clientMac: string;
    offeredIp: string;
    /** Its router (option 3) and subnet (offered address and mask), null when it named none. */
    router: string | null;
    subnet: string | null;
    /** The server seen first on the link, and its router and subnet. */
    knownServerIp: string;
    knownRouter: string | null;
    knownSubnet: string | null;
    differs: DhcpDifference[];
    vlan: number;
  };

/** What the monitor counted. */
export interface DhcpCounters {
  /** DISCOVERs and REQUESTs without a client address: clients asking for a lease. */
  leaseRequests: number;
  /** Renewals, releases, declines, informs: the rest of the clients' messages. */
  otherClientMessages: number;
  /** OFFERs and ACKs. */
  serverAnswers: number;
  /** NAKs and other server messages. */
  otherServerMessages: number;
  /** Not BOOTP over Ethernet addresses, without DHCP's magic cookie, or cut before the client's address (or a server's answer cut before its options): counted, not analysed. */
  notAnalysed: number;
  /** Client requests cut before their options by the snap length: read from BOOTP's fixed fields. */
  cutShort: number;
  /** Servers seen answering (distinct per link, while the table holds them). */
  servers: number;
  /** Answers from a second server that named the same router, subnet and DNS as the first (failover, split scopes). */
  agreeingAnswers: number;
  findings: number;
  /** Findings not kept because MAX_PENDING_FINDINGS (finding_queue.ts) were waiting. */
  findingsDropped: number;
  /** Link or server slots taken over from another (the table is full). */
  slotsEvicted: number;
}

/** Per-packet DHCP analysis; call observe for each metered IPv4 UDP packet between ports 67 and 68. */
export class DhcpMonitor {
  readonly counters: DhcpCounters = {
    leaseRequests: 0,
    otherClientMessages: 0,
    serverAnswers: 0,
    otherServerMessages: 0,
    notAnalysed: 0,
    cutShort: 0,
    servers: 0,
    agreeingAnswers: 0,
    findings: 0,
    findingsDropped: 0,
    slotsEvicted: 0,
  };
  readonly #findings = new FindingQueue<DhcpFinding>(this.counters);

  // Links (VLAN, relay) asking for leases; whether a slot is in use and its counts: #episodes.
  readonly #linkRelay = new Uint32Array(LINKS);
  readonly #linkVlan = new Int32Array(LINKS);
  /** The client hardware address of the link's latest request. */
  readonly #linkMacHigh = new Uint32Array(LINKS);
  readonly #linkMacLow = new Uint16Array(LINKS);
  readonly #episodes = new SweepEpisodes(LINKS, STARVATION_BITS);
  readonly #endEpisodeOf = (s: number, t: number) => this.#endEpisode(s, t);

  // Servers: (VLAN, identifier) -> what they hand out, and when they were first and last seen.
  readonly #serverIp = new Uint32Array(SERVERS);
  readonly #serverVlan = new Int32Array(SERVERS).fill(-1);
  readonly #serverMacHigh = new Uint32Array(SERVERS);
  readonly #serverMacLow = new Uint16Array(SERVERS);
  readonly #serverRouter = new Uint32Array(SERVERS);
  readonly #serverSubnet = new Uint32Array(SERVERS);
  readonly #serverMask = new Uint32Array(SERVERS);
  /** An order-independent hash of the DNS servers it names (0: none). */
  readonly #serverDns = new Uint32Array(SERVERS);
  readonly #serverFirst = new Float64Array(SERVERS);
  readonly #serverLast = new Float64Array(SERVERS);
  /** When it was last reported as rogue (-Infinity: never). */
  readonly #serverReported = new Float64Array(SERVERS).fill(-Infinity);

  // The current message's options (read by #readOptions).
  #type = 0;
  #serverId = 0;
  #router = 0;
  #mask = 0;
  #dns = 0;

  /** Analyses packet `index` of `batch`, decoded into `p` (IPv4 UDP, ports 67/68). */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const data = batch.data;
    const at = p.payloadOffset;
    const end = batch.offset[index] + batch.capturedLength[index];
    // BOOTP over Ethernet addresses (htype 1, hlen 6), up to the client's hardware address at least.
    if (end - at < CHADDR_END || data[at + 1] !== 1 || data[at + 2] !== 6) {
      this.counters.notAnalysed++;
      return;
    }
    const op = data[at], t = batch.timestampMicros[index];
    const macHigh = readU32(data, at + 28), macLow = (data[at + 32] << 8) | data[at + 33];
    // DHCP's magic cookie and options, unless a short snap length cut them (a range capture's 256
    // bytes end inside BOOTP's fixed 236): then a client's request without an address of its own is
    // taken for a lease request (renewals, releases and informs carry one), and a server's answer,
    // whose router and subnet are in options, cannot be read.
    const whole = end - at >= BOOTP_BYTES;
    if (
      whole && (readU32(data, at + 236) !== MAGIC_COOKIE ||
        !this.#readOptions(data, at + BOOTP_BYTES, end))
    ) {
      this.counters.notAnalysed++;
      return;
    }
    if (!whole) {
      if (op !== 1) {
        this.counters.notAnalysed++;
        return;
      }
      this.counters.cutShort++;
      this.#type = readU32(data, at + 12) === 0 ? DISCOVER : 0;
    }
    const type = this.#type;
    if (op === 1) {
      if (type === DISCOVER || (type === REQUEST && readU32(data, at + 12) === 0)) {
        this.counters.leaseRequests++;
        this.#countRequest(
          readU32(data, at + 24),
          p.vlan,
          macHigh,
          macLow,
          t,
          batch.wireLength[index],
        );
      } else this.counters.otherClientMessages++;
    } else if (op === 2 && (type === OFFER || type === ACK)) {
      this.counters.serverAnswers++;
      const offered = readU32(data, at + 16);
      const server = this.#serverId !== 0 ? this.#serverId : readU32(p.srcAddr, 12);
      const frame = batch.offset[index];
      // The server's MAC: the frame's Ethernet source, when the packet came straight off Ethernet.
      const ethernet = batch.linkType[index] === 1 && p.tunnel === 0 && p.vlan === 0;
      const serverMacHigh = ethernet ? readU32(data, frame + 6) : 0;
      const serverMacLow = ethernet ? (data[frame + 10] << 8) | data[frame + 11] : 0;
      this.#answer(server, p.vlan, offered, macHigh, macLow, serverMacHigh, serverMacLow, t);
    } else this.counters.otherServerMessages++;
  }

  /** Ends the episodes of links quiet since before `nowMicros` - EPISODE_GAP (their closing lines). */
  expire(nowMicros: number): void {
    this.#episodes.endQuiet(nowMicros, this.#endEpisodeOf);
  }

  /** Ends every episode (end of input). */
  flush(): void {
    this.#episodes.endAll(this.#endEpisodeOf);
  }

  /** The findings since the last call. */
  take(): DhcpFinding[] {
    return this.#findings.take();
  }

  /** Reads options 53, 54, 1, 3 and 6 of the message; false when they run past its end. */
  #readOptions(data: Uint8Array, at: number, end: number): boolean {
    this.#type = 0, this.#serverId = 0, this.#router = 0, this.#mask = 0, this.#dns = 0;
    while (at < end) {
      const code = data[at];
      if (code === 255) return this.#type !== 0;
      if (code === 0) {
        at++;
        continue;
      }
      if (at + 2 > end) return false;
      const length = data[at + 1], value = at + 2;
      if (value + length > end) return false;
      if (code === 53 && length >= 1) this.#type = data[value];
      else if (code === 54 && length >= 4) this.#serverId = readU32(data, value);
      else if (code === 1 && length >= 4) this.#mask = readU32(data, value);
      else if (code === 3 && length >= 4) this.#router = readU32(data, value);
      else if (code === 6) {
        // Order-independent: the same servers listed in another order are the same servers.
        let hash = 0;
        for (let k = 0; k + 4 <= length; k += 4) {
          hash = (hash + mix32(readU32(data, value + k))) >>> 0;
        }
        this.#dns = hash;
      }
      at = value + length;
    }
    // Options without the end option: what was read is whole.
    return this.#type !== 0;
  }

  #countRequest(
    relay: number,
    vlan: number,
    macHigh: number,
    macLow: number,
    t: number,
    bytes: number,
  ): void {
    const episodes = this.#episodes;
    episodes.clock[0] = t;
    const s = this.#linkSlot(relay, vlan, t);
    if (episodes.isLive(s) && episodes.quietAt(s, t)) this.#endEpisode(s, t);
    if (!episodes.isLive(s)) {
      this.#linkRelay[s] = relay;
      this.#linkVlan[s] = vlan;
      episodes.start(s);
    }
    this.#linkMacHigh[s] = macHigh;
    this.#linkMacLow[s] = macLow;
    if (episodes.probe(s, mix32(macHigh ^ mix32(macLow)), bytes)) {
      this.#findings.push(this.#starvation(s, "first", t));
    }
  }

  /** Closes link `s`'s episode: a closing line when it was reported and asked for more since. */
  #endEpisode(s: number, t: number): void {
    if (this.#episodes.owesClosingLine(s)) {
      this.#findings.push(this.#starvation(s, "final", Math.max(t, this.#episodes.latestProbe(s))));
    }
    this.#episodes.end(s);
  }

  #starvation(s: number, stage: "first" | "final", t: number): DhcpFinding {
    const episodes = this.#episodes;
    const relay = this.#linkRelay[s];
    return {
      kind: "dhcp-starvation",
      stage,
      atMicros: t,
      firstMicros: episodes.firstProbe(s),
      lastMicros: episodes.latestProbe(s),
      relay: relay === 0 ? null : formatIpv4(relay),
      clientMac: macText(this.#linkMacHigh[s], this.#linkMacLow[s]),
      clients: episodes.targets(s),
      requests: episodes.probes(s),
      bytes: episodes.bytes(s),
      vlan: this.#linkVlan[s],
    };
  }

  /** The link's slot: its own, a free one, or the stalest of its probe run (taken over). */
  #linkSlot(relay: number, vlan: number, t: number): number {
    const home = mix32(relay ^ Math.imul(vlan + 1, 0x9e3779b1)) & (LINKS - 1);
    let stalest = home, stalestTime = Infinity;
    for (let k = 0; k < PROBE; k++) {
      const s = (home + k) & (LINKS - 1);
      if (!this.#episodes.isLive(s)) return s;
      if (this.#linkRelay[s] === relay && this.#linkVlan[s] === vlan) return s;
      const last = this.#episodes.latestProbe(s);
      if (last < stalestTime) stalest = s, stalestTime = last;
    }
    this.#endEpisode(stalest, t);
    this.counters.slotsEvicted++;
    return stalest;
  }

  /** An OFFER or ACK from `server`: remembered, and compared with the link's first server. */
  #answer(
    server: number,
    vlan: number,
    offered: number,
    clientHigh: number,
    clientLow: number,
    macHigh: number,
    macLow: number,
    t: number,
  ): void {
    const s = this.#serverSlot(server, vlan, t);
    this.#serverMacHigh[s] = macHigh;
    this.#serverMacLow[s] = macLow;
    this.#serverLast[s] = t;
    // An acknowledgement of an INFORM offers no address: its subnet is unknown, not different.
    if (offered !== 0) {
      this.#serverMask[s] = this.#mask !== 0 ? this.#mask : 0xffffff00;
      this.#serverSubnet[s] = (offered & this.#serverMask[s]) >>> 0;
    }
    if (this.#router !== 0) this.#serverRouter[s] = this.#router;
    if (this.#dns !== 0) this.#serverDns[s] = this.#dns;
    // The link's first server still present: the one this answer must agree with.
    let known = -1;
    for (let k = 0; k < SERVERS; k++) {
      if (k === s || this.#serverVlan[k] !== vlan) continue;
      if (t - this.#serverLast[k] > SERVER_TTL_MICROS) continue;
      if (this.#serverFirst[k] >= this.#serverFirst[s]) continue;
      if (known < 0 || this.#serverFirst[k] < this.#serverFirst[known]) known = k;
    }
    if (known < 0) return;
    const differs: DhcpDifference[] = [];
    const routerK = this.#serverRouter[known], routerS = this.#serverRouter[s];
    if (routerK !== 0 && routerS !== 0 && routerK !== routerS) differs.push("router");
    const subnetK = this.#serverSubnet[known], subnetS = this.#serverSubnet[s];
    if (subnetK !== 0 && subnetS !== 0 && subnetK !== subnetS) differs.push("subnet");
    const dnsK = this.#serverDns[known], dnsS = this.#serverDns[s];
    if (dnsK !== 0 && dnsS !== 0 && dnsK !== dnsS) differs.push("dns");
    if (differs.length === 0) {
      this.counters.agreeingAnswers++;
      return;
    }
    if (t - this.#serverReported[s] < ROGUE_REPEAT_MICROS) return;
    this.#serverReported[s] = t;
    this.#findings.push({
      kind: "dhcp-rogue-server",
      atMicros: t,
      serverIp: formatIpv4(server),
      serverMac: macHigh === 0 && macLow === 0 ? "" : macText(macHigh, macLow),
      clientMac: macText(clientHigh, clientLow),
      offeredIp: formatIpv4(offered),
      router: routerS === 0 ? null : formatIpv4(routerS),
      subnet: subnetText(subnetS, this.#serverMask[s]),
      knownServerIp: formatIpv4(this.#serverIp[known]),
      knownRouter: routerK === 0 ? null : formatIpv4(routerK),
      knownSubnet: subnetText(subnetK, this.#serverMask[known]),
      differs,
      vlan,
    });
  }

  /** The server's slot: its own, a free or expired one, or the least recently seen (taken over). */
  #serverSlot(server: number, vlan: number, t: number): number {
    let free = -1, stalest = 0;
    for (let k = 0; k < SERVERS; k++) {
      if (this.#serverVlan[k] === vlan && this.#serverIp[k] === server) return k;
      const expired = this.#serverVlan[k] < 0 || t - this.#serverLast[k] > SERVER_TTL_MICROS;
      if (free < 0 && expired) free = k;
      if (this.#serverLast[k] < this.#serverLast[stalest]) stalest = k;
    }
    let s = free;
    if (s < 0) {
      s = stalest;
      this.counters.slotsEvicted++;
    }
    this.counters.servers++;
    this.#serverIp[s] = server;
    this.#serverVlan[s] = vlan;
    this.#serverRouter[s] = 0;
    this.#serverSubnet[s] = 0;
    this.#serverMask[s] = 0;
    this.#serverDns[s] = 0;
    this.#serverFirst[s] = t;
    this.#serverReported[s] = -Infinity;
    return s;
  }
}

function readU32(data: Uint8Array, at: number): number {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
}

function subnetText(subnet: number, mask: number): string | null {
  if (subnet === 0) return null;
  let bits = 0;
  for (let m = mask; m !== 0; m = (m << 1) >>> 0) bits++;
  return `${formatIpv4(subnet)}/${bits}`;
}
