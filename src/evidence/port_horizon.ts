/**
 * Ports probed on one target by one source over the last few evidence
 * windows: the horizon of the port-scan rule. Windows are whole minutes and
 * a scan is 15 ports on a target; a scan slower than that (nmap -T2 or
 * `--scan-delay 5s`: about 12 ports a minute) never fills one window, and a
 * scan split by a minute's end can slip under the limit in both. Zeek's scan
 * policy counts its 15 ports within 5 minutes; so does this.
 *
 * Each window's close hands on, per (source, target, protocol) pair whose
 * source had no finding, the ports it probed (at most `MAX_PORT_PROBES`
 * times in the window: a scan's, not a flood's), each with the window it was last
 * probed in, its probes and first probe time), dropping ports older than
 * `HORIZON_WINDOWS - 1` windows; the next window counts them with its own.
 * A pair keeps at most `PORTS_PER_PAIR` ports: one more makes a scan, which
 * is named, and a named source is not handed on (its next line needs 15
 * ports again, as a fast scan's next window does).
 *
 * Memory is fixed: two tables of `capacity` pairs (the one being read, the
 * one being built at a window's close), typed arrays of ports beside them.
 * A pair beyond the capacity evicts the pair with the fewest ports, counted.
 */
import { BEHAVIOUR_LIMITS } from "./behaviours.ts";
import { HostTable } from "./host_table.ts";

/** Windows a scan's ports count over: the current one and the 4 before it (5 minutes). */
export const HORIZON_WINDOWS = 5;
/** Ports kept per pair: one short of a scan (a pair with more was named). */
export const PORTS_PER_PAIR = BEHAVIOUR_LIMITS.scanPorts - 1;
/**
 * Most probes a port may have had in a window to be handed on. A scanner
 * looks at a port once or a few times (nmap's default --max-retries 10 sends
 * at most 11); a port tried more is a service being hammered (a SYN flood's
 * port, a client retrying a dead service), a flood's evidence and not a
 * port looked at: handed on, one flood port made a later fast scan of the
 * same target reach its limit a flow early, counting the flood's 130,000
 * attempts as the scan's (two range captures).
 */
export const MAX_PORT_PROBES = 12;
/** Pair key: source and target (4 words each), protocol. */
export const HORIZON_KEY_WORDS = 9;

// Pair fields: ports kept (counter 0: eviction keeps the pairs with most), ports of those
// probed again in the current window (they count once).
const H_PORTS = 0, H_AGAIN = 1, H_FIELDS = 2;

/** Counts of what the horizon did since it was made. */
export interface PortHorizonStats {
  /** Pairs handed on to a next window (a pair handed on over 3 windows counts 3 times). */
  pairsCarried: number;
  /** Ports dropped as older than the horizon. */
  portsExpired: number;
  /** Ports not kept because their pair held `PORTS_PER_PAIR` already. */
  portsDropped: number;
  /** Pairs pushed out or refused for lack of room (their ports no longer count). */
  pairsDropped: number;
}

/** One side of the double buffer. */
class Side {
  readonly pairs: HostTable;
  readonly port: Uint16Array;
  readonly window: Int32Array;
  readonly probes: Float64Array;
  readonly first: Float64Array;
  /** Per port: 1 once probed again in the current window. */
  readonly again: Uint8Array;

  constructor(capacity: number) {
    this.pairs = new HostTable(capacity, HORIZON_KEY_WORDS, H_FIELDS);
    const n = this.pairs.capacity * PORTS_PER_PAIR;
    this.port = new Uint16Array(n);
    this.window = new Int32Array(n);
    this.probes = new Float64Array(n);
    this.first = new Float64Array(n);
    this.again = new Uint8Array(n);
  }

  get bytes(): number {
    return this.pairs.bytes + this.port.byteLength + this.window.byteLength +
      this.probes.byteLength + this.first.byteLength + this.again.byteLength;
  }
}

/** Probed ports per (source, target) pair over `HORIZON_WINDOWS` windows, in fixed memory. */
export class PortHorizon {
  #sides: [Side, Side];
  /** The side the current window reads; the other is built at its close. */
  #current = 0;
  #building = -1;
  #keep = 0;
  readonly stats: PortHorizonStats = {
    pairsCarried: 0,
    portsExpired: 0,
    portsDropped: 0,
    pairsDropped: 0,
  };
  #words = new Uint32Array(HORIZON_KEY_WORDS);

  /** `capacity` pairs handed on at most (rounded up to a power of two). */
  constructor(capacity = 4096) {
    this.#sides = [new Side(capacity), new Side(capacity)];
  }

  get capacity(): number {
    return this.#sides[0].pairs.capacity;
  }

