// A third outside review of issue 10's browser sender: attacks on the five fixes of the second
// one (the kept-payment rule, the cross-tab Web Lock, paymentTimeoutMs, paidOrigins with manual
// redirects, forgetStoredChannel({ force }) and the late-result booking), by a hostile receiver
// or gateway, a stranger's site, and an honest receiver the library must not wrongly refuse.
// Real anvil, real uraiden-server, Chromium running the committed uraiden-wasm.
//
//   node --test --test-concurrency=1 --test-reporter=spec tests/browser/attack-review-10c.test.mjs
//
// A test whose comment says "Seen:" reproduced a defect (what was seen, the fix the review
// proposed, and a "Fixed:" line for the fix made); the others are regression tests of attacks
// that held.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, startStack, waitUntil } from "./harness.mjs";
import {
  inFront,
  newUser as newSessionUser,
  PAYMENT_HEADERS,
  payIn as payInPage,
  receiverBalance as balanceOnReceiver,
  receiverKnows as receiverSees,
} from "./in-front.mjs";
import { loadLibrary, openSessionChannel } from "./measure-signing.mjs";
import { readPaywall } from "./paywall-page.mjs";

const PRICE = 5n; // /echofix/* on the demo receiver

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** A server in front of the receiver that pages of any origin may call. */
const gatewayFor = (answer) => inFront(stack.serverUrl, answer, { cors: true });
const receiverBalance = (sender, block) => balanceOnReceiver(stack, sender, block);
const payIn = (page, url, maxPrice = PRICE) => payInPage(page, url, maxPrice);

/** A fresh sender and browser with a session-key channel the receiver has seen confirmed. */
async function newUser(origin, deposit) {
  const user = await newSessionUser(stack, origin, deposit);
  await receiverKnows(user.sender, user.channel);
  return user;
}

const receiverKnows = (sender, channel) => receiverSees(stack, sender, channel);

/**
 * `window.client` in `page` (the library loaded) over the injected wallet, with the stored
 * channel loaded, as a reloaded page or another tab of the app has it. `options` go to create().
 */
async function connect(page, options = {}) {
  return page.evaluate(
    async ({ contract, token, chainId, receiver, options }) => {
      window.client = await window.uraiden.MicroRaiden.create({ contract, token, chainId, receiver, pollIntervalMs: 100, ...options });
      await window.client.requestAccounts();
      const channel = await window.client.loadStoredChannel();
      return channel && String(channel.balance);
    },
    { contract: stack.manager, token: stack.token, chainId: stack.chainId, receiver: stack.receiver.address, options },
  );
}

/** Another tab of `user`'s browser on `origin`, with the library and the stored channel. */
async function anotherTab(user, origin, options) {
  const page = await user.browser.context.newPage();
  await loadLibrary(page, origin);
  await connect(page, options);
  return page;
}

/** `payingFetch(url, options)` in `page`, settled within `ms`: its status, the error code, or "pending". */
function settledWithin(page, url, options, ms) {
  return page.evaluate(
    ({ url, maxPrice, options, ms }) =>
      Promise.race([
        window.client
          .payingFetch(url, { maxPrice: BigInt(maxPrice), ...options })
          .then((response) => response.status, (error) => `thrown ${error.code}: ${error.message}`),
        new Promise((resolve) => setTimeout(() => resolve(`still pending after ${ms} ms`), ms)),
      ]),
    { url, maxPrice: String(PRICE), options, ms },
  );
}

/** The stored records (balance, whether the session key is there) of `page`'s origin. */
function storedRecords(page) {
  return page.evaluate(() =>
    Object.keys(localStorage)
      .filter((key) => key.startsWith("uraiden:v2:") && !key.includes(":pending:"))
      .map((key) => {
        const record = JSON.parse(localStorage.getItem(key));
        return { balance: record.balance, sessionKey: Boolean(record.sessionKey) };
      }),
  );
}

/**
 * A server in front of the receiver whose answer to a paid request for a path containing
 * "/stall" is the receiver's 402 (the payment headers dropped: nothing taken) named as a
 * refusal, with its body started and never finished. Everything else is forwarded.
 */
