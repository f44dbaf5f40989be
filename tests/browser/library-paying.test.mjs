// uraiden-wasm's paying path in Chromium, against a real anvil and a real receiver: concurrent
// payingFetch calls on one channel, refusals thrown as typed errors, no wallet calls for a
// session-key payment (even with the wallet on another chain), a payment right after a
// top-up that the receiver has not seen yet, and a balance that fell behind the receiver's,
// resynced from the refusal. Each test has its own sender and browser. The library is the npm
// package's build, so every payment here travels in x402's PAYMENT-SIGNATURE (the receiver
// offers it on every 402); the paywall's build, without x402, pays in RDN-* headers in the
// other library suites.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  USER_REJECTED,
  installWallet,
  launchBrowser,
  recordResponses,
  reportFailures,
  startStack,
  waitUntil,
  x402Json,
} from "./harness.mjs";
import { loadLibrary, openSessionChannel } from "./measure-signing.mjs";

const PRICE = 5n; // /echofix/* on the demo receiver

let stack;
let lagging;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
  await lagging?.stop();
});

/** A fresh sender with its own browser and wallet, and `window.client` with an open channel. */
async function newUser(on, deposit, options = {}) {
  const sender = await on.newSender(10n);
  const browser = await launchBrowser();
  const wallet = await installWallet(browser.context, { ...sender, rpcUrl: on.rpcUrl, chainId: on.chainId });
  await loadLibrary(browser.page, on.serverUrl, { build: "npm" });
  const channel = await openSessionChannel(browser.page, on, deposit, options);
  return { sender, wallet, browser, page: browser.page, channel };
}

/** `payingFetch` of `/echofix/<word>`: "status body", or the thrown error's fields. */
function payJs() {
  return async ({ url, maxPrice }) => {
    try {
      const response = await window.client.payingFetch(url, { maxPrice: BigInt(maxPrice) });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      return {
        thrown: {
          isUraidenError: error instanceof window.uraiden.UraidenError,
          name: error.name,
          code: error.code,
          message: error.message,
          refusal: error.data?.refusal ?? null,
        },
      };
    }
  };
}

const pay = (on, page, word) =>
  page.evaluate(payJs(), { url: `${on.serverUrl}/echofix/${word}`, maxPrice: String(PRICE) });

/** The library's view of the current channel, amounts as strings. */
const channelNow = (page) =>
  page.evaluate(() => {
    const channel = window.client.channel;
    return channel && { ...channel, deposit: String(channel.deposit), balance: String(channel.balance) };
  });

