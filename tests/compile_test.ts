/**
 * `deno task compile`, proven as far as this machine allows. A compiled
 * binary can read only what the task's `--include` list embeds (besides the
 * module graph), so the sensor is run under `deno run` with read access to
 * exactly that list: the bundled capture is analysed, and the console serves
 * its dashboard files. Where `denort` (the runtime `deno compile` downloads,
 * or the file DENORT_BIN names) can be had, the task's binary is built and
 * analyses the bundled capture like the checkout; elsewhere that step says
 * why it skips.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { assertConsoleServes } from "./support/console_server.ts";
import { repoRoot } from "./support/environment.ts";

const decoder = new TextDecoder();
const main = `${repoRoot}main.ts`;

/** The compile task's arguments after `deno`, and its --include paths. */
function compileTask(): { args: string[]; includes: string[] } {
  const config = JSON.parse(Deno.readTextFileSync(`${repoRoot}deno.json`));
  const words = String(config.tasks.compile).trim().split(/\s+/);
  assert.equal(words[0], "deno", "the compile task runs deno compile");
  const args = words.slice(1);
  const includes = args.flatMap((word, i) => word === "--include" ? [args[i + 1]] : []);
  return { args, includes };
}

async function run(args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(args[0], {
    args: args.slice(1),
    stdout: "piped",
    stderr: "piped",
    ...options,
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * The project's own modules that an included module imports: `deno compile` embeds the module
 * graph of every `--include`d module (the workers' entry points), so reading those is allowed.
 */
function includedModuleGraphs(includes: string[]): string[] {
  const files = new Set<string>();
  for (const path of includes.filter((p) => /\.m?ts$/.test(p))) {
    const info = new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", `${repoRoot}${path}`],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.ok(info.success, decoder.decode(info.stderr));
    const graph = JSON.parse(decoder.decode(info.stdout)) as { modules: { specifier: string }[] };
    for (const { specifier } of graph.modules) {
      if (!specifier.startsWith("file:")) continue;
      const file = new URL(specifier).pathname;
      if (file.startsWith(repoRoot) && !file.includes("/node_modules/")) files.add(file);
    }
  }
  return [...files];
}

/** `deno run` with read access to the embedded files (and `extraRead`) only. */
function embeddedOnly(extraRead: string[] = []): string[] {
  const { includes } = compileTask();
  const read = [
    ...includes.map((path) => `${repoRoot}${path}`),
    ...includedModuleGraphs(includes),
    ...extraRead,
  ];
  return [
    Deno.execPath(),
    "run",
    "--no-prompt",
    `--allow-read=${read.join(",")}`,
    ...extraRead.map((path) => `--allow-write=${path}`),
    "--allow-env",
    "--allow-sys",
    "--allow-net=127.0.0.1",
    main,
  ];
}

let checkoutStdout: string | undefined;
/** The bundled capture's alert lines as the checkout prints them. */
async function checkoutAlerts(): Promise<string> {
  if (checkoutStdout === undefined) {
    const result = await run([Deno.execPath(), "run", "-A", main, "analyze"]);
    assert.equal(result.code, 0, result.stderr);
    checkoutStdout = result.stdout;
  }
  return checkoutStdout;
}

Deno.test("compile: the workers, the WASM and the models analyse from the embedded files alone", async () => {
  const { includes } = compileTask();
  for (const path of includes) Deno.statSync(`${repoRoot}${path}`); // each one exists
  const result = await run([...embeddedOnly(), "analyze"]);
  assert.equal(result.code, 0, `a file outside the --include list was read:\n${result.stderr}`);
  assert.equal(result.stdout, await checkoutAlerts());
});

Deno.test({
  name: "compile: the console serves its dashboard from the embedded files alone",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ids-compile-serve-" });
    try {
      // Besides the embedded files: the store's folder and the temporary folder (uploads).
      await assertConsoleServes(`${dir}/ids.sqlite`, embeddedOnly([dir, tmpdir()]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "compile: deno task compile builds a binary that analyses the bundled capture",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "ids-compile-" });
    try {
      const { args } = compileTask();
      const binary = `${dir}/ids-sensor`;
      const output = args.indexOf("--output");
      assert.ok(output > 0, "the compile task names its --output");
      // The task's own arguments, with the binary written here; type checking is
      // `deno task check`'s job, so it is skipped to keep this test short.
      const compileArgs = [
        "compile",
        "--no-check",
        ...args.slice(1, output),
        "--output",
        binary,
        ...args.slice(output + 2),
      ];
      const built = await run([Deno.execPath(), ...compileArgs], {
        cwd: repoRoot,
        env: { NO_COLOR: "1" },
      });
      const noRuntime = built.code !== 0 &&
        /denort|dl\.deno\.land|error sending request|dns error/i.test(built.stderr);
      if (noRuntime) {
        const lines = built.stderr.split("\n");
        const cause = lines.find((line) => /error sending request|dns error/i.test(line)) ??
          lines.find((line) => /error/i.test(line)) ?? "";
        console.warn(
          "compile_test: the binary is not built: deno compile could not get its runtime " +
            `(denort): ${cause.trim()}. ` +
            "Set DENORT_BIN to a denort of this Deno version to build it here.",
        );
      } else {
        assert.equal(built.code, 0, built.stderr);
      }
      await t.step({
        name: "the binary analyses the bundled capture like the checkout",
        ignore: noRuntime,
        fn: async () => {
          const result = await run([binary, "analyze"], { cwd: dir });
          assert.equal(result.code, 0, result.stderr);
          assert.equal(result.stdout, await checkoutAlerts());
        },
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
