// What a paywalled view costs the browser: the paywall page's files (html, scripts, wasm, css)
// arrive compressed, the first view stays within the size budget, and a second view downloads
// only the 402 page itself (every other file is revalidated with its ETag or comes from the
// cache). A file an operator edits in the `--paywall-info` directory is served fresh, with a new
// ETag, without a restart. Real anvil, real receiver, headless Chromium.
//
//   node --test --test-concurrency=1 tests/browser/page-size.test.mjs
//
// `node scripts/measure-page.mjs` prints the same figures per file.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ROOT, installWallet, launchBrowser, reportFailures, startStack } from "./harness.mjs";
import { PAGE_BUDGET_BYTES, loadPaywallView, waitForBrotli, watchNetwork } from "./page-network.mjs";

const TIMEOUT = 180_000;
const PAYWALLED = "/echofix/page-size";
const COMPRESSIBLE = /\.(html|js|mjs|css|wasm|json)$/;

let stack;
let paywallDir;
/** The first test's view, which the budget test weighs. */
const budget = { firstView: undefined };
const current = { stack: undefined, browser: undefined };
const it = (name, body) => test(name, { timeout: TIMEOUT }, reportFailures(() => current, body));

before(async () => {
  // A copy of paywall-web/ served with --paywall-info, so a test can edit a file in it.
  paywallDir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-paywall-copy-"));
  fs.cpSync(path.join(ROOT, "paywall-web"), paywallDir, { recursive: true });
  stack = await startStack({ paywallDir });
  current.stack = stack;
  // A visitor of a receiver that has run a while: the wasm's brotli is made.
  await waitForBrotli(stack.serverUrl);
});

after(async () => {
  await stack?.stop();
  if (paywallDir) fs.rmSync(paywallDir, { recursive: true, force: true });
});

/** A fresh browser profile with a wallet for a fresh sender, as a new visitor has. */
async function newVisitor() {
  const sender = await stack.newSender(10n);
  const browser = await launchBrowser();
  current.browser = browser;
  await installWallet(browser.context, {
    account: sender.address,
    privateKey: sender.privateKey,
    rpcUrl: stack.rpcUrl,
    chainId: stack.chainId,
  });
  const network = await watchNetwork(browser.page);
  return { browser, network, view: () => loadPaywallView(browser.page, network, `${stack.serverUrl}${PAYWALLED}`) };
}

const describeEntries = (entries) =>
  entries.map((e) => `${e.status} ${e.path} ${e.encoding ?? "identity"} ${e.transferred} B${e.cached ? " (cache)" : ""}`).join("\n");

