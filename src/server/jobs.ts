/**
 * Offline analysis jobs for the console: an uploaded capture runs through the
 * sensor's own engine (`runDetection`, as `ids-sensor analyze` does) with its
 * alerts stored under the tag `upload:<job id>`; an uploaded CSV of CIC flows
 * or NSL-KDD records is scored through the same inference path as `eval`.
 * Jobs run one at a time from a bounded queue; a failing job records its
 * error and the server carries on. Uploaded bytes are written under a name
 * the server makes up (never the client's file name) and deleted afterwards.
 */
import { join } from "node:path";
import { createSqliteSink } from "../alert/mod.ts";
import { createCaptureFileStats, readCaptureFile } from "../capture/mod.ts";
import { loadSensorBundle, runDetection } from "../engine/mod.ts";
import { scoreRows } from "../eval/mod.ts";
import { PacketRing } from "../forensics/mod.ts";
import { loadBundle, type LoadedBundle } from "../inference/mod.ts";
import { loadCicCsv, loadNslKdd, NSL_KDD_CATEGORIES } from "../train/mod.ts";
import type { AlertStore } from "../store/mod.ts";
import { NSL_KDD_FIELDS } from "./nsl_kdd_fields.ts";

/** What a job does. */
export type JobKind = "analyze" | "predict";
/** Where a job is. */
export type JobState = "queued" | "running" | "done" | "failed";

/** One predicted row. */
export interface Prediction {
  row: number;
  verdict: "benign" | "known" | "unknown";
  class: string;
  score: number;
  threshold: number;
  /** The row's own label, when the file has one. */
  label?: string;
}

/**
 * A predict job's results, kept as typed arrays (a few bytes per row, not an
 * object per row); rows become objects only when a page is asked for.
 */
export class PredictionTable {
  constructor(
    readonly rows: number,
    /** Per row: index into `classNames` of the predicted class. */
    readonly classIndex: Uint16Array,
    readonly verdict: Uint8Array,
    readonly score: Float32Array,
    readonly threshold: Float32Array,
    /** Per row: index into `labelNames`, or -1 when the row has no label. */
    readonly labelIndex: Int32Array,
    readonly classNames: string[],
    readonly labelNames: string[],
  ) {}

  /** Row `i` (0-based) as the API shows it. */
  at(i: number): Prediction {
    const label = this.labelIndex[i];
    return {
      row: i + 1,
      verdict: (["benign", "known", "unknown"] as const)[this.verdict[i]],
      class: this.classNames[this.classIndex[i]],
      score: this.score[i],
      threshold: this.threshold[i],
      ...(label >= 0 ? { label: this.labelNames[label] } : {}),
    };
  }

  /** Rows `from` to `to` (exclusive). */
  slice(from: number, to: number): Prediction[] {
    const out: Prediction[] = [];
    for (let i = from; i < Math.min(to, this.rows); i++) out.push(this.at(i));
    return out;
  }
}

/** A job as the API shows it. */
export interface Job {
  id: string;
  kind: JobKind;
  state: JobState;
  /** The uploaded file's name, as the client gave it (display only). */
  file_name: string;
  bytes: number;
  format?: "cic" | "nsl-kdd";
  created_at: string;
  started_at?: string;
  finished_at?: string;
  error?: string;
  /** Notes that did not stop the job (a truncated capture, rows skipped, ...). */
  warnings: string[];
  /** analyze: the alerts' tag in the store ("upload:<id>"). */
  source?: string;
  /** analyze: counts of the run. */
  summary?: Record<string, number>;
  /** predict: rows per predicted class. */
  class_counts?: Record<string, number>;
}

