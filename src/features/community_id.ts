/**
 * Community ID v1 (corelight/community-id-spec): a flow hash that Zeek,
 * Suricata and SIEMs compute the same way, so alerts can be joined with
 * their logs. Computed only when a flow is output, with a small synchronous
 * SHA-1 (WebCrypto's digest is async, and this runs per printed record).
 */
import {
  icmpCounterpart,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
} from "./decode.ts";

const scratch = new Uint8Array(2 + 16 + 16 + 2 + 2 + 2);
const digestScratch = new Uint8Array(20);

/**
 * Community ID v1 of a flow. Addresses are 16 bytes (IPv4-mapped when
 * `ipVersion` is 4); for ICMP pass the ICMP type as `srcPort` and the code
 * (or the counterpart type, as the flow table stores it) as `dstPort`.
 */
export function communityIdV1(
  ipVersion: number,
  srcAddr: Uint8Array,
  dstAddr: Uint8Array,
  srcPort: number,
  dstPort: number,
  protocol: number,
  seed = 0,
): string {
  const addrOffset = ipVersion === 4 ? 12 : 0;
  const addrLength = 16 - addrOffset;
  let sPort = srcPort, dPort = dstPort;
  let oneWay = false;
  if (protocol === PROTO_ICMP || protocol === PROTO_ICMPV6) {
    // The spec maps ICMP type/code to ports; a two-way type's "port" pair
    // is (type, counterpart type), a one-way type keeps (type, code).
    const counterpart = icmpCounterpart(protocol, srcPort);
    if (counterpart >= 0) dPort = counterpart;
    else oneWay = true;
  }
  // Order the endpoints so both directions hash the same; one-way ICMP keeps its order.
  let swap = false;
  if (!oneWay) {
    const order = compareBytes(srcAddr, dstAddr, addrOffset);
    swap = order > 0 || (order === 0 && sPort > dPort);
  }
  const a = swap ? dstAddr : srcAddr;
  const b = swap ? srcAddr : dstAddr;
  if (swap) [sPort, dPort] = [dPort, sPort];
  let at = 0;
  scratch[at++] = (seed >> 8) & 0xff;
  scratch[at++] = seed & 0xff;
  scratch.set(a.subarray(addrOffset, 16), at);
  at += addrLength;
  scratch.set(b.subarray(addrOffset, 16), at);
  at += addrLength;
  scratch[at++] = protocol;
  scratch[at++] = 0;
  if (hasPorts(protocol)) {
    scratch[at++] = sPort >> 8, scratch[at++] = sPort & 0xff;
    scratch[at++] = dPort >> 8, scratch[at++] = dPort & 0xff;
  }
  return "1:" + base64(sha1Into(scratch.subarray(0, at), digestScratch));
}

function hasPorts(protocol: number): boolean {
  return protocol === PROTO_TCP || protocol === PROTO_UDP || protocol === PROTO_SCTP ||
    protocol === PROTO_ICMP || protocol === PROTO_ICMPV6;
}

function compareBytes(a: Uint8Array, b: Uint8Array, from: number): number {
  for (let i = from; i < 16; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

const w = new Uint32Array(80);
/** Padding scratch for messages up to 119 bytes (a Community ID tuple is at most 40). */
const paddedScratch = new Uint8Array(128);

/** SHA-1 of `message` (FIPS 180-4), synchronous. */
export function sha1(message: Uint8Array): Uint8Array {
  return sha1Into(message, new Uint8Array(20));
}

/** SHA-1 of `message` into `digest` (20 bytes); short messages allocate nothing. */
export function sha1Into(message: Uint8Array, digest: Uint8Array): Uint8Array {
  const bitLength = message.length * 8;
  const paddedLength = (((message.length + 8) >> 6) + 1) << 6;
  const padded = paddedLength <= paddedScratch.length
    ? paddedScratch
    : new Uint8Array(paddedLength);
  padded.set(message);
  padded.fill(0, message.length, paddedLength);
  padded[message.length] = 0x80;
  const high = Math.floor(bitLength / 0x100000000);
  putWord(padded, paddedLength - 8, high);
  putWord(padded, paddedLength - 4, bitLength >>> 0);
  let h0 = 0x67452301, h1 = 0xefcdab89, h2 = 0x98badcfe, h3 = 0x10325476, h4 = 0xc3d2e1f0;
  for (let block = 0; block < paddedLength; block += 64) {
    for (let t = 0; t < 16; t++) {
      const at = block + t * 4;
      w[t] = (padded[at] << 24) | (padded[at + 1] << 16) | (padded[at + 2] << 8) | padded[at + 3];
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number, k: number;
      if (t < 20) f = (b & c) | (~b & d), k = 0x5a827999;
      else if (t < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
      else if (t < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
      else f = b ^ c ^ d, k = 0xca62c1d6;
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h0 = (h0 + a) | 0, h1 = (h1 + b) | 0, h2 = (h2 + c) | 0, h3 = (h3 + d) | 0, h4 = (h4 + e) | 0;
  }
  putWord(digest, 0, h0), putWord(digest, 4, h1), putWord(digest, 8, h2);
  putWord(digest, 12, h3), putWord(digest, 16, h4);
  return digest;
}

/** Big-endian 32-bit word `value` at `bytes[at..at+4)`. */
function putWord(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    text += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + BASE64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    text += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    text += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + "=";
  }
  return text;
}
