// User journeys through the real paywall page (paywall-web/, driving uraiden-wasm) in headless
// Chromium, against a real anvil and a real uraiden-server; the wallet is the harness's
// injected EIP-1193 test wallet. Each journey has its own sender account and browser profile.
//
//   node --test --test-concurrency=1 tests/browser/paywall.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  formatTokens,
  installWallet,
  launchBrowser,
  reportFailures,
  screenshot,
  sleep,
  startStack,
  waitUntil,
} from "./harness.mjs";
import {
  callsFunction,
  clickWhenReady,
  describeTransaction,
  readPaywall,
  trackNavigations,
  typeInto,
  waitForContent,
  waitForIdle,
  waitForView,
} from "./paywall-page.mjs";

const PRICE = 5n; // /echofix/<param>; /echodyn/<param> costs its length
const TIMEOUT = 240_000;

let stack;
const current = { stack: undefined, browser: undefined };
const it = (name, body, options = {}) =>
  test(name, { timeout: TIMEOUT, ...options }, reportFailures(() => current, body));

before(async () => {
  stack = await startStack();
  current.stack = stack;
});

after(async () => {
  await stack?.stop();
});

/** A fresh sender (100 ETH, `tokens` whole tokens), a fresh browser profile and its wallet. */
async function newUser({ tokens = 1000n, wallet: walletOptions = {} } = {}) {
  const sender = await stack.newSender(tokens);
  const browser = await launchBrowser();
  current.browser = browser;
  const wallet = await installWallet(browser.context, {
    account: sender.address,
    privateKey: sender.privateKey,
    rpcUrl: stack.rpcUrl,
    chainId: stack.chainId,
    ...walletOptions,
  });
  const page = browser.page;
  const navigations = trackNavigations(page);
  const tokenText = (units) => formatTokens(units, stack.tokenDecimals);
  return { sender, browser, wallet, page, navigations, tokenText, url: (path) => `${stack.serverUrl}${path}` };
}

/** Goes to a paywalled URL and waits until the paywall page is idle. */
async function openPaywall(user, path) {
  const response = await user.page.goto(user.url(path));
  assert.equal(response.status(), 402, `${path} answers 402 with the paywall page`);
  const view = await waitForIdle(user.page);
  if (view.buttons.connect?.visible && view.buttons.connect.enabled) {
    await user.page.click("#connect");
    return waitForIdle(user.page);
  }
  return view;
}

/** Fills the deposit and opens a channel (session key on); returns when the page is ready to pay or paid. */
async function openChannel(user, deposit) {
  await waitForView(user.page, (v) => v.buttons.open?.visible && v.buttons.open.enabled, { message: "#open" });
  assert.equal(await user.page.isChecked("#session-key"), true, "a session key is the default");
  await typeInto(user.page, "deposit", user.tokenText(deposit));
  await user.page.click("#open");
}

/** After opening or topping up: clicks #pay (unless the page already paid) and waits for `content`. */
async function payAndSee(user, content) {
  const view = await waitForView(
    user.page,
    (v) => !v.isPaywall || v.error?.visible || (v.buttons.pay?.visible && v.buttons.pay.enabled && !v.statusBusy),
    { timeout: 90_000, message: "the page to be ready to pay" },
  );
  if (view.isPaywall) {
    assert.ok(!view.error?.visible, `no error before paying: ${JSON.stringify(view.error)}`);
    await screenshot(user.page, `ready-to-pay-${content}`);
    await user.page.click("#pay");
  }
  await waitForContent(user.page, content);
}

/** Visits a paywalled URL and expects the page to pay by itself and show `content`. */
async function autoPay(user, path, content) {
  const before = user.navigations.length;
  await user.page.goto(user.url(path));
  await waitForContent(user.page, content);
  const seen = user.navigations.slice(before).map((n) => n.status);
  assert.deepEqual([seen[0], seen.at(-1)], [402, 200], `402 then 200 for ${path}: ${seen}`);
  assert.equal(new URL(user.page.url()).pathname, path, "the URL stays the paywalled one");
}

/** The one channel the receiver knows of `sender`. */
async function serverChannel(sender) {
  const channels = await stack.serverChannels(sender);
  assert.equal(channels.length, 1, `one channel on the server: ${JSON.stringify(channels)}`);
  return channels[0];
}

