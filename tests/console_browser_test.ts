/**
 * The dashboard in a real browser (Debian's chromium through puppeteer-core):
 * sign in with the printed link, upload a capture and watch its alerts
 * arrive live while it is analysed, open its detail, acknowledge it,
 * download its evidence pcap and read it back with the project's reader, take a screenshot and check
 * its pixels (severity colour, chart lines). Skips, saying why, without
 * chromium. UPDATE_SCREENSHOT=1 also writes docs/console.png for the README.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";
import { readCaptureFile } from "../src/capture/mod.ts";
import { openStore } from "../src/store/mod.ts";
import { repoRoot } from "./support/environment.ts";
import { startConsoleProcess } from "./support/console_server.ts";

const CHROMIUM = "/usr/bin/chromium";
const MIXED = `${repoRoot}tests/fixtures/lab/mixed/capture.pcap`;

const missing = (() => {
  try {
    Deno.statSync(CHROMIUM);
    return null;
  } catch {
    return `${CHROMIUM} not found (apt-get install chromium)`;
  }
})();
if (missing) console.warn(`skipping the dashboard browser test: ${missing}`);

/** Counts pixels near each colour in a PNG, decoded by the browser itself. */
async function countColours(
  page: Page,
  png: Uint8Array,
  colours: Record<string, [number, number, number]>,
): Promise<Record<string, number> & { width: number; height: number; distinct: number }> {
  const base64 = btoa(Array.from(png, (b) => String.fromCharCode(b)).join(""));
  // Runs in the page (Deno's types have no DOM), decoding with the browser's own PNG decoder.
  return await page.evaluate(`(async () => {
    const wanted = ${JSON.stringify(colours)};
    const image = new Image();
    image.src = "data:image/png;base64,${base64}";
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, image.width, image.height).data;
    const counts = {};
    const distinct = new Set();
    for (const name of Object.keys(wanted)) counts[name] = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
      if (distinct.size < 5000) distinct.add((r << 16) | (g << 8) | b);
      for (const [name, [wr, wg, wb]] of Object.entries(wanted)) {
        if (Math.abs(r - wr) + Math.abs(g - wg) + Math.abs(b - wb) < 30) counts[name]++;
      }
    }
    return { ...counts, width: image.width, height: image.height, distinct: distinct.size };
  })()`) as Record<string, number> & { width: number; height: number; distinct: number };
}

Deno.test({
  name: "dashboard in chromium: live alert, detail, acknowledge, evidence download, screenshot",
  ignore: missing !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "console-browser-" });
    const db = join(dir, "ids.sqlite");
    const downloads = join(dir, "downloads");
    await Deno.mkdir(downloads);
    const server = await startConsoleProcess(db);
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--window-size=1400,1000"],
      defaultViewport: { width: 1400, height: 1000 },
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      // The link the server prints: the token rides in the fragment, the page signs in.
      await page.goto(`${server.url}/login#token=${server.token}`);
      await page.waitForSelector("#link.online", { timeout: 20_000 });
      assert.equal(new URL(page.url()).pathname, "/");
      assert.equal(await page.$$eval("#groups tbody tr", (rows) => rows.length), 0);

      // Upload a capture from the Uploads tab; go back to the groups and watch its alerts arrive.
      await page.click('.tabs button[data-view="uploads"]');
      const input = await page.$('#upload-capture input[type="file"]');
      await input!.uploadFile(MIXED);
      await page.click('#upload-capture button[type="submit"]');
      await page.waitForFunction(
        'document.querySelector("#upload-message").textContent.includes("queued")',
        { timeout: 20_000 },
      );
      await page.click('.tabs button[data-view="groups"]');
      await page.waitForSelector("#groups tbody tr", { timeout: 60_000 }).catch(async (error) => {
        const jobs = await page.evaluate("fetch('/api/v1/jobs').then((r) => r.text())");
        throw new Error(`${error.message}; jobs: ${jobs}; page errors: ${errors.join("; ")}`);
      });
      const lastEventId = await page.evaluate("state.lastEventId") as number;
      assert.ok(lastEventId > 0, "the alert came over the event stream");
      // The live chart had traffic to draw.
      await page.waitForSelector("#chart canvas", { timeout: 20_000 });

      // Screenshot of the lists and the chart, then check its pixels.
      await new Promise((r) => setTimeout(r, 500));
      const png = await page.screenshot({ type: "png" });
      const counts = await countColours(page, png, {
        background: [0x10, 0x14, 0x18],
        severity2: [0xf5, 0xa5, 0x24],
        severity1: [0xe5, 0x48, 0x4d],
        packetsLine: [0x4f, 0x9c, 0xf9],
      });
      assert.equal(counts.width, 1400);
      assert.ok(counts.background > 100_000, `dark background: ${JSON.stringify(counts)}`);
      assert.ok(
        counts.severity1 + counts.severity2 > 100,
        `severity colours: ${JSON.stringify(counts)}`,
      );
      assert.ok(counts.packetsLine > 50, `chart line drawn: ${JSON.stringify(counts)}`);
      assert.ok(counts.distinct > 200, "a rendered page, not a blank one");
      if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
        await Deno.writeFile(`${repoRoot}docs/console.png`, png);
      }

      // Keyboard: j selects the first group, Enter opens the newest alert of it.
      await page.keyboard.press("j");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#drawer:not([hidden])");
      const eve = JSON.parse(await page.$eval("#d-eve", (e) => e.textContent ?? ""));
      assert.equal(eve.event_type, "alert");
      const facts = await page.$eval("#d-facts", (e) => e.textContent ?? "");
      assert.ok(facts.includes(eve.community_id), "Community ID shown");
      const id = Number(
        (await page.$eval("#d-title", (e) => e.textContent ?? "")).slice(1).split(" ")[0],
      );
      assert.ok(id > 0);

      // Acknowledge with the button; the store says so.
      await page.click("#d-ack");
      await page.waitForFunction(
        'document.querySelector("#d-facts").textContent.includes("acknowledged")',
        { timeout: 10_000 },
      );
      const store = openStore(db);
      try {
        assert.equal(store.getAlert(id)!.status, "acknowledged");
      } finally {
        store.close();
      }

      // Download the evidence pcap through the page and read it back.
      const evidenceHidden = await page.$eval("#d-evidence", (e) => e.hasAttribute("hidden"));
      assert.equal(evidenceHidden, false, "the alert has an evidence capture");
      const cdp = await page.createCDPSession();
      await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
      await page.click("#d-evidence");
      const file = join(downloads, `alert-${id}.pcap`);
      for (let k = 0; k < 100; k++) {
        try {
          if ((await Deno.stat(file)).size > 24) break;
        } catch { /* not yet */ }
        await new Promise((r) => setTimeout(r, 100));
      }
      let packets = 0;
      for await (const batch of readCaptureFile(file)) packets += batch.count;
      assert.ok(packets > 0, "the evidence pcap holds packets");

      // Esc closes the drawer.
      await page.keyboard.press("Escape");
      await page.waitForSelector("#drawer[hidden]");
      assert.deepEqual(errors, [], "no errors in the page");
    } finally {
      await browser.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
