/**
 * The flow meter: packet batches in, completed flows out as FlowBatch values.
 * Decoding and flow tracking run per packet over typed arrays; output rows
 * are written only when a flow ends. Every packet is accounted for: metered
 * or counted under the reason it was not.
 */
import type { PacketBatch } from "../capture/mod.ts";
import { CONN_STATES, FLOW_END_REASONS, type FlowBatch, type FlowRecord } from "./flow_batch.ts";
import {
  DECODE_OUTCOMES,
  DECODE_TUNNELS,
  type DecodeCounters,
  DecodedPacket,
  type DecodeOutcome,
  decodePacket,
  type DecodeTunnel,
  PROTO_TCP,
  PROTO_UDP,
  TCP_FIN,
  TCP_PSH,
} from "./decode.ts";
import { FlowTable, setFlowHash } from "./flow_table.ts";
import {
  CLOSED_LIST,
  END_INPUT,
  END_INTERIM,
  EVICTION_KINDS,
  ONE_WAY_LIST,
  OPEN_LIST,
} from "./flow_layout.ts";
import { createFlowBatch, writeFlowRow } from "./features.ts";
import { communityIdV1 } from "./community_id.ts";
import { FEATURE_COUNT } from "./schema.ts";
import type { PacketObserver } from "./packet_features.ts";
import { type ArpCounters, type ArpFinding, ArpMonitor } from "./arp_monitor.ts";
import { type DhcpCounters, type DhcpFinding, DhcpMonitor } from "./dhcp_monitor.ts";
import { type DnsCounters, type DnsFinding, DnsMonitor } from "./dns_monitor.ts";
import {
  type DnsSpoofCounters,
  type DnsSpoofFinding,
  DnsSpoofMonitor,
} from "./dns_spoof_monitor.ts";
import { type HttpCounters, type HttpFinding, HttpMonitor } from "./http_monitor.ts";
import { type IcmpCounters, type IcmpFinding, IcmpMonitor } from "./icmp_monitor.ts";
import {
  type MacFloodCounters,
  type MacFloodFinding,
  MacFloodMonitor,
} from "./mac_flood_monitor.ts";
import { type IpAnomalyCounters, type IpAnomalyFinding, IpAnomalyMonitor } from "./ip_anomalies.ts";
import { type NdCounters, type NdFinding, NdMonitor } from "./nd_monitor.ts";
import { LOGIN_OUTCOME_PORTS, loginOutcome } from "./login_outcomes.ts";
import { SSH_PORT, sshSegment } from "./ssh_auth.ts";
import { FragmentHeaders } from "./fragment_headers.ts";

/** What the meter's packet monitors found (ARP, IPv6 neighbour discovery, IP anomalies), for the alert path. */
export type PacketFinding =
  | ArpFinding
  | NdFinding
  | DhcpFinding
  | DnsFinding
  | DnsSpoofFinding
  | HttpFinding
  | IcmpFinding
  | MacFloodFinding
  | IpAnomalyFinding;
/** Returned (never changed) when there is nothing: asked with every flow batch. */
const NO_FINDINGS: PacketFinding[] = [];

/** Flow meter settings; defaults follow CICFlowMeter. */
export interface FlowMeterOptions {
  /** A flow with no packet for this long ends ("idle"). Default 120 s. */
  idleTimeoutSeconds?: number;
  /** A flow ends when a packet arrives this long after its first ("active"; CIC's flow timeout). Default 120 s. */
  activeTimeoutSeconds?: number;
  /** Gap that separates active periods from idle ones in the Active/Idle features. Default 5 s. */
  activityTimeoutSeconds?: number;
  /** After FIN both ways or RST, late packets (last ACKs) still join the flow for this long. Default 5 s (Zeek's tcp_close_delay). */
  closeLingerSeconds?: number;
  /** Most flows held at once; beyond it a flow is evicted (see memcapBytes). Default 1,000,000. */
  maxFlows?: number;
  /**
   * Bytes the flow table may hold (Suricata's flow memcap). At the bound it
   * evicts closed flows first, then one-way flows (a spoofed flood), then the
   * least recently seen two-way flow, counts every eviction by kind, and
   * enters emergency mode. Default: only maxFlows bounds it.
   */
  memcapBytes?: number;
  /** In emergency mode, one-way flows end after this long without a packet. Default 2 s. */
  emergencyIdleSeconds?: number;
  /**
   * Share of the memcap (and of maxFlows) one-way flows may hold: past it the
   * oldest one-way flow is evicted (counted as a one-way eviction) and
   * emergency mode begins, so a spoofed flood never fills more than this
   * share of the table, whose memory stays that much lower, and the rest
   * stays free for conversations. Default 1 (only the memcap bounds them).
   */
  oneWayShare?: number;
  /**
   * Interim rows (NetFlow's active timeout): a flow still open this long after
   * its first packet is exported as it stands (`interim` 1), then again at
   * doubling gaps (at most 60 s) while it has new packets. Default 0: off.
   */
  interimExportSeconds?: number;
  /** Flows per output batch. Default 4096. */
  flowBatchSize?: number;
  /**
   * Sees every metered packet, decoded, in the same pass (packet-level
   * features: PacketFeatureExtractor). Default: none.
   */
  packetObserver?: PacketObserver;
  /**
   * Meter one shard of the flows: this meter adds only the packets whose
   * direction-independent flow hash falls in shard `index` of `count`, but
   * every metered packet advances its clock, so expiry runs as of the same
   * packets as in one meter over all flows. Its batches carry `order` keys
   * (see ShardedFlowBatch) by which the rows of all shards merge into the
   * order one meter would have emitted them in. It counts its own metered
   * packets; shard 0 also counts every packet not metered. Default: none.
   */
  shard?: { index: number; count: number };
  /**
   * Analyse ARP (sweeps, spoofing: ArpMonitor) into `FlowMeter.arp`, whose
   * findings the alert path takes. Sharded, only shard 0 does. Default false.
   */
  arp?: boolean;
  /**
   * Analyse IPv6 neighbour discovery (sweeps, spoofed advertisements, rogue
   * routers: NdMonitor) into `FlowMeter.nd`. Sharded, only shard 0 does.
   * Default false.
   */
  nd?: boolean;
  /**
   * Analyse DHCP (starvation, rogue servers: DhcpMonitor) into
   * `FlowMeter.dhcp`; its packets are metered as flows all the same.
   * Sharded, only shard 0 does. Default false.
   */
  dhcp?: boolean;
  /**
   * Read DNS queries for tunnels (data in the names: DnsMonitor) into
   * `FlowMeter.dns`; the queries are metered as flows all the same.
   * Sharded, only shard 0 does. Default false.
   */
  dns?: boolean;
  /**
   * Read DNS responses for spoofed answers (a second, different answer to
   * one query: DnsSpoofMonitor) into `FlowMeter.dnsSpoof`. Sharded, only
   * shard 0 does. Default false.
   */
  dnsSpoof?: boolean;
  /**
   * Read cleartext HTTP/1.x requests and response statuses for path scans
   * (HttpMonitor) into `FlowMeter.http`. Sharded, only shard 0 does.
   * Default false.
   */
  http?: boolean;
  /**
   * Count echo payloads per host pair for ICMP tunnels (IcmpMonitor) into
   * `FlowMeter.icmp`. Sharded, only shard 0 does. Default false.
   */
  icmp?: boolean;
  /**
   * Count distinct Ethernet source MACs per VLAN for MAC flooding
   * (MacFloodMonitor) into `FlowMeter.macFlood`; every Ethernet frame,
   * metered or not. Sharded, only shard 0 does. Default false.
   */
  macFlood?: boolean;
  /**
   * Look for land attacks and bad IPv4 fragments (IpAnomalyMonitor) into
   * `FlowMeter.anomalies`. Sharded, only shard 0 does. Default false.
   */
  ipAnomalies?: boolean;
  /**
   * Put together TCP headers split across IPv4 fragments (FragmentHeaders:
   * nmap -f) and meter those segments, which otherwise have no ports.
   * Default false (CICFlowMeter does not reassemble).
   */
  fragmentHeaders?: boolean;
  /**
   * Meter a TCP frame whose IP datagram is longer than this (bytes) as the
   * segments a wire of this MTU would have carried: the sender's TSO/GSO or
   * the receiver's GRO/LRO hands a capture on the host itself frames of up
   * to 64 KiB, which no wire carries and no model trained on wire traffic
   * has seen (a page fetch then scores as an anomaly). Default 0: off
   * (CICFlowMeter meters frames as captured).
   */
  resegmentAboveBytes?: number;
}

