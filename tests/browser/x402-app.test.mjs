// An x402 app pays a uraiden receiver by registering one scheme. The app (tests/browser/x402-app/
// app.mjs) is built with esbuild from the real npm @x402/core, @x402/fetch and @x402/evm (pinned
// in package.json) and the built uraiden-wasm package (wasm-client/pkg/web), served from its own
// origin, and pays a real uraiden-server (--cors-origin) on a real anvil in headless Chromium:
//
// - with the uraiden scheme registered, wrapFetchWithPayment opens a channel through the wallet
//   once, then pays each 402 with the session key (no wallet request), and the channel settles
//   on chain at the sum paid;
// - without it (only @x402/evm's `exact`), x402HTTPClient reads the 402's offer and
//   wrapFetchWithPayment refuses with its own error; with it but without spend controls for the
//   token, x402Client's default (known USD assets only) refuses it: nothing is paid either way;
// - a balance this browser holds behind the receiver's is refused with the receiver's last
//   proof, which the scheme's onPaymentResponse adopts, and the wrapper's one retry pays.
//
// Needs the built package (`bash scripts/build-wasm.sh`).

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { build } from "esbuild";

import {
  ROOT,
  installWallet,
  launchBrowser,
  recordResponses,
  reportFailures,
  serveStatic,
  startStack,
  waitUntil,
  x402Json,
} from "./harness.mjs";

const PRICE = 5n; // /echofix/* on the demo receiver
const PACKAGE_WEB = path.join(ROOT, "wasm-client", "pkg", "web");

let dir;
let site;
let stack;

