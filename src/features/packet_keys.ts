/**
 * Table keys of a decoded packet's host, channel and socket, written into a
 * KeyTable's scratch key (IPv4 addresses as their IPv4-mapped words).
 */
import type { DecodedPacket } from "./decode.ts";

export function hostKey(p: DecodedPacket, key: Uint32Array): void {
  const s = p.srcWords;
  key[0] = s[0], key[1] = s[1], key[2] = s[2], key[3] = s[3];
}

export function channelKey(p: DecodedPacket, key: Uint32Array, reverse: boolean): void {
  const a = reverse ? p.dstWords : p.srcWords, b = reverse ? p.srcWords : p.dstWords;
  key[0] = a[0], key[1] = a[1], key[2] = a[2], key[3] = a[3];
  key[4] = b[0], key[5] = b[1], key[6] = b[2], key[7] = b[3];
}

export function socketKey(p: DecodedPacket, key: Uint32Array, reverse: boolean): void {
  channelKey(p, key, reverse);
  key[8] = reverse ? (p.dstPort << 16) | p.srcPort : (p.srcPort << 16) | p.dstPort; // wraps to uint32
  key[9] = p.protocol;
}

/** Whether the source address sorts before the destination (the conversation's canonical order). */
export function sourceFirst(p: DecodedPacket): boolean {
  const s = p.srcWords, d = p.dstWords;
  for (let k = 0; k < 4; k++) {
    if (s[k] !== d[k]) return s[k] < d[k];
  }
  return true;
}
