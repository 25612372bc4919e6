/**
 * The labelling rule, as a pure function over flow records.
 *
 * A flow gets the label of attack X when
 *   1. its source or its destination address is X's attacker (so the
 *      victim's replies, which sit in the same bidirectional flow, and flows
 *      the victim opens towards the attacker are covered), and
 *   2. its time span [first packet, last packet] overlaps X's window
 *      [start - tolerance, end + tolerance] (closed intervals, so a
 *      one-packet flow at the window's edge counts).
 *
 * Straddling flows: a flow that starts inside a window and ends after it (a
 * victim still retransmitting SYN-ACKs after a flood, a slowloris connection
 * the server closes later), or that starts before it, is labelled with the
 * attack: any overlap is enough. When a flow overlaps several windows of the
 * same attacker, the window with the longest overlap wins, ties going to the
 * earlier window. Every other flow is BENIGN.
 */
import { type AttackWindow, canonicalAddress } from "./attack_windows.ts";

/** Label of flows that match no attack window. */
export const BENIGN_LABEL = "BENIGN";

/** The fields the rule reads; a FlowRecord has them all. */
export interface LabelledFlowFields {
  srcIp: string;
  dstIp: string;
  /** First packet, microseconds since the Unix epoch. */
  startMicros: number;
  /** Last packet, microseconds since the Unix epoch. */
  endMicros: number;
}

/** Options of the rule. */
export interface FlowLabellerOptions {
  /** Seconds added on both sides of every window (default 0). */
  toleranceSeconds?: number;
}

/** Labels flows against a fixed set of attack windows. */
export interface FlowLabeller {
  /** The label for one flow: an attack name or BENIGN_LABEL. */
  labelOf(flow: LabelledFlowFields): string;
  /** Attack names in the windows, in first-seen order. */
  readonly attacks: readonly string[];
}

/** Builds a labeller; windows are indexed by attacker address once. */
export function createFlowLabeller(
  windows: readonly AttackWindow[],
  options: FlowLabellerOptions = {},
): FlowLabeller {
  const tolerance = options.toleranceSeconds ?? 0;
  if (!(tolerance >= 0)) throw new Error(`tolerance must be >= 0 seconds, got ${tolerance}`);
  const byAttacker = new Map<string, { start: number; end: number; attack: string }[]>();
  const attacks: string[] = [];
  for (const w of windows) {
    const key = canonicalAddress(w.attacker);
    const list = byAttacker.get(key) ?? [];
    list.push({
      start: (w.start - tolerance) * 1e6,
      end: (w.end + tolerance) * 1e6,
      attack: w.attack,
    });
    byAttacker.set(key, list);
    if (!attacks.includes(w.attack)) attacks.push(w.attack);
  }
  for (const list of byAttacker.values()) list.sort((a, b) => a.start - b.start);

  const bestIn = (
    list: { start: number; end: number; attack: string }[] | undefined,
    flow: LabelledFlowFields,
  ) => {
    let best: string | undefined;
    let bestOverlap = -1;
    for (const w of list ?? []) {
      if (flow.startMicros > w.end || flow.endMicros < w.start) continue;
      const overlap = Math.min(flow.endMicros, w.end) - Math.max(flow.startMicros, w.start);
      if (overlap > bestOverlap) [best, bestOverlap] = [w.attack, overlap];
    }
    return { best, bestOverlap };
  };

  return {
    attacks,
    labelOf(flow) {
      if (byAttacker.size === 0) return BENIGN_LABEL;
      const fromSrc = bestIn(byAttacker.get(canonicalAddress(flow.srcIp)), flow);
      const fromDst = bestIn(byAttacker.get(canonicalAddress(flow.dstIp)), flow);
      const winner = fromDst.bestOverlap > fromSrc.bestOverlap ? fromDst : fromSrc;
      return winner.best ?? BENIGN_LABEL;
    },
  };
}
