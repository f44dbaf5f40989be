// uraiden-wasm's own behaviour in Chromium, below the paywall page: methods that send a
// transaction resolve only once it has the `confirmations` asked for.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, sleep, startStack, waitUntil } from "./harness.mjs";
import { loadLibrary } from "./measure-signing.mjs";

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  await installWallet(browser.context, { ...stack.sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(browser.page, stack.serverUrl);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test(
  "a transaction resolves after `confirmations` blocks, not when it is mined",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const { page } = browser;
      const headBefore = await stack.blockNumber();
      // buyToken: one transaction (the token's mint), mined at once by anvil.
      await page.evaluate(
        async ({ contract, chainId }) => {
          const client = await window.uraiden.MicroRaiden.create({ contract, chainId, confirmations: 3, pollIntervalMs: 100 });
          await client.requestAccounts();
          window.bought = null;
          client.buyToken(10n ** 17n).then((result) => (window.bought = result));
        },
        { contract: stack.manager, chainId: stack.chainId },
      );
      const mintedAt = await waitUntil(
        async () => {
          const head = await stack.blockNumber();
          return head > headBefore ? head : null;
        },
        { message: "the mint to be mined" },
      );
      await sleep(1_000);
      assert.equal(await page.evaluate(() => window.bought), null, "not resolved with 1 of 3 blocks");
      await stack.mine(1);
      await sleep(1_000);
      assert.equal(await page.evaluate(() => window.bought), null, "not resolved with 2 of 3 blocks");
      await stack.mine(1);
      const bought = await waitUntil(() => page.evaluate(() => window.bought), { message: "buyToken to resolve" });
      assert.equal(BigInt(bought.blockNumber), mintedAt, "the result names the block it was mined in");
    },
  ),
);
