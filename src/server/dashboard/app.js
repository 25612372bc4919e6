// ids-sensor console: plain browser JavaScript, no build step. Data comes from
// /api/v1 (the session cookie authenticates) and live from /api/v1/events (SSE).
// Every value from the store is put into the page as text, never as HTML.
"use strict";

const API = "/api/v1";
const $ = (selector) => document.querySelector(selector);
const state = {
  view: "groups",
  filter: {},
  groups: [],
  events: [],
  eventsTotal: 0,
  selected: -1,
  detail: null,
  bannerAlertId: null,
  chart: null,
  lastEventId: 0,
};

async function api(path, init = {}) {
  const response = await fetch(API + path, { credentials: "same-origin", ...init });
  if (response.status === 401) {
    location.href = "/login";
    throw new Error("signed out");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) node.append(child);
  return node;
}

function td(text, className) {
  return el("td", {
    text: text === null || text === undefined ? "" : String(text),
    class: className || "",
  });
}

function sevBadge(severity) {
  const cell = el("td");
  cell.append(el("span", { class: `sev sev-${severity}`, text: String(severity) }));
  return cell;
}

const shortTime = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

function queryString(extra = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state.filter, ...extra })) {
    if (v !== "" && v !== undefined && v !== null) params.set(k, v);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

// ---- lists ----

async function loadGroups() {
  const { groups } = await api(`/alerts/groups${queryString({ limit: 300 })}`);
  state.groups = groups;
  renderGroups();
}

function renderGroups() {
  const body = $("#groups tbody");
  body.replaceChildren(...state.groups.map((g, i) => {
    const row = el("tr", { class: `sev${g.severity}`, "data-index": String(i) }, [
      sevBadge(g.severity),
      td(g.name),
      td(g.src_ip),
      td(g.dest_ip),
      td(g.alerts),
      td(g.flows),
      td(shortTime(g.first_seen)),
      td(shortTime(g.last_seen)),
      td(g.new_alerts),
    ]);
    row.title = g.class;
    row.addEventListener("click", () => select(i, true));
    return row;
  }));
  highlight();
}

async function loadEvents(append = false) {
  const offset = append ? state.events.length : 0;
  const page = await api(`/alerts${queryString({ limit: 200, offset })}`);
  state.events = append ? state.events.concat(page.alerts) : page.alerts;
  state.eventsTotal = page.total;
  renderEvents();
}

function eventRow(a, i) {
  const row = el("tr", {
    class: `sev${a.severity}`,
    "data-index": String(i),
    "data-id": String(a.id),
  }, [
    td(a.id),
    td(shortTime(a.timestamp)),
    sevBadge(a.severity),
    td(a.name),
    td(`${a.src_ip}:${a.src_port}`),
    td(`${a.dest_ip}:${a.dest_port}`),
    td(a.verdict),
    td(Number(a.score).toFixed(3)),
    td(a.status, `status-${a.status}`),
    td(a.sensor ? `${a.source} ${a.sensor}` : a.source),
  ]);
  row.addEventListener("click", () => select(i, true));
  return row;
}

function renderEvents() {
  $("#events tbody").replaceChildren(...state.events.map(eventRow));
  $("#count").textContent = `${state.events.length} of ${state.eventsTotal}`;
  $("#more").hidden = state.events.length >= state.eventsTotal;
  highlight();
}

function currentRows() {
  if (state.view === "groups") return [...document.querySelectorAll("#groups tbody tr")];
  if (state.view === "events") return [...document.querySelectorAll("#events tbody tr")];
  return [];
}

function highlight() {
  currentRows().forEach((row, i) => row.classList.toggle("selected", i === state.selected));
}

function select(index, open) {
  const rows = currentRows();
  if (rows.length === 0) return;
  state.selected = Math.max(0, Math.min(rows.length - 1, index));
  highlight();
  rows[state.selected].scrollIntoView({ block: "nearest" });
  if (open) openSelected();
}

function selectedAlertId() {
  if (state.view === "groups") return state.groups[state.selected]?.latest_id;
  if (state.view === "events") return state.events[state.selected]?.id;
  return undefined;
}

function openSelected() {
  const id = selectedAlertId();
  if (id) openDetail(id);
}

// ---- detail drawer ----

async function openDetail(id) {
  const alert = await api(`/alerts/${id}`);
  state.detail = alert;
  const eve = alert.eve;
  $("#d-title").textContent = `#${alert.id} ${alert.name}`;
  $("#d-title").className = `sev-title sev${alert.severity}`;
  const facts = [
    ["severity", alert.severity],
    ["status", alert.status + (alert.status_at ? ` (${shortTime(alert.status_at)})` : "")],
    ["verdict", `${alert.verdict}: ${alert.class}`],
    ["score", `${alert.score} (threshold ${alert.threshold}, ${alert.model})`],
    ["source", `${alert.src_ip}:${alert.src_port}`],
    ["target", `${alert.dest_ip}:${alert.dest_port} ${alert.proto}`],
    ["Community ID", alert.community_id],
    ["flows", alert.count],
    [
      "flow",
      eve.flow
        ? `${eve.flow.pkts_toserver}/${eve.flow.pkts_toclient} packets, ${eve.flow.bytes_toserver}/${eve.flow.bytes_toclient} bytes, ${eve.flow.state}, ${
          shortTime(eve.flow.start)
        } to ${shortTime(eve.flow.end)}`
        : "",
    ],
    [
      "window",
      eve.alert?.window
        ? `${shortTime(eve.alert.window.start)} to ${shortTime(eve.alert.window.end)}`
        : "",
    ],
    ["seen by", alert.source],
    [
      "host evidence",
      eve.alert?.evidence
        ? Object.entries(eve.alert.evidence)
          .map(([k, v]) => `${k} ${typeof v === "number" ? fmt(v) : v}`).join(", ")
        : "",
    ],
    [
      "sources / targets",
      eve.alert?.sources !== undefined || eve.alert?.targets !== undefined
        ? `${eve.alert.sources ?? 1} / ${eve.alert.targets ?? 1}`
        : "",
    ],
    [
      "evidence",
      alert.evidence_bytes
        ? `${alert.evidence_packets} packets, ${alert.evidence_bytes} bytes`
        : "none kept",
    ],
  ];
  $("#d-facts").replaceChildren(
    ...facts.filter(([, v]) => v !== "").flatMap(([k, v]) => [
      el("dt", { text: k }),
      el("dd", { text: String(v) }),
    ]),
  );
  const features = eve.alert?.top_features ?? [];
  $("#d-features tbody").replaceChildren(...features.map((f) =>
    el("tr", {}, [
      td(f.name),
      td(fmt(f.value)),
      td(f.baseline === undefined ? "" : fmt(f.baseline)),
      td(
        f.zscore === undefined
          ? (f.reconstruction_error === undefined ? "" : `err ${fmt(f.reconstruction_error)}`)
          : fmt(f.zscore),
      ),
    ])
  ));
  $("#d-eve").textContent = JSON.stringify(eve, null, 2);
  const evidence = $("#d-evidence");
  evidence.hidden = !alert.evidence_bytes;
  evidence.href = `${API}/alerts/${alert.id}/evidence.pcap`;
  evidence.setAttribute("download", `alert-${alert.id}.pcap`);
  $("#s-class").textContent = alert.class;
  $("#s-src").textContent = alert.src_ip;
  $("#s-dst").textContent = alert.dest_ip;
  $("#drawer").hidden = false;
  $("#d-ack").focus();
}

function fmt(x) {
  if (typeof x !== "number") return String(x);
  return Math.abs(x) >= 1000 || Number.isInteger(x)
    ? String(Math.round(x * 100) / 100)
    : x.toPrecision(4);
}

function closeDetail() {
  $("#drawer").hidden = true;
  state.detail = null;
}

async function triage(action) {
  if (!state.detail) return;
  const result = await api(`/alerts/${state.detail.id}/${action}`, { method: "POST" });
  state.detail.status = result.status;
  await openDetail(state.detail.id);
  await refresh();
}

async function suppress(form) {
  if (!state.detail) return;
  const body = { reason: form.reason.value };
  if (form.class.checked) body.class = state.detail.class;
  if (form.src_ip.checked) body.src_ip = state.detail.src_ip;
  if (form.dest_ip.checked) body.dest_ip = state.detail.dest_ip;
  if (form.expires.value) body.expires_in_seconds = Number(form.expires.value);
  await api("/suppressions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  flash(`suppressed ${[body.class, body.src_ip, body.dest_ip].filter(Boolean).join(" / ")}`);
  await loadSuppressions();
}

// ---- uploads, suppressions ----

async function upload(form, path) {
  const file = form.file.files[0];
  if (!file) return flash("choose a file first");
  const data = new FormData(form);
  try {
    const job = await api(path, { method: "POST", body: data });
    flash(`job ${job.id.slice(0, 8)} queued for ${job.file_name}`);
    form.reset();
    pollJob(job.id);
  } catch (error) {
    flash(`upload refused: ${error.message}`);
  }
}

async function pollJob(id) {
  for (let k = 0; k < 600; k++) {
    const job = await api(`/jobs/${id}?limit=200`);
    await loadJobs();
    if (job.state === "done" || job.state === "failed") {
      if (job.kind === "predict" && job.predictions) showPredictions(job);
      if (job.state === "failed") flash(`job failed: ${job.error}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function loadJobs() {
  const { jobs } = await api("/jobs");
  $("#jobs tbody").replaceChildren(...jobs.map((j) => {
    const result = j.state === "failed"
      ? j.error
      : j.summary
      ? `${j.summary.packets} packets, ${j.summary.flows} flows, ${j.summary.alerts} alerts`
      : j.class_counts
      ? Object.entries(j.class_counts).map(([k, v]) => `${k} ${v}`).join(", ")
      : "";
    const row = el("tr", {}, [
      td(j.id.slice(0, 8)),
      td(j.kind),
      td(j.file_name),
      td(j.state),
      td(result),
    ]);
    row.addEventListener("click", async () => {
      if (j.kind === "analyze" && j.source) {
        $("#filters").source.value = j.source;
        applyFilters();
        switchView("events");
      } else if (j.kind === "predict") {
        showPredictions(await api(`/jobs/${j.id}?limit=200`));
      }
    });
    return row;
  }));
}

function showPredictions(job) {
  const table = el("table", { class: "list" }, [
    el("thead", {}, [
      el(
        "tr",
        {},
        ["row", "verdict", "class", "score", "threshold", "label"].map((h) =>
          el("th", { text: h })
        ),
      ),
    ]),
    el(
      "tbody",
      {},
      (job.predictions || []).map((p) =>
        el("tr", {}, [
          td(p.row),
          td(p.verdict),
          td(p.class),
          td(Number(p.score).toFixed(4)),
          td(Number(p.threshold).toFixed(4)),
          td(p.label ?? ""),
        ])
      ),
    ),
  ]);
  const link = el("a", {
    class: "button",
    href: `${API}/jobs/${job.id}/predictions.csv`,
    text: `download all ${job.predictions_total} as CSV`,
  });
  $("#predictions").replaceChildren(
    el("h3", { text: `Predictions: ${job.file_name}` }),
    link,
    table,
  );
}

async function loadSuppressions() {
  const { suppressions } = await api("/suppressions");
  $("#suppressions tbody").replaceChildren(...suppressions.map((s) => {
    const remove = el("button", { type: "button", text: "delete" });
    remove.addEventListener("click", async () => {
      await api(`/suppressions/${s.id}`, { method: "DELETE" });
      loadSuppressions();
    });
    const action = el("td");
    action.append(remove);
    return el("tr", {}, [
      td(s.id),
      td(s.class ?? "*"),
      td(s.src_ip ?? "*"),
      td(s.dest_ip ?? "*"),
      td(s.reason),
      td(s.expires_at ? shortTime(s.expires_at) : "never"),
      td(s.active ? "yes" : "expired"),
      action,
    ]);
  }));
}

function flash(text) {
  $("#upload-message").textContent = text;
}

// ---- live: status, chart, alerts ----

function renderStatus(status) {
  const sensors = status.sensors || [];
  const box = $("#sensors");
  if (sensors.length === 0) box.textContent = "no sensor has reported yet";
  else {
    box.replaceChildren(...sensors.map((s) => {
      const st = s.status || {};
      const age = Math.round((Date.now() - Date.parse(s.updated_at)) / 1000);
      const parts = [
        st.state && st.state !== "running" ? st.state : "",
        st.interfaces?.length ? `on ${[].concat(st.interfaces).join(", ")}` : "",
        st.model ? `model ${st.model}` : "",
        st.uptime_seconds !== undefined ? `up ${formatDuration(st.uptime_seconds)}` : "",
        st.packets !== undefined ? `${st.packets} packets` : "",
        st.kernel_dropped !== undefined ? `${st.kernel_dropped} dropped` : "",
        st.suppressed !== undefined ? `${st.suppressed} suppressed` : "",
        // Fleet sensors (serve --nats): rates and the publisher's queue.
        st.flows_per_second !== undefined ? `${Math.round(st.flows_per_second)} flows/s` : "",
        st.capture_dropped ? `${st.capture_dropped} dropped by the capture` : "",
        st.buffered ? `${st.buffered} waiting to publish` : "",
        st.dropped ? `${st.dropped} dropped by the publish buffer` : "",
        st.model_update ? `model update ${st.model_update.name}: ${st.model_update.state}` : "",
        age > 15 ? `last heard ${formatDuration(age)} ago` : "live",
      ].filter(Boolean);
      return el("span", {}, [el("b", { text: s.sensor }), ` ${parts.join(" · ")}  `]);
    }));
  }
  if (status.traffic) drawChart(status.traffic);
}

function formatDuration(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function drawChart(traffic) {
  // Every minute from the first to the last (at least ten), quiet minutes as 0:
  // the store keeps only minutes that had traffic.
  const byMinute = new Map(traffic.map((t) => [Date.parse(t.minute) / 1000, t]));
  const last = traffic.length ? Date.parse(traffic[traffic.length - 1].minute) / 1000 : 0;
  const first = traffic.length ? Math.min(Date.parse(traffic[0].minute) / 1000, last - 540) : 0;
  const xs = [];
  for (let t = Math.max(first, last - 59 * 60); traffic.length && t <= last; t += 60) xs.push(t);
  const column = (key) => xs.map((t) => byMinute.get(t)?.[key] ?? 0);
  const data = [xs, column("packets"), column("flows"), column("alerts")];
  const box = $("#chart");
  if (!state.chart) {
    state.chart = new uPlot(
      {
        width: Math.max(300, box.clientWidth - 10),
        height: 200,
        scales: { x: { time: true } },
        series: [
          {},
          { label: "packets", stroke: "#4f9cf9", scale: "p" },
          { label: "flows", stroke: "#3fb950", scale: "f" },
          { label: "alerts", stroke: "#e5484d", width: 2, scale: "f" },
        ],
        axes: [
          { stroke: "#8b97a3", grid: { stroke: "#2c343d" } },
          { scale: "p", stroke: "#4f9cf9", grid: { stroke: "#2c343d" }, size: 70 },
          { scale: "f", side: 1, stroke: "#3fb950", grid: { show: false }, size: 60 },
        ],
      },
      data,
      box,
    );
    addEventListener(
      "resize",
      () => state.chart.setSize({ width: Math.max(300, box.clientWidth - 10), height: 200 }),
    );
  } else {
    state.chart.setData(data);
  }
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 400);
}

function onAlert(alert) {
  state.lastEventId = Math.max(state.lastEventId, alert.id);
  if (alert.severity === 1 && alert.status === "new") {
    state.bannerAlertId = alert.id;
    $("#banner-text").textContent =
      `New high-severity alert #${alert.id}: ${alert.name} ${alert.src_ip} → ${alert.dest_ip}`;
    $("#banner").hidden = false;
  }
  refreshSoon();
}

function connect() {
  const source = new EventSource(`${API}/events`);
  const link = $("#link");
  source.onopen = () => {
    link.textContent = "live";
    link.className = "link online";
  };
  source.onerror = () => {
    link.textContent = "reconnecting";
    link.className = "link offline";
  };
  source.addEventListener("alert", (event) => onAlert(JSON.parse(event.data)));
  source.addEventListener("status", (event) => renderStatus(JSON.parse(event.data)));
}

async function loadTotals() {
  const stats = await api("/stats");
  const sev = stats.by_severity;
  $("#totals").textContent = `${stats.alerts} alerts (sev 1: ${sev["1"] ?? 0}, 2: ${
    sev["2"] ?? 0
  }, 3: ${sev["3"] ?? 0}), ${
    stats.by_status.new ?? 0
  } new, ${stats.active_suppressions} suppressions`;
  renderStatus(stats);
}

async function refresh() {
  if (state.view === "groups") await loadGroups();
  else if (state.view === "events") await loadEvents();
  else if (state.view === "uploads") await loadJobs();
  else await loadSuppressions();
  loadTotals().catch(() => {});
}

function switchView(view) {
  state.view = view;
  state.selected = -1;
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  for (const name of ["groups", "events", "uploads", "suppressions"]) {
    $(`#view-${name}`).hidden = name !== view;
  }
  refresh();
}

function applyFilters() {
  const form = $("#filters");
  const filter = {};
  for (
    const name of ["q", "address", "class", "verdict", "severity", "status", "source", "sensor"]
  ) {
    if (form[name].value) filter[name] = form[name].value.trim();
  }
  for (const name of ["since", "until"]) {
    // datetime-local is the browser's local time; the API takes ISO.
    if (form[name].value) filter[name] = new Date(form[name].value).toISOString();
  }
  state.filter = filter;
  $("#export-csv").href = `${API}/alerts/export${queryString({ format: "csv" })}`;
  $("#export-json").href = `${API}/alerts/export${queryString({ format: "json" })}`;
  refresh();
}

function onKey(event) {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
  if (event.key === "Escape") {
    if (!$("#drawer").hidden) closeDetail();
    else if (typing) document.activeElement.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const drawerOpen = !$("#drawer").hidden;
  switch (event.key) {
    case "j":
    case "ArrowDown":
      select(state.selected + 1, drawerOpen);
      break;
    case "k":
    case "ArrowUp":
      select(state.selected - 1, drawerOpen);
      break;
    case "Enter":
      openSelected();
      break;
    case "a":
      triage("ack");
      break;
    case "e":
      triage("escalate");
      break;
    case "s":
      if (drawerOpen) $("#d-suppress button").focus();
      break;
    case "g":
      switchView(state.view === "groups" ? "events" : "groups");
      break;
    case "/":
      $("#filters").q.focus();
      break;
    default:
      return;
  }
  event.preventDefault();
}

function init() {
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    applyFilters();
  });
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.addEventListener("click", () => switchView(tab.dataset.view));
  }
  $("#more").addEventListener("click", () => loadEvents(true));
  $("#d-close").addEventListener("click", closeDetail);
  $("#d-ack").addEventListener("click", () => triage("ack"));
  $("#d-escalate").addEventListener("click", () => triage("escalate"));
  $("#d-suppress").addEventListener("submit", (e) => {
    e.preventDefault();
    suppress(e.target).catch((error) => flash(error.message));
  });
  $("#upload-capture").addEventListener("submit", (e) => {
    e.preventDefault();
    upload(e.target, "/analyze");
  });
  $("#upload-csv").addEventListener("submit", (e) => {
    e.preventDefault();
    upload(e.target, "/predict");
  });
  $("#banner-close").addEventListener("click", () => ($("#banner").hidden = true));
  $("#banner-open").addEventListener("click", () => {
    $("#banner").hidden = true;
    if (state.bannerAlertId) openDetail(state.bannerAlertId);
  });
  document.addEventListener("keydown", onKey);
  refresh();
  connect();
}

init();
