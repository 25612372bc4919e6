/**
 * The packet-level path measured (issue 11): every packet of each capture
 * gets its AfterImage, packet and packet-sequence rows (one extractor per
 * capture, in the flow meter's pass); KitNET (AfterImage), an isolation
 * forest (packet set) and LOF (sequence set) are trained on benign packets
 * only, so every attack type is left out of training. Thresholds: the 99.9th
 * percentile of each model's scores on calibration benign packets (the last
 * fifth of each training capture, never trained on). An alert: a source
 * address with at least `--min-packets` packets above the threshold in a
 * capture (the packet-level analogue of the detector's minimum flows).
 *
 * Training and calibration: the range's benign captures and the development
 * part of the public benign captures. Reported: per lab attack capture, the
 * share of the attacker's packets above threshold and whether the attacker was
 * alerted, plus alerts on its other sources; per public split, benign
 * captures with any alert (held-out never trained or calibrated on).
 *
 *   deno run -A scripts/packet_eval.ts [--public DIR] [--min-packets 20] [--json]
 */
import { Command } from "@commander-js/extra-typings";
import { readCaptureFile } from "../src/capture/mod.ts";
import {
  AFTERIMAGE_FEATURE_SET,
  FlowMeter,
  formatAddress,
  meterFlows,
  PACKET_FEATURE_SET,
  PacketFeatureExtractor,
  SEQUENCE_FEATURE_SET,
} from "../src/features/mod.ts";
import { parseAttackWindows } from "../src/label/mod.ts";
import { fitLof, KitNetScorer, lofScores, trainKitNet } from "../src/packet_models/mod.ts";
import {
  fitRobustScaling,
  isolationScores,
  Random,
  thresholdForFpr,
  trainIsolationForest,
} from "../src/train/mod.ts";
import { PUBLIC_CAPTURES_DIR, readExpectations, splitOf } from "./public_captures.ts";

const options = new Command()
  .name("packet_eval")
  .option("--public <dir>", "public captures folder", PUBLIC_CAPTURES_DIR)
  .option("--min-packets <n>", "packets above threshold from one source for an alert", "20")
  .option("--fpr <f>", "per-packet false-positive rate the thresholds are set to", "0.01")
  .option(
    "--train <what>",
    "benign packets to train and calibrate on: range (the range's benign runs only, as Kitsune is deployed) or range+public (also the public development captures)",
    "range+public",
  )
  .option("--kitnet-epochs <n>", "KitNET passes over the training packets", "5")
  .option("--json", "print JSON")
  .parse(Deno.args, { from: "user" })
  .opts();

const LAB = new URL("../tests/fixtures/", import.meta.url).pathname;
const MIN_PACKETS = Number(options.minPackets);
const FPR = Number(options.fpr);
const SETS = ["afterimage", "packet", "packet-sequence"] as const;
const WIDTHS = [
  AFTERIMAGE_FEATURE_SET.columns.length,
  PACKET_FEATURE_SET.columns.length,
  SEQUENCE_FEATURE_SET.columns.length,
];

/** All rows of one capture: features per set, source address and time per packet. */
interface CaptureRows {
  name: string;
  count: number;
  features: Float32Array[];
  source: string[];
  destination: string[];
  seconds: Float64Array;
}

