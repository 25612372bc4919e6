/** `--metrics ADDR:PORT`: a small HTTP server with the metrics handler alone. */

/** Parses `ADDR:PORT`, `[v6]:PORT` or `:PORT` (all addresses). */
export function parseListenAddress(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new Error(
      `--metrics must be ADDR:PORT (e.g. 127.0.0.1:9477, [::1]:9477 or :9477), got "${text}"`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** A running metrics server. */
export interface MetricsServer {
  /** The address actually bound (port 0 picks a free one). */
  readonly hostname: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `handler` on `address` until closed. */
export function serveMetrics(
  address: string,
  handler: (request: Request) => Response | Promise<Response>,
): MetricsServer {
  const { hostname, port } = parseListenAddress(address);
  const server = Deno.serve({ hostname, port, onListen() {} }, handler);
  const addr = server.addr as Deno.NetAddr;
  return { hostname: addr.hostname, port: addr.port, close: () => server.shutdown() };
}