/** Waits until the receiver has seen `deposit` in the sender's channel (its poll interval is 200 ms). */
async function serverSeesDeposit(sender, deposit) {
  return waitUntil(
    async () => {
      const channels = await stack.serverChannels(sender);
      return channels.find((c) => BigInt(c.deposit) === deposit && c.confirmed !== false);
    },
    { timeout: 30_000, message: `the receiver to see a deposit of ${deposit}` },
  );
}

const txNames = (wallet, stackRef, from = 0) =>
  wallet.transactions().slice(from).map((tx) => describeTransaction(tx, stackRef).functionName);

test("the paywall page and its wasm library are served", { timeout: TIMEOUT }, async () => {
  const page = await fetch(`${stack.serverUrl}/echofix/hello`, { headers: { Accept: "text/html" } });
  assert.equal(page.status, 402);
  const html = await page.text();
  assert.match(html, /id="rdn-paywall-info"/);
  assert.match(html, /\/js\/paywall\.bundle\.js/);
  const bundle = await fetch(`${stack.serverUrl}/js/paywall.bundle.js`);
  assert.equal(
    bundle.status,
    200,
    "GET /js/paywall.bundle.js: the page's bundle is missing; build it with node scripts/build-paywall.mjs",
  );
  const wasm = await fetch(`${stack.serverUrl}/js/uraiden-wasm/uraiden_wasm_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
});

describe("a: open a session-key channel and pay; b: later pages pay themselves", { timeout: TIMEOUT * 2 }, () => {
  let user;
  const deposit = 20n * 10n ** 18n; // 20 tokens
  let paid = 0n;
  let openBlock;

  before(async () => {
    user = await newUser();
  });
  after(async () => {
    await user?.browser.close();
  });

  it("a: the paywall shows price, account and balance; one approve + one createChannel; content shown", async () => {
    const view = await openPaywall(user, "/echofix/hello");
    await screenshot(user.page, "a-paywall");
    if (view.priceBaseUnits !== null) assert.equal(view.priceBaseUnits, "5");
    else assert.match(view.price, /\b5\b/);
    assert.ok(view.account?.toLowerCase().includes(user.sender.address.toLowerCase()), `account shown: ${view.account}`);
    if (view.tokenBalanceBaseUnits !== null) assert.equal(BigInt(view.tokenBalanceBaseUnits), 1000n * stack.unit);
    else assert.match(view.tokenBalance, /1,?000/);
    assert.equal(view.channelState, "none");
    assert.ok(!view.error?.visible, `no error: ${JSON.stringify(view.error)}`);

    await openChannel(user, deposit);
    await payAndSee(user, "hello");
    paid += PRICE;
    await screenshot(user.page, "a-content");

    const txs = user.wallet.transactions().map((tx) => describeTransaction(tx, stack));
    assert.deepEqual(
      txs.map((tx) => `${tx.contract}.${tx.functionName}`),
      ["token.approve", `manager.${txs[1]?.functionName}`],
    );
    assert.match(txs[1].functionName, /^createChannel/);
    assert.equal(txs[0].args[0].toLowerCase(), stack.manager.toLowerCase(), "approves the channel manager");
    assert.equal(txs[0].args[1], deposit);
    assert.equal(txs[1].args[0].toLowerCase(), stack.receiver.address.toLowerCase());
    assert.equal(txs[1].args[1], deposit);
    assert.equal(user.wallet.calls("eth_signTypedData_v4").length, 0, "the session key signs: no wallet signature");
    assert.equal(user.wallet.prompts(), 2, "two prompts: approve and createChannel");

    const created = await stack.channelsCreatedBy(user.sender.address);
    assert.equal(created.length, 1);
    assert.equal(created[0].deposit, deposit);
    assert.notEqual(created[0].signer.toLowerCase(), user.sender.address.toLowerCase(), "a session key signs");
    openBlock = created[0].openBlock;
    assert.equal(await stack.tokenBalance(user.sender.address), 1000n * stack.unit - deposit);

    const channel = await serverChannel(user.sender.address);
    assert.equal(channel.open_block, openBlock);
    assert.equal(BigInt(channel.balance), paid);
    assert.equal(BigInt(channel.deposit), deposit);
  });

  it("b: more paid pages pay automatically, with no wallet prompt and no transaction", async () => {
    assert.ok(openBlock, "journey a opened the channel");
    const prompts = user.wallet.prompts();
    const requests = user.wallet.requests.length;
    const pages = [
      ["/echofix/a", "a", PRICE],
      ["/echofix/b", "b", PRICE],
      ["/echodyn/xyz", "xyz", 3n],
      ["/echofix/hello", "hello", PRICE],
      ["/echodyn/longer-param", "longer-param", 12n],
    ];
    for (const [path, content, price] of pages) {
      await autoPay(user, path, content);
      paid += price;
      const channel = await serverChannel(user.sender.address);
      assert.equal(BigInt(channel.balance), paid, `the receiver's balance after ${path}`);
    }
    await screenshot(user.page, "b-content-after-autopay");
    assert.equal(user.wallet.prompts(), prompts, "no wallet prompt at all");
    const newMethods = new Set(user.wallet.requests.slice(requests).map((r) => r.method));
    for (const method of ["eth_sendTransaction", "eth_signTypedData_v4", "personal_sign", "eth_requestAccounts"]) {
      assert.ok(!newMethods.has(method), `no ${method} while paying`);
    }
    const onChain = await stack.channelOnChain(user.sender.address, openBlock);
    assert.equal(onChain.deposit, deposit, "the deposit on chain is unchanged");
    assert.equal(onChain.settleBlock, 0, "not closing");
  });
});

