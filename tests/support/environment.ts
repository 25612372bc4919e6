/**
 * What the machine running the tests offers: shared data, Debian tools, root.
 * Tests use these to skip, with a printed reason, what cannot run here.
 */
import { fileURLToPath as fromFileUrl } from "node:url";

/** The repository root. */
export const repoRoot = fromFileUrl(new URL("../../", import.meta.url));

/** `../shared/data` beside the repository, or null when absent. */
export function sharedDataDir(): string | null {
  const dir = fromFileUrl(new URL("../../../shared/data/", import.meta.url));
  try {
    return Deno.statSync(dir).isDirectory ? dir : null;
  } catch {
    return null;
  }
}

/** Paths of the shared real captures (pcap and pcapng), sorted; empty when absent. */
export function sharedCaptures(): string[] {
  const data = sharedDataDir();
  if (data === null) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (/\.pcap(ng)?$/.test(entry.name)) found.push(path);
    }
  };
  walk(`${data}pcaps`);
  return found.sort();
}

/** True when `name` runs from PATH. */
export function toolAvailable(name: string): boolean {
  try {
    const result = new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return result.success;
  } catch {
    return false;
  }
}

/** True when running as root (namespaces, live capture). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}
