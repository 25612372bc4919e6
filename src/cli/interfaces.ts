/** `ids-sensor interfaces [--json]`: the interfaces libpcap can capture on. */
import type { Command } from "@commander-js/extra-typings";
import { defaultRouteInterface, listInterfaces } from "../ffi/mod.ts";

/** Registers the `interfaces` subcommand. */
export function registerInterfaces(program: Command): void {
  program
    .command("interfaces")
    .description("List capture interfaces with their addresses and state")
    .option("--json", "print a JSON array instead of a table")
    .action((options) => {
      const interfaces = listInterfaces();
      const defaultName = defaultRouteInterface();
      if (options.json) {
        const rows = interfaces.map((entry) => ({
          ...entry,
          defaultRoute: entry.name === defaultName,
        }));
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      for (const entry of interfaces) {
        const flags = Object.entries(entry.flags).filter(([, on]) => on).map(([name]) => name);
        if (entry.name === defaultName) flags.push("default-route");
        const addresses = entry.addresses
          .filter((address) => address.family !== "link")
          .map((address) => address.address);
        const columns = [
          entry.name.padEnd(18),
          (flags.join(",") || "-").padEnd(32),
          addresses.join(" ") || "-",
        ];
        if (entry.description) columns.push(`(${entry.description})`);
        console.log(columns.join(" "));
      }
    });
}