describe("c: the deposit runs out, top up; d: cooperative close", { timeout: TIMEOUT * 2 }, () => {
  let user;
  const deposit = 12n; // base units: two views of 5, then 2 left
  const topUp = 10n;
  let openBlock;

  before(async () => {
    user = await newUser({ tokens: 1n });
  });
  after(async () => {
    await user?.browser.close();
  });

  it("c: pay until the deposit is exhausted: no payment, no prompt, #pay withheld, and #error says why", async () => {
    await openPaywall(user, "/echofix/hello");
    await openChannel(user, deposit);
    await payAndSee(user, "hello");
    await autoPay(user, "/echofix/c2", "c2");
    openBlock = (await serverChannel(user.sender.address)).open_block;
    assert.equal(BigInt((await serverChannel(user.sender.address)).balance), 10n);

    // 2 left, the price is 5: no payment, a clear message, a way to top up.
    const promptsBefore = user.wallet.prompts();
    const response = await user.page.goto(user.url("/echofix/c3"));
    assert.equal(response.status(), 402);
    const exhausted = await waitForView(user.page, (v) => v.isPaywall && !v.statusBusy && v.buttons.topup?.visible, {
      timeout: 30_000,
      message: "the paywall of an exhausted channel, offering #topup",
    });
    await sleep(500); // the page would have paid by now: it must not
    const view = await readPaywall(user.page);
    await screenshot(user.page, "c-deposit-exhausted");
    assert.equal(view.isPaywall, true, "still on the paywall: nothing was paid");
    assert.equal(view.channelState, "open");
    if (view.remainingBaseUnits !== null) assert.equal(view.remainingBaseUnits, "2");
    assert.ok(!(view.buttons.pay?.visible && view.buttons.pay.enabled), "#pay is not offered");
    assert.equal(user.wallet.prompts(), promptsBefore, "no prompt");
    assert.equal(BigInt((await serverChannel(user.sender.address)).balance), 10n, "nothing paid");
    assert.ok(exhausted.status.length > 0);
    // The element contract: every refusal is a visible #error with a data-code.
    assert.equal(view.error?.visible, true, `#error visible (status says: "${view.status}")`);
    assert.match(view.error.code ?? "", /insufficient/, `#error data-code: ${JSON.stringify(view.error)}`);
  });

  it("c: top up (approve + topUp); pays and shows the content; later pages pay themselves again", async () => {
    assert.ok(openBlock, "the channel was opened");
    if (!(await readPaywall(user.page)).buttons.topup?.visible) {
      await user.page.goto(user.url("/echofix/c3"));
    }
    const sentBefore = user.wallet.transactions().length;
    await waitForView(user.page, (v) => v.isPaywall && !v.statusBusy && v.buttons.topup?.visible, { message: "#topup" });
    await typeInto(user.page, "topup-amount", user.tokenText(topUp));
    await clickWhenReady(user.page, "topup");
    await waitForView(user.page, (v) => !v.statusBusy && user.wallet.transactions().length >= sentBefore + 2, {
      timeout: 60_000,
      message: "the top-up's transactions",
    });
    assert.deepEqual(txNames(user.wallet, stack, sentBefore), ["approve", "topUp"]);
    // A user reads the page before paying; the receiver follows the chain every 200 ms.
    await serverSeesDeposit(user.sender.address, deposit + topUp);
    await screenshot(user.page, "c-topped-up");
    await payAndSee(user, "c3");
    const channel = await serverChannel(user.sender.address);
    assert.equal(BigInt(channel.balance), 15n);
    assert.equal(BigInt(channel.deposit), deposit + topUp);
    assert.equal((await stack.channelOnChain(user.sender.address, openBlock)).deposit, deposit + topUp);

    await autoPay(user, "/echofix/c4", "c4");
    assert.equal(BigInt((await serverChannel(user.sender.address)).balance), 20n);
  });

  it("d: cooperative close: the receiver's signature, cooperativeClose on chain, exact token movements", async () => {
    assert.ok(openBlock, "journey c opened the channel");
    // 2 left again: the page stays on the paywall, where the channel can be closed.
    await user.page.goto(user.url("/echofix/d"));
    await waitForView(user.page, (v) => v.isPaywall && !v.statusBusy && v.buttons.close?.visible && v.buttons.close.enabled, {
      message: "#close",
    });
    const paid = BigInt((await serverChannel(user.sender.address)).balance);
    const onChainDeposit = (await stack.channelOnChain(user.sender.address, openBlock)).deposit;
    const [receiverBefore, senderBefore] = await Promise.all([
      stack.tokenBalance(stack.receiver.address),
      stack.tokenBalance(user.sender.address),
    ]);
    const sentBefore = user.wallet.transactions().length;
    const promptsBefore = user.wallet.prompts();
    await screenshot(user.page, "d-before-close");
    await user.page.click("#close");
    const closed = await waitForView(
      user.page,
      (v) => !v.statusBusy && (v.channelState === "settled" || v.channelState === "none" || v.error?.visible),
      { timeout: 60_000, message: "the channel to be closed" },
    );
    await screenshot(user.page, "d-closed");
    assert.ok(!closed.error?.visible, `no error: ${JSON.stringify(closed.error)}`);
    assert.deepEqual(txNames(user.wallet, stack, sentBefore), ["cooperativeClose"]);
    assert.equal(user.wallet.prompts(), promptsBefore + 1, "one prompt: the close transaction");

    const settled = await stack.channelsSettledBy(user.sender.address);
    assert.equal(settled.length, 1);
    assert.equal(settled[0].openBlock, openBlock);
    assert.equal(settled[0].balance, paid);
    assert.equal(await stack.tokenBalance(stack.receiver.address), receiverBefore + paid, "the receiver got what was paid");
    assert.equal(
      await stack.tokenBalance(user.sender.address),
      senderBefore + (onChainDeposit - paid),
      "the sender got the rest back",
    );
    assert.equal(await stack.channelOnChain(user.sender.address, openBlock), null, "no channel on chain any more");
    const channel = await waitUntil(
      async () => {
        const c = await serverChannel(user.sender.address);
        return /settled|closed/.test(c.state) ? c : null;
      },
      { timeout: 30_000, message: "the receiver to record the settlement" },
    );
    assert.equal(BigInt(channel.balance), paid);
  });
});

