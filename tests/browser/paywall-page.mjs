// Helpers to drive the paywall page (paywall-web/) through its element contract:
//   #status, #error[data-code], #price, #account, #token-balance, #channel-state,
//   #channel-deposit, #channel-remaining; #connect, #deposit, #session-key, #open, #pay,
//   #topup-amount, #topup, #close, #settle, #buy, #forget (and, when the page has them,
//   #close-uncooperative, #switch-chain, #repeat-notice).
// Amount elements may carry `data-base-units` (exact base units); the helpers use it when
// present and fall back to the text.

import assert from "node:assert/strict";

import { decodeFunctionData } from "viem";

import { MANAGER_ABI, TOKEN_ABI, waitUntil } from "./harness.mjs";

/** Records the main frame's navigations: `[{ url, status }]`. */
export function trackNavigations(page) {
  const navigations = [];
  page.on("response", (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      navigations.push({ url: response.url(), status: response.status() });
    }
  });
  return navigations;
}

/** A snapshot of what the page shows (null for elements it lacks). */
export async function readPaywall(page) {
  return page.evaluate(() => {
    const el = (id) => document.getElementById(id);
    const text = (id) => (el(id) ? el(id).textContent.trim() : null);
    const visible = (id) => {
      const e = el(id);
      if (!e || e.hidden || e.closest("[hidden]")) return false;
      const style = getComputedStyle(e);
      return style.display !== "none" && style.visibility !== "hidden" && e.getClientRects().length > 0;
    };
    const amount = (id) => {
      const e = el(id);
      if (!e) return null;
      if (e.dataset.baseUnits !== undefined) return e.dataset.baseUnits;
      return null;
    };
    const button = (id) => (el(id) ? { visible: visible(id), enabled: !el(id).disabled } : null);
    const error = el("error");
    return {
      isPaywall: Boolean(el("rdn-paywall-info")),
      status: text("status"),
      statusBusy: el("status") ? el("status").classList.contains("busy") : false,
      error: error
        ? { visible: visible("error"), code: error.dataset.code ?? null, text: error.textContent.trim() }
        : null,
      price: text("price"),
      priceBaseUnits: amount("price"),
      account: text("account"),
      tokenBalance: text("token-balance"),
      tokenBalanceBaseUnits: amount("token-balance"),
      channelState: text("channel-state"),
      deposit: text("channel-deposit"),
      depositBaseUnits: amount("channel-deposit"),
      remaining: text("channel-remaining"),
      remainingBaseUnits: amount("channel-remaining"),
      repeat: el("repeat-notice") ? { visible: visible("repeat-notice"), text: text("repeat-notice") } : null,
      buttons: Object.fromEntries(
        ["connect", "open", "pay", "topup", "close", "close-uncooperative", "settle", "buy", "forget", "switch-chain"].map(
          (id) => [id, button(id)],
        ),
      ),
    };
  });
}

const isIdle = (view) => view.isPaywall && !view.statusBusy && view.status !== null && !/(…|\.\.\.)\s*$/.test(view.status);

/** Waits until the paywall page has loaded and is not busy (no action or transaction running). */
export async function waitForIdle(page, { timeout = 60_000, message = "the paywall page to be idle" } = {}) {
  return waitUntil(async () => {
    const view = await readPaywall(page);
    return isIdle(view) ? view : null;
  }, { timeout, interval: 100, message });
}

/** Waits until `predicate(view)` holds for the paywall page; returns the view. */
export async function waitForView(page, predicate, { timeout = 60_000, message = "the paywall page" } = {}) {
  let last;
  return waitUntil(async () => {
    last = await readPaywall(page);
    return predicate(last) ? last : null;
  }, { timeout, interval: 100, message }).catch((error) => {
    error.message += `\nlast view: ${JSON.stringify(last, null, 1)}`;
    throw error;
  });
}

/** Waits until the page shows the paid content (not the paywall): its body text is `expected`. */
export async function waitForContent(page, expected, { timeout = 60_000 } = {}) {
  let seen;
  return waitUntil(async () => {
    seen = await page.evaluate(() => ({
      paywall: Boolean(document.getElementById("rdn-paywall-info")),
      body: document.body ? document.body.innerText.trim() : "",
    }));
    return !seen.paywall && seen.body === expected;
  }, { timeout, interval: 100, message: `the content "${expected}"` }).catch(async (error) => {
    const view = await readPaywall(page).catch(() => null);
    error.message += `\nlast seen: ${JSON.stringify(seen)}\npaywall: ${JSON.stringify(view, null, 1)}`;
    throw error;
  });
}

/** Clicks a button once it is visible and enabled. */
export async function clickWhenReady(page, id, { timeout = 60_000 } = {}) {
  await waitForView(page, (view) => view.buttons[id]?.visible && view.buttons[id]?.enabled, {
    timeout,
    message: `#${id} to be visible and enabled`,
  });
  await page.click(`#${id}`);
}

/** The function a transaction (eth_sendTransaction params[0]) calls: `{ contract, functionName, args }`. */
export function describeTransaction(tx, stack) {
  const to = String(tx.to).toLowerCase();
  const contract = to === stack.token.toLowerCase() ? "token" : to === stack.manager.toLowerCase() ? "manager" : to;
  const abi = contract === "token" ? TOKEN_ABI : MANAGER_ABI;
  try {
    const { functionName, args } = decodeFunctionData({ abi, data: tx.data ?? tx.input });
    return { contract, functionName, args };
  } catch {
    return { contract, functionName: tx.data ? tx.data.slice(0, 10) : "(transfer)", args: [] };
  }
}

/** A `when` filter for `wallet.rejectNext("eth_sendTransaction", { when })`: calls of `functionName`. */
export function callsFunction(stack, pattern) {
  return (params) => {
    const { functionName } = describeTransaction(params?.[0] ?? {}, stack);
    return typeof pattern === "string" ? functionName === pattern : pattern.test(functionName);
  };
}

/** Sets an `<input>`'s value the way a user types it. */
export async function typeInto(page, id, value) {
  await page.fill(`#${id}`, String(value));
}

/**
 * After "Open channel": presses Pay when the page waits for it (it only says it is ready to pay
 * once the receiver has seen the channel), then waits for the paid content `content`.
 */
export async function payOnceOpened(page, content, { timeout = 90_000 } = {}) {
  const ready = await waitForView(
    page,
    (v) => !v.isPaywall || v.error?.visible || (v.buttons.pay?.visible && v.buttons.pay.enabled && !v.statusBusy),
    { timeout, message: "the page to be ready to pay after opening" },
  );
  if (ready.isPaywall) {
    assert.ok(!ready.error?.visible, `no error after opening: ${JSON.stringify(ready.error)}`);
    await page.click("#pay");
  }
  await waitForContent(page, content);
}
