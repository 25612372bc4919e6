/**
 * The evaluation as one self-contained HTML page: inline CSS and inline SVG
 * only (no scripts, fonts, images or links to fetch), so it opens anywhere,
 * offline, and can be mailed or archived as is. Shows the summary figures,
 * the confusion matrix as a coloured grid, the ROC curve of the anomaly
 * score, and (capture input) the anomaly score of every flow over time with
 * the threshold and the attack windows.
 */
import { VERDICT_BENIGN } from "../inference/mod.ts";
import type { EvalSummary, Evaluation } from "./evaluate.ts";
import { rocCurve } from "./roc_curve.ts";

/** Escapes text for HTML and SVG text or attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || Number.isNaN(v) ? "n/a" : v.toFixed(digits);
const pct = (v: number | null | undefined) =>
  v === null || v === undefined || Number.isNaN(v) ? "n/a" : `${(100 * v).toFixed(2)}%`;
const r1 = (v: number) => Math.round(v * 10) / 10;

/** Most points drawn in the score-over-time plot (evenly thinned beyond, flagged flows kept). */
const MAX_TIME_POINTS = 8000;

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5a6570;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.card{border:1px solid #d5dbe1;border-radius:6px;padding:8px 12px;min-width:130px}
.card .v{font-size:22px;font-weight:600}.card .k{font-size:12px;color:#5a6570}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d5dbe1;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f2f4f6}
.bad{color:#b3261e;font-weight:600}.good{color:#1b7a3a;font-weight:600}
svg text{font-family:system-ui,sans-serif}
.note{font-size:12px;color:#5a6570;max-width:900px}
.row{display:flex;flex-wrap:wrap;gap:48px;align-items:flex-start}
`;

/** Renders the page. */
export function renderEvalReport(evaluation: Evaluation, generatedAt = new Date()): string {
  const s = evaluation.summary;
  const parts: string[] = [];
  parts.push(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">`,
    `<title>ids-sensor eval: ${escapeHtml(s.source)}</title><style>${STYLE}</style></head><body>`,
    `<h1>ids-sensor evaluation</h1>`,
    `<div class="meta">input ${escapeHtml(s.source)} (${s.kind}), model ${
      escapeHtml(s.model.dir)
    }, ${s.rows} rows (benign ${s.benignRows}, attack ${s.attackRows}); generated ${
      escapeHtml(generatedAt.toISOString())
    }</div>`,
    summaryCards(s),
    `<h2>Per class (multi-class view)</h2>`,
    `<p class="note">A known verdict counts as the class it names. An unknown verdict counts as a ` +
      `detection of an attack class the model was not trained on, and as “(unknown)” otherwise.</p>`,
    perClassTable(s),
    `<div class="row"><div>`,
    `<h2>Confusion matrix</h2>`,
    `<p class="note">Rows: true label. Columns: verdict. Colour: share of the row.</p>`,
    confusionSvg(s),
    `</div><div>`,
    `<h2>ROC curve of the anomaly score</h2>`,
    rocSvg(evaluation),
    `</div></div>`,
  );
  if (evaluation.rowData.endMicros) {
    parts.push(`<h2>Anomaly score over time</h2>`, timelineSvg(evaluation));
  }
  if (s.episodes) parts.push(`<h2>Attack episodes</h2>`, episodeTable(s));
  parts.push(`</body></html>`);
  return parts.join("\n");
}

function summaryCards(s: EvalSummary): string {
  const cards: [string, string][] = [
    ["attack-vs-benign accuracy", fmt(s.binaryAccuracy)],
    ["benign false-positive rate", pct(s.benignFalsePositiveRate)],
    ["detection rate (attack rows flagged)", pct(s.detectionRate)],
    ["multi-class accuracy", fmt(s.multiClass.accuracy)],
    ["macro F1", fmt(s.multiClass.macroF1)],
    ["anomaly ROC-AUC", s.anomaly ? fmt(s.anomaly.rocAuc) : "no model"],
    [
      "verdicts benign / known / unknown",
      `${s.verdicts.benign} / ${s.verdicts.known} / ${s.verdicts.unknown}`,
    ],
  ];
  if (s.episodes) {
    const alerted = s.episodes.filter((e) => e.alerted).length;
    cards.push(["attack episodes alerted", `${alerted} / ${s.episodes.length}`]);
  }
  return `<div class="cards">${
    cards.map(([k, v]) =>
      `<div class="card"><div class="v">${escapeHtml(v)}</div><div class="k">${
        escapeHtml(k)
      }</div></div>`
    ).join("")
  }</div>`;
}

function perClassTable(s: EvalSummary): string {
  // Classes that occur as a true label or as a verdict.
  const m = s.multiClass.confusion;
  const rows = s.multiClass.perClass.filter((c, j) => c.support > 0 || m.some((row) => row[j] > 0));
  return `<table><tr><th>class</th><th>support</th><th>precision</th><th>recall</th><th>F1</th></tr>${
    rows.map((m) =>
      `<tr><td>${escapeHtml(m.name)}</td><td>${m.support}</td><td>${fmt(m.precision)}</td><td>${
        fmt(m.recall)
      }</td><td>${fmt(m.f1)}</td></tr>`
    ).join("")
  }</table>`;
}

/** Blue scale for row shares; green on the diagonal. */
function cellColour(share: number, diagonal: boolean): string {
  const t = Math.max(0, Math.min(1, share));
  const [r, g, b] = diagonal ? [27, 122, 58] : [179, 38, 30];
  const mix = (c: number) => Math.round(255 + (c - 255) * (0.1 + 0.9 * t));
  return t === 0 ? "#ffffff" : `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

function confusionSvg(s: EvalSummary): string {
  const names = s.multiClassNames;
  const m = s.multiClass.confusion;
  const shownRows = names.map((_, i) => i).filter((i) => m[i].some((v) => v > 0));
  const cols = names.map((_, j) => j).filter((j) =>
    shownRows.some((i) => m[i][j] > 0) || shownRows.includes(j)
  );
  const cell = 64;
  const left = 150;
  const top = 110;
  const width = left + cols.length * cell + 20;
  const height = top + shownRows.length * cell + 20;
  const out: string[] = [
    `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="confusion matrix">`,
  ];
  cols.forEach((j, cj) => {
    const x = left + cj * cell + cell / 2;
    out.push(
      `<text x="${x}" y="${top - 8}" font-size="12" transform="rotate(-40 ${x} ${top - 8})">${
        escapeHtml(names[j])
      }</text>`,
    );
  });
  shownRows.forEach((i, ri) => {
    const y = top + ri * cell;
    const total = m[i].reduce((a, b) => a + b, 0);
    out.push(
      `<text x="${left - 8}" y="${y + cell / 2 + 4}" font-size="12" text-anchor="end">${
        escapeHtml(names[i])
      }</text>`,
    );
    cols.forEach((j, cj) => {
      const v = m[i][j];
      const share = total ? v / total : 0;
      const x = left + cj * cell;
      const fill = cellColour(share, i === j);
      out.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#c3cad1"/>`,
        `<text x="${x + cell / 2}" y="${
          y + cell / 2 + 5
        }" font-size="14" text-anchor="middle" fill="${
          share > 0.55 ? "#ffffff" : "#1d232a"
        }">${v}</text>`,
      );
    });
  });
  out.push(`</svg>`);
  return out.join("");
}

