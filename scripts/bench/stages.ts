/**
 * One benchmark stage, run in its own process by scripts/bench.ts:
 *   deno run -A scripts/bench/stages.ts STAGE FILE
 * prints one JSON line: packets, seconds, peak RSS and stage-specific figures.
 */
import { readCaptureFile } from "../../src/capture/mod.ts";

/** What one stage run measured. */
export interface StageResult {
  packets: number;
  seconds: number;
  peakRssBytes: number;
  extra: Record<string, number>;
}

/** A benchmark stage: what it runs and how it counts. */
export interface Stage {
  description: string;
  run(file: string): Promise<Omit<StageResult, "seconds" | "peakRssBytes">>;
}

/** The stages, cheapest first; each adds work on top of the previous. */
export const STAGES: Record<string, Stage> = {
  read: {
    description: "capture file -> packet batches",
    async run(file) {
      let packets = 0;
      for await (const batch of readCaptureFile(file)) packets += batch.count;
      return { packets, extra: {} };
    },
  },
};

/** Peak resident set size of this process (VmHWM), in bytes. */
export function peakRssBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const match = status.match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : Deno.memoryUsage().rss;
}

if (import.meta.main) {
  const [name, file] = Deno.args;
  const stage = STAGES[name];
  if (!stage || !file) {
    console.error(`usage: stages.ts (${Object.keys(STAGES).join("|")}) FILE`);
    Deno.exit(2);
  }
  const start = performance.now();
  const result = await stage.run(file);
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ ...result, seconds, peakRssBytes: peakRssBytes() }));
}
