/**
 * The dashboard's files, served by the binary itself: no CDN and no build
 * step. They are found relative to this module (`import.meta.url`), so
 * `deno compile --include src/server/dashboard --include
 * node_modules/uplot/dist/uPlot.iife.min.js ...` carries them. Only names in
 * this table are served: a request path never becomes a file path.
 */

interface Asset {
  url: URL;
  type: string;
}

const ASSETS: Record<string, Asset> = {
  "app.js": {
    url: new URL("./dashboard/app.js", import.meta.url),
    type: "text/javascript; charset=utf-8",
  },
  "style.css": {
    url: new URL("./dashboard/style.css", import.meta.url),
    type: "text/css; charset=utf-8",
  },
  "uPlot.iife.min.js": {
    url: new URL("../../node_modules/uplot/dist/uPlot.iife.min.js", import.meta.url),
    type: "text/javascript; charset=utf-8",
  },
  "uPlot.min.css": {
    url: new URL("../../node_modules/uplot/dist/uPlot.min.css", import.meta.url),
    type: "text/css; charset=utf-8",
  },
};

/** The dashboard page. */
export const INDEX_HTML = new URL("./dashboard/index.html", import.meta.url);
/** The login page (served without a token; holds no data). */
export const LOGIN_HTML = new URL("./dashboard/login.html", import.meta.url);

const cache = new Map<string, Uint8Array>();

/** Reads an asset's bytes (cached); throws if the file is missing from the build. */
export async function readAsset(url: URL): Promise<Uint8Array> {
  const key = url.href;
  let bytes = cache.get(key);
  if (!bytes) {
    bytes = await Deno.readFile(url);
    cache.set(key, bytes);
  }
  return bytes;
}

/** The asset named `name`, or null when there is no such asset. */
export async function dashboardAsset(
  name: string,
): Promise<{ bytes: Uint8Array; type: string } | null> {
  if (!Object.hasOwn(ASSETS, name)) return null;
  const asset = ASSETS[name];
  return { bytes: await readAsset(asset.url), type: asset.type };
}

/** Files `deno compile` must include for the dashboard (paths relative to the project). */
export const DASHBOARD_FILES = [
  "src/server/dashboard",
  "node_modules/uplot/dist/uPlot.iife.min.js",
  "node_modules/uplot/dist/uPlot.min.css",
];
