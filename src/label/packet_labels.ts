/**
 * Packet labelling for packet-level tuning (`train --packet-models --tune`):
 * each packet row gets the attack of a window when its source or destination
 * is that window's attacker and its timestamp lies inside the window (closed
 * interval: a packet exactly at `start` or `end` is in). Overlapping windows
 * of one attacker: the first in the file wins.
 *
 * An attacker's packets outside every one of its windows get
 * {@link PACKET_ATTACKER_OUTSIDE}, not benign: late replies to a scan or a
 * flood's retransmissions are attack traffic, and training a benign-only model
 * on them would teach it the attack. They are counted and left out.
 *
 * Addresses are compared as the bytes the packet rows carry (16 a row, IPv4
 * in the last four), never formatted per packet.
 */
import { type AttackWindow, canonicalAddress } from "./attack_windows.ts";

/** Label of a packet that matches no attacker. */
export const PACKET_BENIGN = -1;
/** Label of an attacker's packet outside all of its windows (left out of training and scoring). */
export const PACKET_ATTACKER_OUTSIDE = -2;

/** The packet identity a labeller reads (a PacketRows batch has it). */
export interface LabelledPacketFields {
  count: number;
  timestampMicros: Float64Array;
  /** 16 bytes per row; IPv4 in bytes 12-15. */
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  ipVersion: Uint8Array;
}

/** Labels packet rows against fixed attack windows. */
export interface PacketLabeller {
  /** Attack names in first-seen order; a label >= 0 indexes this list. */
  readonly attacks: readonly string[];
  /** Writes one label per row into `out` (attack index, PACKET_BENIGN or PACKET_ATTACKER_OUTSIDE). */
  label(rows: LabelledPacketFields, out: Int16Array): void;
}

interface Attacker {
  version: 4 | 6;
  bytes: Uint8Array;
  /** Windows in microseconds, file order. */
  windows: { start: number; end: number; attack: number }[];
}

/** Builds a labeller; attackers are parsed to address bytes once. */
export function createPacketLabeller(windows: readonly AttackWindow[]): PacketLabeller {
  const attacks: string[] = [];
  const byAddress = new Map<string, Attacker>();
  for (const w of windows) {
    const text = canonicalAddress(w.attacker);
    let attacker = byAddress.get(text);
    if (!attacker) {
      attacker = { ...addressBytes(text), windows: [] };
      byAddress.set(text, attacker);
    }
    if (!attacks.includes(w.attack)) attacks.push(w.attack);
    attacker.windows.push({
      start: w.start * 1e6,
      end: w.end * 1e6,
      attack: attacks.indexOf(w.attack),
    });
  }
  const attackers = [...byAddress.values()];
  const matches = (a: Attacker, bytes: Uint8Array, at: number, version: number) => {
    if (version !== a.version) return false;
    for (let k = version === 4 ? 12 : 0; k < 16; k++) {
      if (bytes[at + k] !== a.bytes[k]) return false;
    }
    return true;
  };
  return {
    attacks,
    label(rows, out) {
      for (let r = 0; r < rows.count; r++) {
        let label = PACKET_BENIGN;
        const v = rows.ipVersion[r], ts = rows.timestampMicros[r];
        for (const a of attackers) {
          if (!matches(a, rows.srcAddr, r * 16, v) && !matches(a, rows.dstAddr, r * 16, v)) {
            continue;
          }
          label = PACKET_ATTACKER_OUTSIDE;
          const w = a.windows.find((w) => ts >= w.start && ts <= w.end);
          if (w) {
            label = w.attack;
            break;
          }
        }
        out[r] = label;
      }
    },
  };
}

/** A canonical address as the 16 bytes packet rows carry (IPv4 in the last four). */
function addressBytes(text: string): { version: 4 | 6; bytes: Uint8Array } {
  const bytes = new Uint8Array(16);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) {
      throw new Error(`attack window attacker "${text}" is not an address`);
    }
    bytes.set(octets, 12);
    return { version: 4, bytes };
  }
  const halves = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const head = groups(halves[0]), tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  if (halves.length > 2 || all.length !== 8 || all.some((g) => !(g >= 0 && g <= 0xffff))) {
    throw new Error(`attack window attacker "${text}" is not an address`);
  }
  all.forEach((g, i) => (bytes[2 * i] = g >> 8, bytes[2 * i + 1] = g & 0xff));
  return { version: 6, bytes };
}