/**
 * A batch of a sharded meter (FlowMeterOptions.shard): row `i` also has
 * merge keys `order[2i]`, `order[2i + 1]`; rows of all shards, sorted by them,
 * come in the order one meter over all flows emits them (ties: none, except
 * interim rows, whose order follows each shard's own rows).
 */
export interface ShardedFlowBatch extends FlowBatch {
  order: Float64Array;
}

/** Everything the meter counted. */
export interface FlowMeterCounters {
  /** What the ARP monitor counted (FlowMeterOptions.arp). */
  arp?: ArpCounters;
  /** What the ND monitor counted (FlowMeterOptions.nd). */
  nd?: NdCounters;
  /** What the DHCP monitor counted (FlowMeterOptions.dhcp). */
  dhcp?: DhcpCounters;
  /** What the DNS monitor counted (FlowMeterOptions.dns). */
  dns?: DnsCounters;
  /** What the DNS spoof monitor counted (FlowMeterOptions.dnsSpoof). */
  dnsSpoof?: DnsSpoofCounters;
  /** What the HTTP monitor counted (FlowMeterOptions.http). */
  http?: HttpCounters;
  /** What the ICMP monitor counted (FlowMeterOptions.icmp). */
  icmp?: IcmpCounters;
  /** What the MAC flood monitor counted (FlowMeterOptions.macFlood). */
  macFlood?: MacFloodCounters;
  /** What the IP anomaly monitor counted (FlowMeterOptions.ipAnomalies). */
  ipAnomalies?: IpAnomalyCounters;
  /** TCP segments whose header was put together from fragments and metered (FlowMeterOptions.fragmentHeaders). */
  fragmentHeaders?: { rebuilt: number; evicted: number };
  /** Offload frames metered as wire-sized segments, and those segments (FlowMeterOptions.resegmentAboveBytes). */
  resegmented?: { frames: number; segments: number };
  decode: DecodeCounters;
  flowsCreated: number;
  flowsEnded: number;
  /** By FLOW_END_REASONS name ("evicted" counts the capacity bound at work). */
  flowsEndedByReason: Record<string, number>;
  /** Flows in the table right now. */
  flowsLive: number;
  /** Bytes held by the flow table's arrays. */
  tableBytes: number;
  /** Bytes the flows held now cost, and the bound on it (Infinity: none). */
  tableBytesInUse: number;
  memcapBytes: number;
  /** Evictions by EVICTION_KINDS name (each also counts under flowsEndedByReason.evicted). */
  evictedByKind: Record<string, number>;
  /** Whether the table is in emergency mode now, and how often it entered it. */
  emergency: boolean;
  emergencyEntered: number;
  /** Interim rows exported, and flows that ended with nothing new since their last one. */
  interimRows: number;
  endedWithoutFinalRow: number;
}

/**
 * Meter settings of the detecting sensor (detect, analyze), on top of the
 * CIC defaults: a flow memcap, so a spoofed flood is evicted rather than
 * held, and interim rows, so open flows are scored while they last. `flows`
 * and `label` keep CICFlowMeter's behaviour (no memcap, no interim rows).
 */
export const DETECTION_METER_DEFAULTS: Readonly<FlowMeterOptions> = {
  memcapBytes: 64 * 2 ** 20,
  oneWayShare: 0.25,
  interimExportSeconds: 1,
  arp: true,
  nd: true,
  dhcp: true,
  dns: true,
  dnsSpoof: true,
  http: true,
  icmp: true,
  macFlood: true,
  ipAnomalies: true,
  fragmentHeaders: true,
  resegmentAboveBytes: 1500,
};

