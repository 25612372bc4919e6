/**
 * Progress on stderr for long work: a redrawn bar on a terminal, a plain line
 * every few seconds otherwise (logs, CI), nothing when quiet.
 */

/** Reports `done` of `total` for a named stage. */
export type ProgressReporter = (stage: string, done: number, total: number) => void;

const encoder = new TextEncoder();

/** A reporter writing to stderr; `quiet` makes it silent. */
export function stderrProgress(quiet = false): ProgressReporter {
  if (quiet) return () => {};
  const tty = Deno.stderr.isTerminal();
  let lastLine = 0;
  let lastStage = "";
  return (stage, done, total) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    if (tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      const end = done >= total ? "\n" : "";
      Deno.stderr.writeSync(
        encoder.encode(`\r\x1b[K${stage} [${bar}] ${done}/${total}${end}`),
      );
      return;
    }
    const now = Date.now();
    if (stage !== lastStage || done >= total || now - lastLine >= 5000) {
      Deno.stderr.writeSync(encoder.encode(`${stage}: ${done}/${total}\n`));
      lastLine = now;
      lastStage = stage;
    }
  };
}
