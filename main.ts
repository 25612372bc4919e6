/**
 * ids-sensor entry point: `deno run -A main.ts <subcommand>` takes the same
 * command line as the compiled `ids-sensor` binary. With no subcommand it
 * runs `detect` (live detection on the default route's interface).
 */
import { buildCli, reportError } from "./src/cli/mod.ts";

if (import.meta.main) {
  try {
    await buildCli().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    // Bad input is reported as one clear line with its sysexits code (see src/cli/exit.ts).
    Deno.exit(reportError(error));
  }
}
