/**
 * The cyber range: network namespaces with a victim running real services,
 * benign office clients and attackers running Debian's attack tools, captured
 * on a bridge and labelled by attack window. `runLab` is the one entry point.
 */
export {
  type AttackRecord,
  countCapturePackets,
  type LabManifest,
  type LabOptions,
  type LabResult,
  runLab,
} from "./run_lab.ts";
export {
  type AttackDefinition,
  ATTACKS,
  findScenario,
  NOVEL_ATTACKS,
  NOVEL_ATTACKS_2,
  NOVEL_ATTACKS_3,
  type ScenarioDefinition,
  SCENARIOS,
} from "./scenarios.ts";
export { ATTACKERS, CLIENTS, destroyTopology, HOSTS, LAB_PREFIX, VICTIM } from "./topology.ts";
export { isRoot, missingTools, packagesFor, TOOL_PACKAGES } from "./tools.ts";
