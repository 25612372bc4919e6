/**
 * Host-level evidence: per-flow verdicts and flow facts accumulated per
 * source, per target, per pair and per service over time windows, in
 * bounded memory; behaviours (scan, sweep, flood, reflection, amplification,
 * brute force, slow DoS) named only from that multi-flow evidence.
 */
export {
  AMPLIFIER_SERVICES,
  type Behaviour,
  BEHAVIOUR_LIMITS,
  type BehaviourName,
  behaviourName,
  LOGIN_SERVICES,
  protocolWord,
  WEB_PORTS,
} from "./behaviours.ts";
export {
  type EvidenceOptions,
  type EvidenceStats,
  type EvidenceSummary,
  type Finding,
  HostEvidence,
  type HostEvidenceSizes,
  PATH_PROBE_MAX_TTL,
  type VoteRule,
} from "./host_evidence.ts";
export { DistinctSketches, HostTable, type HostTableStats } from "./host_table.ts";
export {
  ONE_SIDED_MIN_PROOFS,
  ONE_SIDED_SHARE,
  OneSidedPairs,
  type OneSidedStats,
  oneSidedWarning,
} from "./one_sided.ts";
export {
  BULK_MAX_SHARE,
  BULK_MIN_BYTES,
  countsTowardRate,
  DEFAULT_STRONG_FLOWS,
  EXCHANGE_MIN_DATAGRAMS,
  isBulkTransfer,
  isStrongVote,
  isUdpExchange,
  type VoteEvidence,
  voteIsEnough,
  type VoteKind,
  type VoteThresholds,
} from "./vote_rule.ts";
