// An outside review of commit 4b7c122 (paywall-web/js/navigation.js pay()): the paywall page
// takes the Web Lock "uraiden-navigation-payment" (held until the document unloads, or 15 s) and,
// with a session key and no state.payFrom, signs with incrementBalanceAndSign(price). Attacks on
// that turn across tabs of one browser: more tabs, a slow or abandoned paid reload, a closed tab,
// wallet-signed channels, a tab continuing from a refused payment (state.payFrom), a deposit
// spent by the other tab, storage cleared during a turn. Real anvil, real uraiden-server,
// Chromium running the committed paywall bundle.
//
//   node --test --test-concurrency=1 --test-reporter=spec tests/browser/attack-review-10d.test.mjs
//
// A test whose comment says "Seen:" reproduced a defect (what was seen, the cause and the fix
// the review proposes; it is marked todo until fixed); the others guard attacks that held.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, sleep, startStack, waitUntil } from "./harness.mjs";
import { inFront, newUser as newSessionUser, receiverBalance as balanceOnReceiver, receiverKnows } from "./in-front.mjs";
import { loadLibrary, openSessionChannel } from "./measure-signing.mjs";
import { clickWhenReady, readPaywall } from "./paywall-page.mjs";

const PRICE = 5n; // /echofix/* on the demo receiver

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

const receiverBalance = (user) => balanceOnReceiver(stack, user.sender.address, user.channel.openBlockNumber);

/** A fresh browser with a channel of `deposit` (session key unless told) the receiver has seen. */
async function newUser(origin, deposit, { sessionKey = true } = {}) {
  if (sessionKey) {
    const user = await newSessionUser(stack, origin, deposit);
    await receiverKnows(stack, user.sender, user.channel);
    return user;
  }
  const sender = await stack.newSender(10n);
  const browser = await launchBrowser();
  await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(browser.page, origin);
  const channel = await openSessionChannel(browser.page, stack, deposit, { sessionKey: false });
  await receiverKnows(stack, sender, channel);
  return { sender, browser, page: browser.page, channel };
}

/** Whether a request carries the page's payment cookies. */
const paid = (request) => /RDN-Balance-Signature=/i.test(request.headers.cookie ?? "");

/** The balance a paid request's cookies carry. */
const cookieBalance = (request) => /RDN-Balance=(\d+)/i.exec(request.headers.cookie ?? "")?.[1] ?? null;

/** Forwards a paid request, noting `url balance -> status reason` in `log`. */
async function forwardNoting(log, request, forward) {
  const response = await forward();
  const reason = [...response.headers.keys()].filter((name) => /^rdn-(invalid|insufficient|nonexisting)/.test(name));
  log.push(`${request.url} ${cookieBalance(request)} -> ${response.status} ${reason.join(",")}`.trim());
  return response;
}