function rocSvg(e: Evaluation): string {
  const { anomalyScore, isAttack } = e.rowData;
  const s = e.summary;
  if (!anomalyScore || !s.anomaly) {
    return `<p class="note">The bundle has no anomaly model.</p>`;
  }
  const curve = rocCurve(anomalyScore, isAttack);
  if (curve.length === 0) {
    return `<p class="note">Only one class (benign or attack) is present: no ROC curve.</p>`;
  }
  const size = 360;
  const pad = 50;
  const w = size + pad + 20;
  const h = size + pad + 20;
  const px = (fpr: number) => r1(pad + fpr * size);
  const py = (tpr: number) => r1(20 + (1 - tpr) * size);
  const points = curve.map((p) => `${px(p.falsePositiveRate)},${py(p.truePositiveRate)}`).join(" ");
  const out = [
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="ROC curve">`,
    `<rect x="${pad}" y="20" width="${size}" height="${size}" fill="#fafbfc" stroke="#8a949e"/>`,
  ];
  for (const t of [0.25, 0.5, 0.75]) {
    out.push(
      `<line x1="${px(t)}" y1="20" x2="${px(t)}" y2="${20 + size}" stroke="#e3e7eb"/>`,
      `<line x1="${pad}" y1="${py(t)}" x2="${pad + size}" y2="${py(t)}" stroke="#e3e7eb"/>`,
    );
  }
  for (const t of [0, 0.5, 1]) {
    out.push(
      `<text x="${px(t)}" y="${20 + size + 16}" font-size="11" text-anchor="middle">${t}</text>`,
      `<text x="${pad - 6}" y="${py(t) + 4}" font-size="11" text-anchor="end">${t}</text>`,
    );
  }
  out.push(
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${
      py(1)
    }" stroke="#8a949e" stroke-dasharray="4 4"/>`,
    `<polyline points="${points}" fill="none" stroke="#1f5fa8" stroke-width="2.5"/>`,
    `<text x="${pad + size / 2}" y="${
      h - 4
    }" font-size="12" text-anchor="middle">false-positive rate (benign flagged)</text>`,
    `<text x="14" y="${
      20 + size / 2
    }" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${
      20 + size / 2
    })">true-positive rate (attacks flagged)</text>`,
    `<text x="${pad + size - 8}" y="${
      20 + size - 12
    }" font-size="14" text-anchor="end" fill="#1f5fa8">AUC ${fmt(s.anomaly.rocAuc)}</text>`,
  );
  const op = s.anomaly;
  if (op.benignAboveThreshold !== null && op.attackAboveThreshold !== null) {
    out.push(
      `<circle cx="${px(op.benignAboveThreshold)}" cy="${
        py(op.attackAboveThreshold)
      }" r="6" fill="none" stroke="#b3261e" stroke-width="2"/>`,
      `<text x="${px(op.benignAboveThreshold) + 10}" y="${
        py(op.attackAboveThreshold) + 16
      }" font-size="11" fill="#b3261e">threshold ${op.threshold.toPrecision(3)}</text>`,
    );
  }
  out.push(`</svg>`);
  return out.join("");
}

