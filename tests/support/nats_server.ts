/**
 * A real nats-server (Debian's) with JetStream on a temporary folder and a
 * free loopback port, for the fleet tests and benchmark. Stopping and
 * starting it again keeps the same port and store (what a restart is).
 */
import { toolAvailable } from "./environment.ts";

/** Why fleet tests cannot run here, or null when nats-server is on PATH. */
export function natsServerMissing(): string | null {
  return toolAvailable("nats-server")
    ? null
    : "nats-server not installed (apt-get install nats-server; listed in tools/debian-packages.txt)";
}

/** A nats-server child process. */
export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Kills the server (SIGKILL: no clean shutdown) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Kills it and removes the store. */
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts nats-server -js on 127.0.0.1 (extra arguments: auth, TLS). */
export async function startNatsServer(extra: string[] = []): Promise<NatsServer> {
  const storeDir = await Deno.makeTempDir({ prefix: "fleet-nats-" });
  const port = freePort();
  let child: Deno.ChildProcess | null = null;
  async function start() {
    child = new Deno.Command("nats-server", {
      args: ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(port), ...extra],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 15_000;
    while (true) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  async function kill() {
    const running = child;
    child = null;
    if (!running) return;
    try {
      running.kill("SIGKILL");
    } catch { /* already gone */ }
    await running.status;
  }
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    kill,
    start,
    async stop() {
      await kill();
      await Deno.remove(storeDir, { recursive: true }).catch(() => {});
    },
  };
}