describe("d2: a channel nothing was paid on closes cooperatively", { timeout: TIMEOUT * 2 }, () => {
  let user;
  after(async () => {
    await user?.browser.close();
  });

  it("d2: open, then close before paying: the whole deposit comes back at once", async () => {
    user = await newUser({ tokens: 1n });
    const deposit = 20n;
    await openPaywall(user, "/echofix/unpaid");
    const senderBefore = await stack.tokenBalance(user.sender.address);
    await openChannel(user, deposit);
    await serverSeesDeposit(user.sender.address, deposit);
    await waitForView(user.page, (v) => !v.statusBusy && v.buttons.close?.visible && v.buttons.close.enabled, {
      message: "#close on the new channel",
    });
    const sentBefore = user.wallet.transactions().length;
    await user.page.click("#close");
    const closed = await waitForView(
      user.page,
      (v) => !v.statusBusy && (v.channelState === "settled" || v.channelState === "none" || v.error?.visible),
      { timeout: 60_000, message: "the unpaid channel to be closed" },
    );
    await screenshot(user.page, "d2-unpaid-closed");
    assert.ok(!closed.error?.visible, `no error: ${JSON.stringify(closed.error)}`);
    assert.deepEqual(txNames(user.wallet, stack, sentBefore), ["cooperativeClose"]);
    const settled = await stack.channelsSettledBy(user.sender.address);
    assert.equal(settled.length, 1);
    assert.equal(settled[0].balance, 0n);
    assert.equal(await stack.tokenBalance(user.sender.address), senderBefore, "every token is back");
  });

  it("d2: rejecting the close transaction, then closing again: the receiver co-signs again", async () => {
    const again = await newUser({ tokens: 1n });
    try {
      await openPaywall(again, "/echofix/retry-close");
      await openChannel(again, 20n);
      await serverSeesDeposit(again.sender.address, 20n);
      await waitForView(again.page, (v) => !v.statusBusy && v.buttons.close?.visible && v.buttons.close.enabled, {
        message: "#close on the new channel",
      });
      again.wallet.rejectNext("eth_sendTransaction");
      await again.page.click("#close");
      const rejected = await waitForView(again.page, (v) => !v.statusBusy && v.error?.visible, {
        message: "the rejection to show",
      });
      assert.equal(rejected.error.code, "user_rejected");
      const sentBefore = again.wallet.transactions().length;
      await clickWhenReady(again.page, "close");
      const closed = await waitForView(
        again.page,
        (v) => !v.statusBusy && (v.channelState === "settled" || v.channelState === "none" || v.error?.visible),
        { timeout: 60_000, message: "the second close" },
      );
      assert.ok(!closed.error?.visible, `no error: ${JSON.stringify(closed.error)}`);
      assert.deepEqual(txNames(again.wallet, stack, sentBefore), ["cooperativeClose"]);
      assert.equal((await stack.channelsSettledBy(again.sender.address)).length, 1);
    } finally {
      await again.browser.close();
    }
  });
});

