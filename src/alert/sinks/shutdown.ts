/**
 * Graceful shutdown: on SIGINT or SIGTERM, run `close` once (flush sinks,
 * emit open alerts), then exit. A second signal while closing exits at once.
 */

/** Registers the handlers; returns a function that removes them. */
export function closeOnSignals(
  close: () => Promise<void>,
  options: { exit?: (code: number) => void; onError?: (error: unknown) => void } = {},
): () => void {
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let closing = false;
  const handler = () => {
    if (closing) {
      exit(130);
      return;
    }
    closing = true;
    close().then(
      () => exit(0),
      (error) => {
        (options.onError ?? ((e) => console.error("shutdown:", e)))(error);
        exit(1);
      },
    );
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, handler);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, handler);
  };
}
