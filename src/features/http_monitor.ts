/**
 * Web path scans (dirb, gobuster, ffuf, nikto, wfuzz): one client asks one
 * web server for hundreds of paths a minute that do not exist. Over
 * keep-alive that is a handful of connections, each a long, busy, ordinary
 * looking flow: flow statistics and the connection-rate rules miss it. The
 * monitor reads the start of cleartext HTTP/1.x messages the meter decodes
 * anyway: a request's target (method, then path and query) and a response's
 * status. Per (client, server, port), within a minute: distinct request
 * targets and the responses that were client errors (4xx but 401 and 407,
 * which ask for credentials: a password guesser gets those). HTTPS is not
 * read.
 *
 * Request floods over keep-alive (ab -k, siege -b, a script's loop) are the
 * same blind spot: a few long connections, each answered, so neither the
 * connection-rate rule ("HTTP flood (a connection per request)") nor the
 * flow statistics name them. The monitor names a flood from the request rate
 * of one client to one server: {@link HTTP_FLOOD_RATE} requests a second,
 * over at least the window's first 10 s, on at most a quarter as many
 * connections (client ports) as requests, repeating its targets (at most a
 * quarter as many distinct ones as requests: a crawler fetches each page
 * once, a flood asks for the same few again).
 *
 * Fixed tables in typed arrays; a message costs a look at its first bytes
 * (and a hash of its target) and no allocation. A finding (once per client,
 * server and port per 10 minutes) is an object handed to the alert path.
 */
import { FindingQueue } from "./finding_queue.ts";
import { bitsForDistinct, distinctEstimate } from "./sweep_episodes.ts";
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { formatAddress } from "./flow_meter.ts";
import { mix32 } from "./mix32.ts";
import { WindowSlots } from "./window_slots.ts";

/** Distinct request targets from one client to one web server within a minute for a scan. */
export const HTTP_SCAN_TARGETS = 100;
/** ... and client-error responses (4xx but 401 and 407) to it, at least half of its responses. */
export const HTTP_SCAN_ERRORS = 50;
/**
 * Requests a second from one client to one server, over a window's first
 * 10 s at least (1,000 requests within 10 s), for a keep-alive request flood.
 * The busiest benign clients measured stay under a tenth of it over 10 s: a
 * browser's page load (35 requests from one page of http_espn), the lab's
 * web clients (25), siege as a client with a delay (105, a connection
 * each); `wget -r` mirroring a site asked 227 in 0.55 s, each page once
 * (not repeated targets). ab -k's 30 connections asked 30,000 in 1.06 s.
 */
export const HTTP_FLOOD_RATE = 100;
/** Requests per connection (client port) and per distinct target, at least, for a keep-alive flood. */
const FLOOD_REPEATS = 4;
const FLOOD_MIN_MICROS = 10e6;
const WINDOW_MICROS = 60e6;
const REPORT_REPEAT_MICROS = 600e6;
const SLOTS = 1024, PROBE = 8, SET_WORDS = 32;
const SCAN_BITS = bitsForDistinct(HTTP_SCAN_TARGETS);
const SPACE = 32;
/** Kinds of finding a slot reports (WindowSlots.reported). */
const REPORT_SCAN = 0, REPORT_FLOOD = 1;

/** What the monitor found; addresses as text. */
export interface HttpFinding {
  /** A path scan, or a request flood over keep-alive connections. */
  kind: "http-scan" | "http-keepalive-flood";
  atMicros: number;
  /** The window's first request. */
  firstMicros: number;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** Requests, distinct targets (linear counting), responses and client errors in the window. */
  requests: number;
  targets: number;
  responses: number;
  clientErrors: number;
  /** Connections the requests came on (distinct client ports; linear counting). */
  connections: number;
  /** The request target that made the finding, printable ASCII (others "?"), at most 100 characters. */
  example: string;
  vlan: number;
}

/** What the monitor counted. */
export interface HttpCounters {
  requests: number;
  responses: number;
  /** Responses with a 4xx status other than 401 and 407. */
  clientErrors: number;
  findings: number;
  findingsDropped: number;
  /** (client, server, port) slots taken over from another while in use. */
  slotsEvicted: number;
}