before(async () => {
  assert.ok(
    fs.existsSync(path.join(PACKAGE_WEB, "uraiden_wasm.js")),
    `${PACKAGE_WEB} is missing: build the package first with bash scripts/build-wasm.sh`,
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-x402-app-"));
  await build({
    entryPoints: [path.join(ROOT, "tests", "browser", "x402-app", "app.mjs")],
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: path.join(dir, "app.js"),
    logLevel: "error",
    // The package as an app installs it (`npm install …/wasm-client/pkg`): its web build.
    plugins: [
      {
        name: "uraiden-wasm",
        setup(on) {
          on.onResolve({ filter: /^uraiden-wasm\/web$/ }, () => ({ path: path.join(PACKAGE_WEB, "uraiden_wasm.js") }));
        },
      },
    ],
  });
  // The glue fetches its wasm next to itself (`new URL("uraiden_wasm_bg.wasm", import.meta.url)`).
  fs.copyFileSync(path.join(PACKAGE_WEB, "uraiden_wasm_bg.wasm"), path.join(dir, "uraiden_wasm_bg.wasm"));
  fs.writeFileSync(
    path.join(dir, "index.html"),
    `<!doctype html><meta charset="utf-8"><title>x402 app</title><script type="module" src="/app.js"></script>\n`,
  );
  site = await serveStatic(dir);
  stack = await startStack({ serverArgs: ["--cors-origin", site.origin] });
});

after(async () => {
  await stack?.stop();
  site?.close();
  if (dir && !stack?.failed) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new sender with tokens, its browser and wallet, on the app's page. */
async function newUser() {
  const sender = await stack.newSender(100n);
  const browser = await launchBrowser();
  const wallet = await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await browser.page.goto(site.origin);
  await browser.page.waitForFunction(() => window.x402app);
  return { sender, browser, wallet, page: browser.page };
}

const withUraiden = (page, options = {}) =>
  page.evaluate((options) => window.x402app.withUraiden(options), {
    contract: stack.manager,
    deposit: "50",
    pollIntervalMs: 100,
    ...options,
  });

const pay = (page, word) => page.evaluate((url) => window.x402app.pay(url), `${stack.serverUrl}/echofix/${word}`);

test(
  "with the uraiden scheme registered, an x402 app opens a channel once, then pays each 402 without the wallet; it settles at the sum",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser();
      try {
        const registered = await withUraiden(user.page, { maxAmountPerPayment: String(PRICE) });
        assert.deepEqual(registered, { scheme: "uraiden", network: `eip155:${stack.chainId}` });
        const senderTokens = await stack.tokenBalance(user.sender.address);
        const receiverTokens = await stack.tokenBalance(stack.receiver.address);
        user.wallet.clearRequests();
        const firstAttempts = recordResponses(user.page, "/echofix/first");

        // The first 402: no channel yet, so the scheme opens one (approve + createChannelWithSigner,
        // a session key as its signer).
        const first = await pay(user.page, "first");
        assert.equal(first.thrown, undefined, first.thrown);
        assert.deepEqual([first.status, first.body], [200, "first"]);
        assert.deepEqual([first.settlement.success, first.settlement.extra.balance], [true, String(PRICE)]);
        // A receiver that has not seen the new channel yet refuses the proof; the scheme's hook
        // waits until it has (asking with status requests), and the wrapper's retry pays the same.
        await waitUntil(() => firstAttempts.every((entry) => entry.answer), { message: "the first payment recorded" });
        const signed = firstAttempts.filter((entry) => entry.headers["payment-signature"]);
        for (const attempt of signed.slice(0, -1)) {
          assert.match(x402Json(attempt.answer["payment-response"]).errorReason, /^(nonexisting_channel|insufficient_confirmations)$/);
        }
        assert.deepEqual(
          signed.map((entry) => x402Json(entry.headers["payment-signature"]).payload.balance),
          signed.map(() => String(PRICE)),
          "the same balance each time",
        );
        const opening = user.wallet.requests.filter((request) => request.prompt).map((request) => request.method);
        assert.deepEqual(opening, ["eth_sendTransaction", "eth_sendTransaction"], "the opening's two transactions, no more");
        const [created] = await stack.channelsCreatedBy(user.sender.address);
        assert.equal(created.deposit, 50n);
        assert.notEqual(created.signer.toLowerCase(), user.sender.address.toLowerCase(), "a session key signs");

        // Every later 402 is paid by the session key: no wallet request at all.
        user.wallet.clearRequests();
        for (const [index, word] of ["second", "third", "fourth", "fifth"].entries()) {
          const paid = await pay(user.page, word);
          assert.deepEqual([paid.status, paid.body], [200, word], paid.thrown);
          assert.equal(paid.settlement.extra.balance, String(BigInt(index + 2) * PRICE));
        }
        assert.deepEqual(user.wallet.requests.map((request) => request.method), [], "no wallet request to pay");
        const paidTotal = 5n * PRICE;
        assert.equal((await user.page.evaluate(() => window.x402app.channel())).balance, String(paidTotal));
        const [onServer] = await stack.serverChannels(user.sender.address);
        assert.equal(onServer.balance, String(paidTotal), "the receiver holds the same balance");

        // Closed with the receiver's signature: settled on chain at what was paid.
        assert.deepEqual(await user.page.evaluate((url) => window.x402app.close(url), stack.serverUrl), {
          cooperative: true,
          balance: String(paidTotal),
        });
        const settled = await stack.channelsSettledBy(user.sender.address);
        assert.deepEqual(settled.map((entry) => [entry.openBlock, entry.balance]), [[created.openBlock, paidTotal]]);
        assert.equal(await stack.tokenBalance(stack.receiver.address), receiverTokens + paidTotal);
        assert.equal(await stack.tokenBalance(user.sender.address), senderTokens - paidTotal, "the rest of the deposit came back");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "an x402 client without the uraiden scheme reads the offer and refuses with its own error; nothing is paid",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser();
      try {
        await user.page.evaluate(() => window.x402app.withoutUraiden());
        const { status, required } = await user.page.evaluate(
          (url) => window.x402app.offer(url),
          `${stack.serverUrl}/echofix/offer`,
        );
        assert.equal(status, 402);
        assert.equal(required.x402Version, 2);
        assert.equal(required.resource.url, `${stack.serverUrl}/echofix/offer`);
        assert.equal(required.accepts.length, 1);
        const [offer] = required.accepts;
        assert.equal(offer.scheme, "uraiden");
        assert.equal(offer.network, `eip155:${stack.chainId}`);
        assert.equal(offer.amount, String(PRICE));
        assert.equal(offer.asset.toLowerCase(), stack.token.toLowerCase());
        assert.equal(offer.payTo.toLowerCase(), stack.receiver.address.toLowerCase());
        assert.equal(offer.extra.channelManager.toLowerCase(), stack.manager.toLowerCase());

        const refused = await pay(user.page, "unpaid");
        assert.match(refused.thrown ?? "", /^Failed to create payment payload: No network\/scheme registered for x402 version: 2/);

        // Registered, but the token is not one of x402Client's default (USD) assets and the app
        // allowed none: x402Client's spend controls refuse before the scheme is asked.
        await withUraiden(user.page, { allowedAssets: false });
        const uncontrolled = await pay(user.page, "uncontrolled");
        assert.match(uncontrolled.thrown ?? "", /rejected by spendControls/);

        assert.equal(user.wallet.prompts(), 0, "no wallet prompt");
        assert.equal(user.wallet.transactions().length, 0, "no transaction");
        assert.deepEqual(await stack.channelsCreatedBy(user.sender.address), [], "no channel on chain");
        assert.deepEqual(await stack.serverChannels(user.sender.address), [], "the receiver knows no channel of it");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "the scheme client resyncs a balance behind the receiver's from the refusal's lastProof, and the wrapper's retry pays",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser();
      try {
        await withUraiden(user.page);
        assert.equal((await pay(user.page, "one")).status, 200);
        // This browser's record falls behind the receiver's: restored from a copy taken now (a
        // backup, another tab of the app that paid meanwhile).
        const copy = await user.page.evaluate(() =>
          Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith("uraiden:")).map((k) => [k, localStorage.getItem(k)])),
        );
        assert.equal((await pay(user.page, "two")).status, 200);
        assert.equal((await pay(user.page, "three")).status, 200);
        await user.page.evaluate((copy) => {
          for (const [key, value] of Object.entries(copy)) localStorage.setItem(key, value);
        }, copy);
        await withUraiden(user.page); // the app starts again, from its stored channel
        user.wallet.clearRequests();
        const seen = recordResponses(user.page, "/echofix/four");

        const paid = await pay(user.page, "four");
        assert.deepEqual([paid.status, paid.body], [200, "four"], paid.thrown);
        assert.equal(paid.settlement.extra.balance, String(4n * PRICE));
        await waitUntil(() => seen.every((entry) => entry.answer), { message: "the requests recorded" });
        const attempts = seen.filter((entry) => entry.headers["payment-signature"]);
        assert.deepEqual(
          attempts.map((entry) => [x402Json(entry.headers["payment-signature"]).payload.balance, entry.status]),
          [["10", 402], ["20", 200]],
          "one payment on the stale balance, refused; the wrapper's retry on top of the receiver's",
        );
        const signedFirst = x402Json(attempts[0].headers["payment-signature"]).payload;
        assert.ok(signedFirst.statusDeadline - Date.now() / 1000 <= 60, "each payment carries a status request of a minute");
        const refused = x402Json(attempts[0].answer["payment-response"]);
        assert.deepEqual([refused.success, refused.errorReason], [false, "invalid_balance_proof"]);
        assert.equal(refused.extra.lastProof.balance, String(3n * PRICE), "the receiver's last proof, named to our key");
        assert.equal((await user.page.evaluate(() => window.x402app.channel())).balance, String(4n * PRICE));
        const [onServer] = await stack.serverChannels(user.sender.address);
        assert.equal(onServer.balance, String(4n * PRICE), "four prices paid, no more");
        assert.equal(user.wallet.prompts(), 0, "no wallet prompt to resync");
      } finally {
        await user.browser.close();
      }
    },
  ),
);
