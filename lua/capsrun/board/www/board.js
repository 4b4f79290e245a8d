// board.js: the page of capsrun board. Two views over the board's JSON API
// (lua/capsrun/board/server.lua): runs (a table, overlaid curves that grow
// while a run trains, figures) and the capsule explorer (test image or
// drawing -> class capsules, routing, reconstruction, dimension sliders).
"use strict";

const board = { runs: [], selected: new Set(), charts: {}, figuresRun: null, model: null, result: null,
  chosen: 0, offsets: [], latencies: [], pending: null, inFlight: false, pollMs: 2000 };
window.__board = board;   // for the browser specs: latencies, last result

const $ = (id) => document.getElementById(id);
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

function status(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" } };
  const r = await fetch(path, opts);
  const t = await r.json().catch(() => ({ error: "the board answered " + r.status + " without JSON" }));
  if (!r.ok) throw new Error(t.error || ("HTTP " + r.status));
  return t;
}

// ---- views
for (const b of document.querySelectorAll(".tab")) {
  b.addEventListener("click", () => {
    for (const x of document.querySelectorAll(".tab")) x.classList.toggle("active", x === b);
    for (const v of document.querySelectorAll(".view")) v.classList.toggle("hidden", v.id !== "view-" + b.dataset.view);
  });
}

// ---- runs
function column(run, name) { return run.columns.indexOf(name); }

function fmt(v, digits) { return v === null || v === undefined ? "" : Number(v).toFixed(digits); }

function ago(mtime, now) {
  const s = Math.max(0, Date.now() / 1000 - mtime);
  if (s < 90) return Math.round(s) + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  if (s < 172800) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " days ago";
}

// a run's options from its checkpoint: the ones people change first, then how many more
const KEY_OPTIONS = ["model", "dataset", "epochs", "batch", "lr", "lr_schedule", "routing", "routing_iters", "seed"];
function optionsText(options) {
  if (!options) return "";
  const keys = Object.keys(options).sort();
  const shown = KEY_OPTIONS.filter((k) => options[k] !== undefined).map((k) => k + " " + options[k]);
  return shown.join(", ") + (keys.length > shown.length ? " (+" + (keys.length - shown.length) + " more)" : "");
}

function renderTable() {
  const body = $("runs-table").querySelector("tbody");
  body.textContent = "";
  board.runs.forEach((run) => {
    const tr = document.createElement("tr");
    tr.dataset.run = run.id;
    const loss = column(run, "loss"), acc = column(run, "test_acc") >= 0 ? column(run, "test_acc")
      : run.columns.findIndex((c) => c.startsWith("test_") && (c.endsWith("_acc") || c.endsWith("_correct")));
    const last = run.rows[run.rows.length - 1];
    let best = null;
    if (acc >= 0) for (const r of run.rows) if (r[acc] !== null && (best === null || r[acc] > best)) best = r[acc];
    const cells = [null, run.id, run.rows.length, last && loss >= 0 ? fmt(last[loss], 5) : "",
      best !== null ? fmt(100 * best, 2) + "%" : "", last && acc >= 0 && last[acc] !== null ? fmt(100 * last[acc], 2) + "%" : "",
      ago(run.mtime), run.weights.map((w, k) => w + ": " + run.models[k]).join("; "), optionsText(run.options)];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (i === 0) {
        const box = document.createElement("input");
        box.type = "checkbox";
        box.checked = board.selected.has(run.id);
        box.addEventListener("change", () => {
          if (box.checked) board.selected.add(run.id); else board.selected.delete(run.id);
          renderCharts();
        });
        td.appendChild(box);
      } else if (i === 1) {
        const a = document.createElement("a");
        a.textContent = c;
        a.addEventListener("click", () => { board.figuresRun = run.id; renderFigures(); });
        td.appendChild(a);
      } else td.textContent = c;
      if (i === 8 && run.options) td.title = Object.keys(run.options).sort().map((k) => k + "=" + run.options[k]).join("\n");
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}

function series(run, name, scale) {
  const e = column(run, "epoch"), k = column(run, name);
  if (e < 0 || k < 0) return null;
  return run.rows.filter((r) => r[k] !== null).map((r) => ({ x: r[e], y: r[k] * scale }));
}

function chart(id, label, yMax) {
  if (board.charts[id]) return board.charts[id];
  if (typeof Chart === "undefined") { status("Chart.js is missing (Debian: libjs-chart.js): no curves", true); return null; }
  board.charts[id] = new Chart($(id), {
    type: "line", data: { datasets: [] },
    options: { animation: false, responsive: false, parsing: false,
      scales: { x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } },
        y: { title: { display: true, text: label }, max: yMax } },
      plugins: { legend: { position: "bottom" } } } });
  return board.charts[id];
}