/**
 * Meter settings for labelled rows (`label`, `train`/`learn` from a capture,
 * `eval --capture`): the parts of DETECTION_METER_DEFAULTS that change a
 * flow's feature values, so a model learns and is measured on the rows the
 * sensor will score (an offload frame metered as the wire's segments), but
 * not its timing (no interim rows: one row per flow, as CICFlowMeter).
 */
export const LABELLED_METER_DEFAULTS: Readonly<FlowMeterOptions> = {
  resegmentAboveBytes: DETECTION_METER_DEFAULTS.resegmentAboveBytes,
};

/**
 * Grid of packet time on which the meter expires flows and exports interim
 * rows (the interim sweep runs at most this often too, see flow_table.ts).
 */
export const EXPIRY_TICK_MICROS = 250_000;

/**
 * Packets decoded and hashed before any of them is added: their index slots
 * and flow rows are then read together (see FlowTable.prefetch). Measured
 * on the synthetic bench capture, where packets of 20,000 flows interleave.
 */
const LOOKUP_GROUP = 8;

/** Decode outcome of a packet whose link type the decoder does not know. */
const UNSUPPORTED_LINK = DECODE_OUTCOMES.indexOf("unsupported-link-type");
const ARP_OUTCOME = DECODE_OUTCOMES.indexOf("arp");
const TRUNCATED_TCP_OUTCOME = DECODE_OUTCOMES.indexOf("truncated-tcp-header");
const NON_FIRST_OUTCOME = DECODE_OUTCOMES.indexOf("ip-fragment-non-first");

/** Full row batches the meter holds before push stops for a drain. */
const MAX_READY_BATCHES = 2;

/** Largest active timeout: in-flow times are 32-bit microsecond offsets. */
const MAX_ACTIVE_TIMEOUT_SECONDS = 3600;

/** Meters packet batches into flows; `meterFlows` wraps it as a generator. */
export class FlowMeter {
  private readonly table: FlowTable;
  /** The packets of one lookup group: decoded, their flow hashes, their index entries. */
  private readonly group = Array.from({ length: LOOKUP_GROUP }, () => new DecodedPacket());
  private readonly groupOutcome = new Uint8Array(LOOKUP_GROUP);
  private readonly groupHash = new Uint32Array(LOOKUP_GROUP);
  private readonly groupEntry = new Int32Array(LOOKUP_GROUP);
  /** 1 when the group's packet belongs to this meter's shard (always, unsharded). */
  private readonly groupOwned = new Uint8Array(LOOKUP_GROUP).fill(1);
  private readonly shardIndex: number;
  private readonly shardCount: number;
  /** Whether this meter is one shard of several (FlowMeterOptions.shard given). */
  private readonly sharded: boolean;
  /** Sharded: metered packets of other shards (not counted here). */
  private foreign = 0;
  /**
   * Sharded: the packet (sequence number over all packets pushed) whose
   * expiry (phase 0) or add (phase 1) is running, and rows emitted by adds.
   */
  private packetSeq = 0;
  private phase = 0;
  private addRows = 0;
  private readonly outcomes = new Float64Array(DECODE_OUTCOMES.length);
  /** Packets from inside tunnels by DecodedPacket.tunnel: metered ones, then the rest. */
  private readonly tunnelsMetered = new Float64Array(DECODE_TUNNELS.length);
  private readonly tunnelsOther = new Float64Array(DECODE_TUNNELS.length);
  private readonly otherLinkTypes = new Map<number, number>();
  private packets = 0;
  private now = -Infinity;
  private readonly batchSize: number;
  private current: FlowBatch;
  private ready: FlowBatch[] = [];
  /** Batches handed back by recycle(), reused instead of allocating (a flood makes thousands). */
  private spare: FlowBatch[] = [];
  /** Flows ended or exported per expiry step, so a step yields a few batches at most. */
  private readonly stepBudget: number;
  /** Expiry work left over from the last step (see continueExpiry). */
  private expiryPending = false;
  private readonly memcapBytes: number;
  private readonly observer: PacketObserver | undefined;
  /** ARP analysis (FlowMeterOptions.arp), null when off. */
  readonly arp: ArpMonitor | null;
  /** IPv6 neighbour discovery analysis (FlowMeterOptions.nd), null when off. */
  readonly nd: NdMonitor | null;
  /** DHCP analysis (FlowMeterOptions.dhcp), null when off. */
  readonly dhcp: DhcpMonitor | null;
  /** DNS tunnel analysis (FlowMeterOptions.dns), null when off. */
  readonly dns: DnsMonitor | null;
  /** DNS spoofing analysis (FlowMeterOptions.dnsSpoof), null when off. */
  readonly dnsSpoof: DnsSpoofMonitor | null;
  /** HTTP path scan analysis (FlowMeterOptions.http), null when off. */
  readonly http: HttpMonitor | null;
  /** ICMP tunnel analysis (FlowMeterOptions.icmp), null when off. */
  readonly icmp: IcmpMonitor | null;
  /** MAC flood analysis (FlowMeterOptions.macFlood), null when off. */
  readonly macFlood: MacFloodMonitor | null;
  /** The packet monitors that are on, in the order their findings are taken. */
  private readonly findingSources: { take(): PacketFinding[] }[];
  /** Land attacks and bad fragments (FlowMeterOptions.ipAnomalies), null when off. */
  readonly anomalies: IpAnomalyMonitor | null;
  /** TCP headers split across fragments (FlowMeterOptions.fragmentHeaders), null when off. */
  private readonly fragments: FragmentHeaders | null;
  private readonly rebuiltPacket = new DecodedPacket();
  /** FlowMeterOptions.resegmentAboveBytes (0: off), and what it metered. */
  private readonly wireMtu: number;
  private resegmentedFrames = 0;
  private resegmentedSegments = 0;
  /** The batch being metered (null: done) and its next packet. */
  private input: PacketBatch | null = null;
  private inputAt = 0;
  /** Packets pushed before the batch being metered. */
  private inputBase = 0;
  /** The decoded packet that crossed a grid line waits for the expiry before it (`packet`). */
  private held = false;
  private heldPacket = new DecodedPacket();
  private heldAt = 0;
  /** Next grid line of packet time, and the time the pending expiry runs as of. */
  private nextTickAt = -Infinity;
  private expiryAt = -Infinity;