  /** Pairs the current window carries. */
  get size(): number {
    return this.#sides[this.#current].pairs.size;
  }

  /** Bytes of both sides. */
  get bytes(): number {
    return this.#sides[0].bytes + this.#sides[1].bytes;
  }

  /** The key to look up with `find`: source, target, protocol. */
  get key(): Uint32Array {
    return this.#sides[this.#current].pairs.key;
  }

  /** The current window's entry of the pair in `key`, or -1 (`prefix`, `from`: see `HostTable.find`). */
  find(prefix?: number, from?: number): number {
    return this.#sides[this.#current].pairs.find(prefix, from);
  }

  /**
   * The pair `h`'s carried ports not probed in the current window, after
   * noting that `port` was (call once per port a window first probes).
   */
  unseen(h: number, port: number): number {
    const side = this.#sides[this.#current];
    const c = side.pairs.counters, hc = h * H_FIELDS, base = h * PORTS_PER_PAIR;
    for (let k = 0; k < c[hc + H_PORTS]; k++) {
      if (side.port[base + k] === port) {
        if (side.again[base + k] === 0) {
          side.again[base + k] = 1;
          c[hc + H_AGAIN]++;
        }
        break;
      }
    }
    return c[hc + H_PORTS] - c[hc + H_AGAIN];
  }

  /** Probes and earliest probe time the pair `h` carries (for a finding's summary). */
  carried(h: number): { probes: number; firstMicros: number } {
    const side = this.#sides[this.#current];
    const base = h * PORTS_PER_PAIR;
    let probes = 0, first = Number.POSITIVE_INFINITY;
    for (let k = 0; k < side.pairs.counters[h * H_FIELDS + H_PORTS]; k++) {
      probes += side.probes[base + k];
      if (side.first[base + k] < first) first = side.first[base + k];
    }
    return { probes, firstMicros: first };
  }

  /**
   * Starts the hand-on at the close of a window, for window `next`: the
   * current pairs' ports within the horizon are kept, except the pairs for
   * which `drop(key)` is true (their source was named). Then `add` the
   * closing window's probed ports and `finish`.
   */
  begin(next: number, drop: (key: Uint32Array) => boolean): void {
    const from = this.#sides[this.#current];
    this.#building = 1 - this.#current;
    this.#keep = next - (HORIZON_WINDOWS - 1);
    this.#sides[this.#building].pairs.reset();
    const words = this.#words;
    from.pairs.forEachLive((h) => {
      from.pairs.keyOf(h, words);
      const n = from.pairs.counters[h * H_FIELDS + H_PORTS];
      if (drop(words)) return;
      const base = h * PORTS_PER_PAIR;
      for (let k = 0; k < n; k++) {
        const w = from.window[base + k];
        if (w < this.#keep) {
          this.stats.portsExpired++;
          continue;
        }
        this.add(words, from.port[base + k], w, from.probes[base + k], from.first[base + k]);
      }
    });
  }

  /** Adds a probed port of the pair `key` (window, probes and first probe time) to the side being built. */
  add(key: Uint32Array, port: number, window: number, probes: number, firstMicros: number): void {
    if (this.#building < 0) throw new Error("PortHorizon.add outside begin/finish");
    if (window < this.#keep) {
      this.stats.portsExpired++;
      return;
    }
    const side = this.#sides[this.#building];
    const t = side.pairs;
    for (let k = 0; k < HORIZON_KEY_WORDS; k++) t.key[k] = key[k];
    const h = t.upsert();
    if (h < 0) {
      this.stats.pairsDropped++;
      return;
    }
    if (t.evictedFlows > 0) this.stats.pairsDropped++;
    const c = t.counters, hc = h * H_FIELDS, base = h * PORTS_PER_PAIR;
    const n = c[hc + H_PORTS];
    for (let k = 0; k < n; k++) {
      if (side.port[base + k] !== port) continue;
      if (window > side.window[base + k]) side.window[base + k] = window;
      side.probes[base + k] += probes;
      if (firstMicros < side.first[base + k]) side.first[base + k] = firstMicros;
      return;
    }
    if (n >= PORTS_PER_PAIR) {
      this.stats.portsDropped++;
      return;
    }
    side.port[base + n] = port;
    side.window[base + n] = window;
    side.probes[base + n] = probes;
    side.first[base + n] = firstMicros;
    side.again[base + n] = 0;
    c[hc + H_PORTS] = n + 1;
  }

  /** Ends the hand-on: the built side is what the next window reads. */
  finish(): void {
    if (this.#building < 0) return;
    this.#current = this.#building;
    this.#building = -1;
    this.stats.pairsCarried += this.#sides[this.#current].pairs.size;
  }
}
