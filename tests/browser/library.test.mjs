// uraiden-wasm's own behaviour in Chromium, below the paywall page: confirmations, the
// three ways to deposit (approve, ERC223 transfer, EIP-2612 permit), and recovery from the
// chain when the browser's storage was lost. Each test has its own sender and browser.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  describeTransaction,
} from "./paywall-page.mjs";
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

/** A fresh sender with its own browser, wallet and `window.client` (receiver: the stack's). */
async function newClient() {
  const sender = await stack.newSender(10n);
  const own = await launchBrowser();
  const wallet = await installWallet(own.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(own.page, stack.serverUrl);
  await createClient(own.page);
  return { sender, wallet, page: own.page, browser: own };
}

async function createClient(page) {
  await page.evaluate(
    async ({ contract, chainId, receiver }) => {
      window.client = await window.uraiden.MicroRaiden.create({ contract, chainId, receiver, pollIntervalMs: 100 });
      await window.client.requestAccounts();
    },
    { contract: stack.manager, chainId: stack.chainId, receiver: stack.receiver.address },
  );
}

/** Pays `/echofix/<word>` with payingFetch; returns "status body". */
function pay(page, word) {
  return page.evaluate(async (url) => {
    const response = await window.client.payingFetch(url, { maxPrice: 5n });
    return `${response.status} ${await response.text()}`;
  }, `${stack.serverUrl}/echofix/${word}`);
}

const channelJs = (page, script, arg) =>
  page.evaluate(
    async ({ script, arg }) => {
      const channel = await new Function("client", "arg", `return (${script})(client, arg)`)(window.client, arg);
      return channel && { ...channel, deposit: String(channel.deposit), balance: String(channel.balance) };
    },
    { script, arg },
  );

const names = (wallet, from = 0) =>
  wallet.transactions().slice(from).map((tx) => describeTransaction(tx, stack).functionName);

for (const method of ["erc223", "permit"]) {
  test(
    `openChannel({ method: "${method}" }) deposits in one transaction and the channel pays`,
    reportFailures(
      () => ({ stack, browser }),
      async () => {
        const user = await newClient();
        try {
          const channel = await channelJs(user.page, "(client, method) => client.openChannel({ deposit: 100n, method })", method);
          assert.deepEqual(names(user.wallet), method === "erc223" ? ["transfer"] : ["createChannelWithPermit"]);
          assert.equal(user.wallet.calls("eth_signTypedData_v4").length, method === "permit" ? 1 : 0, "the permit is signed");
          const onChain = await stack.channelOnChain(user.sender.address, channel.openBlockNumber);
          assert.equal(onChain.deposit, 100n);
          assert.notEqual(channel.signer.toLowerCase(), user.sender.address.toLowerCase(), "a session key signs");
          assert.equal(await pay(user.page, method), `200 ${method}`);
          if (method === "erc223") {
            const sent = user.wallet.transactions().length;
            const topped = await channelJs(user.page, "(client) => client.topUpChannel(50n, { method: 'erc223' })");
            assert.deepEqual(names(user.wallet, sent), ["transfer"]);
            assert.equal(topped.deposit, "150");
            assert.equal((await stack.channelOnChain(user.sender.address, channel.openBlockNumber)).deposit, 150n);
          }
        } finally {
          await user.browser.close();
        }
      },
    ),
  );
}

/** The browser forgets everything (storage and the client) and gets a fresh client. */
async function loseStorage(user) {
  await user.page.evaluate(() => localStorage.clear());
  await user.page.reload();
  await loadLibrary(user.page, stack.serverUrl);
  await createClient(user.page);
  assert.equal(await channelJs(user.page, "(client) => client.loadStoredChannel()"), null);
}

test(
  "storage lost: loadChannelFromBlockchain finds the open channel the wallet signs for; the wallet resyncs and closes with fresh requests",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const user = await newClient();
      try {
        const opened = await channelJs(user.page, "(client) => client.openChannel({ deposit: 100n, sessionKey: false })");
        assert.equal(await pay(user.page, "before"), "200 before");

        await loseStorage(user);
        const found = await channelJs(user.page, "(client) => client.loadChannelFromBlockchain()");
        assert.equal(found.openBlockNumber, opened.openBlockNumber);
        assert.equal(found.deposit, "100");
        assert.equal(found.signer.toLowerCase(), user.sender.address.toLowerCase());
        assert.equal(found.sessionKey, false);

        // The next payment resyncs on the receiver's last proof (5) and the wallet signs 10.
        const prompts = user.wallet.calls("eth_signTypedData_v4").length;
        assert.equal(await pay(user.page, "after"), "200 after");
        assert.ok(user.wallet.calls("eth_signTypedData_v4").length > prompts, "the wallet signed");
        const onServer = await stack.serverChannels(user.sender.address);
        assert.equal(onServer[0].balance, "10");
        const typedSigned = (from) =>
          user.wallet.calls("eth_signTypedData_v4").slice(from).map((call) => JSON.parse(call.params[1]).primaryType);
        assert.ok(typedSigned(prompts).includes("StatusRequest"), "the resync asked with a status request");

        // Closing: the wallet signs a close request (a balance proof closes nothing), the
        // receiver co-signs its last balance, and the channel settles at once.
        const beforeClose = user.wallet.calls("eth_signTypedData_v4").length;
        const closed = await user.page.evaluate(async (receiverUrl) => {
          const result = await window.client.closeChannel({ receiverUrl });
          return { cooperative: result.cooperative, balance: String(result.balance) };
        }, stack.serverUrl);
        assert.deepEqual(closed, { cooperative: true, balance: "10" });
        assert.deepEqual(typedSigned(beforeClose), ["CloseRequest"]);
        assert.equal(await stack.channelOnChain(user.sender.address, opened.openBlockNumber), null, "settled: deleted");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "storage lost: loadChannelFromBlockchain adopts a channel whose session key the browser no longer holds wallet-signed, and never tops it up",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const user = await newClient();
      try {
        const opened = await channelJs(user.page, "(client) => client.openChannel({ deposit: 100n })");
        assert.notEqual(opened.signer.toLowerCase(), user.sender.address.toLowerCase(), "a session key signs");

        // The sender's own channel: the wallet signs its proofs now (the contract accepts them).
        await loseStorage(user);
        const found = await channelJs(user.page, "(client) => client.loadChannelFromBlockchain()");
        assert.equal(found.openBlockNumber, opened.openBlockNumber);
        assert.equal(found.sessionKey, false);
        assert.equal(found.signer.toLowerCase(), opened.signer.toLowerCase(), "the lost key stays its signer");

        // Whoever holds the lost key could spend a top-up: refused before any prompt.
        const sent = user.wallet.transactions().length;
        const refused = await user.page.evaluate(() =>
          window.client.topUpChannel(10n).then(
            () => null,
            (error) => ({ name: error.name, code: error.code, message: error.message }),
          ),
        );
        assert.equal(refused?.name, "UraidenError");
        assert.equal(refused.code, 5004, "ErrorCode.NoChannel");
        assert.match(refused.message, new RegExp(`signed for by ${opened.signer}`, "i"));
        assert.equal(user.wallet.transactions().length, sent, "nothing was sent");
        assert.equal((await stack.channelOnChain(user.sender.address, opened.openBlockNumber)).deposit, 100n);
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "a failure is thrown as an UraidenError that is a real Error, with a typed code",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const caught = await browser.page.evaluate(async ({ chainId }) => {
        const { MicroRaiden, UraidenError, ErrorCode } = window.uraiden;
        try {
          await MicroRaiden.create({ contract: "not an address", chainId });
          return null;
        } catch (error) {
          return {
            isError: error instanceof Error,
            isUraidenError: typeof UraidenError === "function" && error instanceof UraidenError,
            name: error.name,
            code: error.code,
            expectedCode: ErrorCode?.InvalidArgument,
            message: error.message,
            stack: typeof error.stack === "string" ? error.stack : null,
            json: JSON.stringify(error),
            text: String(error),
          };
        }
      }, { chainId: stack.chainId });
      assert.ok(caught, "create() with a malformed contract address rejects");
      assert.equal(caught.isError, true, `instanceof Error: ${caught.json}`);
      assert.equal(caught.isUraidenError, true, "instanceof UraidenError");
      assert.equal(caught.expectedCode, 5001, "ErrorCode.InvalidArgument keeps its number");
      assert.equal(caught.code, caught.expectedCode);
      assert.equal(caught.name, "UraidenError");
      assert.match(caught.message, /contract/);
      assert.ok(caught.stack && caught.stack.length > 0, "a stack");
      const json = JSON.parse(caught.json);
      assert.equal(json.name, "UraidenError");
      assert.equal(json.code, 5001);
      assert.equal(json.message, caught.message);
      assert.ok(caught.text.startsWith("UraidenError: "), caught.text);
    },
  ),
);
