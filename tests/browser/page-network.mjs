// What a paywalled view fetches, as Chromium's network layer saw it (DevTools protocol): per file
// the status, Content-Encoding, ETag, whether a cache answered, and the bytes on the wire.
// Shared by tests/browser/page-size.test.mjs and scripts/measure-page.mjs.

import { waitUntil } from "./harness.mjs";

/** The most a first paywalled view may transfer: html + js + wasm + css, compressed as served. */
export const PAGE_BUDGET_BYTES = 150 * 1024;

/**
 * Starts recording `page`'s requests. `entries()` lists the ones since the last `reset()`:
 * `{ url, path, type, status (as on the wire), encoding, etag, contentType, cached, transferred,
 * bodyBytes, decodedBytes, done }`,
 * where `transferred` counts headers and body as received, `bodyBytes` the body alone (0 for a
 * 304 or a cache hit) and `decodedBytes` the body as the page got it (uncompressed).
 */
export async function watchNetwork(page) {
  const session = await page.context().newCDPSession(page);
  let requests = new Map();
  const entry = (id) => requests.get(id);
  session.on("Network.requestWillBeSent", ({ requestId, request, type }) => {
    // A redirect reuses the id: the last request wins, as the page sees it.
    const url = new URL(request.url);
    requests.set(requestId, {
      url: request.url,
      path: url.pathname,
      type,
      status: undefined,
      wireStatus: undefined,
      encoding: undefined,
      etag: undefined,
      contentType: undefined,
      cached: false,
      headerBytes: 0,
      transferred: 0,
      bodyBytes: 0,
      decodedBytes: 0,
      done: false,
    });
  });
  session.on("Network.requestServedFromCache", ({ requestId }) => {
    if (entry(requestId)) entry(requestId).cached = true;
  });
  // The status on the wire: a revalidated `fetch()` shows the page its cached 200, not the 304.
  session.on("Network.responseReceivedExtraInfo", ({ requestId, statusCode }) => {
    const e = entry(requestId);
    if (e) e.wireStatus = statusCode;
  });
  session.on("Network.responseReceived", ({ requestId, response }) => {
    const e = entry(requestId);
    if (!e) return;
    const header = (name) => {
      const key = Object.keys(response.headers).find((k) => k.toLowerCase() === name);
      return key === undefined ? undefined : response.headers[key];
    };
    Object.assign(e, {
      status: response.status,
      encoding: header("content-encoding"),
      etag: header("etag"),
      contentType: header("content-type"),
      cached: e.cached || Boolean(response.fromDiskCache || response.fromPrefetchCache || response.fromServiceWorker),
      headerBytes: response.encodedDataLength ?? 0,
    });
  });
  session.on("Network.dataReceived", ({ requestId, dataLength }) => {
    const e = entry(requestId);
    if (e) e.decodedBytes += dataLength;
  });
  session.on("Network.loadingFinished", ({ requestId, encodedDataLength }) => {
    const e = entry(requestId);
    if (!e) return;
    e.done = true;
    e.transferred = e.cached ? 0 : encodedDataLength;
    e.status = e.wireStatus ?? e.status;
    e.bodyBytes = e.cached || e.status === 304 ? 0 : Math.max(0, encodedDataLength - e.headerBytes);
  });
  session.on("Network.loadingFailed", ({ requestId, errorText }) => {
    const e = entry(requestId);
    if (!e) return;
    Object.assign(e, { done: true, failed: errorText });
  });
  await session.send("Network.enable");
  return {
    entries: () => [...requests.values()],
    reset: () => {
      requests = new Map();
    },
  };
}

/**
 * Opens the paywalled `url` in `page` and waits until the page has loaded its files (the wasm
 * library among them) and the network is quiet. Returns the paywall's own requests (the page
 * and `/js/*`; not the favicon, the wallet's RPC or the receiver's API): `{ document, entries,
 * transferred }`.
 */
export async function loadPaywallView(page, network, url) {
  network.reset();
  const origin = new URL(url).origin;
  await page.goto(url);
  const ours = () =>
    network.entries().filter((e) => e.url.startsWith(origin) && (e.type === "Document" || e.path.startsWith("/js/")));
  let quietSince;
  await waitUntil(
    () => {
      const entries = ours();
      const settled = entries.every((e) => e.done) && entries.some((e) => e.path.endsWith(".wasm"));
      if (!settled) {
        quietSince = undefined;
        return false;
      }
      // The page may import further modules after the wasm: settled twice, 300 ms apart.
      quietSince ??= Date.now();
      return Date.now() - quietSince >= 300;
    },
    { timeout: 60_000, interval: 100, message: `the paywall page at ${url} to load its files` },
  );
  const entries = ours();
  const document = entries.find((e) => e.type === "Document");
  if (!document) throw new Error(`no document request for ${url}: ${JSON.stringify(entries)}`);
  const failed = entries.filter((e) => e.failed);
  if (failed.length) throw new Error(`requests failed: ${JSON.stringify(failed)}`);
  return { document, entries, transferred: entries.reduce((sum, e) => sum + e.transferred, 0) };
}

/**
 * Waits until the receiver at `serverUrl` sends the wasm as brotli: the first request for a large
 * file starts its brotli (seconds at the top level) and is answered with gzip meanwhile, so a
 * just-started receiver would show a first view in gzip.
 */
export async function waitForBrotli(serverUrl, path = "/js/uraiden-wasm/uraiden_wasm_bg.wasm") {
  await waitUntil(
    async () => {
      const response = await fetch(`${serverUrl}${path}`, { headers: { "Accept-Encoding": "br" } });
      await response.arrayBuffer();
      return response.headers.get("content-encoding") === "br";
    },
    { timeout: 60_000, interval: 250, message: `${path} to be served as brotli` },
  );
}
