/**
 * MAC flooding (dsniff's macof, Yersinia, Ettercap's plug-ins): frames from
 * hundreds of thousands of forged source MAC addresses, to fill a switch's
 * address table so that it floods every frame to every port, the
 * attacker's included. The frames need not be valid IP (macof's claim a
 * TCP header they do not hold), so nothing reaches the flow table; the
 * monitor reads the Ethernet source of every Ethernet frame, per VLAN, and
 * counts distinct ones within 10 s (16,384-bit sets, linear counting). A
 * busy segment has hundreds of hosts; a table of 8,192 (a small switch's)
 * is full within a second of macof.
 *
 * Fixed tables in typed arrays; a frame costs a hash and a bit and no
 * allocation. A finding (once per VLAN per 10 minutes) is an object handed
 * to the alert path.
 */
import { FindingQueue } from "./finding_queue.ts";
import type { PacketBatch } from "../capture/mod.ts";
import { mix32 } from "./mix32.ts";
import { macText } from "./arp_monitor.ts";

/** Distinct source MACs on one VLAN within 10 s for a MAC flood. */
export const MAC_FLOOD_SOURCES = 5000;
const WINDOW_MICROS = 10e6;
const REPORT_REPEAT_MICROS = 600e6;
const SET_WORDS = 512, SET_BITS = SET_WORDS * 32, VLANS = 16;
/** The set bits MAC_FLOOD_SOURCES distinct values leave in a SET_BITS set (linear counting). */
const FLOOD_BITS = Math.ceil(SET_BITS * (1 - Math.exp(-MAC_FLOOD_SOURCES / SET_BITS)));

/** What the monitor found. */
export interface MacFloodFinding {
  kind: "mac-flood";
  atMicros: number;
  /** The window's first frame. */
  firstMicros: number;
  /** Distinct source MACs in the window (linear counting) and frames counted. */
  sources: number;
  frames: number;
  /** The source MAC of the frame that made the finding. */
  exampleMac: string;
  vlan: number;
}

/** What the monitor counted. */
export interface MacFloodCounters {
  /** Ethernet frames read. */
  frames: number;
  findings: number;
  findingsDropped: number;
  /** VLANs past the first VLANS at once: their frames are not counted. */
  framesOfOtherVlans: number;
}

/** Per-frame source MAC counting; call observe for each packet of an Ethernet link. */
export class MacFloodMonitor {
  readonly counters: MacFloodCounters = {
    frames: 0,
    findings: 0,
    findingsDropped: 0,
    framesOfOtherVlans: 0,
  };
  readonly #findings = new FindingQueue<MacFloodFinding>(this.counters);
  /** Per slot: the VLAN (-1: free), window start, frames, set bits, last report. */
  readonly #vlan = new Int32Array(VLANS).fill(-1);
  readonly #windowStart = new Float64Array(VLANS);
  readonly #frames = new Float64Array(VLANS);
  readonly #bits = new Uint16Array(VLANS);
  readonly #reported = new Float64Array(VLANS).fill(-Infinity);
  readonly #sets = new Uint32Array(VLANS * SET_WORDS);
  /** The latest frame's slot, VLAN and source MAC (a run's next frame is only counted). */
  #lastSlot = -1;
  #lastVlan = -1;
  #lastHigh = -1;
  #lastLow = -1;

  /** Counts the Ethernet source of packet `index` of `batch` (an Ethernet frame, `vlan` its outer tag or 0). */
  observe(batch: PacketBatch, index: number, vlan: number): void {
    const data = batch.data, at = batch.offset[index];
    if (batch.capturedLength[index] < 14) return;
    this.counters.frames++;
    const t = batch.timestampMicros[index];
    const high =
      ((data[at + 6] << 24) | (data[at + 7] << 16) | (data[at + 8] << 8) | data[at + 9]) >>>
      0;
    const low = (data[at + 10] << 8) | data[at + 11];
    // Frames come in runs from one sender: the run's next frame changes nothing but the count.
    let s = this.#lastSlot;
    if (vlan === this.#lastVlan && s >= 0 && t - this.#windowStart[s] <= WINDOW_MICROS) {
      if (high === this.#lastHigh && low === this.#lastLow) {
        this.#frames[s]++;
        return;
      }
    } else s = this.#slotOf(vlan);
    if (s < 0) {
      this.counters.framesOfOtherVlans++;
      return;
    }
    this.#lastSlot = s, this.#lastVlan = vlan, this.#lastHigh = high, this.#lastLow = low;
    if (this.#vlan[s] === -1) {
      this.#vlan[s] = vlan;
      this.#windowStart[s] = -Infinity;
    }
    if (t - this.#windowStart[s] > WINDOW_MICROS) {
      this.#windowStart[s] = t;
      this.#frames[s] = 0;
      this.#bits[s] = 0;
      this.#sets.fill(0, s * SET_WORDS, (s + 1) * SET_WORDS);
    }
    this.#frames[s]++;
    const bit = mix32(high ^ mix32(low + 1)) & (SET_BITS - 1);
    const word = s * SET_WORDS + (bit >>> 5), mask = 1 << (bit & 31);
    if ((this.#sets[word] & mask) !== 0) return;
    this.#sets[word] |= mask;
    if (++this.#bits[s] < FLOOD_BITS || t - this.#reported[s] < REPORT_REPEAT_MICROS) return;
    this.#reported[s] = t;
    const bits = this.#bits[s];
    this.#findings.push({
      kind: "mac-flood",
      atMicros: t,
      firstMicros: this.#windowStart[s],
      sources: Math.round(-SET_BITS * Math.log(1 - Math.min(bits, SET_BITS - 1) / SET_BITS)),
      frames: this.#frames[s],
      exampleMac: macText(high, low),
      vlan,
    });
  }

  /** The VLAN's slot, or the first free one (VLAN slots are never freed: a sensor sees few); -1 when full. */
  #slotOf(vlan: number): number {
    let s = -1;
    for (let k = 0; k < VLANS; k++) {
      if (this.#vlan[k] === vlan) return k;
      if (s < 0 && this.#vlan[k] === -1) s = k;
    }
    return s;
  }

  /** The findings since the last call. */
  take(): MacFloodFinding[] {
    return this.#findings.take();
  }
}