/** A counter of the receiver's Prometheus metrics (0 when absent). */
async function metric(on, name) {
  const text = await (await fetch(`${on.serverUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

test(
  "five concurrent payingFetch calls on one channel all pay, one after the other",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack, 100n);
      try {
        const accepted = await metric(stack, "uraiden_payments_accepted_total");
        const results = await user.page.evaluate(
          async ({ base, maxPrice }) => {
            const words = ["a", "b", "c", "d", "e"];
            return Promise.all(
              words.map((word) =>
                window.client.payingFetch(`${base}/echofix/${word}`, { maxPrice: BigInt(maxPrice) }).then(
                  async (response) => `${response.status} ${await response.text()}`,
                  (error) => `threw ${error.code}: ${error.message}`,
                ),
              ),
            );
          },
          { base: stack.serverUrl, maxPrice: String(PRICE) },
        );
        assert.deepEqual(results, ["200 a", "200 b", "200 c", "200 d", "200 e"]);
        assert.equal((await channelNow(user.page)).balance, String(5n * PRICE));
        const [onServer] = await stack.serverChannels(user.sender.address);
        assert.equal(onServer.balance, String(5n * PRICE), "the receiver holds the same balance");
        assert.equal(await metric(stack, "uraiden_payments_accepted_total"), accepted + 5, "five payments, no more");

        // The queue is not wedged by what came before: one more pays.
        assert.deepEqual(await pay(stack, user.page, "f"), { status: 200, body: "f" });
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "a refusal the library cannot fix is thrown as an UraidenError, not returned as a 402, by each queued call",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack, 100n);
      try {
        assert.deepEqual(await pay(stack, user.page, "before"), { status: 200, body: "before" });
        // Closed on chain (uncooperatively): the receiver refuses every later payment.
        await user.page.evaluate(() => window.client.closeChannel());
        await waitUntil(
          async () => (await stack.serverChannels(user.sender.address))[0]?.state !== "open",
          { message: "the receiver to see the channel closing" },
        );
        const refusals = await user.page.evaluate(
          async ({ url, maxPrice }) => {
            const attempt = () =>
              window.client.payingFetch(url, { maxPrice: BigInt(maxPrice) }).then(
                (response) => ({ status: response.status }),
                (error) => ({
                  isUraidenError: error instanceof window.uraiden.UraidenError,
                  isError: error instanceof Error,
                  code: error.code,
                  expected: window.uraiden.ErrorCode.NoChannel,
                  refusal: error.data?.refusal ?? null,
                  message: error.message,
                }),
              );
            // Two at once: each is refused on its own, neither waits forever on the other.
            return Promise.all([attempt(), attempt()]);
          },
          { url: `${stack.serverUrl}/echofix/after`, maxPrice: String(PRICE) },
        );
        for (const refused of refusals) {
          assert.equal(refused.status, undefined, `thrown, not a ${refused.status} response`);
          assert.equal(refused.isUraidenError, true);
          assert.equal(refused.isError, true);
          assert.equal(refused.expected, 5004);
          assert.equal(refused.code, refused.expected, refused.message);
          assert.equal(refused.refusal, "nonexisting-channel");
          assert.match(refused.message, /open a new channel/);
        }
        assert.equal((await channelNow(user.page)).balance, String(PRICE), "nothing more was counted");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "session-key payments make no wallet calls",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack, 100n);
      try {
        // The first payment may find the receiver not yet aware of the new channel: that
        // refusal is checked on chain (through the wallet). Once it knows the channel, none.
        assert.deepEqual(await pay(stack, user.page, "zero"), { status: 200, body: "zero" });
        user.wallet.clearRequests();
        for (const word of ["one", "two", "three"]) {
          assert.deepEqual(await pay(stack, user.page, word), { status: 200, body: word });
        }
        const together = await user.page.evaluate(
          ({ base, maxPrice }) =>
            Promise.all(
              ["four", "five"].map((word) =>
                window.client.payingFetch(`${base}/echofix/${word}`, { maxPrice: BigInt(maxPrice) }).then((r) => r.status),
              ),
            ),
          { base: stack.serverUrl, maxPrice: String(PRICE) },
        );
        assert.deepEqual(together, [200, 200]);
        assert.deepEqual(
          user.wallet.requests.map((request) => request.method),
          [],
          "no EIP-1193 request for five session-key payments",
        );
        assert.equal((await channelNow(user.page)).balance, String(6n * PRICE));
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "a wallet switched to another chain: session-key payments go on without it; a top-up refuses with WrongChain",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack, 100n);
      try {
        assert.deepEqual(await pay(stack, user.page, "same"), { status: 200, body: "same" });
        await user.wallet.setChain(1);
        user.wallet.clearRequests();
        assert.deepEqual(await pay(stack, user.page, "other"), { status: 200, body: "other" });
        assert.deepEqual(user.wallet.requests.map((request) => request.method), [], "the wallet was not asked");
        const [onServer] = await stack.serverChannels(user.sender.address);
        assert.equal(onServer.balance, String(2n * PRICE));

        // An on-chain action needs the chain: it asks to switch once; declined, it is WrongChain.
        user.wallet.rejectNext("wallet_switchEthereumChain", 1, USER_REJECTED);
        const refused = await user.page.evaluate(() =>
          window.client.topUpChannel(10n).then(
            () => null,
            (error) => ({
              code: error.code,
              expected: window.uraiden.ErrorCode.WrongChain,
              message: error.message,
              causeCode: error.cause?.code ?? null,
            }),
          ),
        );
        assert.ok(refused, "topUpChannel rejects");
        assert.equal(refused.expected, 5003);
        assert.equal(refused.code, refused.expected, refused.message);
        assert.match(refused.message, new RegExp(`chain 1\\b.*chain ${stack.chainId}`));
        assert.equal(refused.causeCode, 4001, "the wallet's refusal is the cause");
        assert.equal(user.wallet.calls("wallet_switchEthereumChain").length, 1, "asked to switch once");
        assert.equal(user.wallet.transactions().length, 0, "nothing was sent");
        assert.equal((await stack.channelOnChain(user.sender.address, user.channel.openBlockNumber)).deposit, 100n);
        assert.equal((await channelNow(user.page)).deposit, "100");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "right after a top-up, a payment the receiver has not caught up with is retried until accepted, once",
  reportFailures(
    () => ({ stack: lagging }),
    async () => {
      // A receiver that looks at the chain every 8 s: it sees a top-up well after topUpChannel
      // resolves, and meanwhile refuses a payment beyond the old deposit as insufficient funds.
      const pollIntervalMs = 8_000;
      lagging = await startStack({ pollIntervalMs });
      const user = await newUser(lagging, 10n);
      try {
        // The library waits for the receiver to see the new channel (confirmationTimeoutMs).
        assert.deepEqual(await pay(lagging, user.page, "first"), { status: 200, body: "first" });
        assert.deepEqual(await pay(lagging, user.page, "second"), { status: 200, body: "second" });
        const beyondDeposit = await pay(lagging, user.page, "third");
        assert.equal(beyondDeposit.thrown?.code, 5005, "ErrorCode.InsufficientDeposit, before the top-up");

        // Start right after the receiver looked at the chain, so the top-up lands between two looks.
        await lagging.mine(1);
        const head = Number(await lagging.blockNumber());
        await waitUntil(async () => (await lagging.api("/stats")).body.sync_block >= head, {
          interval: 20,
          message: "the receiver to sync",
        });
        const refusedBefore = await metric(lagging, 'uraiden_payments_refused_total{reason="insufficient-funds"}');
        const accepted = await metric(lagging, "uraiden_payments_accepted_total");
        const result = await user.page.evaluate(
          async ({ url, maxPrice }) => {
            const topped = await window.client.topUpChannel(10n);
            try {
              const response = await window.client.payingFetch(url, { maxPrice: BigInt(maxPrice) });
              return { deposit: String(topped.deposit), status: response.status, body: await response.text() };
            } catch (error) {
              return { deposit: String(topped.deposit), thrown: `${error.code}: ${error.message}` };
            }
          },
          { url: `${lagging.serverUrl}/echofix/third`, maxPrice: String(PRICE) },
        );
        assert.equal(result.deposit, "20");
        assert.equal(result.thrown, undefined, `payingFetch after topUpChannel threw ${result.thrown}`);
        assert.deepEqual([result.status, result.body], [200, "third"]);
        assert.ok(
          (await metric(lagging, 'uraiden_payments_refused_total{reason="insufficient-funds"}')) > refusedBefore,
          "the receiver did refuse the payment before it saw the top-up (the case under test)",
        );
        assert.equal(await metric(lagging, "uraiden_payments_accepted_total"), accepted + 1, "paid exactly once");
        const [onServer] = await lagging.serverChannels(user.sender.address);
        assert.deepEqual([onServer.balance, onServer.deposit], ["15", "20"]);
        assert.equal((await channelNow(user.page)).balance, "15");

        // A client that waits only 300 ms: the refusal outlasts it and is thrown, typed.
        await user.page.evaluate(
          async ({ contract, token, chainId, receiver }) => {
            const { MicroRaiden } = window.uraiden;
            window.client = await MicroRaiden.create({
              contract, token, chainId, receiver, pollIntervalMs: 100, confirmationTimeoutMs: 300,
            });
            await window.client.requestAccounts();
            await window.client.loadStoredChannel();
          },
          { contract: lagging.manager, token: lagging.token, chainId: lagging.chainId, receiver: lagging.receiver.address },
        );
        assert.deepEqual(await pay(lagging, user.page, "fourth"), { status: 200, body: "fourth" });
        await lagging.mine(1);
        const later = Number(await lagging.blockNumber());
        await waitUntil(async () => (await lagging.api("/stats")).body.sync_block >= later, {
          interval: 20,
          message: "the receiver to sync",
        });
        await user.page.evaluate(() => window.client.topUpChannel(10n));
        const impatient = await pay(lagging, user.page, "fifth");
        assert.equal(impatient.thrown?.isUraidenError, true, `thrown, not ${JSON.stringify(impatient)}`);
        assert.equal(impatient.thrown.code, 5005, `ErrorCode.InsufficientDeposit: ${impatient.thrown.message}`);
        assert.equal(impatient.thrown.refusal, "insufficient-funds");
        assert.equal((await channelNow(user.page)).balance, "20", "the refused payment is not counted");
        // Once the receiver has seen the top-up, the next call pays on top of the last accepted proof.
        await waitUntil(async () => (await lagging.serverChannels(user.sender.address))[0].deposit === "30", {
          timeout: 3 * pollIntervalMs,
          message: "the receiver to see the second top-up",
        });
        assert.deepEqual(await pay(lagging, user.page, "fifth"), { status: 200, body: "fifth" });
        assert.equal((await lagging.serverChannels(user.sender.address))[0].balance, "25");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

test(
  "payingFetch pays in PAYMENT-SIGNATURE when the 402 offers x402; a balance behind the receiver's resyncs from lastProof",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack, 100n);
      const seen = recordResponses(user.page, "/echofix/");
      try {
        assert.deepEqual(await pay(stack, user.page, "one"), { status: 200, body: "one" });
        await waitUntil(() => seen.some((entry) => entry.status === 200) && seen.every((entry) => entry.answer), {
          message: "the first payment recorded",
        });
        // (The receiver may see the new channel only after a first attempt: the same proof then goes again.)
        const [unpaid, paid] = [seen[0], seen.find((entry) => entry.status === 200)];
        assert.equal(unpaid.status, 402);
        const offered = x402Json(unpaid.answer["payment-required"]);
        assert.equal(offered.accepts[0].scheme, "uraiden");
        assert.ok(paid.headers["payment-signature"], "the paid request carries PAYMENT-SIGNATURE");
        for (const name of ["rdn-balance", "rdn-balance-signature", "rdn-sender-address", "rdn-open-block"]) {
          assert.equal(paid.headers[name], undefined, `and no ${name} header`);
        }
        const signed = x402Json(paid.headers["payment-signature"]);
        assert.deepEqual(signed.accepted, offered.accepts[0], "it pays the offer as the 402 made it");
        assert.equal(signed.payload.balance, String(PRICE));
        assert.equal(signed.payload.sender.toLowerCase(), user.sender.address.toLowerCase());
        assert.equal(signed.payload.statusSignature, undefined, "no status request until a refusal needs the last proof");
        assert.equal(paid.status, 200);
        const settled = x402Json(paid.answer["payment-response"]);
        assert.deepEqual([settled.success, settled.extra.balance], [true, String(PRICE)]);

        // This browser's record of the channel falls behind the receiver's: restored from a
        // copy taken after the first payment (a backup, another tab that paid meanwhile).
        const copy = await user.page.evaluate(() =>
          Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith("uraiden:")).map((k) => [k, localStorage.getItem(k)])),
        );
        assert.deepEqual(await pay(stack, user.page, "two"), { status: 200, body: "two" });
        assert.deepEqual(await pay(stack, user.page, "three"), { status: 200, body: "three" });
        await user.page.evaluate(
          async ({ copy, contract, token, chainId, receiver }) => {
            for (const [key, value] of Object.entries(copy)) localStorage.setItem(key, value);
            window.client = await window.uraiden.MicroRaiden.create({ contract, token, chainId, receiver, pollIntervalMs: 100 });
            await window.client.requestAccounts();
            await window.client.loadStoredChannel();
          },
          { copy, contract: stack.manager, token: stack.token, chainId: stack.chainId, receiver: stack.receiver.address },
        );
        assert.equal((await channelNow(user.page)).balance, String(PRICE), "the client believes 5, the receiver holds 15");

        user.wallet.clearRequests();
        seen.length = 0;
        assert.deepEqual(await pay(stack, user.page, "four"), { status: 200, body: "four" });
        await waitUntil(() => seen.some((entry) => entry.status === 200) && seen.every((entry) => entry.answer), {
          message: "the resynced payment recorded",
        });
        const attempts = seen
          .filter((entry) => entry.headers["payment-signature"])
          .map((entry) => ({ ...entry, payload: x402Json(entry.headers["payment-signature"]).payload }));
        assert.deepEqual(
          attempts.map(({ payload, status }) => [payload.balance, Boolean(payload.statusSignature), status]),
          [["10", false, 402], ["10", true, 402], ["20", false, 200]],
          "the stale balance refused, sent again with a status request to learn the receiver's, then paid on top of it",
        );
        const [bare, asked] = attempts.map((entry) => x402Json(entry.answer["payment-response"]));
        assert.deepEqual([bare.success, bare.errorReason, bare.extra?.lastProof], [false, "invalid_balance_proof", undefined]);
        assert.deepEqual([asked.success, asked.errorReason], [false, "invalid_balance_proof"]);
        assert.equal(asked.extra.lastProof.balance, String(3n * PRICE), "the receiver named its last proof");
        assert.equal((await channelNow(user.page)).balance, String(4n * PRICE));
        const [onServer] = await stack.serverChannels(user.sender.address);
        assert.equal(onServer.balance, String(4n * PRICE), "four prices paid, no more");
        assert.deepEqual(user.wallet.requests.map((request) => request.method), [], "no wallet request to resync");
      } finally {
        await user.browser.close();
      }
    },
  ),
);
