/**
 * Memory before any flow is held (issue 12, edge devices): main.ts's static
 * import graph, the modules every command loads at start, reaches none of
 * the optional subsystems' packages. Each is imported (`import()` of a static
 * string, so `deno compile` still takes it in) where its subsystem starts:
 * the console with --db/--ui or `serve`, NATS with --publish and the fleet
 * commands, e-mail and UDP syslog on a target's first send, YAML with a
 * config file, the trainer (onnx-proto, onnxruntime-web) in train, learn,
 * eval and detect --learn.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url);

/** Packages main.ts must not load at start (prefixes of resolved module paths). */
const OPTIONAL = [
  "hono",
  "@hono/",
  "nodemailer",
  "@nats-io/",
  "yaml",
  "onnx-proto",
  "onnxruntime-web",
];

/** Also kept out: the Node modules only those subsystems use. */
const OPTIONAL_NODE = ["node:dgram", "node:os"];

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

Deno.test("main.ts's static import graph reaches no optional subsystem's package", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", MAIN.pathname],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  // Breadth-first over code (not type-only) dependencies that are not dynamic imports.
  const from = new Map<string, string | null>([[graph.roots[0], null]]);
  const queue = [graph.roots[0]];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const dependency of modules.get(at)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined || dependency.isDynamic || from.has(target)) continue;
      from.set(target, at);
      queue.push(target);
    }
  }
  const chain = (specifier: string) => {
    const steps: string[] = [];
    for (let s: string | null = specifier; s !== null; s = from.get(s) ?? null) {
      steps.push(s.replace(/^file:\/\/\S*?\/(src\/|node_modules\/|main\.ts$)/, "$1"));
    }
    return steps.join(" <- ");
  };
  const optional = (specifier: string) => {
    const inPackage = specifier.match(/\/node_modules\/(.*)$/)?.[1];
    return inPackage !== undefined
      ? OPTIONAL.find((name) => inPackage.startsWith(name.endsWith("/") ? name : `${name}/`))
      : OPTIONAL_NODE.find((name) => name === specifier);
  };
  const loaded = [...from.keys()].filter(optional);
  assert.deepEqual(loaded.map(chain), [], "statically imported at start");
  // Still in the whole graph, dynamic imports included: `deno compile` takes every one in.
  const reachable = new Set(graph.modules.map((m) => m.specifier).map(optional));
  assert.deepEqual(OPTIONAL.filter((name) => !reachable.has(name)), []);
  // The check sees the graph: the packages every command needs are there.
  assert.ok([...from.keys()].some((s) => s.includes("/node_modules/@commander-js/")));
  assert.ok([...from.keys()].some((s) => s.includes("/node_modules/zod/")));
});
