/**
 * Flow labelling: attack windows recorded by the lab (attacker address, start,
 * end, attack name) turned into a label for every flow. See flow_labeller.ts
 * for the exact rule.
 */
export {
  ATTACK_WINDOW_HEADER,
  type AttackWindow,
  canonicalAddress,
  formatAttackWindows,
  parseAttackWindows,
} from "./attack_windows.ts";
export {
  BENIGN_LABEL,
  createFlowLabeller,
  type FlowLabeller,
  type FlowLabellerOptions,
  type LabelledFlowFields,
} from "./flow_labeller.ts";
export {
  LABEL_COLUMN,
  labelBatch,
  labelCapture,
  type LabelCaptureSummary,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
} from "./label_flows.ts";
export { checkLabelCoverage, type LabelCoverage, UnmatchedLabelsError } from "./label_check.ts";
export { auditAttackTimeline, type LabelledFlow, type TimelineAudit } from "./timeline_audit.ts";
export {
  createPacketLabeller,
  type LabelledPacketFields,
  PACKET_ATTACKER_OUTSIDE,
  PACKET_BENIGN,
  type PacketLabeller,
} from "./packet_labels.ts";
