/**
 * Checks the layering of src/ (run by `deno task check`):
 *
 * 1. no import cycle between folders (a folder is a first-level folder of
 *    src/, its subfolders included), so every folder sits above the ones it
 *    imports;
 * 2. src/ never imports scripts/ or tests/ (a test beside its module may use
 *    tests/support and tests/fixtures, the shared test data);
 * 3. an import from one folder into another goes through a `mod.ts`, the
 *    folder's (or a subfolder's) only door.
 *
 * Tests beside their modules follow rules 2 and 3 but not 1: a test may use
 * a folder above the one it tests (a trained model, the engine).
 *
 *   deno run --allow-read scripts/check_imports.ts [ROOT]   # exit 1 on any violation
 */
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

/** One import found in a file. */
export interface ImportSite {
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
}

/** A rule broken, with where. */
export interface Violation {
  rule: "cycle" | "src-imports-outside" | "bypasses-mod";
  file: string;
  line: number;
  message: string;
}

/**
 * Replaces comments with spaces (keeping line breaks) so that examples in
 * JSDoc are not taken for imports; strings, template literals and regular
 * expression literals are kept as they are.
 */
export function stripComments(source: string): string {
  const out = source.split("");
  let i = 0;
  let lastSignificant = "";
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      i = skipString(source, i);
      lastSignificant = c;
    } else if (
      c === "/" && (lastSignificant === "" || "(,=:[!&|?{};+-*%<>~^".includes(lastSignificant))
    ) {
      i = skipRegex(source, i);
      lastSignificant = "/";
    } else {
      if (!/\s/.test(c)) lastSignificant = c;
      i++;
    }
  }
  return out.join("");
}

function skipString(source: string, start: number): number {
  const quote = source[start];
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === quote) return i + 1;
    else if (quote !== "`" && c === "\n") return i;
    else i++;
  }
  return i;
}

function skipRegex(source: string, start: number): number {
  let i = start + 1;
  let inClass = false;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") i += 2;
    else if (c === "\n") return i;
    else if (c === "[") (inClass = true, i++);
    else if (c === "]") (inClass = false, i++);
    else if (c === "/" && !inClass) return i + 1;
    else i++;
  }
  return i;
}

const IMPORT_PATTERNS = [
  // import x from "s"; export { x } from "s"; import type { X } from "s" (across lines)
  /\b(?:import|export)\s[^;'"`]*?\bfrom\s*(["'])([^"']+)\1/g,
  // import "s";
  /\bimport\s*(["'])([^"']+)\1/g,
  // import("s")
  /\bimport\s*\(\s*(["'])([^"']+)\1\s*\)/g,
  // new URL("s", import.meta.url): workers and files loaded at run time
  /\bnew\s+URL\(\s*(["'])([^"']+)\1\s*,\s*import\.meta\.url/g,
];

/** The imports of a TypeScript source (comments ignored). */
export function findImports(source: string): ImportSite[] {
  const code = stripComments(source);
  const found = new Map<number, ImportSite>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of code.matchAll(pattern)) {
      const at = m.index! + m[0].lastIndexOf(m[2]);
      if (found.has(at)) continue;
      const line = code.slice(0, at).split("\n").length;
      found.set(at, { specifier: m[2], line });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, site]) => site);
}

/** `src/alert/sinks/x.ts` -> `alert`; null outside src/. */
export function folderOf(path: string): string | null {
  const parts = path.split("/");
  return parts[0] === "src" && parts.length >= 3 ? parts[1] : null;
}

const isTest = (path: string) => /_test\.ts$/.test(path);

/**
 * Checks `files` (repository-relative path -> source; only src/ files are
 * checked, the others are known paths) and returns every violation.
 */
export function checkImports(files: Map<string, string>): Violation[] {
  const violations: Violation[] = [];
  // folder -> folder -> first import making the edge (product code only)
  const edges = new Map<string, Map<string, { file: string; line: number }>>();
  for (const [file, source] of files) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const site of findImports(source)) {
      if (!site.specifier.startsWith(".")) continue;
      const target = normalize(join(dirname(file), site.specifier));
      if (!target.endsWith(".ts")) continue; // data files loaded at run time
      if (target.startsWith("scripts/") || target.startsWith("tests/")) {
        const sharedTestData = isTest(file) &&
          (target.startsWith("tests/support/") || target.startsWith("tests/fixtures/"));
        if (!sharedTestData) {
          violations.push({
            rule: "src-imports-outside",
            file,
            line: site.line,
            message: `src/ imports ${target}: product code may not depend on ${
              target.split("/")[0]
            }/`,
          });
        }
        continue;
      }
      const to = folderOf(target);
      if (to === null || to === from) continue;
      if (!target.endsWith("/mod.ts")) {
        violations.push({
          rule: "bypasses-mod",
          file,
          line: site.line,
          message: `imports ${target} past src/${to}/mod.ts (the folder's only door)`,
        });
      }
      if (isTest(file)) continue;
      const out = edges.get(from) ?? new Map();
      if (!out.has(to)) out.set(to, { file, line: site.line });
      edges.set(from, out);
    }
  }
  for (const cycle of folderCycles(edges)) {
    const steps = cycle.map((folder, k) => {
      const next = cycle[(k + 1) % cycle.length];
      const at = edges.get(folder)!.get(next)!;
      return `${folder} -> ${next} (${at.file}:${at.line})`;
    });
    const first = edges.get(cycle[0])!.get(cycle[1 % cycle.length])!;
    violations.push({
      rule: "cycle",
      file: first.file,
      line: first.line,
      message: `import cycle between folders: ${steps.join(", ")}`,
    });
  }
  return violations;
}

/** One cycle per strongly connected component of two or more folders (Tarjan). */
function folderCycles(
  edges: Map<string, Map<string, unknown>>,
): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  // Within a component, walk edges from its first folder back to it: one concrete cycle.
  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0];
    const path = [start];
    const seen = new Set([start]);
    const walk = (v: string): boolean => {
      for (const w of edges.get(v)?.keys() ?? []) {
        if (!members.has(w)) continue;
        if (w === start) return true;
        if (seen.has(w)) continue;
        seen.add(w);
        path.push(w);
        if (walk(w)) return true;
        path.pop();
      }
      return false;
    };
    walk(start);
    return path;
  });
}

/** Every .ts file under `dir` (repository-relative to `root`). */
async function listTypeScript(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(root, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listTypeScript(root, path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? fileURLToPath(new URL("..", import.meta.url));
  const files = new Map<string, string>();
  for (const path of await listTypeScript(root, "src")) {
    files.set(path, await Deno.readTextFile(join(root, path)));
  }
  const violations = checkImports(files);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.rule}: ${v.message}`);
  if (violations.length > 0) {
    console.error(`check_imports: ${violations.length} violation(s) in ${files.size} files`);
    Deno.exit(1);
  }
  console.error(`check_imports: ${files.size} files under src/, layering holds`);
}