describe("e: the wallet rejects a transaction", { timeout: TIMEOUT * 2 }, () => {
  let user;
  before(async () => {
    user = await newUser();
  });
  after(async () => {
    await user?.browser.close();
  });

  const deposit = 3n * 10n ** 18n;

  async function rejectedOpen(functionPattern, label) {
    const tokensBefore = await stack.tokenBalance(user.sender.address);
    user.wallet.rejectNext("eth_sendTransaction", { when: callsFunction(stack, functionPattern) });
    await openChannel(user, deposit);
    const view = await waitForView(user.page, (v) => !v.statusBusy && v.error?.visible, {
      message: `the rejection of ${label}`,
    });
    await screenshot(user.page, `e-rejected-${label}`);
    assert.equal(view.error.code, "user_rejected");
    assert.ok(view.error.text.length > 0, "a message for the user");
    assert.equal(view.buttons.open?.visible && view.buttons.open.enabled, true, "#open usable again");
    assert.equal(view.channelState, "none");
    assert.equal(await stack.tokenBalance(user.sender.address), tokensBefore, "no tokens moved");
    assert.deepEqual(await stack.channelsCreatedBy(user.sender.address), [], "no channel on chain");
  }

  it("e: rejecting the approve leaves no trace; the page stays usable", async () => {
    await openPaywall(user, "/echofix/hello");
    await rejectedOpen("approve", "approve");
    assert.deepEqual(user.wallet.transactions(), [], "nothing sent");
  });

  it("e: rejecting createChannel leaves no channel; the page stays usable", async () => {
    await rejectedOpen(/^createChannel/, "createChannel");
    assert.deepEqual(txNames(user.wallet, stack), ["approve"], "only the approve was sent");
  });

  it("e: then a retry opens the channel and pays, using the allowance already given", async () => {
    await openChannel(user, deposit);
    await payAndSee(user, "hello");
    assert.deepEqual(
      txNames(user.wallet, stack),
      ["approve", "createChannelWithSigner"],
      "the approve of the rejected opening still stands: no second approve",
    );
    assert.equal((await stack.channelsCreatedBy(user.sender.address)).length, 1);
    assert.equal(BigInt((await serverChannel(user.sender.address)).balance), PRICE);
    const view = await readPaywall(user.page);
    assert.equal(view.isPaywall, false);
  });
});

