/**
 * `ids-sensor features --schema [--set NAME]`: prints a feature set (model
 * inputs): the flow set `cic-flow` by default, with its identity columns, or
 * a packet-level set (`packet`, `packet-sequence`, `afterimage`).
 */
import type { Command } from "@commander-js/extra-typings";
import {
  EXTRA_COLUMNS,
  FEATURE_SET,
  type FeatureSet,
  IDENTITY_COLUMNS,
  PACKET_FEATURE_SETS,
} from "../features/mod.ts";
import { featureSchemaHash } from "../inference/mod.ts";
import { UsageError } from "./exit.ts";

/** Every feature set the sensor computes, by name. */
const SETS: Record<string, FeatureSet> = {
  [FEATURE_SET.name]: FEATURE_SET,
  ...PACKET_FEATURE_SETS,
};

/** Registers the `features` subcommand. */
export function registerFeatures(program: Command): void {
  program
    .command("features")
    .description("Describe a feature set (the flow set by default)")
    .option("--schema", "print one line per column: name, unit, meaning")
    .option("--json", "print the schema as JSON")
    .option("--set <name>", `feature set: ${Object.keys(SETS).join(", ")}`, FEATURE_SET.name)
    .action((options) => {
      const set = SETS[options.set];
      if (!set) {
        throw new UsageError(
          `unknown feature set '${options.set}' (known: ${Object.keys(SETS).join(", ")})`,
        );
      }
      const flow = set === FEATURE_SET;
      // What a bundle's packet members record and the loader compares (bundle.json featureSet.schemaHash).
      const schemaHash = featureSchemaHash(set.columns.map((c) => c.name));
      if (options.json) {
        console.log(JSON.stringify(
          flow
            ? { ...set, schemaHash, identityColumns: IDENTITY_COLUMNS, extraColumns: EXTRA_COLUMNS }
            : { ...set, schemaHash },
          null,
          2,
        ));
        return;
      }
      console.log(
        `# feature set ${set.name} v${set.version}: ${set.columns.length} model inputs, schema hash ${schemaHash}`,
      );
      set.columns.forEach((c, i) => console.log(`${i}\t${c.name}\t${c.unit}\t${c.description}`));
      if (!flow) return;
      console.log(`# identity columns (printed first, not model inputs)`);
      for (const c of IDENTITY_COLUMNS) console.log(`-\t${c.name}\t${c.unit}\t${c.description}`);
      console.log(`# extra columns (printed last, not model inputs)`);
      for (const c of EXTRA_COLUMNS) console.log(`-\t${c.name}\t${c.unit}\t${c.description}`);
    });
}