function renderCharts() {
  const specs = [["chart-loss", "loss", 1, "loss", undefined], ["chart-acc", "test_acc", 100, "test accuracy (%)", 100]];
  for (const [id, name, scale, label, yMax] of specs) {
    const c = chart(id, label, yMax);
    if (!c) return;
    const sets = [];
    board.runs.forEach((run, i) => {
      if (!board.selected.has(run.id)) return;
      const data = series(run, name, scale);
      if (data) sets.push({ label: run.id, data, borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length], pointRadius: 3 });
    });
    c.data.datasets = sets;
    c.update("none");
  }
}

function renderFigures() {
  const run = board.runs.find((r) => r.id === board.figuresRun);
  const box = $("figures");
  box.textContent = "";
  $("figures-title").textContent = run ? "figures of " + run.id : "";
  if (!run) return;
  if (run.figures.length === 0) box.textContent = "this run has written no figures yet";
  for (const f of run.figures) {
    const img = document.createElement("img");
    img.src = "/runs/" + encodeURI(run.id) + "/" + encodeURIComponent(f) + "?t=" + run.mtime;
    img.alt = f;
    img.title = f;
    box.appendChild(img);
  }
}

async function pollRuns() {
  try {
    const t = await api("/api/runs");
    $("root").textContent = t.root;
    const known = new Set(board.runs.map((r) => r.id));
    const firstTime = board.runs.length === 0;
    board.runs = t.runs;
    for (const r of t.runs) if (!known.has(r.id) && (firstTime ? board.selected.size < 6 : true)) board.selected.add(r.id);
    renderTable();
    renderCharts();
    if (board.figuresRun) renderFigures();
    fillModels();
    if (!$("status").classList.contains("error")) status(t.runs.length + " runs");
  } catch (e) {
    status("cannot reach the board: " + e.message, true);
  }
  setTimeout(pollRuns, board.pollMs);
}

// ---- explorer
function fillModels() {
  const sel = $("model-select");
  const ids = [];
  for (const run of board.runs) for (const w of run.weights) ids.push(run.id === "." ? w : run.id + "/" + w);
  const have = Array.from(sel.options).map((o) => o.value);
  if (have.join("\n") === ids.join("\n")) return;
  const keep = sel.value;
  sel.textContent = "";
  for (const id of ids) {
    const o = document.createElement("option");
    o.value = o.textContent = id;
    sel.appendChild(o);
  }
  if (ids.includes(keep)) sel.value = keep;
  if (!board.model && ids.length) selectModel(sel.value);
}

async function selectModel(id) {
  try {
    board.model = await api("/api/model?id=" + encodeURIComponent(id));
    board.model.id = id;
    const m = board.model;
    $("model-info").textContent = m.kind + ", " + m.input.join("x") + " input, " + m.classes + " classes" +
      (m.dataset ? ", trained on " + m.dataset : "") + (m.decoder ? ", with a decoder" : ", no decoder");
    $("routing-box").classList.toggle("hidden", !m.routing);
    showTest(Number($("test-index").value) || 0);
  } catch (e) { status(e.message, true); }
}

$("model-select").addEventListener("change", (e) => selectModel(e.target.value));

