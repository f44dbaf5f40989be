// The main flow with a wallet the project did not write: npm `headless-web3-provider` injects
// its own EIP-1193 `window.ethereum` (and announces itself by EIP-6963), signs with ethers and
// holds every prompt until the test, playing the user, confirms it. Real anvil, real receiver.
//
//   node --test --test-concurrency=1 tests/browser/third-party-wallet.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import headlessWeb3Provider from "headless-web3-provider"; // CommonJS


import { formatTokens, launchBrowser, reportFailures, startStack, waitUntil } from "./harness.mjs";
import {
  clickWhenReady,
  describeTransaction,
  payOnceOpened,
  typeInto,
  waitForContent,
  waitForIdle,
  waitForView,
} from "./paywall-page.mjs";

const { injectHeadlessWeb3Provider, Web3RequestKind } = headlessWeb3Provider;
const PRICE = 5n; // /echofix/<param>

let stack;
let browser;
const current = { stack: undefined, browser: undefined };

before(async () => {
  stack = await startStack();
  current.stack = stack;
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * Plays the user at the wallet's prompts: confirms each one as it appears and records what it
 * was, until `stop()` is called.
 */
function confirmPrompts(wallet) {
  const confirmed = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const request of wallet.getPendingRequests()) {
        confirmed.push({ method: request.method, params: request.params });
        await wallet.authorize(request.method);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    confirmed,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test(
  "a third-party injected wallet: connect, open a session-key channel, pages pay with no prompt, close",
  { timeout: 240_000 },
  reportFailures(
    () => current,
    async () => {
      const sender = await stack.newSender(1000n);
      browser = await launchBrowser();
      current.browser = browser;
      const { page } = browser;
      const wallet = await injectHeadlessWeb3Provider(page, [sender.privateKey], stack.chainId, stack.rpcUrl);
      const user = confirmPrompts(wallet);
      try {
        const response = await page.goto(`${stack.serverUrl}/echofix/hello`);
        assert.equal(response.status(), 402, "the paywall page");
        await waitForIdle(page);
        await clickWhenReady(page, "connect");
        await waitUntil(() => user.confirmed.some((p) => p.method === Web3RequestKind.RequestAccounts), {
          message: "the wallet to be asked for accounts",
        });

        const deposit = 50n * PRICE;
        await waitForView(page, (v) => v.buttons.open?.visible && v.buttons.open.enabled, { message: "#open" });
        await typeInto(page, "deposit", formatTokens(deposit, stack.tokenDecimals));
        await page.click("#open");
        await payOnceOpened(page, "hello", { timeout: 120_000 });

        const transactions = user.confirmed
          .filter((p) => p.method === Web3RequestKind.SendTransaction)
          .map((p) => describeTransaction(p.params[0], stack));
        const created = await stack.channelsCreatedBy(sender.address);
        assert.equal(created.length, 1, "one channel on chain");
        assert.equal(created[0].deposit, deposit, "the deposit typed, exactly");
        assert.notEqual(created[0].signer.toLowerCase(), sender.address.toLowerCase(), "a session key signs");
        assert.deepEqual(
          transactions.map((tx) => `${tx.contract}.${tx.functionName}`),
          ["token.approve", "manager.createChannelWithSigner"],
          "two transactions confirmed: approve, then create with the session key as signer",
        );
        assert.deepEqual(
          user.confirmed.map((p) => p.method),
          [Web3RequestKind.RequestAccounts, Web3RequestKind.SendTransaction, Web3RequestKind.SendTransaction],
          "three prompts in all: connect, approve, create",
        );

        const promptsAfterOpening = user.confirmed.length;
        for (const word of ["a", "b", "c"]) {
          await page.goto(`${stack.serverUrl}/echofix/${word}`);
          await waitForContent(page, word);
        }
        assert.equal(
          user.confirmed.length,
          promptsAfterOpening,
          `no prompt while paying: ${JSON.stringify(user.confirmed.slice(promptsAfterOpening).map((p) => p.method))}`,
        );
        const [channel] = await stack.serverChannels(sender.address);
        assert.equal(BigInt(channel.balance), 4n * PRICE, "the receiver holds four payments");
        assert.equal(channel.open_block, created[0].openBlock);

        // Closing: the receiver co-signs, one transaction, the unspent deposit comes back.
        await page.goto(`${stack.serverUrl}/echofix/close#manage`); // stays on the paywall: manage the channel
        await waitForIdle(page);
        await clickWhenReady(page, "close");
        const [settled] = await waitUntil(
          async () => {
            const events = await stack.channelsSettledBy(sender.address);
            return events.length ? events : null;
          },
          { timeout: 120_000, message: "the channel to be settled" },
        );
        assert.equal(settled.balance, 4n * PRICE, "settled at what was paid");
        assert.equal(await stack.tokenBalance(sender.address), 1000n * stack.unit - 4n * PRICE);
        const closing = user.confirmed.slice(promptsAfterOpening).map((p) => describeTransaction(p.params[0], stack));
        assert.deepEqual(
          closing.map((tx) => `${tx.contract}.${tx.functionName}`),
          ["manager.cooperativeClose"],
          "closing asks for one transaction and no signature (the session key signs)",
        );
      } finally {
        await user.stop();
      }
    },
  ),
);