async function extract(name: string, file: string): Promise<CaptureRows> {
  const chunks: Float32Array[][] = [[], [], []];
  const source: string[] = [], destination: string[] = [], times: number[] = [];
  const extractor = new PacketFeatureExtractor({
    sets: [...SETS],
    onRows: (r) => {
      r.features.forEach((f, k) => chunks[k].push(f.slice(0, r.count * r.widths[k])));
      for (let i = 0; i < r.count; i++) {
        source.push(formatAddress(r.srcAddr.subarray(i * 16, i * 16 + 16), r.ipVersion[i]));
        destination.push(formatAddress(r.dstAddr.subarray(i * 16, i * 16 + 16), r.ipVersion[i]));
        times.push(r.timestampMicros[i] / 1e6);
      }
    },
  });
  const meter = new FlowMeter({ packetObserver: extractor });
  for await (const _ of meterFlows(readCaptureFile(file), {}, meter)) {
    // flows are not used here: the meter's pass feeds the extractor
  }
  extractor.flush();
  const features = chunks.map((list, k) => {
    const out = new Float32Array(source.length * WIDTHS[k]);
    let at = 0;
    for (const c of list) out.set(c, at), at += c.length;
    return out;
  });
  return {
    name,
    count: source.length,
    features,
    source,
    destination,
    seconds: Float64Array.from(times),
  };
}

/** Concatenates row ranges [from, to) of several captures' set `k`. */
function gather(list: { rows: CaptureRows; from: number; to: number }[], k: number) {
  const w = WIDTHS[k];
  const total = list.reduce((n, e) => n + e.to - e.from, 0);
  const x = new Float32Array(total * w);
  let at = 0;
  for (const e of list) {
    x.set(e.rows.features[k].subarray(e.from * w, e.to * w), at * w);
    at += e.to - e.from;
  }
  return { x, rows: total };
}

function sanitize(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) x[i] = 0;
  return x;
}

const log = (m: string) => console.error(`packet_eval: ${m}`);

// Captures: the range's (tests/fixtures/lab*) and the public ones.
const labRuns: { name: string; dir: string }[] = [];
for (const root of ["lab", "lab-wide"]) {
  for await (const e of Deno.readDir(`${LAB}${root}`)) {
    if (e.isDirectory) labRuns.push({ name: `${root}/${e.name}`, dir: `${LAB}${root}/${e.name}` });
  }
}
labRuns.sort((a, b) => a.name.localeCompare(b.name));
const expectations = await readExpectations();
const publicFiles: string[] = [];
try {
  for await (const e of Deno.readDir(options.public)) {
    if (e.isFile && /\.pcap(ng)?$/.test(e.name)) publicFiles.push(e.name);
  }
} catch {
  log(`no public captures at ${options.public}: only the range is measured`);
}
publicFiles.sort();

const lab = new Map<
  string,
  { rows: CaptureRows; windows: ReturnType<typeof parseAttackWindows> }
>();
for (const run of labRuns) {
  const windows = parseAttackWindows(await Deno.readTextFile(`${run.dir}/labels.csv`));
  lab.set(run.name, { rows: await extract(run.name, `${run.dir}/capture.pcap`), windows });
}
const publicRows = new Map<string, CaptureRows>();
for (const file of publicFiles) {
  const kind = expectations.get(file)?.kind ?? "benign";
  if (kind !== "benign") continue;
  publicRows.set(file, await extract(file, `${options.public}/${file}`));
}
log(`extracted ${lab.size} range captures, ${publicRows.size} public benign captures`);

// Training (first 4/5) and calibration (last 1/5) packets: range benign runs, public dev benign.
const training: { rows: CaptureRows; from: number; to: number }[] = [];
const calibration: { rows: CaptureRows; from: number; to: number }[] = [];
const trainingSources: string[] = [];
for (const [name, { rows, windows }] of lab) {
  if (windows.length > 0 || rows.count === 0) continue;
  const cut = Math.floor(rows.count * 0.8);
  training.push({ rows, from: 0, to: cut });
  calibration.push({ rows, from: cut, to: rows.count });
  trainingSources.push(name);
}
for (const [file, rows] of publicRows) {
  if (options.train === "range") break;
  if (splitOf(file) !== "dev" || rows.count < 10) continue;
  const cut = Math.floor(rows.count * 0.8);
  training.push({ rows, from: 0, to: cut });
  calibration.push({ rows, from: cut, to: rows.count });
  trainingSources.push(file);
}

