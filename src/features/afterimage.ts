/**
 * AfterImage (Kitsune, Mirsky et al., NDSS 2018): damped incremental
 * statistics of every packet's stream, in typed arrays. A stream keeps a
 * decayed count w, linear sum LS and square sum SS; before each update they
 * are multiplied by 2^(-lambda * dt) (dt in seconds since the stream's last
 * update), for each of five lambdas. Streams: source MAC+IP (MI) and source
 * IP (H) over frame lengths; the channel src IP -> dst IP (HH) over frame
 * lengths and (HH_jit) over the time between its packets; the socket (HpHp).
 * HH and HpHp add 2-D statistics with the reverse direction: magnitude and
 * radius of the two directions' means and variances, and the decayed
 * covariance of their residuals (Kitsune's incStat_cov) and its correlation.
 *
 * Where this differs from Kitsune-py, on purpose: the 1-D triple is
 * (weight, mean, std) as the paper says (the code emits the variance under
 * the name std); radius is sqrt(var + reverse var) as in the paper (the code
 * squares the variances); the covariance is updated once per packet (the code
 * updates it twice on an existing link); a missing reverse stream counts as
 * empty rather than being created; the socket includes the protocol.
 */
import type { DecodedPacket } from "./decode.ts";
import { KeyTable } from "./key_table.ts";
import { AFTERIMAGE_FEATURE_SET, AFTERIMAGE_LAMBDAS } from "./packet_schema.ts";
import type { PacketContext, PacketSetWriter } from "./packet_features.ts";
import { channelKey, hostKey, socketKey, sourceFirst } from "./packet_keys.ts";

const L = AFTERIMAGE_LAMBDAS.length;
/** -lambda * ln 2: the decay factor is exp(this * dt). */
const DECAY = Float64Array.from(AFTERIMAGE_LAMBDAS, (l) => -l * Math.LN2);

/** Offsets of the column groups in a row. */
const MI_AT = 0, H_AT = 3 * L, HH_AT = 6 * L, JIT_AT = 13 * L, HPHP_AT = 16 * L;

/** Settings of the AfterImage tables. */
export interface AfterImageOptions {
  /** Streams idle this long are dropped when a table fills. Default 120 s. */
  idleMicros?: number;
  /** Most streams per table. Default 1,048,576. */
  maxEntries?: number;
}

/** Values of one 1-D stream: last update (s), then per lambda w, LS, SS. */
const STREAM = 1 + 3 * L;
/** Values of a pair's covariance: last update (s), then per lambda CF3, w3, residual 0, residual 1. */
const COVARIANCE = 1 + 4 * L;

/**
 * The `afterimage` feature set's writer (115 columns). A channel's or
 * socket's two directions and their covariance share one table entry, keyed
 * by the pair in canonical order, so a packet costs four lookups.
 */
export class AfterImage implements PacketSetWriter {
  readonly width = AFTERIMAGE_FEATURE_SET.columns.length;
  private readonly macIp: KeyTable;
  private readonly hosts: KeyTable;
  // Side 0 and side 1 size streams, side 0 and 1 jitter streams, covariance.
  private readonly channels: KeyTable;
  // Side 0 and side 1 size streams, covariance.
  private readonly sockets: KeyTable;

  constructor(options: AfterImageOptions = {}) {
    const common = { idleMicros: options.idleMicros, maxEntries: options.maxEntries };
    this.macIp = new KeyTable({ keyWords: 6, stride: STREAM, ...common });
    this.hosts = new KeyTable({ keyWords: 4, stride: STREAM, ...common });
    this.channels = new KeyTable({ keyWords: 8, stride: 4 * STREAM + COVARIANCE, ...common });
    this.sockets = new KeyTable({ keyWords: 10, stride: 2 * STREAM + COVARIANCE, ...common });
  }

  write(ctx: PacketContext, out: Float32Array, o: number): void {
    const p = ctx.packet;
    const t = ctx.timestampMicros / 1e6;
    const v = ctx.frameLength;
    const ts = ctx.timestampMicros;

    const mk = this.macIp.key;
    mk[0] = ctx.macHigh, mk[1] = ctx.macLow;
    mk[2] = p.srcWords[0], mk[3] = p.srcWords[1], mk[4] = p.srcWords[2], mk[5] = p.srcWords[3];
    let slot = this.macIp.find(ts);
    const miNew = this.macIp.inserted;
    update1D(this.macIp.state, slot * this.macIp.stride + 1, miNew, t, v, out, o + MI_AT);

    hostKey(p, this.hosts.key);
    slot = this.hosts.find(ts);
    const hNew = this.hosts.inserted;
    update1D(this.hosts.state, slot * this.hosts.stride + 1, hNew, t, v, out, o + H_AT);

    // Channel: this side's size stream and its 2-D statistics with the other side, then jitter.
    const channels = this.channels;
    const side = orderFirst(p, false) ? 0 : 1;
    channelKey(p, channels.key, side === 1);
    slot = channels.find(ts);
    const cs = channels.state, c = slot * channels.stride + 1;
    const mine = c + side * STREAM, other = c + (1 - side) * STREAM;
    const fresh = cs[mine] === 0;
    update1D(cs, mine, fresh, t, v, out, o + HH_AT, 7);
    const jit = c + (2 + side) * STREAM;
    const jitter = fresh ? 0 : Math.max(0, t - cs[jit]);
    update1D(cs, jit, fresh, t, jitter, out, o + JIT_AT);
    update2D(cs, mine, other, c + 4 * STREAM, channels.inserted, side, t, v, out, o + HH_AT);

    const sockets = this.sockets;
    const sSide = orderFirst(p, true) ? 0 : 1;
    socketKey(p, sockets.key, sSide === 1);
    slot = sockets.find(ts);
    const ss = sockets.state, k = slot * sockets.stride + 1;
    const sMine = k + sSide * STREAM;
    update1D(ss, sMine, ss[sMine] === 0, t, v, out, o + HPHP_AT, 7);
    const sOther = k + (1 - sSide) * STREAM;
    update2D(ss, sMine, sOther, k + 2 * STREAM, sockets.inserted, sSide, t, v, out, o + HPHP_AT);
  }