describe("f: uncooperative close, challenge period, settle", { timeout: TIMEOUT * 2 }, () => {
  it("f: an unpaid channel: close without the receiver, mine the challenge period, settle; all tokens back", async () => {
    const user = await newUser();
    try {
      const deposit = 10n ** 18n;
      await openPaywall(user, "/echofix/hello");
      await openChannel(user, deposit);
      const ready = await waitForView(user.page, (v) => !v.statusBusy && v.channelState === "open" && v.buttons.pay?.visible, {
        timeout: 90_000,
        message: "the opened channel",
      });
      if (!ready.buttons["close-uncooperative"]) {
        throw new Error("the page has no #close-uncooperative button: uncooperative close cannot be tested");
      }
      const [{ openBlock }] = await stack.channelsCreatedBy(user.sender.address);
      const tokensBefore = await stack.tokenBalance(user.sender.address);
      const sentBefore = user.wallet.transactions().length;
      await clickWhenReady(user.page, "close-uncooperative");
      const closing = await waitForView(user.page, (v) => !v.statusBusy && (v.channelState === "closing" || v.error?.visible), {
        timeout: 60_000,
        message: "the channel to be closing",
      });
      await screenshot(user.page, "f-closing");
      assert.ok(!closing.error?.visible, `no error: ${JSON.stringify(closing.error)}`);
      assert.deepEqual(txNames(user.wallet, stack, sentBefore), ["uncooperativeClose"]);
      const info = await stack.channelOnChain(user.sender.address, openBlock);
      assert.ok(info.settleBlock > 0, "a close request on chain");
      assert.equal(info.closingBalance, 0n);
      assert.equal(closing.buttons.settle?.visible, true, "#settle shown");
      assert.equal(closing.buttons.settle.enabled, false, "#settle waits for the challenge period");

      await stack.mine(stack.challengePeriod + 1);
      // The page follows the blocks on its own (it polls while a channel is closing).
      await waitForView(user.page, (v) => v.buttons.settle?.visible && v.buttons.settle.enabled && !v.statusBusy, {
        timeout: 30_000,
        message: "#settle to be enabled after the challenge period",
      });
      await screenshot(user.page, "f-ready-to-settle");
      await user.page.click("#settle");
      const settled = await waitForView(
        user.page,
        (v) => !v.statusBusy && (v.channelState === "settled" || v.channelState === "none" || v.error?.visible),
        { timeout: 60_000, message: "the channel to be settled" },
      );
      await screenshot(user.page, "f-settled");
      assert.ok(!settled.error?.visible, `no error: ${JSON.stringify(settled.error)}`);
      assert.deepEqual(txNames(user.wallet, stack, sentBefore), ["uncooperativeClose", "settle"]);
      assert.equal(await stack.tokenBalance(user.sender.address), tokensBefore + deposit, "the whole deposit is back");
      assert.equal(await stack.channelOnChain(user.sender.address, openBlock), null);
    } finally {
      await user.browser.close();
    }
  });

  it("f: a paid channel closed without the receiver is settled at once by the receiver with its last proof", async () => {
    const user = await newUser({ tokens: 1n });
    try {
      const deposit = 5n; // one view
      await openPaywall(user, "/echofix/hello");
      await openChannel(user, deposit);
      await payAndSee(user, "hello");
      const [{ openBlock }] = await stack.channelsCreatedBy(user.sender.address);
      await user.page.goto(user.url("/echofix/f2"));
      await waitForView(user.page, (v) => v.isPaywall && !v.statusBusy && v.buttons["close-uncooperative"]?.visible, {
        message: "#close-uncooperative",
      });
      const receiverBefore = await stack.tokenBalance(stack.receiver.address);
      const senderBefore = await stack.tokenBalance(user.sender.address);
      await clickWhenReady(user.page, "close-uncooperative");
      const done = await waitForView(
        user.page,
        (v) => !v.statusBusy && (v.channelState === "settled" || v.channelState === "none" || v.error?.visible),
        { timeout: 90_000, message: "the receiver to settle the channel (the page polls every few seconds)" },
      );
      await screenshot(user.page, "f-settled-by-receiver");
      assert.ok(!done.error?.visible, `no error: ${JSON.stringify(done.error)}`);
      const settled = await stack.channelsSettledBy(user.sender.address);
      assert.equal(settled.length, 1);
      assert.equal(settled[0].openBlock, openBlock);
      assert.equal(settled[0].balance, PRICE);
      assert.equal(await stack.tokenBalance(stack.receiver.address), receiverBefore + PRICE);
      assert.equal(await stack.tokenBalance(user.sender.address), senderBefore, "nothing left to refund");
    } finally {
      await user.browser.close();
    }
  });
});