interface Member {
  name: string;
  set: number;
  score(x: Float32Array, rows: number): Float32Array;
  threshold: number;
}

const started = performance.now();
const members: Member[] = [];
{
  const ai = gather(training, 0);
  // Kitsune's grace periods (5,000 + 50,000 packets) assume more benign packets than the range
  // gives: map features on a fifth of them and make several passes.
  const kitnet = new KitNetScorer(
    trainKitNet(sanitize(ai.x), ai.rows, WIDTHS[0], {
      featureMapRows: Math.floor(ai.rows / 5),
      epochs: Number(options.kitnetEpochs),
    }),
  );
  members.push({
    name: "kitnet/afterimage",
    set: 0,
    score: (x, n) => kitnet.scoreRows(x, n),
    threshold: 0,
  });
  const packet = gather(training, 1);
  sanitize(packet.x);
  const scaling = fitRobustScaling(packet.x, packet.rows, WIDTHS[1]);
  const forest = trainIsolationForest(packet.x, packet.rows, WIDTHS[1], scaling, new Random(1));
  members.push({
    name: "iforest/packet",
    set: 1,
    score: (x, n) => isolationScores(forest, x, n),
    threshold: 0,
  });
  const seq = gather(training, 2);
  sanitize(seq.x);
  const seqScaling = fitRobustScaling(seq.x, seq.rows, WIDTHS[2]);
  const order = new Random(2).shuffle(Uint32Array.from({ length: seq.rows }, (_, i) => i));
  const shuffled = new Float32Array(seq.x.length);
  order.forEach((r, i) =>
    shuffled.set(seq.x.subarray(r * WIDTHS[2], (r + 1) * WIDTHS[2]), i * WIDTHS[2])
  );
  const lof = fitLof(shuffled, seq.rows, WIDTHS[2], {
    logColumns: Array.from(seqScaling.logColumns),
    center: Array.from(seqScaling.center),
    scale: Array.from(seqScaling.scale),
  }, { k: 20, referenceRows: 1000 });
  members.push({
    name: "lof/packet-sequence",
    set: 2,
    score: (x, n) => lofScores(lof, x, n),
    threshold: 0,
  });
  log(`trained on ${ai.rows} benign packets from ${training.length} captures`);
}
for (const m of members) {
  const cal = gather(calibration, m.set);
  m.threshold = thresholdForFpr(m.score(sanitize(cal.x), cal.rows), FPR);
}
const trainSeconds = (performance.now() - started) / 1000;

/** Per member: which packets of a capture are above its threshold. */
function flagged(rows: CaptureRows): Uint8Array[] {
  return members.map((m) => {
    const s = m.score(sanitize(rows.features[m.set]), rows.count);
    return Uint8Array.from(s, (v) => (v > m.threshold ? 1 : 0));
  });
}

/** Sources with at least MIN_PACKETS flagged packets. */
function alertedSources(rows: CaptureRows, flags: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < rows.count; i++) {
    if (flags[i]) counts.set(rows.source[i], (counts.get(rows.source[i]) ?? 0) + 1);
  }
  return new Map([...counts].filter(([, n]) => n >= MIN_PACKETS));
}

interface AttackResult {
  capture: string;
  attack: string;
  attacker: string;
  attackPackets: number;
  /** Per member: share of attack packets above threshold, attacker alerted, other sources alerted. */
  members: Record<string, { recall: number; detected: boolean; otherSourcesAlerted: number }>;
}

