/**
 * The victim's web content: a few sites of varied page sizes, downloads and
 * JSON endpoints, generated from the seed into the run's work directory.
 * What the clients can ask for is returned as a catalogue.
 */
import type { SeededRandom } from "./seeded_random.ts";

/** Paths the benign clients know about, per site (host name). */
export interface SiteCatalogue {
  /** `www.office.lab` pages. */
  wwwPages: string[];
  /** Static assets a page pulls in (CSS, JS, images). */
  assets: string[];
  /** `wiki.office.lab` pages. */
  wikiPages: string[];
  /** `files.office.lab` downloads with their sizes in bytes. */
  downloads: { path: string; bytes: number }[];
  /** `api.office.lab` GET endpoints. */
  apiEndpoints: string[];
  /** Pages behind basic auth on www (`/private/`). */
  privatePages: string[];
}

const WORDS = (
  "office report meeting budget quarter project client invoice schedule team update " +
  "policy holiday printer network server backup security training lunch agenda minutes " +
  "contract supplier delivery warehouse payroll review draft final summary notes"
).split(" ");

function htmlPage(
  rng: SeededRandom,
  title: string,
  bytes: number,
  links: string[],
  images: string[] = [],
): string {
  const head = `<!doctype html><html><head><title>${title}</title>` +
    `<link rel="stylesheet" href="/static/app.css"><script src="/static/app.js"></script>` +
    `</head><body><h1>${title}</h1><nav>${
      links.map((l) => `<a href="${l}">${l}</a>`).join(" ")
    }</nav>${images.map((src) => `<img src="${src}" alt="">`).join("")}\n`;
  let body = "";
  while (head.length + body.length < bytes) {
    const sentence = Array.from({ length: rng.int(6, 16) }, () => rng.pick(WORDS)).join(" ");
    body += `<p>${sentence}.</p>\n`;
  }
  return `${head}${body}</body></html>\n`;
}

function randomBytes(rng: SeededRandom, size: number): Uint8Array {
  const out = new Uint8Array(size);
  // Only the sizes matter on the wire; fill in 4-byte steps for speed.
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= size; i += 4) view.setUint32(i, (rng.next() * 4294967296) >>> 0);
  return out;
}

/** Writes every site under `root` and returns what can be requested. */
export async function writeSites(root: string, rng: SeededRandom): Promise<SiteCatalogue> {
  const dirs = ["www/pages", "www/static", "www/img", "www/private", "wiki", "files", "api/items"];
  for (const d of dirs) await Deno.mkdir(`${root}/${d}`, { recursive: true });

  const wwwPages: string[] = ["/"];
  const pageSizes = [1_500, 4_000, 9_000, 15_000, 30_000, 60_000, 120_000];
  for (let i = 1; i <= 24; i++) wwwPages.push(`/pages/page-${i}.html`);
  for (const page of wwwPages) {
    const file = page === "/" ? "index.html" : page.slice(1);
    const links = Array.from({ length: 6 }, () => rng.pick(wwwPages));
    // A browser fetches these in parallel (several HTTP/1.1 connections, or HTTP/2 streams).
    const images = Array.from({ length: rng.int(0, 4) }, () => `/img/photo-${rng.int(1, 6)}.jpg`);
    await Deno.writeTextFile(
      `${root}/www/${file}`,
      htmlPage(rng, `Office ${page}`, rng.pick(pageSizes) * rng.between(0.7, 1.3), links, [
        ...new Set(images),
      ]),
    );
  }
  await Deno.writeTextFile(
    `${root}/www/static/app.css`,
    "body{font:14px sans-serif}\n".repeat(300),
  );
  await Deno.writeTextFile(`${root}/www/static/app.js`, "console.log('office');\n".repeat(1500));
  const assets = ["/static/app.css", "/static/app.js"];
  for (let i = 1; i <= 6; i++) {
    await Deno.writeFile(
      `${root}/www/img/photo-${i}.jpg`,
      randomBytes(rng, rng.int(8_000, 180_000)),
    );
    assets.push(`/img/photo-${i}.jpg`);
  }
  const privatePages = ["/private/", "/private/salaries.html", "/private/roadmap.html"];
  for (const page of privatePages) {
    const file = page.endsWith("/") ? `${page.slice(1)}index.html` : page.slice(1);
    await Deno.writeTextFile(`${root}/www/${file}`, htmlPage(rng, "Staff only", 6_000, []));
  }

  const wikiPages: string[] = [];
  for (let i = 1; i <= 16; i++) wikiPages.push(`/article-${i}.html`);
  wikiPages.push("/");
  for (const page of wikiPages) {
    const file = page === "/" ? "index.html" : page.slice(1);
    await Deno.writeTextFile(
      `${root}/wiki/${file}`,
      htmlPage(rng, `Wiki ${page}`, rng.int(2_000, 45_000), wikiPages.slice(0, 5)),
    );
  }

  const downloads: { path: string; bytes: number }[] = [];
  for (
    const [name, bytes] of [
      ["handbook.pdf", 180_000],
      ["tools.zip", 600_000],
      ["dataset.csv.gz", 1_500_000],
      ["installer.bin", 4_000_000],
    ] as const
  ) {
    await Deno.writeFile(`${root}/files/${name}`, randomBytes(rng, bytes));
    downloads.push({ path: `/${name}`, bytes });
  }

  const apiEndpoints = ["/api/status.json", "/api/metrics.json"];
  await Deno.writeTextFile(
    `${root}/api/status.json`,
    JSON.stringify({ status: "ok", version: "2.4.1", uptime: 123456 }),
  );
  const metrics = Object.fromEntries(
    Array.from({ length: 120 }, (_, i) => [`metric_${i}`, Math.round(rng.between(0, 1e6))]),
  );
  await Deno.writeTextFile(`${root}/api/metrics.json`, JSON.stringify(metrics));
  for (let page = 1; page <= 5; page++) {
    const items = Array.from({ length: rng.int(5, 60) }, (_, i) => ({
      id: page * 100 + i,
      name: `${rng.pick(WORDS)}-${rng.pick(WORDS)}`,
      qty: rng.int(0, 500),
    }));
    await Deno.writeTextFile(`${root}/api/items/${page}.json`, JSON.stringify(items));
    apiEndpoints.push(`/api/items/${page}.json`);
  }

  return { wwwPages, assets, wikiPages, downloads, apiEndpoints, privatePages };
}
