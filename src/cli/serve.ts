/**
 * `ids-sensor serve`: the operator console (dashboard, REST API, live
 * events, uploads) over an alert store, e.g. one a running sensor writes
 * with `detect --db`. The same console runs inside `detect --ui`.
 */
import type { Command } from "@commander-js/extra-typings";
import { DEFAULT_MODEL_DIR } from "../engine/mod.ts";
import { addCollectorOptions, type NatsOptionValues, startCollecting } from "./fleet.ts";
import { checkSqliteFile } from "./files.ts";
import { UsageError } from "./exit.ts";

/** Console options shared by `serve` and `detect --ui`. */
export interface ConsoleCliOptions {
  db: string;
  listen: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  model: string;
  nslModel?: string;
  maxUploadMb: string;
  retainDays?: string;
}

/** Parses `--max-upload-mb` and `--retain-days`. */
export function consoleLimits(options: Pick<ConsoleCliOptions, "maxUploadMb" | "retainDays">): {
  maxUploadBytes: number;
  retainDays?: number;
} {
  const mb = Number(options.maxUploadMb);
  if (!(mb > 0 && mb <= 4096)) {
    throw new UsageError(
      `--max-upload-mb must be a number in (0, 4096], got "${options.maxUploadMb}"`,
    );
  }
  let retainDays: number | undefined;
  if (options.retainDays !== undefined) {
    retainDays = Number(options.retainDays);
    if (!(retainDays > 0)) {
      throw new UsageError(`--retain-days must be a positive number, got "${options.retainDays}"`);
    }
  }
  return { maxUploadBytes: Math.round(mb * 1024 * 1024), retainDays };
}

/** Registers `serve`. */
export function registerServe(program: Command): void {
  const serve = program
    .command("serve")
    .description(
      "Serve the operator console (dashboard, REST API under /api/v1, live events, uploads) " +
        "over an alert store; a sensor may be writing it at the same time",
    )
    .option("--db <file.sqlite>", "the alert store (created if missing)", "ids.sqlite")
    .option("--listen <addr:port>", "address and port to listen on", "127.0.0.1:8080")
    .option("--token-file <file>", "bearer token file (default <db>.token; created, mode 600)")
    .option("--tls-cert <file.pem>", "serve HTTPS with this certificate (needs --tls-key)")
    .option("--tls-key <file.pem>", "private key of --tls-cert")
    .option("--model <dir>", "model bundle for uploads and GET /api/v1/model", DEFAULT_MODEL_DIR)
    .option("--nsl-model <dir>", "bundle trained on NSL-KDD records, for NSL-KDD uploads")
    .option("--max-upload-mb <n>", "largest upload accepted", "256")
    .option("--retain-days <n>", "delete alerts and traffic older than this (checked hourly)");
  addCollectorOptions(serve)
    .action(async (options) => {
      const limits = consoleLimits(options);
      await checkSqliteFile(options.db);
      // The console (hono, the store, upload jobs) is loaded by the commands that serve it.
      const { startConsole } = await import("../server/mod.ts");
      const running = await startConsole({
        dbPath: options.db,
        listen: options.listen,
        tokenFile: options.tokenFile,
        certFile: options.tlsCert,
        keyFile: options.tlsKey,
        modelDir: options.model,
        nslModelDir: options.nslModel,
        ...limits,
      });
      // --nats: every fleet sensor's alerts and stats into the same store (src/fleet).
      const collector = await startCollecting(
        options.db,
        options as typeof options & NatsOptionValues & { nats?: string; natsDurable?: string },
      );
      const stop = () => {
        console.error("ids-sensor serve: stopping");
        running.shutdown();
      };
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      for (const signal of signals) Deno.addSignalListener(signal, stop);
      try {
        await running.finished;
        await running.shutdown();
      } finally {
        await collector?.close();
        for (const signal of signals) Deno.removeSignalListener(signal, stop);
      }
    });
}
