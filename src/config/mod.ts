/**
 * The config file: keys derived from the command-line options (so the two
 * cannot drift), YAML or JSON, zod validation with key paths and lines,
 * typo suggestions, flags overriding the file, and the default file.
 *
 * ```ts
 * import { applyConfig, loadConfigFile, optionSpecs } from "./mod.ts";
 * const specs = optionSpecs([detectCommand, analyzeCommand]);
 * applyConfig(detectCommand, await loadConfigFile("/etc/ids-sensor/config.yaml", specs), specs);
 * ```
 */
export { type OptionSpec, optionSpecs } from "./option_specs.ts";
export {
  ConfigError,
  type ConfigIssue,
  configSchema,
  type ConfigValidators,
  type ConfigValues,
  loadConfigFile,
  parseConfig,
} from "./config_file.ts";
export { applyConfig } from "./apply.ts";
export { defaultConfigText } from "./print_default.ts";
export { closest, editDistance } from "./suggest.ts";
