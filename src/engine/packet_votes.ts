/**
 * Packet- and sequence-level members of a bundle scored in the sensor: the
 * flow meter's pass hands every metered packet to a PacketFeatureExtractor
 * (the sets the members read), each full batch of rows goes to an inference
 * worker of its own set, and a packet scoring above a member's threshold
 * counts for its flow (both directions of the 5-tuple). When the flow's row
 * is decided, a member with at least `minPackets` flagged packets on it
 * votes: a benign verdict becomes unknown, and the vote groups go through
 * the same evidence rule as every model vote (src/evidence/vote_rule.ts), so
 * one flow never raises an unknown alert alone. `alert.voters` names the
 * members that voted.
 */
import { BundleError, type Decisions, VERDICT_BENIGN, VERDICT_UNKNOWN } from "../inference/mod.ts";
import type { InferencePool, LoadedBundle, ModelScores, PacketMember } from "../inference/mod.ts";
import { createInferencePool } from "../inference/mod.ts";
import type { KitNetJson } from "../packet_models/mod.ts";
import {
  type FlowBatch,
  KeyTable,
  type KeyTableStats,
  keyTableStats,
  PacketFeatureExtractor,
  type PacketRows,
  type PacketSetName,
} from "../features/mod.ts";

/** Running totals of the packet members. */
export interface PacketMemberStats {
  /** Packet rows computed (every metered packet). */
  packets: number;
  /** Per member: packets scored, packets above threshold, flows it voted on. */
  members: { name: string; scored: number; flagged: number; flowVotes: number }[];
  /** Flows whose benign verdict the packet members' votes made unknown. */
  flowsMadeUnknown: number;
  /**
   * The packet feature sets' state tables (hosts, channels, sockets) and the flagged-packet
   * counts per flow: entries held, idle ones
   * recycled, live ones evicted at the memcap (a spoofed flood shows here), bytes.
   */
  tables: KeyTableStats;
}

/** Packet rows waiting for scores before the source is read further (backpressure). */
const MAX_PENDING_ROWS = 16 * 4096;

/** Identity words of a packet or flow: protocol, then both ends (address, port) in a fixed order. */
const KEY_WORDS = 1 + 4 + 1 + 4 + 1;

/** One scored set: its members and the worker scoring them. */
interface SetScoring {
  set: PacketSetName;
  /** Indexes into the members list. */
  members: number[];
  pool: InferencePool;
}

/** Packet scoring for one detection run. */
export class PacketVotes {
  /** Plug into FlowMeterOptions.packetObserver. */
  readonly extractor: PacketFeatureExtractor;
  /** Member names, in vote column order. */
  readonly names: string[];
  readonly #members: PacketMember[];
  readonly #sets: SetScoring[];
  readonly #table: KeyTable;
  readonly #stats: Omit<PacketMemberStats, "tables">;
  /** Resolves once every packet batch handed over so far is scored and counted. */
  #scored: Promise<void> = Promise.resolve();
  #pendingRows = 0;
  #wakeReader: (() => void) | null = null;
  #failure: unknown = null;