function drawPixels(canvas, pixels, h, w, channels) {
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  const byte = (v) => Math.max(0, Math.min(255, Math.round(v * 255)));
  for (let p = 0; p < plane; p++) {
    const r = pixels[p], g = channels === 3 ? pixels[plane + p] : r, b = channels === 3 ? pixels[2 * plane + p] : r;
    img.data[4 * p] = byte(r); img.data[4 * p + 1] = byte(g); img.data[4 * p + 2] = byte(b); img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const c = canvas.getContext("2d");
  c.imageSmoothingEnabled = false;
  c.clearRect(0, 0, canvas.width, canvas.height);
  c.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function className(k) { return board.model && board.model.class_names[k] !== undefined ? board.model.class_names[k] : String(k); }

async function explore(body, caption) {
  if (!board.model) { status("no model: train one with experiments/reconstruct.lua or classify.lua", true); return; }
  try {
    body.id = board.model.id;
    const r = await api("/api/explore", body);
    board.result = r;
    board.chosen = r.predicted;
    drawPixels($("input"), r.input, r.h, r.w, r.channels);
    $("input-caption").textContent = caption + (r.label !== undefined && r.label !== null ? ", label " + className(r.label) : "") +
      "; predicted " + className(r.predicted) + " (" + r.note + ", " + r.ms.toFixed(1) + " ms)";
    renderExplorer();
    status("predicted " + className(r.predicted));
  } catch (e) { status(e.message, true); }
}

function renderExplorer() {
  const r = board.result;
  const box = $("lengths");
  box.textContent = "";
  const top = Math.max(...r.lengths.map(Math.abs), 1e-9);
  r.lengths.forEach((v, k) => {
    const row = document.createElement("div");
    row.className = "bar" + (k === board.chosen ? " chosen" : "") + (k === r.predicted ? " predicted" : "");
    row.dataset.class = k;
    const name = document.createElement("span"); name.className = "name"; name.textContent = className(k);
    const fill = document.createElement("span"); fill.className = "fill"; fill.style.width = (12 * Math.abs(v) / top) + "em";
    const val = document.createElement("span"); val.textContent = v.toFixed(3);
    row.append(name, fill, val);
    row.addEventListener("click", () => { board.chosen = k; renderExplorer(); });
    box.appendChild(row);
  });
  renderRouting();
  renderPoses();
  renderSliders();
  if (r.capsules && board.model.decoder) reconstructNow();
  else $("recon-caption").textContent = board.model.decoder ? "" : "this model has no decoder: experiments/reconstruct.lua trains one";
}

function renderRouting() {
  const c = board.result.coupling;
  $("routing-box").classList.toggle("hidden", !c);
  if (!c) return;
  const slider = $("routing-iter");
  slider.max = c.iterations;
  if (Number(slider.value) > c.iterations) slider.value = c.iterations;
  const r = Number(slider.value);
  const map = c.maps[r - 1][board.chosen];
  // one grey scale for every iteration of this class, so stepping shows the routing sharpen
  const all = c.maps.map((m) => m[board.chosen]).flat();
  const lo = Math.min(...all), hi = Math.max(...all), span = Math.max(hi - lo, 1e-9);
  drawPixels($("routing-canvas"), map.map((v) => (v - lo) / span), c.h, c.w, 1);
  $("routing-label").textContent = "iteration " + r + " of " + c.iterations;
  const mean = map.reduce((a, b) => a + b, 0) / map.length;
  $("routing-caption").textContent = "coupling to '" + className(board.chosen) + "' at iteration " + r +
    ", mean over the " + c.types + " capsule types at each of the " + c.h + "x" + c.w + " positions (black " +
    lo.toFixed(3) + ", white " + hi.toFixed(3) + " over all iterations; mean here " + mean.toFixed(3) + ")";
}

$("routing-iter").addEventListener("input", () => { if (board.result) renderRouting(); });
$("routing-play").addEventListener("click", () => {
  const s = $("routing-iter");
  let r = 1;
  const step = () => { s.value = r; renderRouting(); if (++r <= Number(s.max)) setTimeout(step, 700); };
  if (board.result && board.result.coupling) step();
});

function renderPoses() {
  const box = $("poses");
  box.textContent = "";
  const p = board.result.poses;
  if (!p) return;
  const t = document.createElement("table");
  const cap = document.createElement("caption");
  cap.textContent = "pose matrix of '" + className(board.chosen) + "' (activation " + board.result.lengths[board.chosen].toFixed(3) + ")";
  t.appendChild(cap);
  for (let i = 0; i < 4; i++) {
    const tr = document.createElement("tr");
    for (let j = 0; j < 4; j++) { const td = document.createElement("td"); td.textContent = p[board.chosen][4 * i + j].toFixed(3); tr.appendChild(td); }
    t.appendChild(tr);
  }
  box.appendChild(t);
}

function renderSliders() {
  const box = $("sliders");
  box.textContent = "";
  const r = board.result;
  if (!r.capsules || !board.model.decoder) { $("sliders-title").textContent = ""; return; }
  const caps = r.capsules[board.chosen];
  board.offsets = caps.map(() => 0);
  $("sliders-title").textContent = "the " + caps.length + " dimensions of capsule '" + className(board.chosen) +
    "': each slider adds to one (the paper perturbs by -0.25 .. +0.25)";
  caps.forEach((v, d) => {
    const label = document.createElement("label");
    const name = document.createElement("span"); name.textContent = "dim " + (d + 1);
    const input = document.createElement("input");
    input.type = "range"; input.min = -0.5; input.max = 0.5; input.step = 0.01; input.value = 0;
    input.dataset.dim = d;
    const val = document.createElement("span"); val.textContent = "+0.00";
    input.addEventListener("input", () => {
      board.offsets[d] = Number(input.value);
      val.textContent = (input.value >= 0 ? "+" : "") + Number(input.value).toFixed(2);
      requestReconstruction(performance.now());
    });
    label.append(name, input, val);
    box.appendChild(label);
  });
}

// one request in flight; the newest slider position wins
function requestReconstruction(t0) {
  board.pending = t0;
  if (!board.inFlight) reconstructNow();
}

async function reconstructNow() {
  const r = board.result;
  if (!r || !r.capsules) return;
  const t0 = board.pending === null ? performance.now() : board.pending;
  board.pending = null;
  board.inFlight = true;
  try {
    const capsule = r.capsules[board.chosen].map((v, d) => v + (board.offsets[d] || 0));
    const out = await api("/api/reconstruct", { id: board.model.id, class: board.chosen, capsule });
    drawPixels($("recon"), out.pixels, out.h, out.w, out.channels);
    board.latencies.push(performance.now() - t0);
    board.reconstructions = (board.reconstructions || 0) + 1;
    $("recon-caption").textContent = "reconstruction from capsule '" + className(board.chosen) + "' (" +
      out.ms.toFixed(1) + " ms in the decoder)";
  } catch (e) { status(e.message, true); }
  board.inFlight = false;
  if (board.pending !== null) reconstructNow();
}

function showTest(index) {
  explore({ index }, "test image " + index);
}
$("show-test").addEventListener("click", () => showTest(Number($("test-index").value) || 0));
$("random-test").addEventListener("click", async () => {
  const i = Math.floor(Math.random() * 1000);
  $("test-index").value = i;
  showTest(i);
});

// drawing: white ink on black, as MNIST; the server fits it as MNIST was made
const pad = $("draw"), pen = pad.getContext("2d");
function clearPad() { pen.fillStyle = "#000"; pen.fillRect(0, 0, pad.width, pad.height); }
clearPad();
let drawing = false;
function at(e) { const b = pad.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
pad.addEventListener("pointerdown", (e) => { drawing = true; pen.beginPath(); pen.moveTo(...at(e)); });
pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  pen.strokeStyle = "#fff"; pen.lineWidth = 16; pen.lineCap = "round"; pen.lineJoin = "round";
  pen.lineTo(...at(e)); pen.stroke();
});
window.addEventListener("pointerup", () => { drawing = false; });
$("clear-draw").addEventListener("click", clearPad);

function canvasPixels(canvas, h, w, channels) {
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  const ctx = off.getContext("2d");
  ctx.drawImage(canvas, 0, 0, w, h);
  const d = ctx.getImageData(0, 0, w, h).data;
  const out = new Array(h * w * channels);
  for (let p = 0; p < h * w; p++) {
    if (channels === 1) out[p] = (d[4 * p] + d[4 * p + 1] + d[4 * p + 2]) / 765;
    else for (let c = 0; c < 3; c++) out[c * h * w + p] = d[4 * p + c] / 255;
  }
  return out;
}

$("predict-draw").addEventListener("click", () => {
  const m = board.model;
  if (!m) return;
  const h = 56, w = 56, ch = m.input[0];
  explore({ pixels: canvasPixels(pad, h, w, ch), h, w, channels: ch, digits: m.dataset === "mnist" }, "your drawing");
});

$("upload").addEventListener("change", (e) => {
  const file = e.target.files[0];
  const m = board.model;
  if (!file || !m) return;
  const img = new Image();
  img.onload = () => {
    const c = document.createElement("canvas");
    c.width = m.input[2]; c.height = m.input[1];
    c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
    explore({ pixels: canvasPixels(c, c.height, c.width, m.input[0]), h: c.height, w: c.width, channels: m.input[0] },
      file.name);
    URL.revokeObjectURL(img.src);
  };
  img.onerror = () => status(file.name + " is not an image the browser can read", true);
  img.src = URL.createObjectURL(file);
});

pollRuns();
