/** `ids-sensor features --schema`: prints the feature set (model inputs) and the identity columns. */
import type { Command } from "@commander-js/extra-typings";
import { EXTRA_COLUMNS, FEATURE_SET, IDENTITY_COLUMNS } from "../features/mod.ts";

/** Registers the `features` subcommand. */
export function registerFeatures(program: Command): void {
  program
    .command("features")
    .description("Describe the flow feature set")
    .option("--schema", "print one line per column: name, unit, meaning")
    .option("--json", "print the schema as JSON")
    .action((options) => {
      if (options.json) {
        console.log(JSON.stringify(
          { ...FEATURE_SET, identityColumns: IDENTITY_COLUMNS, extraColumns: EXTRA_COLUMNS },
          null,
          2,
        ));
        return;
      }
      console.log(
        `# feature set ${FEATURE_SET.name} v${FEATURE_SET.version}: ${FEATURE_SET.columns.length} model inputs`,
      );
      FEATURE_SET.columns.forEach((c, i) =>
        console.log(`${i}\t${c.name}\t${c.unit}\t${c.description}`)
      );
      console.log(`# identity columns (printed first, not model inputs)`);
      for (const c of IDENTITY_COLUMNS) console.log(`-\t${c.name}\t${c.unit}\t${c.description}`);
      console.log(`# extra columns (printed last, not model inputs)`);
      for (const c of EXTRA_COLUMNS) console.log(`-\t${c.name}\t${c.unit}\t${c.description}`);
    });
}