/** A promise and its resolve. */
function gate() {
  let open;
  const opened = new Promise((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Where `page` (a paywalled page expected to show `text`) settles within `timeout`: "content",
 * or "paywall with error CODE" once the page is idle with an error shown.
 */
function outcome(page, text, { timeout = 55_000 } = {}) {
  return waitUntil(
    async () => {
      const body = await page
        .evaluate(() => (document.getElementById("rdn-paywall-info") ? null : document.body?.innerText.trim() ?? null))
        .catch(() => null);
      if (body === text) return "content";
      const view = await readPaywall(page).catch(() => null);
      return view?.error?.visible && !view.statusBusy ? `paywall with error ${view.error.code}` : null;
    },
    { timeout, message: `the page ${text} to settle` },
  ).catch((error) => `unsettled: ${error.message.split("\n")[0]}`);
}

/** The page's status line while it waits, e.g. "paying…". */
const statusOf = async (page) => (await readPaywall(page).catch(() => null))?.status ?? null;

// Three tabs open three paywalled pages at once with a session-key channel: the turn is taken in
// turn, each signs on top of the one before. Held: each page served, 15 held.
test(
  "three paywalled pages opened at once in three tabs are all served, each paid once",
  reportFailures(
    () => ({ stack }),
    async () => {
      let arrived = 0;
      const all = gate();
      const site = await inFront(stack.serverUrl, async (request) => {
        if (!/^\/echofix\/tab\d$/.test(request.url) || paid(request)) return null;
        arrived += 1;
        if (arrived === 3) all.open();
        await all.opened;
        return null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const pages = [user.page, await user.browser.context.newPage(), await user.browser.context.newPage()];
        const names = ["tab1", "tab2", "tab3"];
        await Promise.all(pages.map((page, i) => page.goto(`${site.url}/echofix/${names[i]}`)));
        const seen = await Promise.all(pages.map((page, i) => outcome(page, names[i])));
        assert.deepEqual({ seen, held: await receiverBalance(user) }, { seen: ["content", "content", "content"], held: 3n * PRICE });
      } finally {
        all.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// Three tabs at once, the deposit covering two views: each tab checked the deposit against the
// balance it loaded (0) before its turn; the third tab's incrementBalanceAndSign goes past the
// deposit and throws InsufficientDeposit. Held: two pages served, the third says the deposit
// does not cover the payment (not hanging, nothing more paid), 10 held.
test(
  "three tabs at once with a deposit for two: two served, the third says insufficient deposit",
  reportFailures(
    () => ({ stack }),
    async () => {
      let arrived = 0;
      const all = gate();
      const site = await inFront(stack.serverUrl, async (request) => {
        if (!/^\/echofix\/dep\d$/.test(request.url) || paid(request)) return null;
        arrived += 1;
        if (arrived === 3) all.open();
        await all.opened;
        return null;
      });
      const user = await newUser(site.url, 2n * PRICE);
      try {
        const pages = [user.page, await user.browser.context.newPage(), await user.browser.context.newPage()];
        const names = ["dep1", "dep2", "dep3"];
        await Promise.all(pages.map((page, i) => page.goto(`${site.url}/echofix/${names[i]}`)));
        const seen = await Promise.all(pages.map((page, i) => outcome(page, names[i])));
        assert.deepEqual(
          { seen: [...seen].sort(), held: await receiverBalance(user) },
          { seen: ["content", "content", "paywall with error insufficient_deposit"], held: 2n * PRICE },
        );
        const refused = pages[seen.findIndex((s) => s !== "content")];
        const view = await readPaywall(refused);
        assert.equal(view.remainingBaseUnits, "0", `the refused tab shows what is left: ${JSON.stringify(view)}`);
      } finally {
        all.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// Tab A pays and its paid reload is not answered for 20 s (a slow receiver or network). Tab B,
// waiting for the turn, gets it after 15 s and signs on top of A's booked (not yet taken) payment.
// Seen: B's 10 is refused (invalid-amount), B resyncs to the receiver's 0 and pays 5, the very
// proof A sent; B is served after 16 s. A's proof then reaches the receiver as a replay, and A's
// page says paid_not_served ("The receiver took your payment for this page but did not serve
// it"): false, the 5 paid for B's view. Nothing is paid twice (5 held, one view), the message is
// wrong. Cause: the turn expires while A's navigation is on its way (navigation.js:208), and
// afterNavigation (navigation.js:272) takes "the receiver's last balance is my before + price" for
// "my payment was taken", which another tab paying the same balance also makes true.
test(
  "a tab whose paid reload takes 20 s beside a tab waiting for its turn: both served, each paid once",
  { todo: "after the 15 s turn, the waiting tab pays the slow tab's balance; the slow tab is told paid_not_served" },
  reportFailures(
    () => ({ stack }),
    async () => {
      const slowArrived = gate();
      const log = [];
      const site = await inFront(stack.serverUrl, async (request, forward) => {
        if (request.url === "/echofix/slow" && paid(request)) {
          slowArrived.open();
          await sleep(20_000);
        }
        // B's first (unpaid) load waits until A holds the turn.
        if (request.url === "/echofix/waiting" && !paid(request)) await slowArrived.opened;
        return paid(request) ? forwardNoting(log, request, forward) : null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const b = await user.browser.context.newPage();
        const started = Date.now();
        await user.page.goto(`${site.url}/echofix/slow`, { waitUntil: "domcontentloaded" });
        await b.goto(`${site.url}/echofix/waiting`);
        const [seenA, seenB] = await Promise.all([
          outcome(user.page, "slow"),
          outcome(b, "waiting").then((seen) => `${seen} after ${Math.round((Date.now() - started) / 1000)} s`),
        ]);
        assert.deepEqual(
          { seenA, seenB: seenB.replace(/ after \d+ s$/, ""), held: await receiverBalance(user) },
          { seenA: "content", seenB: "content", held: 2n * PRICE },
          `B: ${seenB}\n${log.join("\n")}`,
        );
      } finally {
        slowArrived.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// Tab A pays, and is closed while its paid reload is on its way (never answered, never reaching
// the receiver). The turn ends with A's document; B, waiting, pays on top of A's booked payment,
// is refused (InvalidAmount), resyncs with the receiver and pays once. Held: B served about 2 s
// after A closed (not 15 s), 5 held.
test(
  "a tab closed while its paid reload is on its way: the waiting tab is served soon, paid once",
  reportFailures(
    () => ({ stack }),
    async () => {
      const aArrived = gate();
      const never = gate();
      const site = await inFront(stack.serverUrl, async (request) => {
        if (request.url === "/echofix/closed" && paid(request)) {
          aArrived.open();
          await never.opened;
          return new Response("gone", { status: 503 });
        }
        if (request.url === "/echofix/after-close" && !paid(request)) await aArrived.opened;
        return null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const a = await user.browser.context.newPage();
        const b = await user.browser.context.newPage();
        await a.goto(`${site.url}/echofix/closed`, { waitUntil: "domcontentloaded" });
        await b.goto(`${site.url}/echofix/after-close`);
        await waitUntil(async () => /paying/.test((await statusOf(b)) ?? ""), { timeout: 20_000, message: "B to wait for its turn" });
        const closedAt = Date.now();
        await a.close();
        const seen = await outcome(b, "after-close");
        const waited = Date.now() - closedAt;
        assert.deepEqual({ seen, held: await receiverBalance(user) }, { seen: "content", held: PRICE });
        assert.ok(waited < 12_000, `B was served ${waited} ms after A closed (the turn ends with A's document)`);
      } finally {
        never.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// Wallet-signed channel (no session key), two tabs on two paywalled pages, Pay pressed in both
// at once: the turn serializes the two navigations, but the second tab signs
// signNewProof(before + price) with the `before` it read before waiting for its turn.
// Seen: both tabs sign 5; one is served, the other refused (invalid-balance-proof, the same proof
// again) and asks for Pay with a status request (two more wallet prompts). Nothing paid twice.
// Cause: navigation.js:160 reads `before` before the turn (navigation.js:167) and
// navigation.js:174 signs it for every wallet-signed channel.
test(
  "wallet-signed channel: Pay pressed at once in two tabs, both served, each paid once",
  { todo: "wallet-signed: the second tab signs the balance it read before its turn, the one the first tab paid" },
  reportFailures(
    () => ({ stack }),
    async () => {
      const log = [];
      const site = await inFront(stack.serverUrl, async (request, forward) => (paid(request) ? forwardNoting(log, request, forward) : null));
      const user = await newUser(site.url, 100n, { sessionKey: false });
      try {
        const b = await user.browser.context.newPage();
        await Promise.all([user.page.goto(`${site.url}/echofix/wallet-left`), b.goto(`${site.url}/echofix/wallet-right`)]);
        await Promise.all([clickWhenReady(user.page, "pay"), clickWhenReady(b, "pay")]);
        const seen = await Promise.all([outcome(user.page, "wallet-left"), outcome(b, "wallet-right")]);
        assert.deepEqual({ seen, held: await receiverBalance(user) }, { seen: ["content", "content"], held: 2n * PRICE }, log.join("\n"));
      } finally {
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// A tab that continues from a refused payment (state.payFrom, kept in its sessionStorage across
// reloads, e.g. the receiver was unreachable for the status request after a refusal) signs
// signNewProof(payFrom + price), and the library books that balance even when it is below the
// stored one. A second tab waiting for the turn then signs incrementBalanceAndSign on top of that
// lowered record: a proof the receiver already holds.
// Most runs (4 of 5) hold: X is refused, resyncs and asks for Pay; Y pays 15 and is served.
// Seen (1 of 5 runs, when Y's turn comes before X's next document has adopted the receiver's
// 10): X signs 5 (the receiver holds 10) and the stored record goes back from 10 to 5; the
// receiver refuses X. Y, whose turn starts as X's document unloads, signs 10 on top of the
// lowered record (a replay), is refused and told paid_not_served (false: nothing was taken for
// y3). X's next document finds Y's cookies unsent and says cookies_blocked (see the last test).
// Neither page retries; 10 held, nothing lost, two wrong messages. (Holding X's answer until Y
// waits, to make it certain, does not work: Y's own unpaid navigation then carries X's cookies.) Cause: navigation.js:174
// signNewProof(payFrom + price) for a tab with state.payFrom (restored from sessionStorage by
// restoreContinueFrom, navigation.js:80, without state.unsynced after a reload) books a balance
// below the stored one (wasm-client/src/client.rs sign_new_proof -> sign_and_record -> book).
// Fixed: with the session key, a tab holding payFrom asks the receiver first (free) and pays on
// top of its last proof; X is now served too, every view paid once.
// Still racy (2026-12-03): failed 1 of 7 and 1 of 8 runs on an idle machine, with the
// receiver's in-place commit and without it, and once in CI: Y pays y3 = 15, then X signs 15
// too (on the 10 it had learned), is refused and shown paid_not_served (nothing was taken; 15
// held). Not diagnosed further yet.
test(
  "a tab paying from a kept payFrom beside a tab paying on top: the second is served, not told paid_not_served",
  { todo: "racy: Y's y3 = 15 can land before X pays, and X then signs 15 too (1 in 8 runs)" },
  reportFailures(
    () => ({ stack }),
    async (t) => {
      const xArrived = gate();
      const log = [];
      const site = await inFront(stack.serverUrl, async (request, forward) => {
        if (request.url.startsWith("/echofix/x") && paid(request)) xArrived.open();
        if (request.url === "/echofix/y3" && !paid(request)) await xArrived.opened;
        return paid(request) ? forwardNoting(log, request, forward) : null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const x = await user.browser.context.newPage();
        const y = user.page;
        // Y pays two views: the receiver and the stored record hold 10.
        for (const name of ["y1", "y2"]) {
          await y.goto(`${site.url}/echofix/${name}`);
          assert.equal(await outcome(y, name), "content");
        }
        assert.equal(await receiverBalance(user), 2n * PRICE);
        // X: a tab that kept payFrom 0 from a refusal, on a page it does not pay by itself.
        await x.goto(`${site.url}/echofix/x#manage`, { waitUntil: "domcontentloaded" });
        const key = `paywall:payfrom:${user.sender.address.toLowerCase()}:${user.channel.openBlockNumber}`;
        await x.evaluate((key) => sessionStorage.setItem(key, JSON.stringify("0")), key);
        await x.reload();
        await clickWhenReady(x, "pay");
        // Y opens a third page while X pays.
        await y.goto(`${site.url}/echofix/y3`);
        const [seenX, seenY] = await Promise.all([outcome(x, "x"), outcome(y, "y3")]);
        t.diagnostic(`paid requests: ${log.join("; ")}; X shows: ${(await readPaywall(x).catch(() => null))?.error?.text}`);
        // X asks the receiver before paying from its kept balance, so both pay on top: four views.
        assert.deepEqual(
          { seenX, seenY, held: await receiverBalance(user) },
          { seenX: "content", seenY: "content", held: 4n * PRICE },
          log.join("\n"),
        );
      } finally {
        xArrived.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// The site's storage is cleared (another tab, or the user) while one tab's paid reload is on its
// way and the other tab, which loaded the channel at the same time (balance 0), waits for its
// turn: its incrementBalanceAndSign finds no stored record and signs on top of the balance it
// loaded, the very proof the first tab sent. Held: both served, 10 held; but in every run the
// waiting tab had loaded the channel after the first tab booked its 5 (it signed 10), so the
// case aimed at (it loaded 0) was not reached: not shown safe.
test(
  "storage cleared while one tab's payment is on its way: the waiting tab is served, not told paid_not_served",
  { todo: "racy: a tab that loaded balance 0 before the storage was cleared signs the proof the other tab sent (seen failing once in CI)" },
  reportFailures(
    () => ({ stack }),
    async (t) => {
      let arrived = 0;
      const both = gate();
      const firstPaid = gate();
      const cleared = gate();
      let first = null;
      const log = [];
      const site = await inFront(stack.serverUrl, async (request, forward) => {
        if (!/^\/echofix\/(one|two)$/.test(request.url)) return null;
        if (!paid(request)) {
          arrived += 1;
          if (arrived === 2) both.open();
          await both.opened;
          return null;
        }
        if (first === null) {
          first = request.url;
          firstPaid.open();
          await cleared.opened;
        }
        return forwardNoting(log, request, forward);
      });
      const user = await newUser(site.url, 100n);
      try {
        const pages = { one: await user.browser.context.newPage(), two: await user.browser.context.newPage() };
        await Promise.all(Object.entries(pages).map(([name, page]) => page.goto(`${site.url}/echofix/${name}`, { waitUntil: "domcontentloaded" })));
        await firstPaid.opened;
        const waiting = pages[first === "/echofix/one" ? "two" : "one"];
        await waitUntil(async () => /paying/.test((await statusOf(waiting)) ?? ""), { timeout: 20_000, message: "the other tab to wait for its turn" });
        await user.page.evaluate(() => localStorage.clear()); // user.page: the API page of the site
        cleared.open();
        const seen = await Promise.all(Object.entries(pages).map(([name, page]) => outcome(page, name)));
        t.diagnostic(`paid requests: ${log.join("; ")}`);
        assert.deepEqual({ seen, held: await receiverBalance(user) }, { seen: ["content", "content"], held: 2n * PRICE }, log.join("\n"));
      } finally {
        both.open();
        cleared.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);

// Tab A's payment is refused by the receiver (a gateway adds 1 to the balance its cookie names:
// the receiver refuses it, takes nothing and expires the cookies), and tab B, waiting for the
// turn, gets it the moment A's document unloads: B writes its payment cookies while A's next
// document is starting, and B's paid reload is on its way (answered after 3 s here: a slow
// receiver). A's next document must not take B's cookies for its own unsent ones
// (afterNavigation: hasUnsentPaymentCookies), which tells A that the browser blocks cookies.
// Seen: A shows cookies_blocked ("Your browser did not send the payment cookie; allow cookies
// for this site") and clears the cookies, and does not retry; B's 10 (on top of A's refused,
// booked 5) is refused, B resyncs and is served with 5. 5 held, one view, nothing lost; A's
// message is false. Cause: navigation.js:227 judges any payment cookie of the origin as this
// tab's own unsent one whenever this tab has a pending payment; the turn, released when A's
// document unloads (navigation.js:203-210), hands over exactly while A's next document starts.
// Fixed: A's next document looks at the cookies in its own turn, after B's navigation has
// carried them and the receiver expired them.
test(
  "a refused tab's next document does not take the waiting tab's cookies for blocked cookies",
  reportFailures(
    () => ({ stack }),
    async () => {
      const aArrived = gate();
      let refusedOnce = false;
      const log = [];
      const site = await inFront(stack.serverUrl, async (request, forward) => {
        if (request.url === "/echofix/refused" && paid(request) && !refusedOnce) {
          refusedOnce = true;
          aArrived.open();
          await sleep(1_000); // B is waiting for the turn by now
          request.headers.cookie = request.headers.cookie.replace(/RDN-Balance=(\d+)/i, (_, v) => `RDN-Balance=${BigInt(v) + 1n}`);
          return forwardNoting(log, request, forward);
        }
        if (request.url === "/echofix/next-in-turn" && !paid(request)) await aArrived.opened;
        if (request.url === "/echofix/next-in-turn" && paid(request)) await sleep(3_000);
        return paid(request) ? forwardNoting(log, request, forward) : null;
      });
      const user = await newUser(site.url, 100n);
      try {
        const a = await user.browser.context.newPage();
        const b = await user.browser.context.newPage();
        await a.goto(`${site.url}/echofix/refused`, { waitUntil: "domcontentloaded" });
        await b.goto(`${site.url}/echofix/next-in-turn`, { waitUntil: "domcontentloaded" });
        const [seenA, seenB] = await Promise.all([outcome(a, "refused"), outcome(b, "next-in-turn")]);
        assert.deepEqual(
          { seenA, seenB, held: await receiverBalance(user) },
          { seenA: "content", seenB: "content", held: 2n * PRICE },
          log.join("\n"),
        );
      } finally {
        aArrived.open();
        await user.browser.close();
        await site.stop();
      }
    },
  ),
);