describe("g: connecting, no wallet, wrong chain, buying test tokens", { timeout: TIMEOUT * 2 }, () => {
  it("g: without any wallet the page says so (no_wallet)", async () => {
    const browser = await launchBrowser();
    current.browser = browser;
    try {
      const response = await browser.page.goto(`${stack.serverUrl}/echofix/hello`);
      assert.equal(response.status(), 402);
      const view = await waitForView(browser.page, (v) => v.error?.visible, { message: "#error" });
      await screenshot(browser.page, "g-no-wallet");
      assert.equal(view.error.code, "no_wallet");
      // The receiver published the token's units: the price is in the token's terms at once.
      assert.equal(view.price, "5 base units of TKN");
    } finally {
      await browser.close();
    }
  });

  it("g: a wallet on another chain: wrong_chain, then a switch makes the page usable", async () => {
    const user = await newUser({ wallet: { walletChainId: 1 } });
    try {
      const response = await user.page.goto(user.url("/echofix/hello"));
      assert.equal(response.status(), 402);
      const view = await waitForView(user.page, (v) => !v.statusBusy && v.error?.visible, { message: "#error" });
      await screenshot(user.page, "g-wrong-chain");
      assert.equal(view.error.code, "wrong_chain");
      if (view.buttons["switch-chain"]) {
        await clickWhenReady(user.page, "switch-chain");
        const switched = await waitForView(
          user.page,
          (v) => !v.statusBusy && v.buttons.open?.visible && v.buttons.open.enabled,
          { message: "the page to be usable on the right chain" },
        );
        assert.ok(!switched.error?.visible, `no error after switching: ${JSON.stringify(switched.error)}`);
        assert.equal(user.wallet.calls("wallet_switchEthereumChain").length, 1);
        assert.equal(user.wallet.chainId, stack.chainId);
      }
    } finally {
      await user.browser.close();
    }
  });
  it("g: a wallet that has not authorised the site yet: #connect prompts once, then the account shows", async () => {
    const user = await newUser({ wallet: { connected: false } });
    try {
      const response = await user.page.goto(user.url("/echofix/hello"));
      assert.equal(response.status(), 402);
      const before = await waitForIdle(user.page);
      assert.equal(before.buttons.connect?.visible, true, "#connect offered");
      assert.ok(!before.account?.toLowerCase().includes(user.sender.address.toLowerCase()), "no account before connecting");
      assert.equal(user.wallet.prompts(), 0, "no prompt on load");
      await screenshot(user.page, "g-not-connected");
      await clickWhenReady(user.page, "connect");
      const after = await waitForView(
        user.page,
        (v) => !v.statusBusy && v.account?.toLowerCase().includes(user.sender.address.toLowerCase()),
        { message: "the account after connecting" },
      );
      assert.ok(!after.error?.visible, `no error: ${JSON.stringify(after.error)}`);
      assert.equal(after.buttons.connect?.visible, false, "#connect gone");
      assert.equal(after.buttons.open?.visible, true, "#open offered");
      assert.deepEqual(user.wallet.requests.filter((r) => r.prompt).map((r) => r.method), ["eth_requestAccounts"]);
    } finally {
      await user.browser.close();
    }
  });

  it("g: #buy mints test tokens for 0.1 ETH (one transaction)", async () => {
    const user = await newUser({ tokens: 0n });
    try {
      await openPaywall(user, "/echofix/hello");
      assert.equal(await stack.tokenBalance(user.sender.address), 0n);
      await clickWhenReady(user.page, "buy");
      const view = await waitForView(
        user.page,
        (v) => !v.statusBusy && (v.error?.visible || (v.tokenBalanceBaseUnits ?? "0") !== "0"),
        { message: "the bought tokens" },
      );
      await screenshot(user.page, "g-bought-tokens");
      assert.ok(!view.error?.visible, `no error: ${JSON.stringify(view.error)}`);
      const txs = user.wallet.transactions();
      assert.deepEqual(txs.map((tx) => describeTransaction(tx, stack).functionName), ["mint"]);
      assert.equal(BigInt(txs[0].value), 10n ** 17n, "0.1 ETH");
      const bought = await stack.tokenBalance(user.sender.address);
      assert.equal(bought, 50n * stack.unit, "50 tokens for 0.1 ETH");
      if (view.tokenBalanceBaseUnits !== null) assert.equal(BigInt(view.tokenBalanceBaseUnits), bought);
    } finally {
      await user.browser.close();
    }
  });
});