  constructor(options: FlowMeterOptions = {}) {
    const active = options.activeTimeoutSeconds ?? 120;
    if (!(active > 0 && active <= MAX_ACTIVE_TIMEOUT_SECONDS)) {
      throw new RangeError(
        `activeTimeoutSeconds must be in (0, ${MAX_ACTIVE_TIMEOUT_SECONDS}], got ${active}`,
      );
    }
    const idle = Math.min(options.idleTimeoutSeconds ?? 120, active);
    const maxFlows = options.maxFlows ?? 1_000_000;
    if (!(maxFlows >= 1)) throw new RangeError(`maxFlows must be at least 1, got ${maxFlows}`);
    this.batchSize = options.flowBatchSize ?? 4096;
    this.stepBudget = 2 * this.batchSize;
    this.memcapBytes = options.memcapBytes ?? Infinity;
    this.observer = options.packetObserver;
    const shard = options.shard ?? { index: 0, count: 1 };
    if (
      !Number.isInteger(shard.count) || shard.count < 1 || shard.count > 256 ||
      !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count
    ) {
      throw new RangeError(`shard must be 0 <= index < count <= 256, got ${JSON.stringify(shard)}`);
    }
    if (shard.count > 1 && this.observer) {
      throw new RangeError("a sharded meter cannot feed a packet observer (it sees one shard)");
    }
    this.shardIndex = shard.index;
    this.shardCount = shard.count;
    this.arp = options.arp && shard.index === 0 ? new ArpMonitor() : null;
    this.nd = options.nd && shard.index === 0 ? new NdMonitor() : null;
    this.dhcp = options.dhcp && shard.index === 0 ? new DhcpMonitor() : null;
    this.dns = options.dns && shard.index === 0 ? new DnsMonitor() : null;
    this.dnsSpoof = options.dnsSpoof && shard.index === 0 ? new DnsSpoofMonitor() : null;
    this.http = options.http && shard.index === 0 ? new HttpMonitor() : null;
    this.icmp = options.icmp && shard.index === 0 ? new IcmpMonitor() : null;
    this.macFlood = options.macFlood && shard.index === 0 ? new MacFloodMonitor() : null;
    this.anomalies = options.ipAnomalies && shard.index === 0 ? new IpAnomalyMonitor() : null;
    // The monitors whose findings the alert path takes, in the order it always took them.
    const monitors = [this.arp, this.nd, this.dhcp, this.dns, this.dnsSpoof, this.http, this.icmp];
    this.findingSources = [...monitors, this.macFlood, this.anomalies].filter((m) => m !== null);
    this.fragments = options.fragmentHeaders ? new FragmentHeaders() : null;
    this.wireMtu = options.resegmentAboveBytes ?? 0;
    if (!(this.wireMtu === 0 || this.wireMtu >= 576)) {
      throw new RangeError(`resegmentAboveBytes must be 0 or at least 576, got ${this.wireMtu}`);
    }
    this.sharded = options.shard !== undefined;
    this.table = new FlowTable({
      idleTimeoutMicros: idle * 1e6,
      activeTimeoutMicros: active * 1e6,
      activityTimeoutMicros: (options.activityTimeoutSeconds ?? 5) * 1e6,
      closeLingerMicros: (options.closeLingerSeconds ?? 5) * 1e6,
      maxFlows,
      memcapBytes: options.memcapBytes,
      emergencyIdleMicros: (options.emergencyIdleSeconds ?? 2) * 1e6,
      oneWayShare: options.oneWayShare,
      interimExportMicros: (options.interimExportSeconds ?? 0) * 1e6,
      trackTouchOrder: this.sharded,
    }, (table, id, reason) => this.emit(table, id, reason));
    this.current = this.newBatch();
  }

  /**
   * Meters `batch`. Expiry (idle and closed flows, interim rows) runs on a
   * fixed grid of packet time (`EXPIRY_TICK_MICROS`): when a packet crosses a
   * grid line the flows are expired as of that line, before the packet is
   * added, and the rows so far are released to `drain`. So what comes out,
   * and in which batches, depends only on the packets and their times, never
   * on how the input was cut into batches. Push may stop early (rows to
   * drain, or expiry work left): drain, then call continueExpiry until it
   * returns false, before the next push (a push or flush that comes sooner
   * first finishes the last batch in one go, holding its rows until drain).
   */
  push(batch: PacketBatch): void {
    this.finishInput();
    this.input = batch;
    this.inputAt = 0;
    this.inputBase = this.packets;
    this.packets += batch.count;
    this.advance();
  }

  /**
   * Ends flows idle as of `nowMicros` (for live capture when no packets
   * arrive), a step at a time as push does; releases the rows so far.
   */
  expire(nowMicros: number): void {
    this.packetSeq = this.packets, this.phase = 0;
    if (nowMicros > this.now) this.now = nowMicros;
    this.expiryAt = this.now;
    const tick = Math.floor(this.now / EXPIRY_TICK_MICROS) * EXPIRY_TICK_MICROS;
    if (tick + EXPIRY_TICK_MICROS > this.nextTickAt) this.nextTickAt = tick + EXPIRY_TICK_MICROS;
    this.expiryPending = this.table.expire(this.expiryAt, this.stepBudget);
    this.arp?.expire(this.now);
    this.nd?.expire(this.now);
    this.dhcp?.expire(this.now);
    this.seal();
  }

