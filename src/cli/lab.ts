/** `ids-sensor lab`: run a cyber-range scenario and write capture, labels and manifest. */
import { type Command, Option } from "@commander-js/extra-typings";
import { destroyTopology, runLab, SCENARIOS } from "../lab/mod.ts";
import { exitCodeOf } from "./exit.ts";
import { nonNegativeInteger, positiveInteger, positiveNumber, positiveSeconds } from "./options.ts";

/** Registers the `lab` subcommand. */
export function registerLab(program: Command) {
  program
    .command("lab")
    .description(
      "Run a scenario in the network-namespace range (root): real benign and attack traffic, " +
        "captured on the range's bridge, with a labels file and a manifest",
    )
    .addOption(
      new Option("--scenario <name>", "scenario to run").choices(SCENARIOS.map((s) => s.name))
        .default("mixed"),
    )
    .option("--seconds <n>", "seconds of traffic", positiveSeconds("--seconds"), 60)
    .option(
      "--out <dir>",
      "output directory for capture.pcap, labels.csv, manifest.json",
      "lab-out",
    )
    .option(
      "--seed <n>",
      "seed of every random choice (default: from the clock)",
      nonNegativeInteger("--seed"),
    )
    .option(
      "--intensity <x>",
      "traffic scale (1 = normal, 0.3 = small fixture)",
      positiveNumber("--intensity"),
      1,
    )
    .addOption(
      new Option(
        "--personas <set>",
        "benign clients: office (the bundled model's training world), other or guest (other " +
          "tools, habits and rates, for measuring false alerts on traffic never trained on)",
      ).choices(["office", "other", "guest"] as const).default("office" as const),
    )
    .option("--snaplen <bytes>", "bytes kept per packet", positiveInteger("--snaplen"), 256)
    .option("--no-install", "never apt-get install missing tools; fail listing them")
    .option("--list", "list scenarios and exit")
    .option("--cleanup", "only delete leftovers of a crashed run (namespaces, processes) and exit")
    .action(async (opts) => {
      if (opts.list) {
        for (const s of SCENARIOS) console.log(`${s.name.padEnd(18)} ${s.description}`);
        return;
      }
      if (opts.cleanup) {
        await destroyTopology();
        console.error("[lab] leftovers removed");
        return;
      }
      try {
        const result = await runLab({
          scenario: opts.scenario,
          seconds: opts.seconds,
          outDir: opts.out,
          seed: opts.seed,
          intensity: opts.intensity,
          personas: opts.personas,
          snaplen: Math.floor(opts.snaplen),
          install: opts.install,
        });
        const m = result.manifest;
        console.log(JSON.stringify({
          capture: result.capturePath,
          labels: result.labelsPath,
          manifest: result.manifestPath,
          packets: m.packets.inFile,
          attacks: m.attacks.map((a) =>
            `${a.attack}@${a.attacker} ${(a.end - a.start).toFixed(1)}s`
          ),
        }));
      } catch (error) {
        console.error(`lab: ${error instanceof Error ? error.message : error}`);
        Deno.exit(/interrupted/.test(String(error)) ? 130 : exitCodeOf(error));
      }
    });
}
