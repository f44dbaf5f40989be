// Attack review of issue 12 (x402 v2), the browser sender: uraiden-wasm's x402 scheme client as a
// careless app uses it (no `deposit` of its own), against a HOSTILE receiver's offer. The app is
// bundled from the real @x402/fetch and the built package (as tests/browser/x402-app.test.mjs
// does) and pays a real uraiden-server on a real anvil in headless Chromium; the hostile offer is
// the real receiver's with one field forged, handed to the scheme as x402Client would.
//
// Needs the built package (`bash scripts/build-wasm.sh`).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { build } from "esbuild";

import { ROOT, installWallet, launchBrowser, reportFailures, serveStatic, startStack } from "./harness.mjs";

const PRICE = 5n; // /echofix/* on the demo receiver
const PACKAGE_WEB = path.join(ROOT, "wasm-client", "pkg", "web");

let dir;
let site;
let stack;

const APP = `
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import init, { MicroRaiden } from "uraiden-wasm/web";

window.attack = {
  /** The real offer of a 402 (its uraiden entry), as x402Client hands it to the scheme. */
  async offer(url) {
    const response = await fetch(url);
    return JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED"))).accepts.find((entry) => entry.scheme === "uraiden");
  },
  /** A careless app: the scheme without its own deposit; createPaymentPayload on \`offer\`. */
  async payOffer(contract, offer) {
    await init();
    const raiden = await MicroRaiden.create({ contract, pollIntervalMs: 100 });
    const scheme = raiden.x402Scheme({});
    try {
      const paid = await scheme.createPaymentPayload(2, offer, {});
      return { balance: paid.payload.balance, deposit: String(raiden.channel?.deposit) };
    } catch (error) {
      return { thrown: String(error?.message ?? error), deposit: String(raiden.channel?.deposit) };
    }
  },
};
`;

before(async () => {
  assert.ok(fs.existsSync(path.join(PACKAGE_WEB, "uraiden_wasm.js")), `${PACKAGE_WEB} is missing: bash scripts/build-wasm.sh`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-attack-12-"));
  const entry = path.join(ROOT, "tests", "browser", "x402-app", ".attack-review-12-app.mjs");
  fs.writeFileSync(entry, APP);
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "browser",
      outfile: path.join(dir, "app.js"),
      logLevel: "error",
      plugins: [
        {
          name: "uraiden-wasm",
          setup(on) {
            on.onResolve({ filter: /^uraiden-wasm\/web$/ }, () => ({ path: path.join(PACKAGE_WEB, "uraiden_wasm.js") }));
          },
        },
      ],
    });
  } finally {
    fs.rmSync(entry, { force: true });
  }
  fs.copyFileSync(path.join(PACKAGE_WEB, "uraiden_wasm_bg.wasm"), path.join(dir, "uraiden_wasm_bg.wasm"));
  fs.writeFileSync(path.join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>\n`);
  site = await serveStatic(dir);
  stack = await startStack({ serverArgs: ["--cors-origin", site.origin] });
});

after(async () => {
  await stack?.stop();
  site?.close();
  if (dir && !stack?.failed) fs.rmSync(dir, { recursive: true, force: true });
});

async function newUser(tokens) {
  const sender = await stack.newSender(tokens);
  const browser = await launchBrowser();
  const wallet = await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await browser.page.goto(site.origin);
  await browser.page.waitForFunction(() => window.attack);
  return { sender, browser, wallet, page: browser.page };
}

// Attack: a hostile receiver's 402 sets `extra.suggestedDeposit` to everything the sender holds
// (5000 tokens for a price of 5; an honest receiver suggests 100 requests' worth, 500); an app
// that sets no `deposit` opens its channel with it, so all the sender's tokens are locked in a
// channel to the receiver (until an uncooperative close and its challenge period), 1000
// requests' worth, for a 5-token request. Expected (safe): the default deposit is bounded by the
// client (e.g. min(suggestedDeposit, price × 100, maxPrice × 100)), or the scheme refuses an
// offer suggesting more and asks for an explicit `deposit`. (Found by the review: it deposited
// 5000; the default is now min(suggestedDeposit, price × 100).)
test(
  "a hostile offer's huge extra.suggestedDeposit is not what a careless app deposits",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(5000n);
      try {
        const offer = await user.page.evaluate((url) => window.attack.offer(url), `${stack.serverUrl}/echofix/x`);
        assert.equal(offer.amount, String(PRICE));
        assert.equal(offer.extra.suggestedDeposit, String(100n * PRICE), "the honest suggestion: 100 requests");
        const hostile = { ...offer, extra: { ...offer.extra, suggestedDeposit: "5000" } };
        const paid = await user.page.evaluate(([contract, offer]) => window.attack.payOffer(contract, offer), [stack.manager, hostile]);
        const created = await stack.channelsCreatedBy(user.sender.address);
        const deposits = created.map((channel) => channel.deposit);
        assert.ok(
          deposits.every((deposit) => deposit <= 100n * PRICE),
          `the channel locks ${deposits} tokens of the sender for one request of ${PRICE} (${JSON.stringify(paid)})`,
        );
      } finally {
        await user.browser.close();
      }
    },
  ),
);
