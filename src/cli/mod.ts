/** The command line: one commander program, one module per subcommand. */
import { Command } from "@commander-js/extra-typings";

/** Builds the `ids-sensor` program with every subcommand registered. */
export function buildCli() {
  const program = new Command()
    .name("ids-sensor")
    .description("Network intrusion detection sensor: capture, flow features, detection, alerts")
    .version("0.1.0");
  return program;
}
