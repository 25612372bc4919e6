/**
 * `deno task lab -- --scenario NAME --seconds N --out DIR`: the same as
 * `ids-sensor lab ...`, without loading the rest of the CLI.
 */
import { Command } from "@commander-js/extra-typings";
import { registerLab } from "../src/cli/lab.ts";

if (import.meta.main) {
  const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  const program = new Command().name("lab");
  registerLab(program);
  await program.parseAsync(["lab", ...args], { from: "user" });
}
