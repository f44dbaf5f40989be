// uraiden-wasm keeps every channel's key: a second openChannel() refuses unless asked to
// replace (and then both channels stay stored), the session key is stored before the opening
// transaction is sent (a reload while it is pending continues), and a channel whose session
// key was lost is recovered as a wallet-signed channel at the receiver's last proof.
// Chromium, a real anvil and a real receiver; each test has its own sender and browser.
//
//   node --test --test-concurrency=1 tests/browser/library-keys.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, startStack, waitUntil } from "./harness.mjs";
import { loadLibrary } from "./measure-signing.mjs";

const TIMEOUT = 180_000;
let stack;
const current = { stack: undefined, browser: undefined };
const it = (name, body) => test(name, { timeout: TIMEOUT }, reportFailures(() => current, body));

before(async () => {
  stack = await startStack();
  current.stack = stack;
});

after(async () => {
  await current.browser?.close();
  await stack?.stop();
});

/** A fresh sender with its own browser, wallet and `window.client` (receiver: the stack's). */
async function newClient() {
  const sender = await stack.newSender(10n);
  const own = await launchBrowser();
  current.browser = own;
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

/** A new page load: the library and a new client, storage as it is. */
async function reload(user) {
  await user.page.reload();
  await loadLibrary(user.page, stack.serverUrl);
  await createClient(user.page);
}

/** Runs `script` (a function of the client) in the page; bigints come back as strings. */
const run = (page, script, arg) =>
  page.evaluate(
    async ({ script, arg }) => {
      const plain = (value) =>
        JSON.parse(JSON.stringify(value ?? null, (_, v) => (typeof v === "bigint" ? String(v) : v)));
      return plain(await new Function("client", "arg", `return (${script})(client, arg)`)(window.client, arg));
    },
    { script, arg },
  );

/** Runs `script` in the page and returns how it failed (`null` when it did not). */
const failure = (page, script, arg) =>
  page.evaluate(
    ({ script, arg }) =>
      new Function("client", "arg", `return (${script})(client, arg)`)(window.client, arg).then(
        () => null,
        (error) => ({
          name: error?.name,
          code: error?.code,
          message: error?.message,
          isUraidenError: error instanceof window.uraiden.UraidenError,
        }),
      ),
    { script, arg },
  );

/** Pays `/echofix/<word>` with payingFetch; returns "status body". */
const pay = (page, word) =>
  page.evaluate(async (url) => {
    const response = await window.client.payingFetch(url, { maxPrice: 5n });
    return `${response.status} ${await response.text()}`;
  }, `${stack.serverUrl}/echofix/${word}`);

/** Everything the library keeps in `localStorage`. */
const storedEntries = (page) =>
  page.evaluate(() =>
    Object.fromEntries(
      Object.keys(localStorage)
        .filter((key) => key.startsWith("uraiden:"))
        .sort()
        .map((key) => [key, localStorage.getItem(key)]),
    ),
  );

const typedSigned = (wallet, from = 0) =>
  wallet.calls("eth_signTypedData_v4").slice(from).map((call) => JSON.parse(call.params[1]).primaryType);

const lower = (address) => address.toLowerCase();

/** The receiver's record of the sender's channel opened in `openBlock`. */
async function onReceiver(sender, openBlock) {
  const channels = await stack.serverChannels(sender.address);
  return channels.find((channel) => channel.open_block === openBlock) ?? null;
}

/**
 * Starts `openChannel({ deposit: 100n })` in the page through a provider that holds the opening
 * transaction unanswered, as a wallet prompt the user has not confirmed yet; returns the held
 * transaction (`{ from, to, data }`) once the library has asked for it.
 */
async function openWithHeldPrompt(user) {
  await user.page.evaluate(
    async ({ contract, chainId, receiver }) => {
      window.heldPrompts = [];
      const provider = {
        request(args) {
          if (args.method === "eth_sendTransaction" && args.params[0].to.toLowerCase() === contract.toLowerCase()) {
            window.heldPrompts.push(args.params[0]);
            return new Promise(() => {});
          }
          return window.ethereum.request(args);
        },
      };
      window.client = await window.uraiden.MicroRaiden.create({ provider, contract, chainId, receiver, pollIntervalMs: 100 });
      window.client.openChannel({ deposit: 100n }).catch(() => {});
    },
    { contract: stack.manager, chainId: stack.chainId, receiver: stack.receiver.address },
  );
  return waitUntil(() => user.page.evaluate(() => window.heldPrompts[0] ?? null), {
    message: "the createChannelWithSigner prompt",
  });
}

it("openChannel() while a channel is open refuses with ChannelAlreadyOpen; { replace: true } keeps both channels and keys", async () => {
  const user = await newClient();
  try {
    const first = await run(user.page, "(client) => client.openChannel({ deposit: 100n })");
    assert.equal(first.sessionKey, true);
    assert.equal(await pay(user.page, "first"), "200 first");
    const storedBefore = await storedEntries(user.page);
    const sent = user.wallet.transactions().length;
    const prompts = user.wallet.prompts();

    // A second opening would overwrite the first channel's record and session key.
    const refused = await failure(user.page, "(client) => client.openChannel({ deposit: 100n })");
    assert.ok(refused, "openChannel() with a channel already open must refuse");
    assert.equal(refused.isUraidenError, true, JSON.stringify(refused));
    const code = await user.page.evaluate(() => window.uraiden.ErrorCode.ChannelAlreadyOpen);
    assert.equal(typeof code, "number", "ErrorCode.ChannelAlreadyOpen exists");
    assert.equal(refused.code, code);
    assert.match(refused.message, new RegExp(`block ${first.openBlockNumber}`));
    assert.match(refused.message, /replace/);
    assert.equal(user.wallet.transactions().length, sent, "nothing was sent");
    assert.equal(user.wallet.prompts(), prompts, "no prompt");
    assert.deepEqual(await storedEntries(user.page), storedBefore, "the first record is intact");
    assert.equal((await run(user.page, "(client) => client.channel")).balance, "5");

    // Asked to replace: a second channel, and both stay stored with their keys.
    const second = await run(user.page, "(client) => client.openChannel({ deposit: 100n, replace: true })");
    assert.notEqual(second.openBlockNumber, first.openBlockNumber);
    const stored = await run(user.page, "(client) => client.storedChannels()");
    assert.deepEqual(
      stored.map((c) => [c.openBlockNumber, c.balance, c.sessionKey]),
      [
        [second.openBlockNumber, "0", true],
        [first.openBlockNumber, "5", true],
      ],
      "newest first",
    );
    const created = await stack.channelsCreatedBy(user.sender.address);
    for (const channel of stored) {
      const event = created.find((e) => e.openBlock === channel.openBlockNumber);
      assert.equal(lower(channel.signer), lower(event.signer), "the stored key is the on-chain signer");
    }

    // A new page load continues with the newest open channel.
    await reload(user);
    assert.equal((await run(user.page, "(client) => client.loadStoredChannel()")).openBlockNumber, second.openBlockNumber);

    // The first is still payable and closable with its own session key, no wallet signature.
    const signatures = user.wallet.calls("eth_signTypedData_v4").length;
    const loaded = await run(user.page, "(client, block) => client.loadStoredChannel(undefined, block)", first.openBlockNumber);
    assert.deepEqual([loaded.openBlockNumber, loaded.balance, loaded.sessionKey], [first.openBlockNumber, "5", true]);
    assert.equal(await pay(user.page, "again"), "200 again");
    assert.equal((await onReceiver(user.sender, first.openBlockNumber)).balance, "10");
    const closed = await run(user.page, "(client, receiverUrl) => client.closeChannel({ receiverUrl })", stack.serverUrl);
    assert.deepEqual([closed.cooperative, closed.balance], [true, "10"]);
    assert.equal(user.wallet.calls("eth_signTypedData_v4").length, signatures, "signed by the session key");
    assert.equal(await stack.channelOnChain(user.sender.address, first.openBlockNumber), null, "settled");

    // The closed one is forgotten; the second stays.
    const left = await run(user.page, "(client) => client.storedChannels()");
    assert.deepEqual(left.map((c) => c.openBlockNumber), [second.openBlockNumber]);
  } finally {
    await user.browser.close();
  }
});

it("the session key is stored before createChannelWithSigner is sent: a reload while it is pending finds it, and the channel pays without a prompt once mined", async () => {
  const user = await newClient();
  const automine = (on) => stack.publicClient.request({ method: "evm_setAutomine", params: [on] });
  try {
    await automine(false);
    await user.page.evaluate(() => {
      window.opening = window.client.openChannel({ deposit: 100n }).catch((error) => ({ failed: error.message }));
    });
    // approve is mined by hand, then createChannelWithSigner stays pending.
    await waitUntil(() => user.wallet.transactions().length === 1, { message: "the approve to be sent" });
    await stack.mine(1);
    await waitUntil(() => user.wallet.transactions().length === 2, { message: "createChannelWithSigner to be sent" });

    // The tab reloads while the opening transaction is pending.
    await reload(user);
    assert.equal(await run(user.page, "(client) => client.loadStoredChannel()"), null, "no channel yet");
    const pending = await run(user.page, "(client) => client.pendingChannels()");
    assert.equal(pending.length, 1, `one channel is being opened: ${JSON.stringify(pending)}`);
    assert.equal(pending[0].deposit, "100");
    assert.equal(pending[0].stale, false);
    assert.equal(lower(pending[0].receiver), lower(stack.receiver.address));

    // Mined: the new page's client turns it into the channel, with its session key.
    await user.page.evaluate(() => {
      window.waited = window.client.waitForPendingChannel().catch((error) => ({ failed: error.message }));
    });
    await automine(true);
    await stack.mine(1);
    const channel = await run(user.page, "() => window.waited");
    assert.equal(channel.failed, undefined, channel.failed);
    const [event] = await stack.channelsCreatedBy(user.sender.address);
    assert.equal(channel.openBlockNumber, event.openBlock);
    assert.equal(channel.sessionKey, true);
    assert.equal(lower(channel.signer), lower(event.signer));
    assert.deepEqual(await run(user.page, "(client) => client.pendingChannels()"), []);

    // And a later page pays with it without any wallet prompt.
    await reload(user);
    const prompts = user.wallet.prompts();
    assert.equal((await run(user.page, "(client) => client.loadStoredChannel()")).openBlockNumber, event.openBlock);
    assert.equal(await pay(user.page, "resumed"), "200 resumed");
    assert.equal(user.wallet.prompts(), prompts, "no prompt");
    assert.equal((await onReceiver(user.sender, event.openBlock)).balance, "5");
  } finally {
    await automine(true).catch(() => {});
    await user.browser.close();
  }
});

it("the tab is reloaded while the wallet prompt for createChannelWithSigner is still open: the key is already stored, and once the user confirms, the new page continues", async () => {
  const user = await newClient();
  try {
    const prompt = await openWithHeldPrompt(user);
    const stored = await storedEntries(user.page);
    assert.deepEqual(
      Object.keys(stored).map((key) => key.split(":").slice(-2, -1)[0]),
      ["pending"],
      `the session key is stored before the transaction is sent: ${JSON.stringify(Object.keys(stored))}`,
    );

    // The tab reloads; the prompt stays open and the user confirms it afterwards.
    await reload(user);
    const pending = await run(user.page, "(client) => client.pendingChannels()");
    assert.equal(pending.length, 1, "a channel is being opened");
    assert.equal(pending[0].transactionHash, null, "not sent yet when the page left");
    const hash = await stack.walletFor(user.sender.privateKey).sendTransaction({ to: prompt.to, data: prompt.data });
    await stack.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });

    // Even the recovery from the chain finds it with its key (not as a lost-key channel).
    const channel = await run(user.page, "(client) => client.loadChannelFromBlockchain()");
    const [event] = await stack.channelsCreatedBy(user.sender.address);
    assert.deepEqual([channel.openBlockNumber, channel.sessionKey], [event.openBlock, true]);
    assert.equal(lower(channel.signer), lower(pending[0].signer));
    assert.equal(lower(event.signer), lower(pending[0].signer), "the registered signer is the stored key");
    const prompts = user.wallet.prompts();
    assert.equal(await pay(user.page, "confirmed"), "200 confirmed");
    assert.equal(user.wallet.prompts(), prompts, "paid with the session key, no prompt");
  } finally {
    await user.browser.close();
  }
});

