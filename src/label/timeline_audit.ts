/**
 * Checks that labelled flows follow a recorded attack timeline: every attack
 * window holds flows from its attacker carrying its label, flows of benign
 * hosts never carry an attack label, and no attacker flow is left BENIGN.
 * Used by the tests and by the dataset recorder to reject a bad recording.
 */
import { type AttackWindow, canonicalAddress } from "./attack_windows.ts";
import { BENIGN_LABEL, type LabelledFlowFields } from "./flow_labeller.ts";

/** A flow with its label. */
export interface LabelledFlow extends LabelledFlowFields {
  label: string;
}

/** Outcome of an audit. */
export interface TimelineAudit {
  /** Human-readable problems; empty when the timeline holds. */
  problems: string[];
  /** Flows labelled with each window's attack, per window (same order as the windows). */
  flowsPerWindow: number[];
}

/**
 * Audits `flows` against `windows`. `benignHosts` are addresses that never
 * attack (the lab's clients); the victim is neither benign nor attacker here
 * since it talks to both.
 */
export function auditAttackTimeline(
  flows: readonly LabelledFlow[],
  windows: readonly AttackWindow[],
  benignHosts: readonly string[],
): TimelineAudit {
  const problems: string[] = [];
  const attackers = new Set(windows.map((w) => canonicalAddress(w.attacker)));
  const benign = new Set(benignHosts.map(canonicalAddress));
  const flowsPerWindow = windows.map(() => 0);
  let attackerBenign = 0;
  let benignAttack = 0;
  for (const flow of flows) {
    const src = canonicalAddress(flow.srcIp);
    const dst = canonicalAddress(flow.dstIp);
    const fromAttacker = attackers.has(src) || attackers.has(dst);
    if ((benign.has(src) || benign.has(dst)) && !fromAttacker && flow.label !== BENIGN_LABEL) {
      if (benignAttack++ < 5) {
        problems.push(`benign host flow ${src} -> ${dst} labelled ${flow.label}`);
      }
    }
    if (fromAttacker && flow.label === BENIGN_LABEL) attackerBenign++;
    windows.forEach((w, i) => {
      const attacker = canonicalAddress(w.attacker);
      if (
        (src === attacker || dst === attacker) && flow.label === w.attack &&
        flow.startMicros <= w.end * 1e6 && flow.endMicros >= w.start * 1e6
      ) flowsPerWindow[i]++;
    });
  }
  if (benignAttack > 5) problems.push(`... ${benignAttack} benign-host flows with attack labels`);
  if (attackerBenign > 0) {
    problems.push(`${attackerBenign} flows to or from an attacker lie outside every attack window`);
  }
  windows.forEach((w, i) => {
    if (flowsPerWindow[i] === 0) {
      problems.push(
        `window ${w.attack} from ${w.attacker} [${w.start.toFixed(3)}, ${
          w.end.toFixed(3)
        }] holds no flow labelled ${w.attack}`,
      );
    }
  });
  return { problems, flowsPerWindow };
}
