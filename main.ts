/**
 * ids-sensor entry point: `deno run -A main.ts <subcommand>` takes the same
 * command line as the compiled `ids-sensor` binary. With no subcommand it
 * runs `detect` (live detection on the default route's interface).
 */
import { buildCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  try {
    await buildCli().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    // Bad input is reported as one clear line; a stack trace only with IDS_DEBUG set.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`ids-sensor: error: ${message}`);
    if (Deno.env.get("IDS_DEBUG") && error instanceof Error) console.error(error.stack);
    Deno.exit(1);
  }
}