  /**
   * Does the next step of work left by push or expire (expiry, then the rest
   * of the pushed batch); true while more is left. Drain between steps.
   */
  continueExpiry(): boolean {
    if (this.expiryPending) {
      this.expiryPending = this.table.expire(this.expiryAt, this.stepBudget);
      this.seal();
      if (this.expiryPending) return true;
    }
    if (this.input === null) return false;
    return this.advance();
  }

  /**
   * Meters the TCP segment FragmentHeaders rebuilt from a datagram's
   * fragments (its own shard's only, when sharded), as of its last fragment.
   */
  private addRebuilt(fragments: FragmentHeaders): void {
    const p = this.rebuiltPacket;
    if (decodePacket(fragments.packet, 0, p) !== 0) return;
    setFlowHash(p);
    if (this.sharded && (p.flowHash >>> 24) % this.shardCount !== this.shardIndex) return;
    p.loginOutcome = 0;
    p.sshSegment = 0;
    this.table.add(p);
  }

  /**
   * Meters the pushed batch from `inputAt` until it ends, a grid line of
   * packet time releases rows, or full batches pile up. True when it stopped
   * early (work left).
   */
  private advance(): boolean {
    const batch = this.input!;
    const outcomes = this.outcomes;
    const table = this.table;
    const times = batch.timestampMicros;
    const observer = this.observer;
    const sharded = this.sharded;
    if (this.held) {
      // The packet that crossed the last grid line waited for its expiry to finish.
      this.held = false;
      if (sharded) this.addPhase(this.inputBase + this.inputAt - 1);
      this.addPacket(this.heldPacket, batch.wireLength[this.inputAt - 1]);
      observer?.observe(this.heldPacket, batch, this.inputAt - 1, this.heldAt);
    }
    const ready = this.ready;
    const arp = this.arp, anomalies = this.anomalies, nd = this.nd, fragments = this.fragments;
    const dhcp = this.dhcp, dns = this.dns, http = this.http, icmp = this.icmp;
    const macFlood = this.macFlood, dnsSpoof = this.dnsSpoof;
    const group = this.group, groupOutcome = this.groupOutcome, groupHash = this.groupHash;
    const groupOwned = this.groupOwned, shardCount = this.shardCount, shardIndex = this.shardIndex;
    const base = this.inputBase;
    const count = batch.count;
    let now = this.now;
    for (let start = this.inputAt; start < count; start += LOOKUP_GROUP) {
      // Decode and hash a group of packets, then read their table memory
      // together (overlapping cache misses), then add them one by one.
      const n = count - start < LOOKUP_GROUP ? count - start : LOOKUP_GROUP;
      for (let k = 0; k < n; k++) {
        const p = group[k];
        const outcome = decodePacket(batch, start + k, p);
        groupOutcome[k] = outcome;
        if (outcome === 0) setFlowHash(p);
        groupHash[k] = outcome === 0 ? p.flowHash : 0;
        if (sharded) {
          // Another shard's flow: it still advances the clock below, but is not looked up.
          const owned = outcome !== 0 || (groupHash[k] >>> 24) % shardCount === shardIndex;
          groupOwned[k] = owned ? 1 : 0;
          if (!owned) groupHash[k] = 0;
        }
      }
      table.prefetch(groupHash, n, this.groupEntry);
      for (let k = 0; k < n; k++) {
        const i = start + k;
        const outcome = groupOutcome[k];
        outcomes[outcome]++;
        if (macFlood !== null && batch.linkType[i] === 1) macFlood.observe(batch, i, group[k].vlan);
        if (group[k].tunnel !== 0) {
          if (outcome === 0) this.tunnelsMetered[group[k].tunnel]++;
          else this.tunnelsOther[group[k].tunnel]++;
        }
        if (outcome !== 0) {
          if (outcome === UNSUPPORTED_LINK) this.countOtherLinkType(batch.linkType[i]);
          else if (outcome === ARP_OUTCOME && arp !== null) {
            arp.observe(batch, i, group[k].arpOffset, group[k].vlan);
          } else if (anomalies !== null && group[k].ipv4Fragment) {
            anomalies.observeFragment(batch, i, group[k].ipOffset, group[k]);
          } else if (anomalies !== null && group[k].ipv6Fragment) {
            anomalies.observeFragment6(group[k]);
          }
          if (
            fragments !== null && group[k].ipv4Fragment &&
            (outcome === TRUNCATED_TCP_OUTCOME || outcome === NON_FIRST_OUTCOME) &&
            fragments.offer(batch, i, group[k].ipOffset)
          ) this.addRebuilt(fragments);
          continue;
        }
        const packet = group[k];
        // A server's answer on a cleartext login service: did the login fail or succeed?
        let login = 0, ssh = 0;
        if (packet.payloadBytes > 0 && packet.protocol === PROTO_TCP) {
          const service = LOGIN_OUTCOME_PORTS[packet.srcPort];
          const end = batch.offset[i] + batch.capturedLength[i];
          if (service !== 0) {
            login = loginOutcome(service, batch.data, packet.payloadOffset, end);
          } else if ((packet.srcPort === SSH_PORT) !== (packet.dstPort === SSH_PORT)) {
            // Encrypted SSH: the table reads its outcome from the segments' sizes (ssh_auth.ts).
            ssh = sshSegment(
              packet.srcPort === SSH_PORT,
              batch.data,
              packet.payloadOffset,
              end,
              packet.payloadBytes,
            );
          }
        }
        packet.loginOutcome = login;
        packet.sshSegment = ssh;
        if (anomalies !== null) {
          if (packet.ipv4Fragment) anomalies.observeFragment(batch, i, packet.ipOffset, packet);
          else if (packet.ipv6Fragment) anomalies.observeFragment6(packet);
          if (packet.srcPort === packet.dstPort) anomalies.observeMetered(packet);
          // SYN with FIN or RST: an OS fingerprinting probe, never a stack's own segment.
          if (
            packet.protocol === PROTO_TCP && (packet.tcpFlags & 0x07) > 0x02 &&
            (packet.tcpFlags & 0x02) !== 0
          ) {
            anomalies.observeSynFinRst(packet);
          }
          const protocol = packet.protocol;
          if (protocol !== 6 && protocol !== 17 && protocol !== 1 && protocol !== 58) {
            anomalies.observeOtherProtocol(packet);
          }
        }
        // Router solicitation/advertisement, neighbour solicitation/advertisement.
        if (
          nd !== null && packet.protocol === 58 && packet.srcPort >= 133 && packet.srcPort <= 136
        ) nd.observe(batch, i, packet);
        // BOOTP between ports 67 and 68 (clients, servers, relays).
        if (
          dhcp !== null && packet.protocol === PROTO_UDP && packet.ipVersion === 4 &&
          (packet.dstPort === 67 || packet.dstPort === 68) &&
          (packet.srcPort === 67 || packet.srcPort === 68)
        ) dhcp.observe(batch, i, packet);
        if (packet.protocol === PROTO_UDP) {
          if (dns !== null && packet.dstPort === 53) dns.observe(batch, i, packet);
          if (dnsSpoof !== null && packet.srcPort === 53) dnsSpoof.observe(batch, i, packet);
        }
        if (http !== null && packet.payloadBytes > 0 && packet.protocol === PROTO_TCP) {
          http.observe(batch, i, packet);
        }
        // Echo requests and replies (ICMP 8/0, ICMPv6 128/129).
        if (
          icmp !== null && (packet.protocol === 1 || packet.protocol === 58) &&
          (packet.srcPort === 8 || packet.srcPort === 0 || packet.srcPort === 128 ||
            packet.srcPort === 129)
        ) icmp.observe(batch, i, packet);
        const ts = times[i];
        if (ts > now) now = ts;
        let owned = true;
        if (sharded && groupOwned[k] === 0) {
          owned = false;
          outcomes[0]--;
          if (packet.tunnel !== 0) this.tunnelsMetered[packet.tunnel]--;
          this.foreign++;
        }
        if (ts >= this.nextTickAt) {
          this.now = now;
          const tick = Math.floor(ts / EXPIRY_TICK_MICROS) * EXPIRY_TICK_MICROS;
          this.nextTickAt = tick + EXPIRY_TICK_MICROS;
          this.expiryAt = tick;
          this.arp?.expire(tick);
          this.nd?.expire(tick);
          this.dhcp?.expire(tick);
          if (sharded) this.packetSeq = base + i, this.phase = 0;
          this.expiryPending = table.expire(tick, this.stepBudget);
          this.seal();
          if (this.expiryPending) {
            this.held = owned;
            this.heldPacket = packet;
            this.heldAt = ts;
            this.inputAt = i + 1;
            return true;
          }
          if (owned) {
            if (sharded) this.addPhase(base + i);
            this.addPacket(packet, batch.wireLength[i]);
            if (observer) observer.observe(packet, batch, i, ts);
          }
          if (ready.length > 0) {
            this.inputAt = i + 1;
            return this.finishIfDone(batch);
          }
          continue;
        }
        if (!owned) continue;
        if (sharded) this.addPhase(base + i);
        this.addPacket(packet, batch.wireLength[i]);
        if (observer) observer.observe(packet, batch, i, ts);
        if (ready.length >= MAX_READY_BATCHES) {
          // A flood ends flows as it comes (evictions): hand them over before more pile up.
          this.now = now;
          this.inputAt = i + 1;
          return this.finishIfDone(batch);
        }
      }
    }
    this.now = now;
    this.input = null;
    return false;
  }