describe("the paywall page's size on the wire", () => {
  it("the first view gets every file compressed", async () => {
    const visitor = await newVisitor();
    try {
      const view = await visitor.view();
      const listing = describeEntries(view.entries);
      assert.equal(view.document.status, 402, `the paywalled URL answers 402 with the page\n${listing}`);
      assert.ok(
        view.entries.some((e) => e.path.endsWith(".wasm")),
        `the page loaded the wasm library (else this measures nothing)\n${listing}`,
      );
      for (const entry of view.entries.filter((e) => COMPRESSIBLE.test(e.path) || e === view.document)) {
        assert.match(entry.encoding ?? "identity", /^(br|gzip)$/, `${entry.path} arrives compressed\n${listing}`);
      }
      const wasms = view.entries.filter((e) => e.path.endsWith(".wasm"));
      assert.equal(wasms.length, 1, `the wasm is downloaded once: the page's preload is the fetch its script makes\n${listing}`);
      const [wasm] = wasms;
      assert.equal(wasm.contentType, "application/wasm", "the wasm is served as application/wasm (streaming compilation)");
      budget.firstView = view;
    } finally {
      await visitor.browser.close();
    }
  });

  // Issue 10's budget: the first view of a paywalled URL, compressed as served (README.md,
  // "Page size").
  test(`the first view transfers at most ${PAGE_BUDGET_BYTES / 1024} KiB`, () => {
    const view = budget.firstView;
    assert.ok(view, "the first view was measured (the test above passed)");
    assert.ok(
      view.transferred <= PAGE_BUDGET_BYTES,
      `the first view transferred ${view.transferred} B, more than ${PAGE_BUDGET_BYTES} B\n${describeEntries(view.entries)}`,
    );
  });

  it("a second view downloads only the page; an edited file is served fresh with a new ETag", async () => {
    const visitor = await newVisitor();
    try {
      const first = await visitor.view();
      const assets = (view) => view.entries.filter((e) => e !== view.document);
      for (const entry of assets(first)) {
        assert.match(entry.etag ?? "", /^"[^"]+"$/, `${entry.path} has a strong ETag (got ${entry.etag})`);
      }

      const second = await visitor.view();
      const listing = describeEntries(second.entries);
      assert.equal(second.document.status, 402, "the 402 page itself is fetched again");
      assert.equal(second.document.cached, false, "the 402 page is not taken from a cache");
      assert.ok(assets(second).length > 0, `the second view loaded the page's files\n${listing}`);
      for (const entry of assets(second)) {
        assert.ok(entry.status === 304 || entry.cached, `${entry.path} was downloaded again\n${listing}`);
      }
      const assetBytes = assets(second).reduce((sum, e) => sum + e.bodyBytes, 0);
      assert.equal(assetBytes, 0, `the second view downloaded no file bodies but the page's\n${listing}`);

      // The operator edits the stylesheet: the next view gets the new one, with a new ETag.
      const css = first.entries.find((e) => e.path.endsWith("/paywall.css"));
      assert.ok(css, `the page loads /js/paywall.css\n${describeEntries(first.entries)}`);
      fs.appendFileSync(path.join(paywallDir, "js", "paywall.css"), "\n/* edited by the operator */\n");
      const third = await visitor.view();
      const fresh = third.entries.find((e) => e.path.endsWith("/paywall.css"));
      assert.equal(fresh.status, 200, `the edited stylesheet is downloaded again\n${describeEntries(third.entries)}`);
      assert.ok(fresh.bodyBytes > 0, "with a body");
      assert.notEqual(fresh.etag, css.etag, "under a new ETag");
    } finally {
      await visitor.browser.close();
    }
  });

  it("ETag and If-None-Match: 304 without a body, and a changed file under a new ETag", async () => {
    const url = `${stack.serverUrl}/js/uraiden-wasm/uraiden_wasm_bg.wasm`;
    const first = await fetch(url, { headers: { "Accept-Encoding": "br" } });
    assert.equal(first.status, 200);
    const etag = first.headers.get("etag");
    assert.match(etag ?? "", /^"[^"]+"$/, `a strong ETag (got ${etag})`);
    assert.equal(first.headers.get("content-type"), "application/wasm");
    assert.equal(first.headers.get("content-encoding"), "br");
    assert.match(first.headers.get("vary") ?? "", /accept-encoding/i);
    const wasm = Buffer.from(await first.arrayBuffer());
    assert.deepEqual(wasm.subarray(0, 4), Buffer.from([0, 0x61, 0x73, 0x6d]), "decodes to the wasm module");

    const again = await fetch(url, { headers: { "Accept-Encoding": "br", "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    assert.equal(again.headers.get("etag"), etag);

    const plain = await fetch(url, { headers: { "Accept-Encoding": "identity" } });
    assert.equal(plain.headers.get("content-encoding"), null, "identity when the client accepts nothing else");
    assert.deepEqual(Buffer.from(await plain.arrayBuffer()), wasm);

    // A new file under js/ (the page may be split into modules) is served, and edits show at once.
    const file = path.join(paywallDir, "js", "added-module.js");
    const module = (version) => `export const version = ${version};\n`.repeat(40);
    fs.writeFileSync(file, module(1));
    const added = await fetch(`${stack.serverUrl}/js/added-module.js`, { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(added.status, 200);
    assert.equal(added.headers.get("content-encoding"), "gzip");
    assert.equal(await added.text(), module(1));
    const addedTag = added.headers.get("etag");
    fs.writeFileSync(file, module(2));
    const edited = await fetch(`${stack.serverUrl}/js/added-module.js`, { headers: { "If-None-Match": addedTag } });
    assert.equal(edited.status, 200, "the edited file is not answered 304 under its old ETag");
    assert.equal(await edited.text(), module(2));
    assert.notEqual(edited.headers.get("etag"), addedTag);
  });
});
