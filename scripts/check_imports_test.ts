import assert from "node:assert/strict";
import { checkImports, findImports, folderOf, stripComments } from "./check_imports.ts";

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

Deno.test("findImports: static, type-only, multi-line, re-exports, dynamic, workers; not comments", () => {
  const source = [
    "/**",
    ' * import { example } from "../doc/mod.ts";',
    " */",
    'import { a } from "./a.ts";',
    "import type {",
    "  B,",
    '} from "../b/mod.ts";',
    'export * from "./c.ts";',
    '// import { d } from "./d.ts";',
    'const e = await import("./e.ts");',
    'const w = new Worker(new URL("./worker.ts", import.meta.url));',
    'const s = "not an import: from \\"./f.ts\\"";',
    "const r = /\\/\\/ not a comment/; const t = `//${1}`;",
  ].join("\n");
  assert.deepEqual(findImports(source), [
    { specifier: "./a.ts", line: 4 },
    { specifier: "../b/mod.ts", line: 7 },
    { specifier: "./c.ts", line: 8 },
    { specifier: "./e.ts", line: 10 },
    { specifier: "./worker.ts", line: 11 },
  ]);
});

Deno.test("stripComments keeps lines, strings and regular expressions", () => {
  const source = 'a /* x\ny */ b // z\nc = "/* no */"; d = /\\/*/g;';
  const stripped = stripComments(source);
  assert.equal(stripped.split("\n").length, 3);
  assert.ok(stripped.includes('"/* no */"'));
  assert.ok(stripped.includes("/\\/*/g"));
  assert.ok(!stripped.includes("x") && !stripped.includes("z"));
});

Deno.test("folderOf: the first-level folder under src/", () => {
  assert.equal(folderOf("src/alert/sinks/sqlite.ts"), "alert");
  assert.equal(folderOf("src/engine/mod.ts"), "engine");
  assert.equal(folderOf("scripts/bench.ts"), null);
  assert.equal(folderOf("main.ts"), null);
});

Deno.test("a clean layering passes: mod.ts doors, subfolder doors, same-folder files", () => {
  const violations = checkImports(files({
    "src/engine/loop.ts": 'import { x } from "../alert/mod.ts";\nimport { y } from "./z.ts";',
    "src/alert/mod.ts": 'export * from "./sinks/mod.ts";\nimport { d } from "../inference/mod.ts";',
    "src/alert/sinks/mod.ts": 'import { s } from "../schema.ts";',
    "src/inference/runner.ts": 'new Worker(new URL("./worker.ts", import.meta.url));',
    "src/train/x.ts": 'import { g } from "../train/onnx/mod.ts";\n' +
      'const m = new URL("../../models/default", import.meta.url);',
    "src/train/onnx/mod.ts": 'import { r } from "../random.ts";',
    "scripts/bench.ts": 'import { q } from "../src/alert/schema.ts";',
  }));
  assert.deepEqual(violations, []);
});

Deno.test("a cycle between folders is reported with the imports that make it", () => {
  const violations = checkImports(files({
    "src/alert/aggregator.ts": 'import { t } from "../inference/mod.ts";',
    "src/inference/mod.ts": 'export { u } from "./u.ts";',
    "src/inference/u.ts": 'import { r } from "../engine/mod.ts";',
    "src/engine/mod.ts": 'import { a } from "../alert/mod.ts";',
  }));
  assert.equal(violations.length, 1);
  const [v] = violations;
  assert.equal(v.rule, "cycle");
  assert.match(v.message, /alert -> inference \(src\/alert\/aggregator.ts:1\)/);
  assert.match(v.message, /inference -> engine \(src\/inference\/u.ts:1\)/);
  assert.match(v.message, /engine -> alert \(src\/engine\/mod.ts:1\)/);
});

Deno.test("a test may sit above its folder (no cycle), but not bypass a door", () => {
  const violations = checkImports(files({
    "src/engine/mod.ts": 'import { a } from "../inference/mod.ts";',
    "src/inference/bundle_test.ts": 'import { e } from "../engine/mod.ts";\n' +
      'import { x } from "../engine/detector.ts";',
  }));
  assert.deepEqual(violations.map((v) => [v.rule, v.file, v.line]), [
    ["bypasses-mod", "src/inference/bundle_test.ts", 2],
  ]);
});

Deno.test("src/ importing scripts/ or tests/ fails; tests may use tests/support and fixtures", () => {
  const violations = checkImports(files({
    "src/cli/lab.ts": 'import { l } from "../../scripts/lab/mod.ts";',
    "src/alert/x.ts": 'import { h } from "../../tests/support/flow_batches.ts";',
    "src/alert/x_test.ts": 'import { h } from "../../tests/support/flow_batches.ts";\n' +
      'import { f } from "../../tests/fixtures/models/make.ts";\n' +
      'import { s } from "../../scripts/bench.ts";',
  }));
  assert.deepEqual(violations.map((v) => [v.rule, v.file, v.line]), [
    ["src-imports-outside", "src/cli/lab.ts", 1],
    ["src-imports-outside", "src/alert/x.ts", 1],
    ["src-imports-outside", "src/alert/x_test.ts", 3],
  ]);
});