  /** Streams held and table housekeeping, for counters. */
  stats(): { entries: number; pruned: number; clears: number; bytes: number } {
    const tables = [this.macIp, this.hosts, this.channels, this.sockets];
    return {
      entries: tables.reduce((n, t) => n + t.count, 0),
      pruned: tables.reduce((n, t) => n + t.pruned, 0),
      clears: tables.reduce((n, t) => n + t.clears, 0),
      bytes: tables.reduce((n, t) => n + t.bytes(), 0),
    };
  }
}

/**
 * Decays the stream at `s[at..]` to `t`, adds `v`, and writes (w, mean, std)
 * per lambda to `out[o + k * step ..]`.
 */
function update1D(
  s: Float64Array,
  at: number,
  fresh: boolean,
  t: number,
  v: number,
  out: Float32Array,
  o: number,
  step = 3,
): void {
  const dt = fresh ? 0 : t - s[at];
  if (fresh || dt > 0) s[at] = t;
  for (let l = 0; l < L; l++) {
    const k = at + 1 + 3 * l;
    let w = s[k], ls = s[k + 1], ss = s[k + 2];
    if (dt > 0) {
      const f = Math.exp(DECAY[l] * dt);
      w *= f, ls *= f, ss *= f;
    }
    w += 1, ls += v, ss += v * v;
    s[k] = w, s[k + 1] = ls, s[k + 2] = ss;
    const mean = ls / w;
    const r = o + l * step;
    out[r] = w;
    out[r + 1] = mean;
    out[r + 2] = Math.sqrt(Math.abs(ss / w - mean * mean));
  }
}

/**
 * The 2-D statistics of stream `a` (just updated with `v`) and its reverse
 * `r` (empty while its weight is 0), and the covariance of their residuals
 * kept at `pair`, where this stream is side `side`; all in `s`. Writes magnitude, radius,
 * covariance and correlation after each lambda's (w, mean, std).
 */
function update2D(
  s: Float64Array,
  a: number,
  r: number,
  pair: number,
  fresh: boolean,
  side: number,
  t: number,
  v: number,
  out: Float32Array,
  o: number,
): void {
  const ps = s;
  const dt = fresh ? 0 : t - ps[pair];
  if (fresh || dt > 0) ps[pair] = t;
  for (let l = 0; l < L; l++) {
    const k = a + 1 + 3 * l;
    const meanA = s[k + 1] / s[k];
    const varA = Math.abs(s[k + 2] / s[k] - meanA * meanA);
    let meanR = 0, varR = 0;
    if (s[r + 1 + 3 * l] > 0) {
      const kr = r + 1 + 3 * l;
      meanR = s[kr + 1] / s[kr];
      varR = Math.abs(s[kr + 2] / s[kr] - meanR * meanR);
    }
    const c = pair + 1 + 4 * l;
    let cf3 = ps[c], w3 = ps[c + 1];
    if (dt > 0) {
      const f = Math.exp(DECAY[l] * dt);
      cf3 *= f, w3 *= f;
    }
    const residual = v - meanA;
    cf3 += residual * ps[c + 3 - side];
    w3 += 1;
    ps[c] = cf3, ps[c + 1] = w3, ps[c + 2 + side] = residual;
    const cov = cf3 / w3;
    const spread = Math.sqrt(varA) * Math.sqrt(varR);
    const at = o + 7 * l;
    out[at + 3] = Math.sqrt(meanA * meanA + meanR * meanR);
    out[at + 4] = Math.sqrt(varA + varR);
    out[at + 5] = cov;
    out[at + 6] = spread > 0 ? cov / spread : 0;
  }
}

/** True when the packet's sender is side 0 of its pair (address, then port, order). */
function orderFirst(p: DecodedPacket, socket: boolean): boolean {
  const s = p.srcWords, d = p.dstWords;
  if (s[0] === d[0] && s[1] === d[1] && s[2] === d[2] && s[3] === d[3]) {
    return socket ? p.srcPort <= p.dstPort : true;
  }
  return sourceFirst(p);
}