  /**
   * Adds a decoded packet to the table; an offload frame as the segments it
   * stands for. Only a frame whose own length (`wireBytes`, the capture's
   * original length) holds its IP datagram: a forged IP length on a short
   * frame is not a frame of that size, and must not multiply the work.
   */
  private addPacket(p: DecodedPacket, wireBytes: number): void {
    if (
      this.wireMtu === 0 || p.ipBytes <= this.wireMtu || p.protocol !== PROTO_TCP ||
      p.ipBytes > wireBytes
    ) {
      this.table.add(p);
    } else this.addResegmented(p);
  }

  /**
   * Meters offload frame `p` as the wire's segments: full ones of the MTU
   * less the frame's own IP and TCP headers, then the rest, all at the
   * frame's time; FIN and PSH (and the login outcome read from the payload)
   * go with the last, as a sender's stack sets them. `p` is left as it came.
   */
  private addResegmented(p: DecodedPacket): void {
    const headers = p.ipBytes - p.payloadBytes, payload = p.payloadBytes;
    const segment = this.wireMtu - headers;
    if (segment <= 0 || payload <= segment) {
      this.table.add(p);
      return;
    }
    const flags = p.tcpFlags, login = p.loginOutcome, ssh = p.sshSegment;
    p.tcpFlags = flags & ~(TCP_FIN | TCP_PSH);
    p.loginOutcome = 0;
    p.sshSegment = 0;
    let left = payload;
    for (; left > segment; left -= segment) {
      p.payloadBytes = segment;
      p.ipBytes = headers + segment;
      this.table.add(p);
      this.resegmentedSegments++;
    }
    p.payloadBytes = left;
    p.ipBytes = headers + left;
    p.tcpFlags = flags;
    p.loginOutcome = login;
    p.sshSegment = ssh;
    this.table.add(p);
    this.resegmentedSegments++;
    this.resegmentedFrames++;
    p.payloadBytes = payload;
    p.ipBytes = headers + payload;
  }

  /** Sharded: packet `seq` is being added (its rows are keyed by it, and its flow touched by it). */
  private addPhase(seq: number): void {
    this.packetSeq = seq;
    this.phase = 1;
    this.table.touchSeq = seq;
  }

  /** Counts a packet of a link type the decoder does not know. */
  private countOtherLinkType(linkType: number): void {
    this.otherLinkTypes.set(linkType, (this.otherLinkTypes.get(linkType) ?? 0) + 1);
  }

  /** Meters what is left of the pushed batch at once (callers that skip continueExpiry). */
  private finishInput(): void {
    while (this.input !== null || this.expiryPending) this.continueExpiry();
  }