const METHODS = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH "].map((m) =>
  new TextEncoder().encode(m)
);
const RESPONSE = new TextEncoder().encode("HTTP/1.");

/** Per-packet HTTP/1.x reading; call observe for each metered TCP segment with payload. */
export class HttpMonitor {
  readonly counters: HttpCounters = {
    requests: 0,
    responses: 0,
    clientErrors: 0,
    findings: 0,
    findingsDropped: 0,
    slotsEvicted: 0,
  };
  readonly #findings = new FindingQueue<HttpFinding>(this.counters);

  /** Reports per slot: a scan (`REPORT_SCAN`), a flood (`REPORT_FLOOD`). */
  readonly #slots = new WindowSlots(SLOTS, PROBE, WINDOW_MICROS, this.counters, 2);
  /** Per slot: requests, responses, client errors, set bits of the window's target set. */
  readonly #requests = new Float64Array(SLOTS);
  readonly #responses = new Float64Array(SLOTS);
  readonly #errors = new Float64Array(SLOTS);
  readonly #bits = new Uint16Array(SLOTS);
  readonly #targets = new Uint32Array(SLOTS * SET_WORDS);
  /** Per slot: set bits of the window's client-port set, and the set. */
  readonly #portBits = new Uint16Array(SLOTS);
  readonly #ports = new Uint32Array(SLOTS * SET_WORDS);

