#!/usr/bin/env node
// How long does a reader wait? Brings up the stack (anvil, contracts, uraiden-server;
// tests/browser/harness.mjs) and, in headless Chromium with the project's test wallet, times:
//   - "Open channel" clicked on the paywall page → the paid content loaded (approve,
//     createChannelWithSigner, the receiver seeing the channel, the first payment);
//   - each later paywalled page: navigation started → the paid content loaded (the 402 page,
//     the library and its wasm loading, the session-key payment, the paid reload).
// Both ends are wall-clock times on this machine: the start taken just before the click or the
// navigation, the end as the content document's load event (performance.timeOrigin +
// loadEventEnd), so the polling that waits for it adds nothing.
//
//   node tests/browser/measure-paywall.mjs [--pages 20] [--json]
//
// Figures are for loopback with anvil mining at once; they compare builds, not networks.

import { formatTokens, installWallet, launchBrowser, startStack, waitUntil } from "./harness.mjs";
import { readPaywall, waitForContent, waitForIdle, waitForView, typeInto } from "./paywall-page.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const pages = option("--pages", 20);
const json = args.includes("--json");

/** When the current document (the paid content) finished loading, in wall-clock ms. */
const contentLoadedAt = (page) =>
  page.evaluate(() => {
    const [navigation] = performance.getEntriesByType("navigation");
    return performance.timeOrigin + navigation.loadEventEnd;
  });

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    median: at(0.5),
    p90: at(0.9),
    min: sorted[0],
    max: sorted.at(-1),
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
  };
};

const stack = await startStack();
const browser = await launchBrowser();
try {
  const sender = await stack.newSender(1000n);
  await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  const { page } = browser;
  const url = (path) => `${stack.serverUrl}${path}`;

  await page.goto(url("/echofix/first"));
  let view = await waitForIdle(page);
  if (view.buttons.connect?.visible) {
    await page.click("#connect");
    view = await waitForIdle(page);
  }
  await waitForView(page, (v) => v.buttons.open?.visible && v.buttons.open.enabled, { message: "#open" });
  await typeInto(page, "deposit", formatTokens(10_000n, stack.tokenDecimals));
  const clicked = Date.now();
  await page.click("#open");
  // Pages that wait for a click on "Pay" after opening get it at once (counted in the time).
  await waitUntil(
    async () => {
      const now = await readPaywall(page).catch(() => null);
      if (!now || !now.isPaywall) return true;
      if (now.error?.visible) throw new Error(`the page shows an error: ${JSON.stringify(now.error)}`);
      if (now.buttons.pay?.visible && now.buttons.pay.enabled && !now.statusBusy) await page.click("#pay").catch(() => {});
      return false;
    },
    { timeout: 120_000, interval: 20, message: "the content after opening" },
  );
  await waitForContent(page, "first");
  const openToContent = (await contentLoadedAt(page)) - clicked;

  const perPage = [];
  for (let i = 0; i < pages; i += 1) {
    const word = `page${i}`;
    const started = Date.now();
    await page.goto(url(`/echofix/${word}`));
    await waitForContent(page, word);
    perPage.push((await contentLoadedAt(page)) - started);
  }

  const result = { openToContentMs: Math.round(openToContent), paidPageMs: stats(perPage) };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const ms = (v) => `${Math.round(v)} ms`;
    const s = result.paidPageMs;
    console.log(`"Open channel" → content:  ${ms(openToContent)}`);
    console.log(
      `later paid page (n=${s.n}):  median ${ms(s.median)}, p90 ${ms(s.p90)}, mean ${ms(s.mean)}, min ${ms(s.min)}, max ${ms(s.max)}`,
    );
  }
} finally {
  await browser.close();
  await stack.stop();
}