function timelineSvg(e: Evaluation): string {
  const { anomalyScore, endMicros, isAttack, verdict, windows } = e.rowData;
  const s = e.summary;
  if (!anomalyScore || !endMicros || s.anomaly === null) {
    return `<p class="note">The bundle has no anomaly model.</p>`;
  }
  const n = anomalyScore.length;
  if (n === 0) return `<p class="note">No flows.</p>`;
  const threshold = s.anomaly.threshold;
  // Log scale: scores span orders of magnitude; the floor keeps zeros drawable.
  let maxScore = Number.isFinite(threshold) ? threshold : 0;
  let minPositive = Number.POSITIVE_INFINITY;
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = anomalyScore[i];
    if (Number.isFinite(v) && v > maxScore) maxScore = v;
    if (v > 0 && v < minPositive) minPositive = v;
    t0 = Math.min(t0, endMicros[i]);
    t1 = Math.max(t1, endMicros[i]);
  }
  for (const w of windows) {
    t0 = Math.min(t0, w.start * 1e6);
    t1 = Math.max(t1, w.end * 1e6);
  }
  if (!(maxScore > 0)) maxScore = 1;
  const floor = Math.min(
    Number.isFinite(minPositive) ? minPositive : maxScore / 1000,
    Number.isFinite(threshold) && threshold > 0 ? threshold / 10 : maxScore / 1000,
  );
  const lo = Math.log10(floor);
  const hi = Math.log10(maxScore) + 0.05 * Math.max(1e-6, Math.log10(maxScore) - lo);
  const span = Math.max(1e-6, hi - lo);
  const seconds = Math.max(1e-6, (t1 - t0) / 1e6);
  const plotW = 1000;
  const plotH = 340;
  const left = 70;
  const top = 30;
  const w = left + plotW + 30;
  const h = top + plotH + 50;
  const px = (micros: number) => r1(left + ((micros - t0) / 1e6 / seconds) * plotW);
  const py = (v: number) =>
    r1(top + plotH - ((Math.log10(Math.max(v, floor)) - lo) / span) * plotH);
  const out = [
    `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="anomaly score over time">`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#fafbfc" stroke="#8a949e"/>`,
  ];
  windows.forEach((win) => {
    const x0 = px(win.start * 1e6);
    const x1 = px(win.end * 1e6);
    out.push(
      `<rect x="${x0}" y="${top}" width="${
        Math.max(1, r1(x1 - x0))
      }" height="${plotH}" fill="#f4c7c3" fill-opacity="0.55"/>`,
      `<text x="${x0 + 4}" y="${top + 14}" font-size="12" fill="#8c1d18">${
        escapeHtml(win.attack)
      }</text>`,
    );
  });
  // Decades on the y axis.
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const y = py(10 ** d);
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e3e7eb"/>`,
      `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">1e${d}</text>`,
    );
  }
  const tickStep = niceStep(seconds / 8);
  for (let t = 0; t <= seconds + 1e-9; t += tickStep) {
    const x = px(t0 + t * 1e6);
    out.push(
      `<text x="${x}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${
        Number(t.toFixed(3))
      }</text>`,
    );
  }
  // Benign first, attacks on top; flagged flows drawn filled, unflagged hollow.
  const stride = Math.max(1, Math.ceil(n / MAX_TIME_POINTS));
  let drawn = 0;
  for (const attackPass of [0, 1]) {
    const colour = attackPass ? "#b3261e" : "#1f5fa8";
    let path = "";
    let hollow = "";
    for (let i = 0; i < n; i++) {
      if (isAttack[i] !== attackPass) continue;
      const flagged = verdict[i] !== VERDICT_BENIGN;
      if (!flagged && i % stride !== 0) continue;
      const x = px(endMicros[i]);
      const y = py(anomalyScore[i]);
      // One path per class keeps the SVG small: a tiny square per flow.
      if (flagged) path += `M${x - 2} ${y - 2}h4v4h-4z`;
      else hollow += `M${x - 2} ${y - 2}h4v4h-4z`;
      drawn++;
    }
    if (hollow) {
      out.push(
        `<path d="${hollow}" fill="none" stroke="${colour}" stroke-width="0.8" opacity="0.7"/>`,
      );
    }
    if (path) out.push(`<path d="${path}" fill="${colour}" opacity="0.85"/>`);
  }
  if (Number.isFinite(threshold)) {
    const y = py(threshold);
    out.push(
      `<line x1="${left}" y1="${y}" x2="${
        left + plotW
      }" y2="${y}" stroke="#202830" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${left + plotW - 4}" y="${y - 5}" font-size="12" text-anchor="end">threshold ${
        threshold.toPrecision(3)
      }</text>`,
    );
  }
  out.push(
    `<text x="${left + plotW / 2}" y="${
      h - 6
    }" font-size="12" text-anchor="middle">flow end, seconds after ${
      escapeHtml(new Date(t0 / 1000).toISOString())
    }</text>`,
    `<text x="16" y="${
      top + plotH / 2
    }" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${
      top + plotH / 2
    })">anomaly score (log)</text>`,
    `</svg>`,
    `<p class="note">Blue: benign flows; red: attack flows (by the labels file). Filled: flagged by the ` +
      `detector (known or unknown verdict); hollow: benign verdict. Shaded: attack windows. ${drawn} of ${n} flows drawn` +
      (stride > 1 ? ` (unflagged flows thinned 1 in ${stride})` : "") + `.</p>`,
  );
  return out.join("");
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function episodeTable(s: EvalSummary): string {
  const episodes = s.episodes ?? [];
  if (episodes.length === 0) return `<p class="note">The labels file has no attack windows.</p>`;
  return `<table><tr><th>attack</th><th>attacker</th><th>start (UTC)</th><th>seconds</th><th>flows</th><th>flagged</th><th>known</th><th>unknown</th><th>alerted</th><th>delay (s)</th></tr>${
    episodes.map((e) =>
      `<tr><td>${escapeHtml(e.attack)}</td><td>${escapeHtml(e.attacker)}</td><td>${
        escapeHtml(new Date(e.start * 1000).toISOString())
      }</td><td>${
        (e.end - e.start).toFixed(1)
      }</td><td>${e.flows}</td><td>${e.flagged}</td><td>${e.knownVerdicts}</td><td>${e.unknownVerdicts}</td><td class="${
        e.alerted ? "good" : "bad"
      }">${e.alerted ? "yes" : "no"}</td><td>${
        e.detectionDelaySeconds === null ? "n/a" : e.detectionDelaySeconds.toFixed(2)
      }</td></tr>`
    ).join("")
  }</table>`;
}
