// board.test.js: capsrun board in a real browser (Debian's headless Chromium
// driven by puppeteer-core). Run by spec/board_browser_spec.lua, which trains
// the runs and starts the board:
//   node board.test.js URL RUNS_DIR GROWING_RUN SCREENSHOT_DIR
// Prints one JSON line of what it saw; exits non-zero on any failed check.
"use strict";
const puppeteer = require("puppeteer-core");
const fs = require("fs");
const path = require("path");

const [url, runsDir, growingRun, shots, model] = process.argv.slice(2);   // model: the weights to explore (else the first)
const results = { checks: [], consoleErrors: [] };
function check(name, ok, detail) {
  results.checks.push({ name, ok: !!ok, detail });
  if (!ok) results.failed = (results.failed || 0) + 1;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(page, fn, arg, ms) {
  try { await page.waitForFunction(fn, { timeout: ms || 10000, polling: 100 }, arg); return true; } catch (e) { return false; }
}

(async () => {
  const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    page.on("console", (m) => { if (m.type() === "error") results.consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => results.consoleErrors.push(String(e)));
    await page.goto(url, { waitUntil: "load" });

    // runs: the table lists every run, the curves are drawn
    check("runs table lists the runs", await waitFor(page, () => document.querySelectorAll("#runs-table tbody tr").length >= 2));
    const ids = await page.$$eval("#runs-table tbody tr", (rows) => rows.map((r) => r.dataset.run));
    results.runs = ids;
    check("the growing run is listed", ids.includes(growingRun), ids);
    const points = () => page.evaluate((id) => {
      const c = window.__board.charts["chart-loss"];
      const d = c && c.data.datasets.find((s) => s.label === id);
      return d ? d.data.length : -1;
    }, growingRun);
    const before = await points();
    check("a loss curve is drawn for the growing run", before >= 1, before);
    const inked = await page.evaluate(() => {
      const c = document.getElementById("chart-loss");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 200 || d[i + 2] < 200)) n++;
      return n;
    });
    check("the loss canvas has ink", inked > 200, inked);
    if (shots) await page.screenshot({ path: path.join(shots, "board-runs.png") });

    // live: append an epoch to the growing run's CSV; the curve grows without a reload
    const csv = path.join(runsDir, growingRun, "metrics.csv");
    const text = fs.readFileSync(csv, "utf8").trimEnd().split("\n");
    const cols = text[0].split(","), last = text[text.length - 1].split(",").map(Number);
    last[cols.indexOf("epoch")] += 1;
    last[cols.indexOf("loss")] *= 0.8;
    fs.appendFileSync(csv, last.join(",").slice(0, 5));            // a row half written: never shown torn
    await sleep(2600);
    check("a half-written row is not shown", (await points()) === before, await points());
    fs.appendFileSync(csv, last.join(",").slice(5) + "\n");
    check("the curve grows when an epoch is appended", await waitFor(page, ([id, n]) => {
      const c = window.__board.charts["chart-loss"];
      const d = c && c.data.datasets.find((s) => s.label === id);
      return d && d.data.length === n + 1;
    }, [growingRun, before], 8000));

    // figures of a run
    await page.click(`#runs-table tbody tr[data-run="${growingRun}"] a`);
    check("the run's figures load", await waitFor(page, () => {
      const imgs = document.querySelectorAll("#figures img");
      return imgs.length > 0 && Array.from(imgs).every((i) => i.complete && i.naturalWidth > 0);
    }));

    // explorer: a test image, the class capsules, the routing, the reconstruction
    await page.click("#tab-explorer");
    if (model) {
      await waitFor(page, (m) => Array.from(document.querySelectorAll("#model-select option")).some((o) => o.value === m), model);
      await page.evaluate(() => { window.__board.result = null; });
      await page.select("#model-select", model);
    }
    check("a model is chosen and a test image explored", await waitFor(page, () => window.__board.result &&
      window.__board.result.lengths.length === 10, null, 15000));
    const r = await page.evaluate(() => window.__board.result);
    check("the routing has its iterations", r.coupling && r.coupling.iterations >= 1 && r.coupling.maps.length === r.coupling.iterations,
      r.coupling && r.coupling.iterations);
    const routingPixels = async () => page.evaluate(() => {
      const c = document.getElementById("routing-canvas");
      return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)).join(",");
    });
    const it1 = await routingPixels();
    await page.evaluate(() => { const s = document.getElementById("routing-iter"); s.value = s.max; s.dispatchEvent(new Event("input")); });
    const itN = await routingPixels();
    check("stepping the routing redraws the coupling map", it1 !== itN);
    check("the reconstruction is drawn", await waitFor(page, () => (window.__board.reconstructions || 0) >= 1));
    if (shots) await page.screenshot({ path: path.join(shots, "board-explorer.png"), fullPage: true });

    // the sliders: the reconstruction's pixels change; latency of each redraw
    const reconPixels = () => page.evaluate(() => {
      const c = document.getElementById("recon");
      return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)).join(",");
    });
    const start = await reconPixels();
    await page.evaluate(() => { window.__board.latencies = []; });
    for (let k = 0; k < 40; k++) {
      await page.evaluate((v) => {
        const s = document.querySelectorAll("#sliders input")[v % 4];
        s.value = ((v % 21) - 10) / 20;
        s.dispatchEvent(new Event("input"));
      }, k);
      await sleep(40);
    }
    await waitFor(page, () => !window.__board.inFlight && window.__board.pending === null);
    const moved = await reconPixels();
    check("moving a slider changes the reconstruction", moved !== start);
    const lat = (await page.evaluate(() => window.__board.latencies)).sort((a, b) => a - b);
    results.latencies = { n: lat.length, median: lat[Math.floor(lat.length / 2)], p95: lat[Math.floor(0.95 * (lat.length - 1))] };
    const limit = Number(process.env.CAPSRUN_LATENCY_LIMIT || 30);   // raised under AddressSanitizer only
    check("slider to reconstruction under " + limit + " ms at the 95th percentile", lat.length >= 10 &&
      results.latencies.p95 < limit, results.latencies);

    // draw a digit: a prediction comes back
    await page.click("#clear-draw");
    const box = await (await page.$("#draw")).boundingBox();
    await page.mouse.move(box.x + 112, box.y + 40);
    await page.mouse.down();
    for (let y = 40; y <= 190; y += 10) await page.mouse.move(box.x + 112, box.y + y);
    await page.mouse.up();
    await page.evaluate(() => { window.__board.result = null; });
    await page.click("#predict-draw");
    check("a drawn digit gets a prediction", await waitFor(page, () => window.__board.result &&
      Number.isInteger(window.__board.result.predicted) && /drawing/.test(document.getElementById("input-caption").textContent)));
    results.drawnPrediction = await page.evaluate(() => window.__board.result && window.__board.result.predicted);

    // 100 requests at once, all answered
    const codes = await page.evaluate(async () => {
      const rs = await Promise.all(Array.from({ length: 100 }, () => fetch("/api/runs").then((r) => r.status).catch(() => 0)));
      return rs;
    });
    check("100 concurrent requests answered", codes.length === 100 && codes.every((c) => c === 200), codes.filter((c) => c !== 200).length);

    check("no errors in the browser console", results.consoleErrors.length === 0, results.consoleErrors);
  } catch (e) {
    check("the browser session ran to its end", false, String(e && e.stack || e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(results));
  process.exit(results.failed ? 1 : 0);
})();
