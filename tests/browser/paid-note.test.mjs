// The note on a page the paywall paid for: what the view cost, what is left, and a way back to
// the channel ("Paid … · … left · manage"). Real anvil, real receiver, headless Chromium.
//
//   node --test --test-concurrency=1 tests/browser/paid-note.test.mjs

import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { formatTokens, installWallet, launchBrowser, reportFailures, startStack } from "./harness.mjs";
import { payOnceOpened, typeInto, waitForIdle, waitForView } from "./paywall-page.mjs";
import { loadLibrary } from "./measure-signing.mjs";

const PRICE = 5n; // every article
const DEPOSIT = 250n;

let stack;
let upstream;
const current = { stack: undefined, browser: undefined };

/** A content site: `/article/<name>` is an HTML page whose body text is `<name>`. */
async function startUpstream() {
  const server = http.createServer((request, response) => {
    const name = decodeURIComponent(request.url.split("/").pop());
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    response.end(`<!doctype html><html><head><title>${name}</title></head><body><p>${name}</p></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

before(async () => {
  upstream = await startUpstream();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-paid-note-"));
  const config = path.join(dir, "proxy.toml");
  fs.writeFileSync(
    config,
    `upstream = "http://127.0.0.1:${upstream.address().port}"\n\n[[route]]\npath = "/article/{id}"\nprice = ${PRICE}\n`,
  );
  stack = await startStack({ serverArgs: ["--proxy-config", config], paidPath: "/article/ready" });
  current.stack = stack;
});

after(async () => {
  await current.browser?.close();
  await stack?.stop();
  upstream?.close();
});

const note = (page) =>
  page.evaluate(() => {
    const element = document.getElementById("uraiden-paid-note");
    return element ? element.textContent.trim() : null;
  });

test(
  "a page paid from the paywall shows what it cost and what is left, and links back to the channel",
  { timeout: 180_000 },
  reportFailures(
    () => current,
    async () => {
      const sender = await stack.newSender(1000n);
      const browser = await launchBrowser();
      current.browser = browser;
      await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
      const { page } = browser;

      await page.goto(`${stack.serverUrl}/article/first`);
      let view = await waitForIdle(page);
      if (view.buttons.connect?.visible) {
        await page.click("#connect");
        view = await waitForIdle(page);
      }
      await waitForView(page, (v) => v.buttons.open?.visible && v.buttons.open.enabled, { message: "#open" });
      await typeInto(page, "deposit", formatTokens(DEPOSIT, stack.tokenDecimals));
      await page.click("#open");
      await payOnceOpened(page, `first\n\nPaid ${PRICE} base units · ${DEPOSIT - PRICE} base units left · manage`, {
        timeout: 120_000,
      });

      // A later page, paid by the paywall page with its cookies.
      await page.goto(`${stack.serverUrl}/article/second`);
      await page.waitForSelector("#uraiden-paid-note", { timeout: 60_000 });
      const [channel] = await stack.serverChannels(sender.address);
      const paid = BigInt(channel.balance);
      assert.equal(paid, 2n * PRICE, "two views paid");
      const text = await note(page);
      // The test token has 18 decimals: 5 base units is too small to show in whole tokens.
      assert.equal(text, `Paid ${PRICE} base units · ${DEPOSIT - paid} base units left · manage`);
      const body = await page.evaluate(() => document.body.innerText);
      assert.match(body, /^second\n/, "the content itself comes first, untouched");

      // "manage" goes back to the channel on the paywall page, without paying again.
      await Promise.all([page.waitForNavigation(), page.click("#uraiden-paid-note a")]);
      const manage = await waitForIdle(page);
      assert.ok(manage.isPaywall, "the paywall page, to manage the channel");
      assert.equal(new URL(page.url()).hash, "#manage");
      assert.ok(manage.buttons.close?.visible, "closing is offered");
      const [after] = await stack.serverChannels(sender.address);
      assert.equal(BigInt(after.balance), paid, "managing did not pay");
    },
  ),
);

test(
  "a program paying with headers gets the resource's bytes untouched",
  { timeout: 180_000 },
  reportFailures(
    () => current,
    async () => {
      const sender = await stack.newSender(1000n);
      const browser = await launchBrowser();
      await current.browser?.close();
      current.browser = browser;
      await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
      await loadLibrary(browser.page, stack.serverUrl);
      const answer = await browser.page.evaluate(
        async ({ contract, chainId, receiver, url }) => {
          const client = await window.uraiden.MicroRaiden.create({ contract, chainId, receiver, pollIntervalMs: 100 });
          await client.requestAccounts();
          await client.openChannel({ deposit: 100n });
          const response = await client.payingFetch(url, { maxPrice: 10n, init: { headers: { Accept: "text/html" } } });
          return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
        },
        { contract: stack.manager, chainId: stack.chainId, receiver: stack.receiver.address, url: `${stack.serverUrl}/article/api` },
      );
      assert.equal(answer.status, 200);
      assert.match(answer.type, /^text\/html/);
      assert.equal(answer.body, "<!doctype html><html><head><title>api</title></head><body><p>api</p></body></html>");
    },
  ),
);
