#!/usr/bin/env node
// What a paywalled view downloads: starts the real stack (anvil, the contracts, uraiden-server
// serving paywall-web/ with --paywall-info), opens a paywalled URL twice in one headless Chromium
// profile (once the receiver has made the wasm's brotli), and prints per file its size, and the bytes on the wire (compressed as served, headers
// included) in the first and the second view. The size budget is the first view's total.
//
//   node scripts/measure-page.mjs          a table
//   node scripts/measure-page.mjs --json   the same as JSON
//
// Build the receiver first (cargo build --locked -p uraiden-server; CARGO_TARGET_DIR as for the
// browser tests). No assertion here: tests/browser/page-size.test.mjs checks the budget.
import { installWallet, launchBrowser, startStack } from "../tests/browser/harness.mjs";
import { PAGE_BUDGET_BYTES, loadPaywallView, waitForBrotli, watchNetwork } from "../tests/browser/page-network.mjs";

const json = process.argv.includes("--json");
const stack = await startStack();
let browser;
try {
  // As on a receiver that has run a while: the wasm's brotli made (gzip until then).
  await waitForBrotli(stack.serverUrl);
  const sender = await stack.newSender(10n);
  browser = await launchBrowser();
  await installWallet(browser.context, {
    account: sender.address,
    privateKey: sender.privateKey,
    rpcUrl: stack.rpcUrl,
    chainId: stack.chainId,
  });
  const network = await watchNetwork(browser.page);
  const url = `${stack.serverUrl}/echofix/measure-page`;
  const first = await loadPaywallView(browser.page, network, url);
  const second = await loadPaywallView(browser.page, network, url);

  const rows = first.entries.map((entry) => {
    const again = second.entries.find((e) => e.path === entry.path);
    return {
      file: entry.path,
      raw: entry.decodedBytes,
      encoding: entry.encoding ?? "identity",
      first: entry.transferred,
      second: again ? again.transferred : 0,
      secondStatus: again ? (again.cached ? "cache" : String(again.status)) : "not loaded",
    };
  });
  const total = (key) => rows.reduce((sum, row) => sum + row[key], 0);
  const result = {
    url: "/echofix/measure-page",
    files: rows,
    total: { raw: total("raw"), first: first.transferred, second: second.transferred },
    budget: PAGE_BUDGET_BYTES,
  };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    const table = [
      ["file", "raw", "first view", "coding", "second view", ""],
      ...rows.map((r) => [r.file, kib(r.raw), kib(r.first), r.encoding, kib(r.second), r.secondStatus]),
      ["total", kib(result.total.raw), kib(result.total.first), "", kib(result.total.second), ""],
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const numeric = new Set([1, 2, 4]);
    for (const row of table) {
      console.log(row.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ").trimEnd());
    }
    console.log(`\nbudget for the first view: ${kib(PAGE_BUDGET_BYTES)}; bytes on the wire include response headers.`);
  }
} finally {
  await browser?.close();
  await stack.stop();
}
