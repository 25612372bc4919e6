/**
 * Ctrl-C and `kill` for live captures: SIGINT and SIGTERM stop the capture
 * (which then drains and ends its iteration) instead of killing the process,
 * so whatever consumes the batches can flush and exit 0.
 */

/**
 * Stops `capture` on SIGINT or SIGTERM. Returns a function that removes the
 * listeners (call it once the capture has ended, or the process stays alive).
 * `onSignal` is told which signal arrived.
 */
export function stopOnSignals(
  capture: { stop(): void },
  onSignal?: (signal: Deno.Signal) => void,
): () => void {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const listeners = signals.map((signal) => {
    const listener = () => {
      onSignal?.(signal);
      capture.stop();
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
}
