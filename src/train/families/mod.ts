/**
 * Model families behind one interface (`train --models`) and their
 * side-by-side comparison with the ensemble (`eval --compare`).
 */
export {
  FAMILIES,
  type Family,
  FAMILY_NAMES,
  FamilyError,
  type FamilyName,
  type FamilyProgress,
  parseFamilyList,
  type TrainedMember,
} from "./families.ts";
export {
  compareFamilies,
  type CompareOptions,
  type CompareResult,
  type CompareRow,
  DEFAULT_COMPARE_OPTIONS,
  formatComparison,
} from "./compare.ts";