  /** Analyses packet `index` of `batch`, decoded into `p` (TCP with payload). */
  observe(batch: PacketBatch, index: number, p: DecodedPacket): void {
    const data = batch.data;
    const at = p.payloadOffset;
    const end = Math.min(batch.offset[index] + batch.capturedLength[index], at + p.payloadBytes);
    if (end - at < 12) return;
    const first = data[at];
    if (first === 72 && startsWith(data, at, RESPONSE)) {
      // "HTTP/1.x NNN": the status's digits at 9-11.
      const d0 = data[at + 9] - 48, d1 = data[at + 10] - 48, d2 = data[at + 11] - 48;
      if (data[at + 8] !== SPACE || d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
        return;
      }
      const status = d0 * 100 + d1 * 10 + d2;
      this.counters.responses++;
      const error = d0 === 4 && status !== 401 && status !== 407;
      if (error) this.counters.clientErrors++;
      // The client is the destination of a response.
      const s = this.#slot(p.dstWords, p.srcWords, p.srcPort, p.vlan, batch.timestampMicros[index]);
      this.#responses[s]++;
      if (error) this.#errors[s]++;
      return;
    }
    let method = -1;
    for (let m = 0; m < METHODS.length; m++) {
      if (first === METHODS[m][0] && startsWith(data, at, METHODS[m])) {
        method = m;
        break;
      }
    }
    if (method < 0) return;
    this.counters.requests++;
    const t = batch.timestampMicros[index];
    const s = this.#slot(p.srcWords, p.dstWords, p.dstPort, p.vlan, t);
    this.#requests[s]++;
    // The target: up to the next space (the request line may be cut by the snap length).
    const start = at + METHODS[method].length;
    let stop = start, h = 0x811c9dc5;
    while (stop < end && data[stop] !== SPACE && stop - start < 2048) {
      h = Math.imul(h ^ data[stop], 0x01000193);
      stop++;
    }
    addToSet(this.#targets, this.#bits, s, h);
    addToSet(this.#ports, this.#portBits, s, mix32(p.srcPort));
    const requests = this.#requests[s];
    if (requests >= HTTP_FLOOD_RATE * FLOOD_MIN_MICROS / 1e6) {
      this.#checkFlood(s, t, p, data, start, stop);
    }
    const errors = this.#errors[s];
    if (
      this.#bits[s] < SCAN_BITS || errors < HTTP_SCAN_ERRORS || 2 * errors < this.#responses[s]
    ) return;
    this.#report("http-scan", REPORT_SCAN, s, t, p, data, start, stop);
  }

  /**
   * Names a keep-alive request flood in slot `s` at `t` when its rate, its
   * requests per connection and per target are enough (see the module comment).
   */
  #checkFlood(
    s: number,
    t: number,
    p: DecodedPacket,
    data: Uint8Array,
    start: number,
    stop: number,
  ): void {
    const requests = this.#requests[s];
    const seconds = Math.max(FLOOD_MIN_MICROS, t - this.#slots.windowStart[s]) / 1e6;
    if (
      requests < HTTP_FLOOD_RATE * seconds ||
      requests < FLOOD_REPEATS * unsaturated(this.#portBits[s]) ||
      requests < FLOOD_REPEATS * unsaturated(this.#bits[s])
    ) return;
    this.#report("http-keepalive-flood", REPORT_FLOOD, s, t, p, data, start, stop);
  }

  /** Pushes a finding of `kind` for slot `s`, unless one of that kind (`which`) left lately. */
  #report(
    kind: HttpFinding["kind"],
    which: number,
    s: number,
    t: number,
    p: DecodedPacket,
    data: Uint8Array,
    start: number,
    stop: number,
  ): void {
    const at = s * 2 + which;
    if (t - this.#slots.reported[at] < REPORT_REPEAT_MICROS) return;
    this.#slots.reported[at] = t;
    this.#findings.push({
      kind,
      atMicros: t,
      firstMicros: this.#slots.windowStart[s],
      clientIp: formatAddress(p.srcAddr, p.ipVersion),
      clientPort: p.srcPort,
      serverIp: formatAddress(p.dstAddr, p.ipVersion),
      serverPort: p.dstPort,
      requests: this.#requests[s],
      targets: distinctEstimate(this.#bits[s]),
      responses: this.#responses[s],
      clientErrors: this.#errors[s],
      connections: distinctEstimate(this.#portBits[s]),
      example: printable(data, start, stop, 100),
      vlan: p.vlan,
    });
  }

  /** The findings since the last call. */
  take(): HttpFinding[] {
    return this.#findings.take();
  }

  /** The slot of (client, server, port, VLAN) at `t`; a fresh window's counts start from zero. */
  #slot(client: Uint32Array, server: Uint32Array, port: number, vlan: number, t: number): number {
    let key = mix32(port ^ (vlan << 16));
    for (let k = 0; k < 4; k++) key = mix32(key ^ client[k] ^ mix32(server[k]));
    const s = this.#slots.slot(key, t);
    if (this.#slots.fresh) {
      this.#requests[s] = 0;
      this.#responses[s] = 0;
      this.#errors[s] = 0;
      this.#bits[s] = 0;
      this.#targets.fill(0, s * SET_WORDS, (s + 1) * SET_WORDS);
      this.#portBits[s] = 0;
      this.#ports.fill(0, s * SET_WORDS, (s + 1) * SET_WORDS);
    }
    return s;
  }
}

/**
 * The distinct values `bits` set bits of a SET_WORDS set stand for; a full
 * set stands for more than it can count (a connection per request, a
 * crawler's thousands of pages): never few enough for a keep-alive flood.
 */
function unsaturated(bits: number): number {
  return bits >= SET_WORDS * 32 ? Infinity : distinctEstimate(bits);
}

function startsWith(data: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (data[at + k] !== word[k]) return false;
  return true;
}

/** Bytes as printable ASCII (others "?"), at most `max` characters. */
function printable(data: Uint8Array, start: number, end: number, max: number): string {
  let out = "";
  for (let i = start; i < end && out.length < max; i++) {
    const c = data[i];
    out += c >= 33 && c <= 126 ? String.fromCharCode(c) : "?";
  }
  return out;
}

/** Adds `hash` to slot `s`'s set in `sets` (SET_WORDS words a slot), counting a new member in `counts`. */
function addToSet(sets: Uint32Array, counts: Uint16Array, s: number, hash: number): void {
  const bit = (hash >>> 0) & (SET_WORDS * 32 - 1);
  const word = s * SET_WORDS + (bit >>> 5), mask = 1 << (bit & 31);
  if ((sets[word] & mask) !== 0) return;
  sets[word] |= mask;
  counts[s]++;
}