  private constructor(members: PacketMember[], sets: SetScoring[], windowPackets?: number) {
    this.#members = members;
    this.#sets = sets;
    this.names = members.map((m) => m.name);
    this.#stats = {
      packets: 0,
      members: members.map((m) => ({ name: m.name, scored: 0, flagged: 0, flowVotes: 0 })),
      flowsMadeUnknown: 0,
    };
    // Flagged-packet counts per flow, one column per member; idle flows dropped after 10 minutes.
    this.#table = new KeyTable({
      keyWords: KEY_WORDS,
      stride: members.length,
      idleMicros: 600e6,
    });
    this.extractor = new PacketFeatureExtractor({
      sets: sets.map((s) => s.set),
      windowPackets,
      onRows: (rows) => this.#score(rows),
    });
  }

  /**
   * The bundle's packet members with one inference worker per feature set
   * they read; null when the bundle has none (nothing is computed then).
   */
  static async create(bundle: LoadedBundle): Promise<PacketVotes | null> {
    const members = bundle.json.packetMembers;
    if (members.length === 0) return null;
    const onnx = bundle.packetOnnx ?? [];
    if (onnx.length !== members.length) {
      throw new BundleError(`${onnx.length} ONNX files for ${members.length} packet members`);
    }
    const windows = new Set(members.map((m) => m.windowPackets).filter((w) => w !== undefined));
    if (windows.size > 1) {
      throw new BundleError(
        `packet members use different sequence windows (${
          [...windows].join(", ")
        } packets); the sensor computes one`,
      );
    }
    const byName = new Map<PacketSetName, number[]>();
    members.forEach((m, i) => {
      const set = m.featureSet.name as PacketSetName;
      byName.set(set, [...(byName.get(set) ?? []), i]);
    });
    const sets: SetScoring[] = [];
    try {
      for (const [set, indexes] of byName) {
        const pool = await createInferencePool({
          width: members[indexes[0]].featureSet.width,
          models: indexes.map((i) => {
            const weights = members[i].weights;
            return {
              name: members[i].name,
              role: "anomaly" as const,
              onnx: onnx[i],
              source: `${bundle.dir}/${weights?.file ?? members[i].file}`,
              inputName: members[i].inputName,
              outputName: members[i].outputs.score,
              // KitNET weights beside the graph: scored in typed arrays, 2-10 times faster.
              ...(weights ? { kitnet: kitNetWeights(bundle, i) } : {}),
            };
          }),
        });
        sets.push({ set, members: indexes, pool });
      }
    } catch (error) {
      for (const s of sets) await s.pool.close();
      throw error;
    }
    return new PacketVotes(members, sets, [...windows][0]);
  }

  /** A full (or flushed) batch of packet rows: identities copied, rows sent to each set's worker. */
  #score(rows: PacketRows): void {
    const n = rows.count;
    this.#stats.packets += n;
    // The extractor reuses its batch: keep what the scores will be counted against.
    const identity = {
      time: rows.timestampMicros.slice(0, n),
      src: rows.srcAddr.slice(0, n * 16),
      dst: rows.dstAddr.slice(0, n * 16),
      srcPort: rows.srcPort.slice(0, n),
      dstPort: rows.dstPort.slice(0, n),
      protocol: rows.protocol.slice(0, n),
    };
    const scores = this.#sets.map((s, k) => s.pool.infer(rows.features[k], n));
    this.#pendingRows += n;
    const previous = this.#scored;
    this.#scored = (async () => {
      await previous;
      const results = await Promise.all(scores);
      this.#count(identity, n, results);
      this.#pendingRows -= n;
      this.#wakeReader?.();
    })();
    this.#scored.catch((error) => {
      this.#failure ??= error;
      this.#wakeReader?.();
    });
  }

  /** Counts each packet above a member's threshold for its flow. */
  #count(
    id: {
      time: Float64Array;
      src: Uint8Array;
      dst: Uint8Array;
      srcPort: Uint16Array;
      dstPort: Uint16Array;
      protocol: Uint8Array;
    },
    n: number,
    results: ModelScores[],
  ): void {
    const table = this.#table;
    this.#sets.forEach((s, k) => {
      s.members.forEach((m, column) => {
        const values = results[k].outputs[column].values;
        const threshold = this.#members[m].threshold;
        const stats = this.#stats.members[m];
        stats.scored += n;
        for (let i = 0; i < n; i++) {
          if (!(values[i] > threshold)) continue;
          stats.flagged++;
          flowKey(table.key, id.protocol[i], id.src, id.srcPort[i], id.dst, id.dstPort[i], i);
          const slot = table.find(id.time[i]);
          table.state[slot * table.stride + 1 + m]++;
        }
      });
    });
  }

  /** Waits while too many packet rows are still being scored (call between packet batches). */
  async ready(): Promise<void> {
    while (this.#pendingRows > MAX_PENDING_ROWS && this.#failure === null) {
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
      this.#wakeReader = null;
    }
    if (this.#failure !== null) throw this.#failure;
  }

  /**
   * Sends the extractor's partial batch and returns a promise of every
   * packet metered so far being scored: call when a flow batch leaves the
   * meter, await before deciding it.
   */
  settle(): Promise<void> {
    this.extractor.flush();
    for (const s of this.#sets) s.pool.flush();
    return this.#scored;
  }

  /**
   * The members' votes on each flow of `batch` (row-major `rows * members`,
   * 1 voted): flagged packets since the flow's previous row, at least the
   * member's `minPackets`; consumed. A benign verdict with a vote becomes
   * unknown, its score the anomaly model's (`anomalyScores`, 0 without one)
   * against `anomalyThreshold`, so it never counts as strongly anomalous.
   */
  apply(
    batch: FlowBatch,
    decisions: Decisions,
    anomalyScores: Float32Array | undefined,
    anomalyThreshold: number,
  ): Uint8Array {
    const M = this.#members.length, table = this.#table;
    const votes = new Uint8Array(batch.count * M);
    for (let i = 0; i < batch.count; i++) {
      flowKey(
        table.key,
        batch.protocol[i],
        batch.srcAddr,
        batch.srcPort[i],
        batch.dstAddr,
        batch.dstPort[i],
        i,
      );
      const slot = table.lookup();
      if (slot < 0) continue;
      const at = slot * table.stride + 1;
      let voted = false;
      for (let m = 0; m < M; m++) {
        if (table.state[at + m] >= this.#members[m].minPackets) {
          votes[i * M + m] = 1;
          this.#stats.members[m].flowVotes++;
          voted = true;
        }
        table.state[at + m] = 0;
      }
      if (voted && decisions.verdict[i] === VERDICT_BENIGN) {
        decisions.verdict[i] = VERDICT_UNKNOWN;
        decisions.classIndex[i] = -1;
        if (decisions.nearestClass) decisions.nearestClass[i] = -1;
        decisions.score[i] = anomalyScores ? anomalyScores[i] : 0;
        decisions.threshold[i] = anomalyThreshold;
        this.#stats.flowsMadeUnknown++;
      }
    }
    return votes;
  }

  /** Totals so far. */
  stats(): PacketMemberStats {
    return {
      ...this.#stats,
      members: this.#stats.members.map((m) => ({ ...m })),
      tables: keyTableStats([this.extractor.stats(), keyTableStats([this.#table])]),
    };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (const s of this.#sets) await s.pool.close();
  }
}

/** Packet member `i`'s weights file (loaded, sha-256 checked) as KitNET JSON. */
function kitNetWeights(bundle: LoadedBundle, i: number): KitNetJson {
  const member = bundle.json.packetMembers[i];
  const bytes = bundle.packetWeights?.[i];
  if (!bytes) throw new BundleError(`packet member ${member.name}: its weights were not loaded`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new BundleError(
      `packet member ${member.name}: ${bundle.dir}/${member.weights?.file} is not JSON (${
        (error as Error).message
      })`,
    );
  }
}

/**
 * Fills `key` with a flow's identity, the same for both directions: the
 * protocol, then the lower (address, port) end, then the other.
 */
function flowKey(
  key: Uint32Array,
  protocol: number,
  a: Uint8Array,
  aPort: number,
  b: Uint8Array,
  bPort: number,
  row: number,
): void {
  const at = row * 16;
  let order = 0;
  for (let k = 0; k < 16 && order === 0; k++) order = a[at + k] - b[at + k];
  if (order === 0) order = aPort - bPort;
  key[0] = protocol;
  if (order <= 0) fillEnds(key, a, aPort, b, bPort, at);
  else fillEnds(key, b, bPort, a, aPort, at);
}

function fillEnds(
  key: Uint32Array,
  first: Uint8Array,
  firstPort: number,
  second: Uint8Array,
  secondPort: number,
  at: number,
): void {
  for (let w = 0; w < 4; w++) {
    key[1 + w] = word(first, at + w * 4);
    key[6 + w] = word(second, at + w * 4);
  }
  key[5] = firstPort;
  key[10] = secondPort;
}

function word(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
