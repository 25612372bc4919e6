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
import { KeyTable, type KeyTableStats, keyTableStats } from "./key_table.ts";
import { AFTERIMAGE_FEATURE_SET, AFTERIMAGE_LAMBDAS } from "./packet_schema.ts";
import type { PacketContext, PacketSetWriter } from "./packet_features.ts";
import { channelKey, hostKey, socketKey, sourceFirst } from "./packet_keys.ts";

const L = AFTERIMAGE_LAMBDAS.length;
/**
 * The lambdas are 500, 300, 100, 10 and 1 times the smallest, so all five
 * decay factors 2^(-lambda * dt) follow from one exp and ten multiplications
 * (decayFactors); the relative error stays below 1e-13 (tested against
 * Math.pow), far under the float32 columns' 6e-8.
 */
const LAMBDA_MULTIPLES = [500, 300, 100, 10, 1];
if (
  AFTERIMAGE_LAMBDAS.some((l, k) =>
    Math.abs(l - LAMBDA_MULTIPLES[k] * AFTERIMAGE_LAMBDAS[4]) > 1e-12
  )
) {
  throw new Error("AFTERIMAGE_LAMBDAS changed: update decayFactors to the new lambdas");
}
/** -smallest lambda * ln 2: the smallest lambda's factor is exp(this * dt). */
const BASE_DECAY = -AFTERIMAGE_LAMBDAS[4] * Math.LN2;

/** Writes 2^(-lambda * dt) for each lambda into `f`. */
export function decayFactors(dt: number, f: Float64Array): void {
  const g = Math.exp(BASE_DECAY * dt);
  const g2 = g * g, g5 = g2 * g2 * g, g10 = g5 * g5;
  const g20 = g10 * g10, g50 = g20 * g20 * g10, g100 = g50 * g50;
  const g300 = g100 * g100 * g100;
  f[0] = g300 * g100 * g100, f[1] = g300, f[2] = g100, f[3] = g10, f[4] = g;
}

/** Offsets of the column groups in a row. */
const MI_AT = 0, H_AT = 3 * L, HH_AT = 6 * L, JIT_AT = 13 * L, HPHP_AT = 16 * L;

/** Default memcap of each AfterImage table, in entries. */
export const DEFAULT_AFTERIMAGE_MAX_ENTRIES = 1 << 17;

/** Settings of the AfterImage tables. */
export interface AfterImageOptions {
  /** Streams idle this long are dropped when a table fills. Default 120 s. */
  idleMicros?: number;
  /**
   * Memcap: most streams per table (MAC+IP, host, channel, socket); past it the
   * least recently seen is evicted and counted. Default 131,072: about 210 MiB
   * when all four tables are full (a channel entry is ~750 bytes).
   */
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
    const common = {
      idleMicros: options.idleMicros,
      maxEntries: options.maxEntries ?? DEFAULT_AFTERIMAGE_MAX_ENTRIES,
      // Every conversation adds about 1.4 KB of state here: fresh pages were a tenth of the cost.
      hugePages: true,
    };
    this.macIp = new KeyTable({ keyWords: 6, stride: STREAM, ...common });
    this.hosts = new KeyTable({ keyWords: 4, stride: STREAM, ...common });
    this.channels = new KeyTable({ keyWords: 8, stride: 4 * STREAM + COVARIANCE, ...common });
    this.sockets = new KeyTable({ keyWords: 10, stride: 2 * STREAM + COVARIANCE, ...common });
  }

  /** Sums of warmed rows, kept only so the loads that warm the caches are not optimised away. */
  warmth = 0;

  write(ctx: PacketContext, out: Float32Array, o: number): void {
    const p = ctx.packet;
    const t = ctx.timestampMicros / 1e6;
    const v = ctx.frameLength;
    const ts = ctx.timestampMicros;
    const macIp = this.macIp, hosts = this.hosts, channels = this.channels, sockets = this.sockets;

    // All four keys first, then all four tables' rows warmed at once (see KeyTable.warm).
    const mk = macIp.key;
    mk[0] = ctx.macHigh, mk[1] = ctx.macLow;
    mk[2] = p.srcWords[0], mk[3] = p.srcWords[1], mk[4] = p.srcWords[2], mk[5] = p.srcWords[3];
    hostKey(p, hosts.key);
    const side = orderFirst(p, false) ? 0 : 1;
    channelKey(p, channels.key, side === 1);
    const sSide = orderFirst(p, true) ? 0 : 1;
    socketKey(p, sockets.key, sSide === 1);
    const hMi = macIp.hashKey(), hH = hosts.hashKey();
    const hHH = channels.hashKey(), hHpHp = sockets.hashKey();
    this.warmth += macIp.warm(hMi) + hosts.warm(hH) + channels.warm(hHH) + sockets.warm(hHpHp);

    let slot = macIp.findHashed(hMi, ts);
    update1D(macIp.state, slot * macIp.stride + 1, macIp.inserted, t, v, out, o + MI_AT);

    slot = hosts.findHashed(hH, ts);
    update1D(hosts.state, slot * hosts.stride + 1, hosts.inserted, t, v, out, o + H_AT);

    // Channel: this side's size stream and its 2-D statistics with the other side, then jitter.
    slot = channels.findHashed(hHH, ts);
    const cs = channels.state, c = slot * channels.stride + 1;
    const mine = c + side * STREAM, other = c + (1 - side) * STREAM;
    const fresh = cs[mine] === 0;
    update1D(cs, mine, fresh, t, v, out, o + HH_AT, 7);
    update2D(cs, other, c + 4 * STREAM, channels.inserted, side, t, v, out, o + HH_AT);
    const jit = c + (2 + side) * STREAM;
    const jitter = fresh ? 0 : Math.max(0, t - cs[jit]);
    update1D(cs, jit, fresh, t, jitter, out, o + JIT_AT);

    slot = sockets.findHashed(hHpHp, ts);
    const ss = sockets.state, k = slot * sockets.stride + 1;
    const sMine = k + sSide * STREAM;
    update1D(ss, sMine, ss[sMine] === 0, t, v, out, o + HPHP_AT, 7);
    const sOther = k + (1 - sSide) * STREAM;
    update2D(ss, sOther, k + 2 * STREAM, sockets.inserted, sSide, t, v, out, o + HPHP_AT);
  }

  /** Streams held and table housekeeping (idle recycled, live evicted at the memcap), for counters. */
  stats(): KeyTableStats {
    return keyTableStats([this.macIp, this.hosts, this.channels, this.sockets]);
  }
}

