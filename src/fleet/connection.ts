/**
 * Connecting to NATS: the URL, credentials (user/password in the URL or a
 * file, a token file, an nkey seed, a `.creds` file) and TLS (a CA, a client
 * certificate). The TCP transport is @nats-io/transport-node, which runs on
 * Deno's node:net; the client reconnects by itself for ever.
 */
import {
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import type { Authenticator, ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

/** How to reach and authenticate to NATS (the CLI's --nats-* options). */
export interface NatsSettings {
  /** `nats://host:4222` or `tls://host:4222` (several: comma separated); may hold user:password@. */
  url: string;
  /** File holding "user:password" (instead of putting them in the URL). */
  userFile?: string;
  /** File holding a token. */
  tokenFile?: string;
  /** File holding an nkey seed (SU...). */
  nkeyFile?: string;
  /** A `.creds` file (JWT + nkey seed, from `nsc`). */
  credsFile?: string;
  /** CA certificate (PEM) to verify the server; implies TLS. */
  tlsCa?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Name shown in the server's connection list. */
  name?: string;
}

/** Turns settings into the client's options (reads the credential files). */
export async function natsConnectionOptions(
  settings: NatsSettings,
): Promise<ConnectionOptions> {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let tlsWanted = false;
  for (const raw of settings.url.split(",").map((s) => s.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`not a NATS URL: "${raw}" (expected nats://host:4222 or tls://host:4222)`);
    }
    if (url.protocol !== "nats:" && url.protocol !== "tls:") {
      throw new Error(`not a NATS URL: "${raw}" (scheme must be nats:// or tls://)`);
    }
    if (url.protocol === "tls:") tlsWanted = true;
    if (url.username) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    }
    // URL keeps an IPv6 host in its brackets ("[::1]").
    servers.push(`${url.hostname}:${url.port || "4222"}`);
  }
  if (servers.length === 0) throw new Error("no NATS server given");
  const authenticators: Authenticator[] = [];
  if (settings.userFile) {
    const text = (await Deno.readTextFile(settings.userFile)).trim();
    const colon = text.indexOf(":");
    if (colon <= 0) throw new Error(`${settings.userFile}: expected "user:password"`);
    user = text.slice(0, colon);
    pass = text.slice(colon + 1);
  }
  if (user !== undefined) authenticators.push(usernamePasswordAuthenticator(user, pass));
  if (settings.tokenFile) {
    const token = (await Deno.readTextFile(settings.tokenFile)).trim();
    if (!token) throw new Error(`${settings.tokenFile} is empty`);
    authenticators.push(tokenAuthenticator(token));
  }
  if (settings.nkeyFile) {
    const seed = (await Deno.readTextFile(settings.nkeyFile)).trim();
    if (!seed.startsWith("SU")) {
      throw new Error(`${settings.nkeyFile}: not a user nkey seed (SU...)`);
    }
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (settings.credsFile) {
    authenticators.push(credsAuthenticator(await Deno.readFile(settings.credsFile)));
  }
  if (authenticators.length > 1) {
    throw new Error("give one kind of NATS credentials (user, token, nkey or creds), not several");
  }
  const tls = settings.tlsCa || settings.tlsCert || tlsWanted
    ? {
      caFile: settings.tlsCa,
      certFile: settings.tlsCert,
      keyFile: settings.tlsKey,
    }
    : undefined;
  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    throw new Error("--nats-tls-cert and --nats-tls-key go together");
  }
  return {
    servers,
    name: settings.name,
    authenticator: authenticators[0],
    tls,
    // A sensor outlives any outage: reconnect for ever, also when the first connect fails.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  };
}

/** Connects (by default waits until the first connection succeeds, retrying for ever). */
export async function connectNats(
  settings: NatsSettings,
  overrides: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  tolerateStraySocketResets();
  return await connect({ ...await natsConnectionOptions(settings), ...overrides });
}

let strayResets = 0;
let strayResetGuard = false;

/**
 * After the server refuses a connection (bad credentials), its socket sometimes reports
 * `read ECONNRESET` once @nats-io/transport-node has already removed its listeners; Deno
 * then takes it for an uncaught error and the whole sensor would exit. The client reconnects
 * by itself, so only that error is absorbed (and counted); any other error still ends the
 * process as before.
 */
function tolerateStraySocketResets(): void {
  if (strayResetGuard) return;
  strayResetGuard = true;
  globalThis.addEventListener("error", (event: ErrorEvent) => {
    const error = event.error as { code?: unknown; message?: unknown } | undefined;
    const reset = error?.code === "ECONNRESET" || /read ECONNRESET/.test(String(error));
    if (!reset) return;
    strayResets++;
    event.preventDefault();
  });
}

/** Stray socket resets absorbed by the guard above (in the fleet's stats messages). */
export function strayNatsSocketResets(): number {
  return strayResets;
}

/** The URL without user:password, for messages. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, "//***@");
}
