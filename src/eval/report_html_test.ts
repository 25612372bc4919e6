/**
 * The HTML report: written from a lab fixture evaluated with a bundle trained
 * here, checked to be self-contained (nothing to fetch), then rendered by
 * Debian's headless Chromium and the screenshot decoded: it must be a PNG with
 * real content (non-white pixels, the green diagonal of the confusion grid),
 * unlike a screenshot of an empty page taken the same way.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { FEATURE_SET } from "../features/mod.ts";
import { renderEvalReport, runEvaluation } from "./mod.ts";
import { datasetFromCapture, DEFAULT_TRAIN_OPTIONS, trainBundle } from "../train/mod.ts";

const LAB = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, text };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

/** Finds chromium; installs Debian's package when root and missing. Returns a skip reason or null. */
async function ensureChromium(): Promise<string | null> {
  if ((await run("chromium", ["--version"])).ok) return null;
  const root = Deno.uid() === 0;
  if (!root) return "chromium is not installed and this is not root (apt-get install chromium)";
  if (!(await run("apt-get", ["--version"])).ok) {
    return "chromium is missing and there is no apt-get";
  }
  let install = await run("apt-get", [
    "install",
    "-y",
    "-qq",
    "--no-install-recommends",
    "chromium",
  ]);
  if (!install.ok) {
    await run("apt-get", ["update", "-qq"]);
    install = await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"]);
  }
  if (!(await run("chromium", ["--version"])).ok) {
    return `chromium could not be installed: ${install.text.trim().split("\n").pop()}`;
  }
  return null;
}

const skipReason = await ensureChromium();
if (skipReason) console.warn(`eval_report_test: screenshot test skipped: ${skipReason}`);

/** Headless screenshot of `url` into `png`, with a fresh profile and no network chatter. */
async function screenshot(url: string, png: string, profile: string): Promise<string> {
  const result = await run("chromium", [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    `--screenshot=${png}`,
    "--window-size=1200,1600",
    url,
  ]);
  return result.text;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG into RGB pixels. */
function decodePng(bytes: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0, height = 0, colourType = 0;
  const idat: Uint8Array[] = [];
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      assert.equal(data[8], 8, "bit depth 8");
      colourType = data[9];
      assert.ok(colourType === 2 || colourType === 6, `colour type ${colourType}`);
      assert.equal(data[12], 0, "not interlaced");
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  const raw = new Uint8Array(inflateSync(concat(idat)));
  const channels = colourType === 6 ? 4 : 3;
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `filter type ${filter}`);
      out[i] = (line[i] + predictor) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    rgb[p * 3] = pixels[p * channels];
    rgb[p * 3 + 1] = pixels[p * channels + 1];
    rgb[p * 3 + 2] = pixels[p * channels + 2];
  }
  return { width, height, rgb };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Fractions of pixels that are not near-white, and that are clearly green. */
function pixelStats(rgb: Uint8Array): { nonWhite: number; green: number } {
  let nonWhite = 0, green = 0;
  const n = rgb.length / 3;
  for (let p = 0; p < n; p++) {
    const r = rgb[p * 3], g = rgb[p * 3 + 1], b = rgb[p * 3 + 2];
    if (r < 245 || g < 245 || b < 245) nonWhite++;
    if (g > r + 40 && g > b + 30) green++;
  }
  return { nonWhite: nonWhite / n, green: green / n };
}

Deno.test("eval report: self-contained HTML with the expected sections", async () => {
  const html = await reportHtml();
  assert.doesNotMatch(html, /https?:\/\//i, "the report references a URL");
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.equal(html.match(/<svg /g)?.length, 3, "confusion grid, ROC curve, score over time");
  for (const part of ["Confusion matrix", "ROC curve", "Anomaly score over time", "syn-flood"]) {
    assert.ok(html.includes(part), `report lacks "${part}"`);
  }
});

Deno.test({
  name: "eval report: headless Chromium renders it (PNG decoded, not blank)",
  ignore: skipReason !== null,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "eval_report_shot_" });
    try {
      const html = await reportHtml();
      const page = join(tmp, "report.html");
      await Deno.writeTextFile(page, html);
      const empty = join(tmp, "empty.html");
      await Deno.writeTextFile(empty, "<!DOCTYPE html><html><body></body></html>");

      const reportPng = join(tmp, "report.png");
      const emptyPng = join(tmp, "empty.png");
      const log1 = await screenshot(
        `file://${page}`,
        reportPng,
        await Deno.makeTempDir({ dir: tmp }),
      );
      const log2 = await screenshot(
        `file://${empty}`,
        emptyPng,
        await Deno.makeTempDir({ dir: tmp }),
      );
      const report = decodePng(
        await Deno.readFile(reportPng).catch(() => {
          throw new Error(`no screenshot written; chromium said:\n${log1}`);
        }),
      );
      const blank = decodePng(
        await Deno.readFile(emptyPng).catch(() => {
          throw new Error(`no screenshot written; chromium said:\n${log2}`);
        }),
      );
      assert.equal(report.width, 1200);
      assert.equal(report.height, 1600);
      const r = pixelStats(report.rgb);
      const b = pixelStats(blank.rgb);
      console.log(
        `report screenshot: ${(100 * r.nonWhite).toFixed(1)}% non-white, ${
          (100 * r.green).toFixed(2)
        }% green; empty page: ${(100 * b.nonWhite).toFixed(2)}% non-white`,
      );
      // The empty page is the baseline: the report must put real ink on the page.
      assert.ok(b.nonWhite < 0.001, "the empty page is not blank: cannot judge the report");
      assert.ok(r.nonWhite > 0.03, "the report screenshot is (nearly) blank");
      // Diagonal cells of the confusion grid are solid green squares (64 px each).
      assert.ok(r.green * report.width * report.height > 64 * 64 / 2, "no confusion grid colours");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

let cachedReport: Promise<string> | undefined;

/** The report, built once for both tests. */
function reportHtml(): Promise<string> {
  cachedReport ??= buildReport();
  return cachedReport;
}

/** Trains a small bundle on the mixed fixture and reports on the syn-flood fixture. */
async function buildReport(): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "eval_report_bundle_" });
  try {
    const mixed = join(LAB, "mixed");
    const d = await datasetFromCapture(
      join(mixed, "capture.pcap"),
      await Deno.readTextFile(join(mixed, "labels.csv")),
    );
    const model = join(tmp, "bundle");
    await trainBundle(d, {
      ...DEFAULT_TRAIN_OPTIONS,
      outDir: model,
      featureSet: { name: FEATURE_SET.name, version: FEATURE_SET.version },
      dataSource: "tests/fixtures/lab/mixed",
      targetFpr: 0.05,
      epochs: 3,
      gbdt: { rounds: 15, maxDepth: 4 },
    });
    const scenario = join(LAB, "syn-flood");
    const evaluation = await runEvaluation({
      source: {
        kind: "capture",
        capture: join(scenario, "capture.pcap"),
        labels: join(scenario, "labels.csv"),
      },
      modelDir: model,
    });
    return renderEvalReport(evaluation);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