it("an opening whose transaction never comes is reported stale after receiptTimeoutMs and kept, never dropped", async () => {
  const user = await newClient();
  try {
    await openWithHeldPrompt(user);
    await reload(user);
    await user.page.evaluate(
      async ({ contract, chainId, receiver }) => {
        window.client = await window.uraiden.MicroRaiden.create({ contract, chainId, receiver, pollIntervalMs: 100, receiptTimeoutMs: 1000 });
      },
      { contract: stack.manager, chainId: stack.chainId, receiver: stack.receiver.address },
    );
    const waited = await failure(user.page, "(client) => client.waitForPendingChannel()");
    const timeout = await user.page.evaluate(() => window.uraiden.ErrorCode.Timeout);
    assert.equal(waited?.code, timeout, JSON.stringify(waited));
    assert.match(waited.message, /kept/);
    const pending = await run(user.page, "(client) => client.pendingChannels()");
    assert.deepEqual(pending.map((p) => p.stale), [true], "reported stale");
    assert.equal(await run(user.page, "(client) => client.loadStoredChannel()"), null);
    // A second opening refuses while it may still be mined, unless asked to replace.
    const refused = await failure(user.page, "(client) => client.openChannel({ deposit: 100n, method: 'erc223' })");
    const alreadyOpen = await user.page.evaluate(() => window.uraiden.ErrorCode.ChannelAlreadyOpen);
    assert.equal(refused?.code, alreadyOpen, JSON.stringify(refused));
    assert.match(refused.message, /being opened/);
    const entries = Object.keys(await storedEntries(user.page));
    assert.equal(entries.length, 1);
    assert.match(entries[0], new RegExp(`:pending:${lower(pending[0].signer)}$`), "the key is kept");
  } finally {
    await user.browser.close();
  }
});

