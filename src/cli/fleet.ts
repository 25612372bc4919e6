/**
 * The fleet on the command line: `detect/analyze --publish nats://...`
 * (with `--sensor-id`, `--publish-flows`, `--remote-scoring`), `serve --nats`,
 * `score-worker`, and the NATS credential and TLS options they share.
 * src/fleet (the NATS client) and src/store are imported only when a fleet
 * option is given: a sensor that does not publish never loads them.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { dirname, join } from "node:path";
import { loadSensorBundle } from "../engine/mod.ts";
import type { FleetCollector, NatsSettings, SensorFleet } from "../fleet/mod.ts";
import { defaultSpoolDir } from "../notify/mod.ts";
import { modelOption, positiveInteger, positiveSeconds } from "./options.ts";
import { UsageError } from "./exit.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/**
 * `--remote-scoring-timeout`'s default, seconds: src/fleet's DEFAULT_REMOTE_FALLBACK_MS
 * (fleet_test.ts checks they agree), written here so that the help needs no NATS client.
 */
export const DEFAULT_REMOTE_SCORING_TIMEOUT_SECONDS = 10;

/** Values of the NATS credential and TLS options. */
export interface NatsOptionValues {
  natsUserFile?: string;
  natsTokenFile?: string;
  natsNkey?: string;
  natsCreds?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
}

/** Values of the publishing options of detect/analyze. */
export interface PublishOptionValues extends NatsOptionValues {
  publish?: string;
  sensorId?: string;
  publishFlows?: true;
  publishInterval: number;
  publishBuffer?: string;
  publishBufferMb: number;
  remoteScoring?: true;
  remoteScoringTimeout: number;
  modelUpdates?: true;
  model: string;
}

/** Adds --nats-user-file, --nats-token-file, --nats-nkey, --nats-creds, --nats-tls-*. */
export function addNatsOptions<C extends AnyCommand>(command: C): C {
  command
    .option("--nats-user-file <file>", 'NATS user and password, as one line "user:password"')
    .option("--nats-token-file <file>", "NATS token")
    .option("--nats-nkey <file>", "NATS nkey seed file (SU...)")
    .option("--nats-creds <file>", "NATS credentials file (JWT and nkey seed, from nsc)")
    .option("--nats-tls-ca <file.pem>", "CA that signed the NATS server's certificate (TLS)")
    .option("--nats-tls-cert <file.pem>", "client certificate for NATS (mutual TLS)")
    .option("--nats-tls-key <file.pem>", "private key of --nats-tls-cert");
  return command;
}

/** Adds --publish, --sensor-id, --publish-flows, --publish-interval, --publish-buffer(-mb), --remote-scoring. */
export function addPublishOptions<C extends AnyCommand>(command: C): C {
  command
    .option(
      "--publish <url>",
      "publish alerts and stats to NATS JetStream (nats://host:4222, tls://...) as ids.<sensor>.*",
    )
    .option("--sensor-id <id>", "this sensor's name on NATS (default: the host name)")
    .option("--publish-flows", "also publish every flow's feature row on ids.<sensor>.flows")
    .addOption(
      new Option("--publish-interval <seconds>", "seconds between stats messages")
        .argParser(positiveSeconds("--publish-interval")).default(10),
    )
    .option(
      "--publish-buffer <dir>",
      "where messages wait while NATS is unreachable (default: beside the notification spool, " +
        "fleet/<sensor-id>)",
    )
    .addOption(
      new Option("--publish-buffer-mb <n>", "most megabytes the buffer keeps (oldest dropped)")
        .argParser(positiveInteger("--publish-buffer-mb")).default(256),
    )
    .option(
      "--remote-scoring",
      "score flows on the fleet's score workers (ids-sensor score-worker) instead of here",
    )
    .addOption(
      new Option(
        "--remote-scoring-timeout <seconds>",
        "with --remote-scoring: how long a batch waits for a score worker before it is scored " +
          "here (counted in the stats as remote_scoring_local_rows)",
      ).argParser(positiveSeconds("--remote-scoring-timeout")).default(
        DEFAULT_REMOTE_SCORING_TIMEOUT_SECONDS,
      ),
    )
    .option(
      "--model-updates",
      "follow the fleet's model bundle (ids-sensor publish-model): each new one is validated, " +
        "then swapped in; a bad one is refused and reported in the stats",
    );
  return addNatsOptions(command);
}

/** The NATS settings of a command's options. */
export function natsSettings(url: string, options: NatsOptionValues): NatsSettings {
  return {
    url,
    userFile: options.natsUserFile,
    tokenFile: options.natsTokenFile,
    nkeyFile: options.natsNkey,
    credsFile: options.natsCreds,
    tlsCa: options.natsTlsCa,
    tlsCert: options.natsTlsCert,
    tlsKey: options.natsTlsKey,
  };
}