/** Options of the job runner. */
export interface JobRunnerOptions {
  /** The store the analyze jobs write into. */
  dbPath: string;
  /** Folder for uploads in progress. */
  uploadDir: string;
  /** Sensor model bundle (analyze, predict cic). */
  modelDir: string;
  /** Bundle trained on NSL-KDD records (predict nsl-kdd); none: such uploads are refused. */
  nslModelDir?: string;
  /** Jobs waiting at most (default 8); more are refused with 429. */
  maxQueued?: number;
  /** Finished jobs remembered (default 100). */
  maxKept?: number;
  /** Where job records are kept across restarts (the console's store). */
  store?: AlertStore;
}

/** A client mistake in an upload: answered 400/415/429 with this message. */
export class UploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "UploadError";
  }
}

/** First bytes of the capture formats the reader takes. */
export function captureFormatOf(head: Uint8Array): "pcap" | "pcapng" | null {
  if (head.length < 4) return null;
  const magic = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) return "pcap";
  if (magic === 0x0a0d0d0a) return "pcapng";
  return null;
}

/** Runs upload jobs. */
export class JobRunner {
  readonly #options: JobRunnerOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #predictions = new Map<string, PredictionTable>();
  readonly #queue: { job: Job; path: string }[] = [];
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #bundles = new Map<string, Promise<LoadedBundle>>();

  constructor(options: JobRunnerOptions) {
    this.#options = options;
    // Jobs of an earlier run of the server: finished ones as they were; one
    // cut off by the stop is failed (its upload is gone with the old temp folder).
    for (const saved of options.store?.loadJobs(options.maxKept ?? 100) ?? []) {
      const job = saved as Job;
      if (job.state === "queued" || job.state === "running") {
        job.state = "failed";
        job.error = "the server stopped before this job finished; upload the file again";
        this.#save(job);
      } else if (job.kind === "predict" && job.state === "done") {
        job.warnings = [
          ...job.warnings.filter((w) => !w.startsWith("predictions are kept in memory")),
          "predictions are kept in memory only: this job's went with a restart of the server",
        ];
      }
      this.#jobs.set(job.id, job);
    }
  }

