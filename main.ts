/**
 * ids-sensor entry point: `deno run -A main.ts <subcommand>` takes the same
 * command line as the compiled `ids-sensor` binary.
 */
import { buildCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  await buildCli().parseAsync(Deno.args, { from: "user" });
}
