// Several EIP-6963 wallets in one browser (issue 10, defect 12): the paywall page offers a
// chooser and uses the wallet the user picks, instead of silently taking the first.
//
//   node --test --test-concurrency=1 tests/browser/paywall-wallets.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, startStack } from "./harness.mjs";
import { waitForIdle, waitForView } from "./paywall-page.mjs";

const TIMEOUT = 120_000;

let stack;
const current = { stack: undefined, browser: undefined };

before(async () => {
  stack = await startStack();
  current.stack = stack;
});

after(async () => {
  await current.browser?.close();
  await stack?.stop();
});

test(
  "two announced wallets: the page offers both and switches to the one the user picks",
  { timeout: TIMEOUT },
  reportFailures(() => current, async () => {
    const [first, second] = [await stack.newSender(10n), await stack.newSender(20n)];
    const browser = await launchBrowser();
    current.browser = browser;
    const common = { rpcUrl: stack.rpcUrl, chainId: stack.chainId };
    await installWallet(browser.context, { ...common, account: first.address, privateKey: first.privateKey, name: "First Wallet" });
    const other = await installWallet(browser.context, {
      ...common,
      account: second.address,
      privateKey: second.privateKey,
      name: "Second Wallet",
      rdns: "dev.uraiden.second",
      bindingName: "__uraidenSecondWalletRequest",
      injectWindowEthereum: false,
    });
    const { page } = browser;
    assert.equal((await page.goto(`${stack.serverUrl}/echofix/wallets`)).status(), 402);
    const start = await waitForIdle(page);
    assert.equal(start.account?.toLowerCase(), first.address.toLowerCase(), "window.ethereum's account first");

    const options = await waitForView(page, (v) => v.isPaywall, { message: "the page" }).then(() =>
      page
        .waitForSelector("#wallet-choice option:nth-child(2)", { state: "attached", timeout: 10_000 })
        .then(() => page.$$eval("#wallet-choice option", (list) => list.map((o) => o.textContent))),
    );
    assert.deepEqual(options, ["First Wallet", "Second Wallet"]);
    assert.ok(await page.isVisible("#wallet-choice"), "the chooser is shown");

    await page.selectOption("#wallet-choice", { label: "Second Wallet" });
    const switched = await waitForView(
      page,
      (v) => !v.statusBusy && v.account?.toLowerCase() === second.address.toLowerCase(),
      { timeout: 30_000, message: "the second wallet's account" },
    );
    assert.ok(!switched.error?.visible, `no error: ${JSON.stringify(switched.error)}`);
    assert.equal(BigInt(switched.tokenBalanceBaseUnits), 20n * stack.unit, "the second wallet's token balance");
    assert.ok(other.calls("eth_accounts").length > 0, "the page asked the second wallet");
  }),
);