  #save(job: Job): void {
    try {
      this.#options.store?.saveJob(job.id, job.created_at, job);
    } catch (error) {
      // The job goes on; only its record after a restart is at stake.
      job.warnings.push(`job record not saved: ${(error as Error).message}`);
    }
  }

  /** A job, or undefined. */
  get(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  /** Every job, newest first. */
  list(): Job[] {
    return [...this.#jobs.values()].reverse();
  }

  /** A predict job's rows, or undefined. */
  predictions(id: string): PredictionTable | undefined {
    return this.#predictions.get(id);
  }

  /** Counts of jobs by state (status events). */
  counts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const job of this.#jobs.values()) counts[job.state]++;
    return counts;
  }

  /** Resolves when the queue is empty and nothing runs (tests, shutdown). */
  idle(): Promise<void> {
    return this.#idle;
  }

  /** Queues an uploaded capture; refuses anything that is not pcap or pcapng. */
  async submitCapture(file: File): Promise<Job> {
    const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
    if (file.size === 0) throw new UploadError(400, "the uploaded file is empty");
    if (!captureFormatOf(head)) {
      throw new UploadError(
        415,
        `${safeName(file.name)} is not a pcap or pcapng capture (first bytes ${
          [...head].map((b) => b.toString(16).padStart(2, "0")).join(" ")
        })`,
      );
    }
    return await this.#enqueue("analyze", file);
  }

  /** Queues an uploaded CSV for prediction. */
  async submitCsv(file: File, format: "cic" | "nsl-kdd"): Promise<Job> {
    if (file.size === 0) throw new UploadError(400, "the uploaded file is empty");
    if (format === "nsl-kdd" && !this.#options.nslModelDir) {
      throw new UploadError(
        400,
        "this console has no NSL-KDD model: start it with --nsl-model DIR " +
          "(a bundle trained with `ids-sensor train --format nsl-kdd`)",
      );
    }
    const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
    if (head.includes(0)) {
      throw new UploadError(
        415,
        `${safeName(file.name)} is not a text CSV file (it holds NUL bytes)`,
      );
    }
    return await this.#enqueue("predict", file, format);
  }

  async #enqueue(kind: JobKind, file: File, format?: "cic" | "nsl-kdd"): Promise<Job> {
    if (this.#queue.length >= (this.#options.maxQueued ?? 8)) {
      throw new UploadError(429, "too many jobs waiting; try again when one has finished");
    }
    const id = crypto.randomUUID();
    // The server's own name: the client's file name never reaches the file system.
    const path = join(this.#options.uploadDir, `${id}.upload`);
    await Deno.writeFile(path, file.stream(), { mode: 0o600 });
    const job: Job = {
      id,
      kind,
      state: "queued",
      file_name: safeName(file.name),
      bytes: file.size,
      format,
      created_at: new Date().toISOString(),
      warnings: [],
      source: kind === "analyze" ? `upload:${id}` : undefined,
    };
    this.#jobs.set(id, job);
    this.#save(job);
    this.#forgetOld();
    this.#queue.push({ job, path });
    if (!this.#running) this.#idle = this.#drain();
    return job;
  }

  #forgetOld(): void {
    const keep = this.#options.maxKept ?? 100;
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= keep) break;
      if (job.state === "done" || job.state === "failed") {
        this.#jobs.delete(id);
        this.#predictions.delete(id);
      }
    }
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const { job, path } = this.#queue.shift()!;
        job.state = "running";
        job.started_at = new Date().toISOString();
        this.#save(job);
        try {
          if (job.kind === "analyze") await this.#analyze(job, path);
          else await this.#predict(job, path);
          job.state = "done";
        } catch (error) {
          job.state = "failed";
          job.error = error instanceof Error ? error.message : String(error);
        } finally {
          job.finished_at = new Date().toISOString();
          this.#save(job);
          await Deno.remove(path).catch(() => {});
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #bundle(dir: string, sensor: boolean): Promise<LoadedBundle> {
    let bundle = this.#bundles.get(dir);
    if (!bundle) {
      bundle = sensor ? loadSensorBundle(dir) : loadBundle(dir);
      // A failed load is retried by the next job rather than cached.
      bundle.catch(() => this.#bundles.delete(dir));
      this.#bundles.set(dir, bundle);
    }
    return bundle;
  }

  async #analyze(job: Job, path: string): Promise<void> {
    const bundle = await this.#bundle(this.#options.modelDir, true);
    const stats = createCaptureFileStats(job.file_name);
    const ring = new PacketRing({ capacityBytes: 32 * 1024 * 1024 });
    const sink = createSqliteSink(this.#options.dbPath, {
      source: job.source,
      evidence: (alerts) => ring.evidence(alerts),
    });
    const report = await runDetection({
      source: ring.tap(readCaptureFile(path, { stats, onError: "stop" })),
      live: false,
      bundle,
      sinks: [sink],
    });
    job.summary = {
      packets: report.meter.decode.packets,
      flows: report.detector.flows,
      benign: report.detector.benign,
      known: report.detector.known,
      unknown: report.detector.unknown,
      alerts: report.detector.alerts,
    };
    if (stats.truncatedTail) {
      job.warnings.push(
        `the file ends inside a record at byte ${stats.truncatedTail.offset}: analysed up to there`,
      );
    }
    for (const [reason, n] of Object.entries(stats.skippedPackets)) {
      job.warnings.push(`${n} packets skipped by the reader: ${reason}`);
    }
    if (stats.error) {
      if (stats.packets === 0) throw new Error(stats.error.message.replace(path, job.file_name));
      job.warnings.push(
        `${stats.error.message.replace(path, job.file_name)}; everything before it was analysed`,
      );
    }
  }

  async #predict(job: Job, path: string): Promise<void> {
    const nsl = job.format === "nsl-kdd";
    const bundle = await this.#bundle(
      nsl ? this.#options.nslModelDir! : this.#options.modelDir,
      false,
    );
    const text = await Deno.readTextFile(path);
    const columns = bundle.json.preprocessing.columns;
    const dataset = nsl
      ? loadNslKdd(withNslLabel(text), {
        fields: NSL_KDD_FIELDS,
        // Labels are only shown beside the predictions; every name maps to itself.
        attackCategories: new Map(),
        view: "attack",
        vocabularies: bundle.json.preprocessing.categorical,
      }, job.file_name)
      : loadCicCsv(withLabelColumn(text), {
        columns,
        nonFiniteValue: bundle.json.preprocessing.nonFiniteValue,
      }, job.file_name);
    if (dataset.rows === 0) throw new Error(`${job.file_name}: no data rows`);
    if (dataset.cols !== columns.length) {
      throw new Error(
        `${job.file_name}: ${dataset.cols} columns, the model takes ${columns.length}`,
      );
    }
    for (const [reason, n] of Object.entries(dataset.issues ?? {})) {
      job.warnings.push(`${n} values or rows: ${reason}`);
    }
    const scored = await scoreRows(bundle, dataset.x, dataset.rows);
    const names = scored.config.classNames;
    const d = scored.decisions;
    // Predicted class names: the classifier's, then "unknown".
    const classNames = [...names, "unknown"];
    const unknownIndex = names.length;
    const benignIndex = scored.config.benignClass >= 0 ? scored.config.benignClass : -1;
    if (benignIndex < 0) classNames.push("benign");
    const benignName = benignIndex >= 0 ? benignIndex : classNames.length - 1;
    const rows = dataset.rows;
    const classIndex = new Uint16Array(rows);
    const labelIndex = new Int32Array(rows);
    const unlabelled = dataset.classNames.indexOf(UNLABELLED);
    const counts = new Float64Array(classNames.length);
    for (let i = 0; i < rows; i++) {
      const v = d.verdict[i];
      const k = v === 2 ? unknownIndex : v === 0 ? benignName : d.classIndex[i];
      classIndex[i] = k;
      counts[k]++;
      labelIndex[i] = dataset.y[i] === unlabelled ? -1 : dataset.y[i];
    }
    const table = new PredictionTable(
      rows,
      classIndex,
      d.verdict.slice(0, rows),
      d.score.slice(0, rows),
      d.threshold.slice(0, rows),
      labelIndex,
      classNames,
      dataset.classNames,
    );
    const classCounts: Record<string, number> = {};
    classNames.forEach((name, k) => {
      if (counts[k] > 0) classCounts[name] = counts[k];
    });
    job.class_counts = classCounts;
    if (nsl && !names.some((n) => NSL_KDD_CATEGORIES.includes(n))) {
      job.warnings.push("the NSL-KDD model's classes are not the usual categories");
    }
    this.#predictions.set(job.id, table);
  }
}

const UNLABELLED = "(unlabelled)";

/** Adds a Label column to a CIC CSV that has none, so unlabelled files load too. */
function withLabelColumn(text: string): string {
  const end = text.indexOf("\n");
  const header = end < 0 ? text : text.slice(0, end);
  const names = header.replace(/\r$/, "").split(",").map((s) => s.trim());
  if (names.includes("Label")) return text;
  return text.split("\n").map((line, k) => {
    const clean = line.replace(/\r$/, "");
    if (clean.trim() === "") return clean;
    return k === 0 ? `${clean},Label` : `${clean},${UNLABELLED}`;
  }).join("\n");
}

/** Gives unlabelled NSL-KDD records (41 fields) a placeholder label, so they load too. */
function withNslLabel(text: string): string {
  return text.split("\n").map((line) => {
    const clean = line.replace(/\r$/, "");
    return clean.split(",").length === NSL_KDD_FIELDS.length ? `${clean},${UNLABELLED}` : clean;
  }).join("\n");
}

/** A file name fit for display: no folders, no control characters, bounded. */
export function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").slice(0, 200);
  return clean || "upload";
}
