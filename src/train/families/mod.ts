/**
 * Model families behind one interface (`train --models`) and their
 * side-by-side comparison with the ensemble (`eval --compare`).
 */
export {
  attackFlags,
  detectionAtFpr,
  FAMILIES,
  type Family,
  FAMILY_NAMES,
  FamilyError,
  type FamilyName,
  type FamilyProgress,
  parseFamilyList,
  type TrainedMember,
  tuneFamily,
} from "./families.ts";
export {
  compareFamilies,
  type CompareOptions,
  type CompareResult,
  type CompareRow,
  DEFAULT_COMPARE_OPTIONS,
  DETECTED_SHARE,
  formatComparison,
  type Weighting,
  WEIGHTINGS,
} from "./compare.ts";
export {
  type FamilyBundleOptions,
  type FamilyBundleSummary,
  type MemberSummary,
  trainFamilyBundle,
} from "./family_bundle.ts";
export {
  DEFAULT_LEAVE_TYPE_OUT,
  type LeaveTypeOutOptions,
  type LeaveTypeOutWeights,
  leaveTypeOutWeights,
  typesToHoldOut,
} from "./leave_type_out.ts";