/** Decay factors per lambda for `factorsDt`, reused while consecutive updates share a dt. */
const FACTORS = new Float64Array(L);
let factorsDt = NaN;
/** The last update1D's mean, variance and standard deviation per lambda, for update2D. */
const MEAN = new Float64Array(L), VARIANCE = new Float64Array(L), STD = new Float64Array(L);

function factorsFor(dt: number): Float64Array {
  if (dt !== factorsDt) decayFactors(dt, FACTORS), factorsDt = dt;
  return FACTORS;
}

/**
 * Decays the stream at `s[at..]` to `t`, adds `v`, and writes (w, mean, std)
 * per lambda to `out[o + k * step ..]`; leaves mean, variance and std in
 * MEAN, VARIANCE and STD.
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
  const decay = dt > 0;
  const f = decay ? factorsFor(dt) : FACTORS;
  const vv = v * v;
  for (let l = 0; l < L; l++) {
    const k = at + 1 + 3 * l;
    let w = s[k], ls = s[k + 1], ss = s[k + 2];
    if (decay) {
      const d = f[l];
      w *= d, ls *= d, ss *= d;
    }
    w += 1, ls += v, ss += vv;
    s[k] = w, s[k + 1] = ls, s[k + 2] = ss;
    const mean = ls / w;
    const variance = Math.abs(ss / w - mean * mean);
    const std = Math.sqrt(variance);
    MEAN[l] = mean, VARIANCE[l] = variance, STD[l] = std;
    const r = o + l * step;
    out[r] = w;
    out[r + 1] = mean;
    out[r + 2] = std;
  }
}

/**
 * The 2-D statistics of the stream update1D just updated with `v` (its
 * statistics in MEAN, VARIANCE, STD) and its reverse at `s[r..]` (empty while
 * its weight is 0), and the covariance of their residuals kept at `pair`,
 * where this stream is side `side`. Writes magnitude, radius, covariance and
 * correlation after each lambda's (w, mean, std).
 */
function update2D(
  s: Float64Array,
  r: number,
  pair: number,
  fresh: boolean,
  side: number,
  t: number,
  v: number,
  out: Float32Array,
  o: number,
): void {
  const dt = fresh ? 0 : t - s[pair];
  if (fresh || dt > 0) s[pair] = t;
  const decay = dt > 0;
  const f = decay ? factorsFor(dt) : FACTORS;
  for (let l = 0; l < L; l++) {
    const meanA = MEAN[l], varA = VARIANCE[l];
    const kr = r + 1 + 3 * l;
    const wR = s[kr];
    let meanR = 0, varR = 0, stdR = 0;
    if (wR > 0) {
      meanR = s[kr + 1] / wR;
      varR = Math.abs(s[kr + 2] / wR - meanR * meanR);
      stdR = Math.sqrt(varR);
    }
    const c = pair + 1 + 4 * l;
    let cf3 = s[c], w3 = s[c + 1];
    if (decay) {
      const d = f[l];
      cf3 *= d, w3 *= d;
    }
    const residual = v - meanA;
    cf3 += residual * s[c + 3 - side];
    w3 += 1;
    s[c] = cf3, s[c + 1] = w3, s[c + 2 + side] = residual;
    const cov = cf3 / w3;
    const spread = STD[l] * stdR;
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