/** Starts publishing for detect/analyze when `--publish` is given; null otherwise. */
export async function startPublishing(options: PublishOptionValues): Promise<SensorFleet | null> {
  if (!options.publish) {
    if (options.remoteScoring || options.publishFlows || options.modelUpdates) {
      throw new UsageError(
        "--remote-scoring, --publish-flows and --model-updates need --publish nats://...",
      );
    }
    return null;
  }
  const { defaultSensorId, sensorIdFrom, startSensorFleet } = await import("../fleet/mod.ts");
  let sensor: string;
  try {
    sensor = options.sensorId ? sensorIdFrom(options.sensorId) : defaultSensorId();
  } catch (error) {
    throw new UsageError(`--sensor-id: ${(error as Error).message}`);
  }
  const bufferDir = options.publishBuffer ?? join(dirname(defaultSpoolDir()), "fleet", sensor);
  try {
    return await startSensorFleet({
      nats: natsSettings(options.publish, options),
      sensor,
      bufferDir,
      maxBufferBytes: options.publishBufferMb * 1024 * 1024,
      statsIntervalSeconds: options.publishInterval,
      publishFlows: Boolean(options.publishFlows),
      remoteScoring: Boolean(options.remoteScoring),
      remoteFallbackSeconds: options.remoteScoringTimeout,
      modelUpdates: Boolean(options.modelUpdates),
      model: options.model,
    });
  } catch (error) {
    if (error instanceof Error && /NATS URL|credentials|nkey|--nats|empty/.test(error.message)) {
      throw new UsageError(error.message);
    }
    throw error;
  }
}

/** Adds `--nats`, `--nats-durable` and the credential options to `serve`. */
export function addCollectorOptions<C extends AnyCommand>(command: C): C {
  command
    .option(
      "--nats <url>",
      "collect every fleet sensor's alerts and stats from NATS JetStream into --db",
    )
    .option(
      "--nats-durable <name>",
      "durable consumer name (one per console store)",
      "ids-console",
    );
  return addNatsOptions(command);
}

/** Starts the collector for `serve --nats`; null without --nats. */
export async function startCollecting(
  dbPath: string,
  options: NatsOptionValues & { nats?: string; natsDurable?: string },
): Promise<FleetCollector | null> {
  if (!options.nats) return null;
  const [{ startFleetCollector }, { openStore }] = await Promise.all([
    import("../fleet/mod.ts"),
    import("../store/mod.ts"),
  ]);
  const store = openStore(dbPath);
  const collector = startFleetCollector({
    nats: natsSettings(options.nats, options),
    store,
    durable: options.natsDurable,
  });
  return {
    stats: () => collector.stats(),
    async close() {
      await collector.close();
      store.close();
    },
  };
}

/** Registers `score-worker`. */
export function registerScoreWorker(program: Command): void {
  const command = program
    .command("score-worker")
    .description(
      "Score flow rows for fleet sensors running with --remote-scoring (joins a NATS queue group)",
    )
    .requiredOption("--nats <url>", "NATS server (nats://host:4222 or tls://...)")
    .addOption(modelOption())
    .addOption(
      new Option("--threads <n>", "inference threads in this process")
        .argParser(positiveInteger("--threads")).default(1),
    );
  addNatsOptions(command).action(async (options) => {
    const bundle = await loadSensorBundle(options.model);
    const { startScoreWorker } = await import("../fleet/mod.ts");
    const worker = await startScoreWorker({
      nats: natsSettings(options.nats, options as NatsOptionValues),
      bundle,
      threads: options.threads,
    });
    await new Promise<void>((resolve) => {
      const stop = () => {
        for (const signal of signals) Deno.removeSignalListener(signal, stop);
        resolve();
      };
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      for (const signal of signals) Deno.addSignalListener(signal, stop);
    });
    await worker.close();
    const s = worker.stats();
    console.error(
      `score-worker: ${s.requests} requests, ${s.rows} rows scored, ${s.refused} refused`,
    );
  });
}

/** Registers `publish-model`. */
export function registerPublishModel(program: Command): void {
  const command = program
    .command("publish-model")
    .description(
      "Publish a model bundle to the fleet (files into the JetStream object store ids-models, " +
        "announced in KV ids-fleet key model); sensors running with --model-updates fetch it, " +
        "check its digests, validate it and swap it in",
    )
    .argument("<dir>", "model bundle folder (checked here first)")
    .requiredOption("--nats <url>", "NATS server (nats://host:4222 or tls://...)")
    .option("--name <name>", "name the sensors report (default: the folder name)");
  addNatsOptions(command).action(async (dir, options) => {
    // The same check a sensor makes, so a bad bundle is refused before it reaches the fleet.
    await loadSensorBundle(dir);
    const { packModelBundle, publishModelBundle } = await import("../fleet/mod.ts");
    const bundle = await packModelBundle(dir, options.name);
    const sent = await publishModelBundle(
      natsSettings(options.nats, options as NatsOptionValues),
      bundle,
    );
    const { name, sha256, files } = bundle.manifest;
    console.error(
      `publish-model: ${name} (sha256 ${sha256.slice(0, 16)}..., ${files.length} files, ` +
        `${sent.bytes} bytes in ${sent.chunks} chunks) announced as revision ${sent.revision}`,
    );
  });
}
