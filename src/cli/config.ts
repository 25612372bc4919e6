/**
 * `ids-sensor config --check FILE` and `ids-sensor config --print-default`:
 * the config file's keys are the long options of `detect` and `analyze`.
 */
import type { Command } from "@commander-js/extra-typings";
import { ConfigError, defaultConfigText, loadConfigFile, optionSpecs } from "../config/mod.ts";
import { CONFIG_VALIDATORS } from "./sensor_services.ts";
import { EXIT, UsageError } from "./exit.ts";

const HEADER = `ids-sensor configuration (YAML; JSON works too).
Every key is a long option of \`ids-sensor detect\` / \`analyze\`; a flag given on the
command line wins over the file. Check a file with \`ids-sensor config --check FILE\`;
SIGHUP re-reads it (notify targets, suppressions, model; other keys need a restart).`;

/** Registers `config`. */
export function registerConfig(program: Command): void {
  program
    .command("config")
    .description("Check a config file (--check FILE) or print the default one (--print-default)")
    .option("--check <file>", "validate FILE: every problem with its key, line and column")
    .option("--print-default", "print a config file with every key, its default and meaning")
    .action(async (options) => {
      const commands = program.commands.filter((c) => ["detect", "analyze"].includes(c.name()));
      const specs = optionSpecs(commands);
      if (options.printDefault) {
        // The bundled model's path depends on where the sensor is installed: left commented.
        const printable = specs.map((s) =>
          s.key === "model" ? { ...s, defaultValue: undefined } : s
        );
        console.log((await defaultConfigText(printable, HEADER)).trimEnd());
        return;
      }
      if (!options.check) {
        throw new UsageError("config: give --check FILE or --print-default");
      }
      try {
        const values = await loadConfigFile(options.check, specs, CONFIG_VALIDATORS);
        const keys = Object.keys(values);
        console.log(
          `${options.check}: ok (${keys.length} key${keys.length === 1 ? "" : "s"}` +
            `${keys.length ? `: ${keys.join(", ")}` : ""})`,
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        console.error(error.message);
        Deno.exitCode = EXIT.config;
      }
    });
}