async function stallingBody(target) {
  const open = new Set();
  let stalled = 0;
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const paid = Boolean(headers["rdn-balance"]) && req.url.includes("/stall");
    if (paid) for (const name of PAYMENT_HEADERS) delete headers[name];
    const answer = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      redirect: "manual",
    });
    const out = {};
    answer.headers.forEach((value, name) => {
      if (!["content-encoding", "content-length", "transfer-encoding", "connection", "set-cookie"].includes(name)) out[name] = value;
    });
    const bytes = Buffer.from(await answer.arrayBuffer());
    if (!paid) {
      res.writeHead(answer.status, out);
      res.end(bytes);
      return;
    }
    stalled += 1;
    res.writeHead(402, { ...out, "rdn-invalid-balance-proof": "1" });
    res.write(bytes.subarray(0, 1)); // the rest never comes
    open.add(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stalled: () => stalled,
    stop: () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// A hostile gateway (or a receiver) refuses a payment with a 402 whose headers arrive at once and
// whose body never ends. paymentTimeoutMs bounds only the wait for the headers: the library then
// reads the refusal's body for its error message while it still holds the in-tab payment queue
// and the channel's Web Lock, so that payingFetch never settles, nor does any later payingFetch of
// the tab or of any other tab paying from the channel: the library hangs for good.
// Seen: the stalled call, the next call in the tab and a call in a second tab all still pending
// after 15 s (paymentTimeoutMs 3 s). Fix (wasm-client/src/client.rs, Inner::paying_fetch, the two
// refusal paths that call `paying_fetch::text(&response).await`): read a refusal's body only
// within the payment timeout (keep fetch_within's timer armed until a 402's body is read, e.g. a
// `paying_fetch::text_within(&response, ms)` that aborts the request's controller), or drop the
// Web Lock and queue turns before reading it.
// Fixed: a refusal's body is read within paymentTimeoutMs (fetch_within's timer stays armed).
test(
  "a refusal whose body never ends does not hold the payment queue and the Web Lock for good",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await stallingBody(stack.serverUrl);
      const user = await newUser(gateway.url, 100n);
      try {
        await user.page.evaluate((url) => {
          window.stalled = window.client
            .payingFetch(url, { maxPrice: 5n, paymentTimeoutMs: 3_000 })
            .then((response) => response.status, (error) => error.code);
        }, `${gateway.url}/echofix/stall`);
        await waitUntil(() => gateway.stalled() > 0, { timeout: 30_000, message: "the refusal to stall" });
        const otherTab = await anotherTab(user, gateway.url);
        const [next, inOtherTab] = await Promise.all([
          settledWithin(user.page, `${gateway.url}/echofix/next`, {}, 15_000),
          settledWithin(otherTab, `${gateway.url}/echofix/other-tab`, {}, 15_000),
        ]);
        const stalled = await user.page.evaluate(() => Promise.race([window.stalled, "still pending"]));
        assert.deepEqual({ stalled, next, inOtherTab }, { stalled: 5014, next: 200, inOtherTab: 200 });
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
      } finally {
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

/**
 * A gateway that lets the first paid request for a path containing "/lost" reach the receiver
 * (which takes it) and then never answers it (until `release`): an answer lost on its way back.
 */
async function losingFirstAnswer() {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  let taken = 0;
  const gateway = await gatewayFor(async (request, forward) => {
    if (!request.headers["rdn-balance"] || !request.url.includes("/lost") || taken > 0) return null;
    const answer = await forward();
    if (answer.status === 200) taken += 1;
    await held;
    return answer;
  });
  return { ...gateway, taken: () => taken, release: () => release() };
}

// The answer to a paid request is lost after the receiver took the payment; the call times out
// (paymentTimeoutMs). The next call of the same page signs the same balance again (signatures are
// deterministic), the receiver names it as its last proof, and the library, which remembers
// having sent it in an earlier call, pays once on top: one more price, content served. Held.
test(
  "after a timed-out payment the receiver took, the next call of the page pays once on top",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await losingFirstAnswer();
      const user = await newUser(gateway.url, 100n);
      try {
        const first = await settledWithin(user.page, `${gateway.url}/echofix/lost`, { paymentTimeoutMs: 2_000 }, 20_000);
        assert.match(String(first), /^thrown 5008/, "the unanswered payment times out");
        assert.equal(gateway.taken(), 1, "the receiver took it");
        const next = await payIn(user.page, `${gateway.url}/echofix/lost`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
        assert.equal(next.balance, String(2n * PRICE));
      } finally {
        gateway.release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// The caller aborts (init.signal) a payment the receiver already took, its answer lost. Held: the
// call throws Network ("aborted by init.signal"), nothing is counted, and the next call of the page
// pays once on top of the payment the receiver names.
test(
  "after a payment aborted by the caller's signal but taken by the receiver, the next call pays once on top",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await losingFirstAnswer();
      const user = await newUser(gateway.url, 100n);
      try {
        const first = await user.page.evaluate(
          (url) =>
            window.client
              .payingFetch(url, { maxPrice: 5n, init: { signal: AbortSignal.timeout(1_500) } })
              .then((response) => response.status, (error) => `thrown ${error.code}: ${error.message}`),
          `${gateway.url}/echofix/lost`,
        );
        assert.match(String(first), /^thrown 5012: .*aborted by init\.signal/);
        assert.equal(gateway.taken(), 1, "the receiver took it");
        const next = await payIn(user.page, `${gateway.url}/echofix/lost`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
        assert.equal(next.balance, String(2n * PRICE));
      } finally {
        gateway.release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// The same lost answer, but the user reloads the page while the payment is on its way (or the tab
// is closed and the app opened again). An honest receiver holds the proof of balance 5 the old
// page sent. The new page's first payingFetch signs balance 5 again (the stored record was never
// updated: the answer never came), the receiver refuses it (not above its balance) and names it as
// its last proof; the library only remembers the proofs of its own instance, so it takes that for
// a payment kept by this call and throws PaymentRefused ("the receiver kept the payment"), though
// the receiver did nothing wrong and the content was never served.
// Seen: thrown 5014 "the receiver kept the payment (… balance 5 …)". Fix (wasm-client/src/
// client.rs + storage.rs): persist the proof being sent in the channel's stored record before the
// paid request leaves (e.g. an `inFlight` balance + signature, written under the Web Lock, cleared
// when the answer is booked), and have `paying_fetch::kept_payment` treat a proof found there as
// sent before (like `earlier`): a reload, another tab or a lost answer then resync and pay on top.
// Fixed: a call pays on top of the first of its proofs a refusal names (held from before), and
// takes only the second for a kept payment (PaymentRefused).
test(
  "after a reload during a payment the receiver took, the next payingFetch pays on top instead of throwing PaymentRefused",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await losingFirstAnswer();
      const user = await newUser(gateway.url, 100n);
      try {
        await user.page.evaluate((url) => {
          window.client.payingFetch(url, { maxPrice: 5n }).catch(() => {});
        }, `${gateway.url}/echofix/lost`);
        await waitUntil(() => gateway.taken() > 0, { timeout: 30_000, message: "the receiver to take the payment" });
        await user.page.reload();
        await loadLibrary(user.page, gateway.url);
        assert.equal(await connect(user.page), "0", "the stored record never saw the answer");
        const next = await payIn(user.page, `${gateway.url}/echofix/lost`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
        assert.equal(next.balance, String(2n * PRICE));
      } finally {
        gateway.release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// The same lost answer seen from a second tab of the app: tab A's payment timed out after the
// receiver took it; tab B (same stored channel, same session key) then pays. Tab B never sent that
// proof and tab A never booked it, so B's re-signed balance 5, named by the receiver, looks kept.
// Seen: tab B throws 5014 "the receiver kept the payment". Fix: as above (the proof in flight in
// the shared stored record, so every tab knows it was sent before).
// Fixed: a call pays on top of the first of its proofs a refusal names (held from before), and
// takes only the second for a kept payment (PaymentRefused).
test(
  "a second tab paying after the first tab's payment timed out (taken by the receiver) pays on top",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await losingFirstAnswer();
      const user = await newUser(gateway.url, 100n);
      try {
        const otherTab = await anotherTab(user, gateway.url);
        const first = await settledWithin(user.page, `${gateway.url}/echofix/lost`, { paymentTimeoutMs: 2_000 }, 20_000);
        assert.match(String(first), /^thrown 5008/, "the unanswered payment times out");
        const next = await payIn(otherTab, `${gateway.url}/echofix/lost`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
      } finally {
        gateway.release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// paidOrigins is checked against the final URL of the unpaid request, after redirects, but the
// paid request goes to the URL the app asked for. A stranger's site (CORS open) answers the app's
// unpaid request with a redirect to the paywall of a listed origin (the shop's own API, CORS open
// as it serves the app), so the 402 comes from a listed origin; the paid request then goes to the
// stranger (no redirect followed: it answers itself), who relays the proof to the receiver for
// content of its own choosing and hands back a 200. The user paid for the stranger's purchase,
// and the library booked it as this request's payment.
// Seen: { held: 5, bought: [1 page] }, the call resolved 200. Fix (wasm-client/src/client.rs,
// Inner::paying_fetch): with paidOrigins, check the origin of the URL the payment is sent to
// (`request.url()`), not only `response.url()`, or refuse a 402 reached through a redirect
// (`response.redirected()`), or send the paid request to `response.url()`.
// Fixed: paidOrigins is checked on the requested URL as well as on the 402's final URL.
test(
  "paidOrigins: a stranger redirecting to a listed origin's paywall is not paid",
  reportFailures(
    () => ({ stack }),
    async () => {
      const shop = await gatewayFor(async () => null);
      const bought = [];
      const stranger = await gatewayFor(async (request, forward) => {
        if (!request.headers["rdn-balance"]) {
          return new Response(null, { status: 302, headers: { location: `${shop.url}/echofix/bait` } });
        }
        const answer = await forward({ path: "/echofix/for-the-stranger" });
        if (answer.status === 200) bought.push(await answer.clone().text());
        return answer;
      });
      const user = await newUser(stack.serverUrl, 100n);
      try {
        // The list's entries are origins however written: case, path and trailing slash aside.
        const listed = `${shop.url.toUpperCase()}/Some/Path/`;
        await connect(user.page, { paidOrigins: [listed] });
        const ours = await payIn(user.page, `${shop.url}/echofix/ours`);
        assert.equal(ours.status, 200, JSON.stringify(ours));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), PRICE);

        const result = await payIn(user.page, `${stranger.url}/free-article`);
        const held = await receiverBalance(user.sender.address, user.channel.openBlockNumber);
        assert.deepEqual(
          { held, bought: bought.length },
          { held: PRICE, bought: 0 },
          `the stranger was paid through a redirect to a listed origin: ${JSON.stringify(result)}`,
        );
        assert.equal(result.thrown?.code, 5009, JSON.stringify(result));
      } finally {
        await user.browser.close();
        await stranger.stop();
        await shop.stop();
      }
    },
  ),
);

// Two tabs of the app pay by hand (incrementBalanceAndSign, the README's first way to pay) from
// one stored channel. Each tab signs on top of the balance it holds in memory: the second tab's
// proof repeats the first one's balance (the same proof, signatures being deterministic), so two
// payments of the app carry one balance and the receiver takes only one of them. The Web Lock
// and `continued_from_store` guard payingFetch only.
// Seen: both tabs signed balance 5. Fix (wasm-client/src/client.rs, Inner::sign_and_record, used
// by signNewProof and incrementBalanceAndSign): take the channel's Web Lock
// (`Inner::channel_turn`'s lock and continue-from-store) before computing and signing the balance.
// Fixed: sign_and_record takes the channel's Web Lock and continues from the stored record.
test(
  "two tabs incrementing the balance by hand never sign the same balance",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack.serverUrl, 100n);
      try {
        const otherTab = await anotherTab(user, stack.serverUrl);
        const increment = (page) =>
          page.evaluate(async () => {
            const proof = await window.client.incrementBalanceAndSign(5n);
            return { balance: String(proof.balance), signature: proof.signature };
          });
        const first = await increment(user.page);
        const second = await increment(otherTab);
        assert.equal(first.balance, "5");
        assert.notEqual(second.balance, first.balance, `both tabs signed balance ${first.balance}: the same payment twice`);
        assert.equal(second.balance, "10");
      } finally {
        await user.browser.close();
      }
    },
  ),
);

// The same false "kept" from storage restored one payment behind (a backup, a profile synced from
// another machine, a record whose last write was lost): the record says balance 5, the receiver
// holds 10 (signed by the same session key). The library signs 10 again, the receiver refuses it
// and names it: the library throws PaymentRefused though nothing was kept.
// Seen: thrown 5014 "the receiver kept the payment (… balance 10 …)". Fix: an in-flight marker (see
// above) does not cover a restored record; only asking the receiver's last proof (a status request,
// free with a session key) before the first payment of a client instance whose record was not
// booked from a receiver's answer in this instance tells a held proof from a kept one.
// Fixed: a call pays on top of the first of its proofs a refusal names (held from before), and
// takes only the second for a kept payment (PaymentRefused).
test(
  "a record restored one payment behind pays on top of the receiver's last proof instead of throwing PaymentRefused",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack.serverUrl, 100n);
      try {
        assert.equal((await payIn(user.page, `${stack.serverUrl}/echofix/one`)).status, 200);
        const backup = await user.page.evaluate(() => {
          const key = Object.keys(localStorage).find((k) => k.startsWith("uraiden:v2:") && !k.includes(":pending:"));
          return { key, value: localStorage.getItem(key) };
        });
        assert.equal((await payIn(user.page, `${stack.serverUrl}/echofix/two`)).status, 200);
        await user.page.evaluate(({ key, value }) => localStorage.setItem(key, value), backup);
        await user.page.reload();
        await loadLibrary(user.page, stack.serverUrl);
        assert.equal(await connect(user.page), String(PRICE), "the restored record");
        const next = await payIn(user.page, `${stack.serverUrl}/echofix/three`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 3n * PRICE);
        assert.equal(next.balance, String(3n * PRICE));
      } finally {
        await user.browser.close();
      }
    },
  ),
);

// Three tabs of the app pay from one channel at once, three payingFetch calls each. The channel's
// Web Lock makes them take turns, and each turn continues from the record the previous holder
// stored in localStorage; but localStorage is not consistent across tabs (each renderer keeps its
// own copy, updated asynchronously): the tab taking the lock right after another may read the
// record from before the other's last payment, sign that payment's balance again, and have the
// receiver name it as its last proof: "kept", PaymentRefused, for an honest receiver. (300
// increments of a localStorage counter under one Web Lock from three tabs end at about 282.)
// Seen: 8 × 200 and one thrown 5014 "the receiver kept the payment (… balance 20 …)"; the call
// signed a balance another tab had just paid (a double-signed balance). Fix (wasm-client/src/
// storage.rs, client.rs Inner::channel_turn and paying_fetch::kept_payment's `stored`): hand the
// channel's state from one lock holder to the next through a store consistent across tabs
// (IndexedDB, whose readwrite transactions are serialised for the origin), not localStorage.
// Fixed: a call pays on top of the first of its proofs a refusal names (held from before), and
// takes only the second for a kept payment (PaymentRefused).
test(
  "three tabs paying three times each at once from one channel all pay, once each",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack.serverUrl, 100n);
      try {
        const tabs = [user.page, await anotherTab(user, stack.serverUrl), await anotherTab(user, stack.serverUrl)];
        const results = await Promise.all(
          tabs.map((page, tab) =>
            page.evaluate(
              (urls) =>
                Promise.all(
                  urls.map((url) =>
                    window.client.payingFetch(url, { maxPrice: 5n }).then((r) => r.status, (e) => `thrown ${e.code}: ${e.message}`),
                  ),
                ),
              [0, 1, 2].map((call) => `${stack.serverUrl}/echofix/tab${tab}-call${call}`),
            ),
          ),
        );
        assert.deepEqual(results.flat(), Array(9).fill(200));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 9n * PRICE);
        assert.deepEqual(await storedRecords(user.page), [{ balance: String(9n * PRICE), sessionKey: true }]);
      } finally {
        await user.browser.close();
      }
    },
  ),
);

// A tab holding the channel's Web Lock (a paid request on its way, never answered) is closed. Held:
// the browser releases the lock with the tab, and another tab's payment goes through.
test(
  "a tab closed while its payment holds the channel's Web Lock does not block the other tabs",
  reportFailures(
    () => ({ stack }),
    async () => {
      let held = 0;
      let release;
      const never = new Promise((resolve) => (release = resolve));
      const gateway = await gatewayFor(async (request) => {
        if (!request.headers["rdn-balance"] || !request.url.includes("/held")) return null;
        held += 1;
        await never; // never reaches the receiver
        return new Response("gone", { status: 503 });
      });
      const user = await newUser(gateway.url, 100n);
      try {
        const otherTab = await anotherTab(user, gateway.url);
        await user.page.evaluate((url) => {
          window.client.payingFetch(url, { maxPrice: 5n }).catch(() => {});
        }, `${gateway.url}/echofix/held`);
        await waitUntil(() => held > 0, { timeout: 30_000, message: "the first tab's payment to be on its way" });
        await user.page.close();
        assert.equal(await settledWithin(otherTab, `${gateway.url}/echofix/after`, {}, 15_000), 200);
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), PRICE);
      } finally {
        release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// Tab B pays (the stored record moves to 5); tab A, which loaded the channel before, then tops it
// up. topUpChannel adds the deposit to tab A's own copy of the channel (balance 0) in preference to
// the stored one, and stores that: the stored record goes back to balance 0. Tab A's next payment
// re-signs balance 5, which the receiver already holds from tab B and names as its last proof:
// tab A throws PaymentRefused ("kept"), though no one did anything wrong.
// Seen: stored balance "0" after the top-up. Fix (wasm-client/src/client.rs,
// Inner::top_up_channel): book the top-up under the channel's Web Lock onto the stored record
// continued as payingFetch does (`ChannelState::continued_from_store`), never onto an older copy.
// Fixed: the top-up is booked under the channel's Web Lock, onto the stored record continued.
test(
  "a top-up in a tab that loaded the channel before another tab paid does not move the stored balance back",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await newUser(stack.serverUrl, 100n);
      try {
        const otherTab = await anotherTab(user, stack.serverUrl);
        assert.equal((await payIn(otherTab, `${stack.serverUrl}/echofix/in-b`)).status, 200);
        const topped = await user.page.evaluate(async () => {
          const channel = await window.client.topUpChannel(50n);
          return { deposit: String(channel.deposit), balance: String(channel.balance) };
        });
        assert.deepEqual(await storedRecords(user.page), [{ balance: String(PRICE), sessionKey: true }], JSON.stringify(topped));
        const next = await payIn(user.page, `${stack.serverUrl}/echofix/in-a`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
      } finally {
        await user.browser.close();
      }
    },
  ),
);

// forgetStoredChannel({ force: true }) while a payment is on its way; the answer comes after.
// Held: the late answer neither stores the forgotten record again nor makes it current.
test(
  "a payment answered after forgetStoredChannel({ force: true }) does not bring the channel back",
  reportFailures(
    () => ({ stack }),
    async () => {
      let forwarded = 0;
      let release;
      const later = new Promise((resolve) => (release = resolve));
      const gateway = await gatewayFor(async (request, forward) => {
        if (!request.headers["rdn-balance"]) return null;
        const answer = await forward();
        forwarded += 1;
        await later;
        return answer;
      });
      const user = await newUser(gateway.url, 100n);
      try {
        await user.page.evaluate((url) => {
          window.paid = window.client.payingFetch(url, { maxPrice: 5n }).then((r) => r.status, (e) => e.code);
        }, `${gateway.url}/echofix/late`);
        await waitUntil(() => forwarded > 0, { timeout: 30_000, message: "the payment to reach the receiver" });
        await user.page.evaluate(() => window.client.forgetStoredChannel({ force: true }));
        release();
        assert.equal(await user.page.evaluate(() => window.paid), 200);
        assert.deepEqual(await storedRecords(user.page), []);
        assert.equal(await user.page.evaluate(() => window.client.channel), null);
      } finally {
        release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// paymentTimeoutMs at its edges. A huge value is clamped to setTimeout's maximum: held. 0 can
// never be met, yet the library signs the proof, sends it, aborts it at once and throws Timeout:
// the paid request had already left (the gateway saw it; the receiver may take it), so a caller
// who meant "no timeout" pays for nothing on every call (the next call then pays on top).
// Seen: thrown 5008 "no answer … within 0 ms", 1 paid request sent. Fix (wasm-client/src/
// client.rs MicroRaiden::create and Inner::paying_fetch, where paymentTimeoutMs is read): refuse
// 0 as InvalidArgument before anything is signed (as confirmations: 0 is), or read it as "none".
// Fixed: paymentTimeoutMs 0 is refused as InvalidArgument.
test(
  "paymentTimeoutMs 0 sends no payment it then abandons, and a huge one pays",
  reportFailures(
    () => ({ stack }),
    async () => {
      let paid = 0;
      const gateway = await gatewayFor(async (request) => {
        if (request.headers["rdn-balance"]) paid += 1;
        return null;
      });
      const user = await newUser(gateway.url, 100n);
      try {
        const huge = await settledWithin(
          user.page,
          `${gateway.url}/echofix/huge`,
          { paymentTimeoutMs: Number.MAX_SAFE_INTEGER },
          20_000,
        );
        assert.equal(huge, 200);
        paid = 0;
        const zero = await settledWithin(user.page, `${gateway.url}/echofix/zero`, { paymentTimeoutMs: 0 }, 20_000);
        assert.ok(
          zero === 200 || (String(zero).startsWith("thrown 5001") && paid === 0),
          `paymentTimeoutMs 0: ${zero}; paid requests sent: ${paid}`,
        );
      } finally {
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

/** secp256k1's group order: `s` and `n - s` both verify (ECDSA malleability). */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The other signature of the same proof: (r, n - s) with the other recovery id. */
function malleated(signature) {
  const hex = signature.slice(2);
  const s = SECP256K1_N - BigInt(`0x${hex.slice(64, 128)}`);
  const v = parseInt(hex.slice(128, 130), 16) === 27 ? 28 : 27;
  return `0x${hex.slice(0, 64)}${s.toString(16).padStart(64, "0")}${v.toString(16)}`;
}

// The receiver (or a gateway) takes the payment, refuses the request, and names the payment as
// its last proof with the proof's other, high-s signature, so that it does not look like the
// proof this call sent (which would stop the call) and the library pays on top again. Held: the
// library reads only low-s signatures (as the contract), the malleated answer is not believed,
// the call throws PaymentRefused: one price, not more.
test(
  "a receiver naming the kept payment with its malleated signature still gets one price only",
  reportFailures(
    () => ({ stack }),
    async () => {
      const gateway = await gatewayFor(async (request, forward) => {
        if (request.headers["rdn-status-signature"]) {
          const answer = await forward();
          const signature = answer.headers.get("rdn-balance-signature");
          if (!signature) return answer;
          const headers = new Headers(answer.headers);
          headers.set("rdn-balance-signature", malleated(signature));
          return new Response(await answer.arrayBuffer(), { status: answer.status, headers });
        }
        if (!request.headers["rdn-balance"]) return null;
        const taken = await forward();
        if (taken.status !== 200) return taken;
        const unpaid = await forward({ drop: PAYMENT_HEADERS });
        const headers = new Headers(unpaid.headers);
        headers.set("RDN-Invalid-Balance-Proof", "1");
        return new Response(await unpaid.arrayBuffer(), { status: 402, headers });
      });
      const user = await newUser(gateway.url, 100n);
      try {
        const result = await payIn(user.page, `${gateway.url}/echofix/malleated`);
        const held = await receiverBalance(user.sender.address, user.channel.openBlockNumber);
        assert.equal(held, PRICE, JSON.stringify(result));
        assert.equal(result.thrown?.code, 5014, JSON.stringify(result));
        assert.ok(BigInt(result.balance) <= held, `the library counts ${result.balance}, the receiver holds ${held}`);
      } finally {
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// A listed origin's 402 names another receiver (a compromised or misconfigured shop). Held: with
// no channel to that receiver nothing is paid (NoChannel) and the current channel stays current.
test(
  "a 402 from a listed origin naming another receiver pays nothing and keeps the current channel",
  reportFailures(
    () => ({ stack }),
    async () => {
      const other = stack.owner.address;
      const shop = await gatewayFor(async (request, forward) => {
        const answer = await forward();
        if (answer.status !== 402) return answer;
        const headers = new Headers(answer.headers);
        headers.set("rdn-receiver-address", other);
        return new Response(await answer.arrayBuffer(), { status: 402, headers });
      });
      const user = await newUser(stack.serverUrl, 100n);
      try {
        await connect(user.page, { paidOrigins: [shop.url] });
        const result = await payIn(user.page, `${shop.url}/echofix/elsewhere`);
        assert.equal(result.thrown?.code, 5004, JSON.stringify(result));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 0n);
        const current = await user.page.evaluate(() => window.client.channel?.openBlockNumber);
        assert.equal(current, user.channel.openBlockNumber);
      } finally {
        await user.browser.close();
        await shop.stop();
      }
    },
  ),
);

// syncWithReceiver (which the paywall page calls after a lost key or a refused payment) sends its
// status request with no timeout while it holds the tab's payment queue: a receiver (or gateway)
// that never answers it holds every later payingFetch of the tab, for good. paymentTimeoutMs,
// the fix of the same defect in payingFetch, did not cover it; now it bounds the status request.
// Seen: the next payingFetch still pending after 15 s. Fix (wasm-client/src/client.rs,
// Inner::sync_with_receiver): send the status request with `paying_fetch::fetch_within(&request,
// self.payment_timeout_ms)` and read a non-402 answer's body within that time too.
// Fixed: syncWithReceiver's status request (and its body) is bounded by paymentTimeoutMs.
test(
  "a status request never answered does not hold the tab's payments for good",
  reportFailures(
    () => ({ stack }),
    async () => {
      let asked = 0;
      let release;
      const never = new Promise((resolve) => (release = resolve));
      const gateway = await gatewayFor(async (request) => {
        if (!request.headers["rdn-status-signature"] || !request.url.includes("/silent")) return null;
        asked += 1;
        await never;
        return new Response("gone", { status: 503 });
      });
      const user = await newUser(gateway.url, 100n);
      try {
        // The same client, with a paymentTimeoutMs the test can wait out.
        await user.page.evaluate(async ({ contract, token, chainId, receiver }) => {
          window.client = await window.uraiden.MicroRaiden.create({ contract, token, chainId, receiver, paymentTimeoutMs: 3_000 });
          await window.client.requestAccounts();
          await window.client.loadStoredChannel();
        }, { contract: stack.manager, token: stack.token, chainId: stack.chainId, receiver: stack.receiver.address });
        await user.page.evaluate((url) => {
          window.synced = window.client.syncWithReceiver(url).then(() => "synced", (error) => error.code);
        }, `${gateway.url}/echofix/silent`);
        await waitUntil(() => asked > 0, { timeout: 30_000, message: "the status request to be sent" });
        const next = await settledWithin(user.page, `${gateway.url}/echofix/next`, { paymentTimeoutMs: 3_000 }, 15_000);
        assert.equal(next, 200);
        assert.equal(await user.page.evaluate(() => window.synced), 5008, "the status request timed out: ErrorCode.Timeout");
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), PRICE);
      } finally {
        release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// A caller gives payingFetch an AbortSignal (init.signal) and aborts: the call still waits for its
// turn behind a payment on its way (up to paymentTimeoutMs, 60 s by default, or for good behind
// the defects above), since the signal is read only by the requests themselves, not by the
// queue or the Web Lock. Nothing is paid, but the caller's abort is not honoured.
// Seen: still pending 10 s after the abort. Fix (wasm-client/src/queue.rs PaymentQueue::turn and
// cross_tab_turn, called from Inner::paying_fetch): race the wait for a turn against the
// request's signal (`request.signal()`), and pass it to `navigator.locks.request` ({ signal }),
// rejecting with the caller's abort when it fires first.
// Fixed: the in-tab queue and the Web Lock request end on init.signal.
test(
  "a caller's AbortSignal ends a payingFetch waiting for its turn",
  reportFailures(
    () => ({ stack }),
    async () => {
      const held = [];
      let release;
      const never = new Promise((resolve) => (release = resolve));
      const gateway = await gatewayFor(async (request) => {
        if (!request.headers["rdn-balance"]) return null;
        held.push(request.url);
        if (!request.url.includes("/held")) return null;
        await never; // never reaches the receiver
        return new Response("gone", { status: 503 });
      });
      const user = await newUser(gateway.url, 100n);
      try {
        await user.page.evaluate((url) => {
          window.client.payingFetch(url, { maxPrice: 5n }).catch(() => {});
        }, `${gateway.url}/echofix/held`);
        await waitUntil(() => held.length > 0, { timeout: 30_000, message: "the first payment to be on its way" });
        const aborted = await user.page.evaluate(
          (url) =>
            Promise.race([
              window.client
                .payingFetch(url, { maxPrice: 5n, init: { signal: AbortSignal.timeout(2_000) } })
                .then((response) => response.status, (error) => `thrown ${error.code ?? error.name}`),
              new Promise((resolve) => setTimeout(() => resolve("still pending 10 s after the abort"), 12_000)),
            ]),
          `${gateway.url}/echofix/aborted`,
        );
        assert.match(String(aborted), /^thrown/);
        assert.deepEqual(held, ["/echofix/held"], "the aborted call sent no payment");
      } finally {
        release();
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);

// The paywall page itself in two tabs: the user opens two paywalled pages of the site at once
// (two links opened in new tabs; their unpaid loads answered together), with a session-key
// channel. Each page pays by itself with signNewProof(balance + price) from the record it loaded,
// which takes no Web Lock: both could sign balance 5, and the second page would be refused and
// told the view was paid but not served. Held here (3 runs): each page was served, 5 then 10.
// Both tabs start from the same stored balance, and the payment cookies belong to the whole
// origin: each tab must sign on top of the other's payment and not overwrite the other's
// cookies before its navigation has carried them.
test(
  "two paywalled pages opened at once in two tabs are both served, each paid once",
  reportFailures(
    () => ({ stack }),
    async () => {
      // The two unpaid page loads are answered together, so both pages start at once.
      let arrived = 0;
      let bothArrived;
      const together = new Promise((resolve) => (bothArrived = resolve));
      const site = await inFront(stack.serverUrl, async (request) => {
        if (!/^\/echofix\/(left|right)$/.test(request.url) || /RDN-Balance-Signature=/i.test(request.headers.cookie ?? "")) return null;
        arrived += 1;
        if (arrived === 2) bothArrived();
        await together;
        return null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const otherTab = await user.browser.context.newPage();
        const pages = [user.page, otherTab];
        const expected = ["left", "right"];
        await Promise.all(pages.map((page, i) => page.goto(`${site.url}/echofix/${expected[i]}`)));
        const outcome = (page, text) =>
          waitUntil(
            async () => {
              const body = await page.evaluate(() => (document.getElementById("rdn-paywall-info") ? null : document.body.innerText.trim()));
              if (body === text) return "content";
              const view = await readPaywall(page).catch(() => null);
              return view?.error?.visible && !view.statusBusy ? `paywall with error ${view.error.code}` : null;
            },
            { timeout: 60_000, message: `the page ${text} to settle` },
          );
        const seen = await Promise.all(pages.map((page, i) => outcome(page, expected[i])));
        const held = await receiverBalance(user.sender.address, user.channel.openBlockNumber);
        assert.deepEqual({ seen, held }, { seen: ["content", "content"], held: 2n * PRICE });
      } finally {
        bothArrived();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

/**
 * A user whose channel is wallet-signed (no session key) and already holds `payments` prices at
 * the receiver (paid through `origin`), then whose browser lost its storage: the page reloaded,
 * the channel rebuilt from the chain (loadChannelFromBlockchain: balance 0, as nothing was
 * withdrawn). The wallet's signatures are deterministic, as the session key's are.
 */
async function rebuiltUser(origin, payments) {
  const sender = await stack.newSender(10n);
  const browser = await launchBrowser();
  await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(browser.page, origin);
  const channel = await openSessionChannel(browser.page, stack, 100n, { sessionKey: false });
  await receiverKnows(sender, channel);
  for (let i = 0; i < payments; i += 1) assert.equal((await payIn(browser.page, `${origin}/echofix/before-${i}`)).status, 200);
  await browser.page.evaluate(() => localStorage.clear());
  await browser.page.reload();
  await loadLibrary(browser.page, origin);
  const rebuilt = await browser.page.evaluate(
    async ({ contract, token, chainId, receiver }) => {
      window.client = await window.uraiden.MicroRaiden.create({ contract, token, chainId, receiver, pollIntervalMs: 100 });
      await window.client.requestAccounts();
      const channel = await window.client.loadChannelFromBlockchain();
      return { balance: String(channel.balance), sessionKey: channel.sessionKey };
    },
    { contract: stack.manager, token: stack.token, chainId: stack.chainId, receiver: stack.receiver.address },
  );
  assert.deepEqual(rebuilt, { balance: "0", sessionKey: false });
  return { sender, browser, page: browser.page, channel };
}

// A channel rebuilt from the chain after the storage was lost signs, as its first payment, the very
// proof the receiver already holds from before the loss (balance 5, the same wallet signature).
// Held: a call pays on top of the first of its proofs the receiver names, so the library resyncs.
test(
  "a channel rebuilt from the chain whose first proof the receiver already holds pays on top",
  reportFailures(
    () => ({ stack }),
    async () => {
      const user = await rebuiltUser(stack.serverUrl, 1);
      try {
        const next = await payIn(user.page, `${stack.serverUrl}/echofix/after`);
        assert.equal(next.status, 200, JSON.stringify(next));
        assert.equal(await receiverBalance(user.sender.address, user.channel.openBlockNumber), 2n * PRICE);
        assert.equal(next.balance, String(2n * PRICE));
      } finally {
        await user.browser.close();
      }
    },
  ),
);

// The price of that rule, against a receiver (or gateway) that takes each payment, refuses the
// request and then names the payment truthfully as its last proof: the rebuilt, wallet-signed
// channel's first payingFetch pays twice (its first payment looks like one made before the loss),
// every later one once (a wallet-signed call asks for the receiver's last proof only once, each
// costing a prompt). Held: 2 prices, then 1.
test(
  "a hostile receiver gets two prices from a rebuilt channel's first payingFetch, then one per call",
  reportFailures(
    () => ({ stack }),
    async () => {
      let hostile = false;
      const gateway = await gatewayFor(async (request, forward) => {
        if (!hostile || !request.headers["rdn-balance"]) return null;
        const taken = await forward();
        if (taken.status !== 200) return taken;
        const unpaid = await forward({ drop: PAYMENT_HEADERS });
        const headers = new Headers(unpaid.headers);
        headers.set("RDN-Invalid-Balance-Proof", "1");
        return new Response(await unpaid.arrayBuffer(), { status: 402, headers });
      });
      const user = await rebuiltUser(gateway.url, 0);
      try {
        hostile = true;
        const held = () => receiverBalance(user.sender.address, user.channel.openBlockNumber);
        const first = await payIn(user.page, `${gateway.url}/echofix/first`);
        assert.equal(first.thrown?.code, 5014, JSON.stringify(first));
        assert.equal(await held(), 2n * PRICE);
        const second = await payIn(user.page, `${gateway.url}/echofix/second`);
        assert.equal(second.thrown?.code, 5014, JSON.stringify(second));
        assert.equal(await held(), 3n * PRICE);
        // Wallet-signed, the library asks the receiver's last proof once per call (each costs a
        // prompt), so it trusts the refusal of the call's second payment: it counts one price less
        // than the receiver holds (the next call resyncs), never more.
        assert.equal(second.balance, String(2n * PRICE), "the library counts what the receiver admitted to");
      } finally {
        await user.browser.close();
        await gateway.stop();
      }
    },
  ),
);
