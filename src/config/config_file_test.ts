import assert from "node:assert/strict";
import { Command, Option } from "@commander-js/extra-typings";
import { applyConfig, ConfigError, defaultConfigText, optionSpecs, parseConfig } from "./mod.ts";

function commands() {
  const program = new Command().exitOverride();
  const detect = program.command("detect")
    .addOption(
      new Option("--iface <name>", "interface")
        .argParser((v, p: string[] | undefined) => [...(p ?? []), v]),
    )
    .option("--window <seconds>", "aggregation window", "60")
    .option("--quiet", "no console lines")
    .option("--config <file>", "config file")
    .action(() => {});
  const analyze = program.command("analyze")
    .option("--window <seconds>", "aggregation window", "60")
    .option("--model <dir>", "bundle", "models/default")
    .action(() => {});
  return { program, detect, analyze, specs: optionSpecs([detect, analyze]) };
}

Deno.test("keys come from the commands' long options, kinds from their definitions", () => {
  const { specs } = commands();
  assert.deepEqual(
    specs.map((s) => [s.key, s.kind, s.commands.join("+")]),
    [
      ["iface", "list", "detect"],
      ["window", "value", "detect+analyze"],
      ["quiet", "switch", "detect"],
      ["model", "value", "analyze"],
    ],
  );
});

Deno.test("a typo is refused, naming the key, its line and the key meant", async () => {
  const { specs } = commands();
  try {
    await parseConfig("model: m\nwindw: 30\niface: [eth0]\n", "sensor.yaml", specs);
    assert.fail("accepted a typo");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues.map((i) => [i.path, i.line, i.column]), [["windw", 2, 1]]);
    assert.match(error.message, /sensor\.yaml:2:1: windw: unknown key; did you mean "window"\?/);
  }
});

Deno.test("wrong types name the key path and line; YAML syntax errors their line", async () => {
  const { specs } = commands();
  await assert.rejects(
    () =>
      parseConfig("window: 30\nquiet: yes please\niface:\n  - eth0\n  - {a: 1}\n", "c.yaml", specs),
    (error: ConfigError) => {
      assert.deepEqual(error.issues.map((i) => [i.path, i.line]), [["quiet", 2], ["iface[1]", 5]]);
      assert.match(error.message, /c\.yaml:2:8: quiet: expected true or false/);
      return true;
    },
  );
  await assert.rejects(() => parseConfig("window: [1,\n", "bad.yaml", specs), /bad\.yaml:\d+:\d+:/);
  await assert.rejects(() => parseConfig("- a\n- b\n", "list.yaml", specs), /must be a mapping/);
});

Deno.test("JSON works too; flags override the file; keys a command lacks are left alone", async () => {
  const { program, detect, specs } = commands();
  const values = await parseConfig(
    '{"window": 30, "iface": "eth1", "model": "m", "quiet": true}',
    "c.json",
    specs,
  );
  assert.deepEqual(values, { window: "30", iface: ["eth1"], model: "m", quiet: true });
  let seen: Record<string, unknown> = {};
  detect.hook("preAction", (_, action) => {
    applyConfig(action, values, specs);
  }).action((opts) => {
    seen = opts;
  });
  await program.parseAsync(["detect", "--window", "5"], { from: "user" });
  assert.deepEqual(seen, { window: "5", iface: ["eth1"], quiet: true });
});

Deno.test("the printed default file passes the check", async () => {
  const { specs } = commands();
  const text = await defaultConfigText(specs, "ids-sensor configuration");
  assert.match(text, /^window: 60$/m);
  assert.match(text, /^# iface:$/m);
  assert.deepEqual(await parseConfig(text, "default.yaml", specs), {
    window: "60",
    model: "models/default",
  });
});