it("a rejected opening prompt leaves no pending key behind", async () => {
  const user = await newClient();
  try {
    user.wallet.rejectNext("eth_sendTransaction");
    const refused = await failure(user.page, "(client) => client.openChannel({ deposit: 100n, method: 'erc223' })");
    assert.equal(refused?.code, 4001, JSON.stringify(refused));
    assert.deepEqual(await run(user.page, "(client) => client.pendingChannels()"), []);
    assert.deepEqual(await storedEntries(user.page), {});
  } finally {
    await user.browser.close();
  }
});

it("session key lost after paying 40 of 100: the channel is recovered wallet-signed at the receiver's last proof (one signature) and the wallet pays on top; a refused payment is not counted", async () => {
  const user = await newClient();
  try {
    const opened = await run(user.page, "(client) => client.openChannel({ deposit: 100n })");
    for (let view = 1; view <= 8; view += 1) assert.equal(await pay(user.page, `view${view}`), `200 view${view}`);
    assert.equal((await onReceiver(user.sender, opened.openBlockNumber)).balance, "40");

    // The site's storage is cleared: the session key is gone.
    await user.page.evaluate(() => localStorage.clear());
    await reload(user);
    assert.equal(await run(user.page, "(client) => client.loadStoredChannel()"), null);
    const found = await run(user.page, "(client) => client.loadChannelFromBlockchain()");
    assert.ok(found, "the channel is recovered");
    assert.equal(found.openBlockNumber, opened.openBlockNumber);
    assert.equal(found.deposit, "100");
    assert.equal(found.sessionKey, false, "the wallet signs now");
    assert.equal(lower(found.signer), lower(opened.signer), "the on-chain signer is the lost key");

    // A payment the receiver refuses (it holds 40, not 0) is never counted, even when the
    // resync that would fix it is declined in the wallet.
    const beforeRefusal = user.wallet.calls("eth_signTypedData_v4").length;
    user.wallet.rejectNext("eth_signTypedData_v4", {
      when: (params) => JSON.parse(params[1]).primaryType === "StatusRequest",
    });
    const declined = await failure(user.page, "(client, url) => client.payingFetch(url, { maxPrice: 5n })", `${stack.serverUrl}/echofix/refused`);
    assert.equal(declined?.code, 4001, JSON.stringify(declined));
    assert.deepEqual(typedSigned(user.wallet, beforeRefusal), ["BalanceProof", "StatusRequest"]);
    assert.equal((await run(user.page, "(client) => client.channel")).balance, "0", "the refused 5 is not counted");
    assert.equal((await onReceiver(user.sender, opened.openBlockNumber)).balance, "40");

    // One wallet signature (a status request) adopts the receiver's last proof, 40.
    const beforeSync = user.wallet.calls("eth_signTypedData_v4").length;
    const status = await run(user.page, "(client, url) => client.syncWithReceiver(url)", `${stack.serverUrl}/echofix/sync`);
    assert.deepEqual([status.balance, status.resynced], ["40", true]);
    assert.deepEqual(typedSigned(user.wallet, beforeSync), ["StatusRequest"]);
    assert.equal((await run(user.page, "(client) => client.channel")).balance, "40");

    // The next payment is signed by the wallet on top of it and accepted.
    assert.equal(await pay(user.page, "after"), "200 after");
    assert.deepEqual(typedSigned(user.wallet, beforeSync), ["StatusRequest", "BalanceProof"]);
    assert.equal((await run(user.page, "(client) => client.channel")).balance, "45");
    assert.equal((await onReceiver(user.sender, opened.openBlockNumber)).balance, "45");

    // It stays recovered across a reload (stored as a wallet-signed channel of that signer).
    await reload(user);
    const again = await run(user.page, "(client) => client.loadStoredChannel()");
    assert.deepEqual([again.balance, again.sessionKey, lower(again.signer)], ["45", false, lower(opened.signer)]);
  } finally {
    await user.browser.close();
  }
});