const attacks: AttackResult[] = [];
const rangeBenign: Record<string, Record<string, number>> = {};
for (const [name, { rows, windows }] of lab) {
  const flags = flagged(rows);
  if (windows.length === 0) {
    rangeBenign[name] = Object.fromEntries(
      members.map((m, k) => [m.name, alertedSources(rows, flags[k]).size]),
    );
    continue;
  }
  const attackers = new Set(windows.map((w) => w.attacker));
  for (const w of windows) {
    const isAttack = (i: number) =>
      (rows.source[i] === w.attacker || rows.destination[i] === w.attacker) &&
      rows.seconds[i] >= w.start && rows.seconds[i] <= w.end;
    const result: AttackResult = {
      capture: name,
      attack: w.attack,
      attacker: w.attacker,
      attackPackets: 0,
      members: {},
    };
    for (let i = 0; i < rows.count; i++) if (isAttack(i)) result.attackPackets++;
    members.forEach((m, k) => {
      let hit = 0;
      for (let i = 0; i < rows.count; i++) if (isAttack(i) && flags[k][i]) hit++;
      const alerted = alertedSources(rows, flags[k]);
      result.members[m.name] = {
        recall: result.attackPackets > 0 ? hit / result.attackPackets : 0,
        detected: alerted.has(w.attacker),
        otherSourcesAlerted: [...alerted.keys()].filter((s) => !attackers.has(s)).length,
      };
    });
    attacks.push(result);
  }
}

const publicSummary: Record<
  string,
  Record<string, { captures: number; alerted: number; packets: number; flaggedPackets: number }>
> = {};
for (const [file, rows] of publicRows) {
  const split = splitOf(file);
  const flags = flagged(rows);
  members.forEach((m, k) => {
    const entry = (publicSummary[split] ??= {})[m.name] ??= {
      captures: 0,
      alerted: 0,
      packets: 0,
      flaggedPackets: 0,
    };
    entry.captures++;
    entry.packets += rows.count;
    entry.flaggedPackets += flags[k].reduce((n, v) => n + v, 0);
    if (alertedSources(rows, flags[k]).size > 0) entry.alerted++;
  });
}

const report = {
  trainingCaptures: trainingSources,
  trainingPackets: training.reduce((n, e) => n + e.to - e.from, 0),
  calibrationPackets: calibration.reduce((n, e) => n + e.to - e.from, 0),
  perPacketFpr: FPR,
  minPacketsPerAlert: MIN_PACKETS,
  trainSeconds: Math.round(trainSeconds * 10) / 10,
  thresholds: Object.fromEntries(members.map((m) => [m.name, m.threshold])),
  attacks,
  rangeBenign,
  public: publicSummary,
};
if (options.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(
    `trained on ${report.trainingPackets} benign packets (${trainingSources.length} captures), thresholds at ${FPR} per-packet FPR on ${report.calibrationPackets} calibration packets; alert = ${MIN_PACKETS}+ flagged packets from one source`,
  );
  const names = members.map((m) => m.name);
  console.log(
    `thresholds: ${names.map((n) => `${n} ${report.thresholds[n].toPrecision(4)}`).join(", ")}`,
  );
  console.log(`| attack (capture) | attack packets | ${names.join(" | ")} |`);
  console.log(`|---|---|${names.map(() => "---").join("|")}|`);
  for (const a of attacks) {
    const cells = names.map((n) => {
      const m = a.members[n];
      return `${(100 * m.recall).toFixed(1)}% ${m.detected ? "alerted" : "missed"}${
        m.otherSourcesAlerted ? `, +${m.otherSourcesAlerted} other` : ""
      }`;
    });
    console.log(`| ${a.attack} (${a.capture}) | ${a.attackPackets} | ${cells.join(" | ")} |`);
  }
  for (const [name, counts] of Object.entries(rangeBenign)) {
    console.log(
      `| benign run ${name} (sources alerted) | - | ${names.map((n) => counts[n]).join(" | ")} |`,
    );
  }
  for (const [split, byMember] of Object.entries(publicSummary)) {
    console.log(
      `| public benign, ${split}: captures alerted (flagged packets) | - | ${
        names.map((n) => {
          const e = byMember[n];
          return `${e.alerted}/${e.captures} (${(100 * e.flaggedPackets / e.packets).toFixed(2)}%)`;
        }).join(" | ")
      } |`,
    );
  }
}