  /** After a stop at packet `inputAt`: true when packets are left, else the batch is done. */
  private finishIfDone(batch: PacketBatch): boolean {
    if (this.inputAt < batch.count) return true;
    this.input = null;
    return this.ready.length > 0;
  }

  /**
   * Ends the next few batches' worth of flows ("end-of-input"; flows closed
   * by FIN/RST keep that reason); true while flows remain. Drain between steps.
   */
  flushStep(): boolean {
    this.finishInput();
    this.arp?.flush();
    this.nd?.flush();
    this.dhcp?.flush();
    this.packetSeq = this.packets, this.phase = 0;
    const more = this.table.flushSome(END_INPUT, this.stepBudget);
    this.seal();
    return more;
  }

  /** Ends every flow at once (flushStep keeps memory bounded on large tables). */
  flush(): void {
    this.finishInput();
    this.arp?.flush();
    this.nd?.flush();
    this.dhcp?.flush();
    this.packetSeq = this.packets, this.phase = 0;
    this.table.flushAll(END_INPUT);
    this.seal();
  }

  /** Releases the rows made so far to the next drain. */
  private seal(): void {
    if (this.current.count > 0) {
      this.ready.push(this.current);
      this.current = this.newBatch();
    }
  }

  /**
   * Completed flows released since the last drain (at grid lines of packet
   * time, full batches, expire and flush), in batches: each the caller's to
   * keep, unless handed back through recycle().
   */
  drain(): FlowBatch[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** What the packet monitors (ARP, ND, IP anomalies) found since the last call. */
  takeFindings(): PacketFinding[] {
    // Usually all empty, or one monitor's: no new list then.
    let found: PacketFinding[] = NO_FINDINGS, more: PacketFinding[] | null = null;
    for (const monitor of this.findingSources) {
      const list = monitor.take();
      if (list.length === 0) continue;
      if (found.length === 0) found = list;
      else (more ??= [...found]).push(...list);
    }
    return more ?? found;
  }

  /** Packets from inside tunnels (a shard past the first: only those it meters, as its outcomes). */
  private tunnels(): Partial<Record<DecodeTunnel, number>> {
    const out: Partial<Record<DecodeTunnel, number>> = {};
    for (let k = 1; k < DECODE_TUNNELS.length; k++) {
      const n = this.tunnelsMetered[k] + (this.shardIndex > 0 ? 0 : this.tunnelsOther[k]);
      if (n > 0) out[DECODE_TUNNELS[k]] = n;
    }
    return out;
  }

  /** A snapshot of the counters. */
  counters(): FlowMeterCounters {
    const byOutcome = {} as Record<DecodeOutcome, number>;
    DECODE_OUTCOMES.forEach((name, index) => byOutcome[name] = this.outcomes[index]);
    const flowsEndedByReason: Record<string, number> = {};
    let flowsEnded = 0;
    FLOW_END_REASONS.forEach((name, index) => {
      if (index === END_INTERIM) return;
      flowsEndedByReason[name] = this.table.endedByReason[index];
      flowsEnded += this.table.endedByReason[index];
    });
    let packets = this.packets - this.foreign;
    let otherLinkTypes = Object.fromEntries(this.otherLinkTypes);
    if (this.shardIndex > 0) {
      // Shard 0 counts the packets no shard meters; this one only its own.
      for (const name of DECODE_OUTCOMES) if (name !== "metered") byOutcome[name] = 0;
      packets = byOutcome.metered;
      otherLinkTypes = {};
    }
    return {
      decode: { packets, byOutcome, unsupportedLinkTypes: otherLinkTypes, tunnels: this.tunnels() },
      flowsCreated: this.table.flowsCreated,
      flowsEnded,
      flowsEndedByReason,
      flowsLive: this.table.live,
      tableBytes: this.table.bytesAllocated(),
      tableBytesInUse: this.table.bytesInUse(),
      memcapBytes: this.memcapBytes,
      evictedByKind: Object.fromEntries(
        EVICTION_KINDS.map((name, index) => [name, this.table.evictedByKind[index]]),
      ),
      emergency: this.table.emergency,
      emergencyEntered: this.table.emergencyEntered,
      interimRows: this.table.endedByReason[END_INTERIM],
      endedWithoutFinalRow: this.table.endedWithoutFinalRow,
      ...(this.arp ? { arp: { ...this.arp.counters } } : {}),
      ...(this.nd ? { nd: { ...this.nd.counters } } : {}),
      ...(this.dhcp ? { dhcp: { ...this.dhcp.counters } } : {}),
      ...(this.dns ? { dns: { ...this.dns.counters } } : {}),
      ...(this.dnsSpoof ? { dnsSpoof: { ...this.dnsSpoof.counters } } : {}),
      ...(this.http ? { http: { ...this.http.counters } } : {}),
      ...(this.icmp ? { icmp: { ...this.icmp.counters } } : {}),
      ...(this.macFlood ? { macFlood: { ...this.macFlood.counters } } : {}),
      ...(this.anomalies ? { ipAnomalies: { ...this.anomalies.counters } } : {}),
      ...(this.fragments
        ? { fragmentHeaders: { rebuilt: this.fragments.rebuilt, evicted: this.fragments.evicted } }
        : {}),
      ...(this.wireMtu > 0
        ? {
          resegmented: { frames: this.resegmentedFrames, segments: this.resegmentedSegments },
        }
        : {}),
    };
  }

  /**
   * Bytes per flow held now: a flow row, links and index share for every
   * flow, plus a log chunk for each flow of 7 to 14 packets and a statistics
   * row for each longer one.
   */
  bytesPerFlow(): number {
    return this.table.bytesPerFlow();
  }

  /** Flows holding a log chunk now (past the flow row's packet log, no statistics row yet). */
  logChunksLive(): number {
    return this.table.logChunksLive();
  }

  /** Flows holding a statistics row now (past the flow row's log and a log chunk). */
  statisticsRowsLive(): number {
    return this.table.statisticsRowsLive();
  }

  /** Bytes one flow costs at most (a flow with a statistics row). */
  maxBytesPerFlow(): number {
    return this.table.maxBytesPerFlow();
  }

  /**
   * Takes back a drained batch the caller is done with; its buffers are
   * overwritten by later flows (the row writer fills every column of a row).
   */
  recycle(batch: FlowBatch): void {
    if (this.spare.length < 4 && batch.srcPort.length === this.batchSize) {
      batch.count = 0;
      this.spare.push(batch);
    }
  }

  private newBatch(): FlowBatch {
    const spare = this.spare.pop();
    if (spare) return spare;
    const batch = createFlowBatch(this.batchSize);
    if (this.sharded) {
      (batch as ShardedFlowBatch).order = new Float64Array(2 * this.batchSize);
    }
    return batch;
  }

  private emit(table: FlowTable, id: number, reason: number): void {
    let out = this.current;
    if (out.count === this.batchSize) {
      this.ready.push(out);
      out = this.current = this.newBatch();
    }
    writeFlowRow(table, id, reason, out, out.count);
    if (this.sharded) this.writeOrder(table, id, reason, (out as ShardedFlowBatch).order);
    out.count++;
  }

  /**
   * The merge keys of the row being emitted: the packet whose expiry or add
   * emitted it, then for expiry (and flush) the LRU list it left and its
   * place on it (the sequence number of its latest packet: lists are in that
   * order), for adds the order of this shard's rows (one packet's rows all
   * come from its own shard).
   */
  private writeOrder(table: FlowTable, id: number, reason: number, order: Float64Array): void {
    const at = 2 * this.current.count;
    if (this.phase === 1) {
      order[at] = (2 * this.packetSeq + 1) * 4;
      order[at + 1] = this.addRows++;
      return;
    }
    const list = table.listOf(id);
    const rank = reason === END_INTERIM
      ? 3
      : list === CLOSED_LIST
      ? 0
      : list === ONE_WAY_LIST
      ? 1
      : list === OPEN_LIST
      ? 2
      : 3;
    order[at] = 2 * this.packetSeq * 4 + rank;
    order[at + 1] = rank === 3 ? id : table.lastTouch![id];
  }
}

/**
 * Meters a stream of packet batches and yields completed flows in batches;
 * at the end of input every remaining flow is flushed ("end-of-input").
 * Pass a FlowMeter to read its counters afterwards. A yielded batch is valid
 * until the consumer asks for the next one (its buffers are reused, as a
 * capture source's packet batches are): copy what you keep.
 */
export async function* meterFlows(
  batches: AsyncIterable<PacketBatch>,
  options: FlowMeterOptions = {},
  meter: FlowMeter = new FlowMeter(options),
): AsyncGenerator<FlowBatch> {
  for await (const batch of batches) {
    meter.push(batch);
    yield* drained(meter);
    while (meter.continueExpiry()) yield* drained(meter);
  }
  // A step at a time: a full table ends as a stream of batches, not all at once.
  while (meter.flushStep()) yield* drained(meter);
  yield* drained(meter);
}

/** The meter's completed batches, each recycled once the consumer asks for the next. */
function* drained(meter: FlowMeter): Generator<FlowBatch> {
  for (const flows of meter.drain()) {
    yield flows;
    meter.recycle(flows);
  }
}

/** Row `i` of `batch` as plain values (addresses as text, Community ID computed). */
export function flowRecordAt(batch: FlowBatch, i: number): FlowRecord {
  const src = batch.srcAddr.subarray(i * 16, i * 16 + 16);
  const dst = batch.dstAddr.subarray(i * 16, i * 16 + 16);
  const version = batch.ipVersion[i];
  return {
    srcIp: formatAddress(src, version),
    srcPort: batch.srcPort[i],
    dstIp: formatAddress(dst, version),
    dstPort: batch.dstPort[i],
    protocol: batch.protocol[i],
    vlan: batch.vlan[i],
    startMicros: batch.startMicros[i],
    endMicros: batch.endMicros[i],
    connState: CONN_STATES[batch.connState[i]],
    endReason: FLOW_END_REASONS[batch.endReason[i]],
    communityId: communityIdV1(
      version,
      src,
      dst,
      batch.srcPort[i],
      batch.dstPort[i],
      batch.protocol[i],
    ),
    fwdPackets: batch.fwdPackets[i],
    bwdPackets: batch.bwdPackets[i],
  };
}

/** Row `i`'s features as a view (no copy). */
export function flowFeaturesAt(batch: FlowBatch, i: number): Float32Array {
  return batch.features.subarray(i * batch.width, (i + 1) * batch.width);
}

/** Dotted quad of an IPv4 address held as a 32-bit number (most significant byte first). */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Text form of a 16-byte address: dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatAddress(bytes: Uint8Array, ipVersion: number): string {
  if (ipVersion === 4) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const groups: number[] = [];
  for (let k = 0; k < 16; k += 2) groups.push((bytes[k] << 8) | bytes[k + 1]);
  // Longest run of two or more zero groups becomes "::".
  let bestStart = -1, bestLength = 1;
  for (let k = 0; k < 8;) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && groups[end] === 0) end++;
    if (end - k > bestLength) bestStart = k, bestLength = end - k;
    k = end;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** Parses an IPv4 or IPv6 address into 16 bytes (IPv4 as ::ffff:a.b.c.d); null if malformed. */
export function parseAddress(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    out[10] = 0xff;
    out[11] = 0xff;
    for (let k = 0; k < 4; k++) {
      const n = Number(v4[k + 1]);
      if (n > 255) return null;
      out[12 + k] = n;
    }
    return out;
  }
  if (!/^[0-9a-fA-F:]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  for (let k = 0; k < 8; k++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[k])) return null;
    const g = parseInt(groups[k], 16);
    out[2 * k] = g >> 8;
    out[2 * k + 1] = g & 0xff;
  }
  return out;
}

export { FEATURE_COUNT };
