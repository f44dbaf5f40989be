// @ts-check
// Paying for this page by navigation: sign the next proof, let the library write the payment
// cookies, reload. What the page remembers across those reloads (memory.js, this tab only):
// the payment in flight, recent automatic payments (no reload loops), and what was
// paid moments ago, so a navigation the browser repeats (Back, Forward) never pays again
// silently.

import { info } from "./info.js";
import { remember } from "./memory.js";
import { channel, channelState, client, deposit, lib, remaining, state } from "./state.js";
import { adoptReceiverProof, sleep, syncWithReceiver } from "./receiver.js";
import { errorShown, MESSAGES, REFUSALS, render, reportError, setStatus, showError, UNSYNCED } from "./view.js";

/** Payment cookies the receiver never saw expire after this. */
const COOKIE_MAX_AGE_SECONDS = 120;
/** Automatic payments per page within the window: no reload loops. */
const AUTO_PAY_WINDOW_MS = 30_000;
const AUTO_PAY_MAX = 4;
/** A page paid for this recently is not paid again without asking (Back, Forward, reload). */
export const REPEAT_WINDOW_MS = 60_000;
/** Retry after "not confirmed yet", a bounded number of times. */
const WAIT_RETRY_MS = 2_000;
const WAIT_RETRIES = 15;
/** After opening or topping up, how long "the receiver has not seen it" is worth waiting for. */
const RECEIVER_CATCH_UP_MS = 60_000;
/** The Web Lock that gives one tab at a time the origin's payment cookies, held at most this long. */
const NAVIGATION_TURN_LOCK = "uraiden-navigation-payment";
const NAVIGATION_TURN_MS = 15_000;

/** This page's address, the key of what the page remembers about it. */
export const pagePath = `${location.pathname}${location.search}`;

/**
 * The payment a navigation carried: which page, which channel, and the balance before it (what
 * the receiver had accepted), to continue from when the receiver does not take it.
 * @typedef {{ path: string, channel: string, before: string, at: number }} PendingPayment
 */

/** @param {import("./state.js").Channel} c */
export const channelName = (c) => `${c.sender.toLowerCase()}:${c.openBlockNumber}`;

/** The payment the previous page load sent, if any (read once: the next load starts clean). */
export function takePendingPayment() {
  const pending = /** @type {PendingPayment | null} */ (remember("pending"));
  remember("pending", null);
  return pending;
}

/** Marks the current channel as just opened or topped up: the receiver may lag behind. */
export function markChannelChanged() {
  remember(`changed:${channelName(channel())}`, Date.now());
}

/** Marks the current channel as closing: this tab no longer pays from it before reading the chain. */
export function markChannelClosing() {
  remember(`closing:${channelName(channel())}`, Date.now());
}

/**
 * Whether this tab asked the chain to close `c` (the stored channel then says "open" while the
 * contract and the receiver say closing).
 * @param {import("./state.js").Channel} c
 */
export function closingRequested(c) {
  return remember(`closing:${channelName(c)}`) !== null;
}

/**
 * Sets the balance to continue from when the library's is ahead of the receiver's (a payment it
 * booked that the receiver did not take), `null` once they agree; kept in this tab per channel,
 * so a reload (or the page's second load of the channel) does not fall back to the refused one.
 * @param {bigint | null} balance
 */
export function continueFrom(balance) {
  state.payFrom = balance;
  if (state.channel) remember(`payfrom:${channelName(state.channel)}`, balance === null ? null : balance.toString());
}

/** After (re)loading the channel: the balance to continue from this tab kept for it, if any. */
export function restoreContinueFrom() {
  const kept = state.channel ? remember(`payfrom:${channelName(state.channel)}`) : null;
  state.payFrom = typeof kept === "string" && /^\d+$/.test(kept) ? BigInt(kept) : null;
}

function recentlyChanged() {
  const at = /** @type {number | null} */ (remember(`changed:${channelName(channel())}`));
  return at !== null && Date.now() - at < RECEIVER_CATCH_UP_MS;
}

/** When this page was paid for moments ago (within the window), else null. */
function recentlyPaidAt() {
  const at = /** @type {number | null} */ (remember(`paid:${pagePath}`));
  return at !== null && Date.now() - at < REPEAT_WINDOW_MS ? at : null;
}

/** Whether the browser repeats a navigation (Back, Forward, reload) rather than following a link. */
function repeatedNavigation() {
  const [entry] = /** @type {PerformanceNavigationTiming[]} */ (performance.getEntriesByType("navigation"));
  return entry?.type === "back_forward" || entry?.type === "reload";
}

function recordAutoPay() {
  const now = Date.now();
  const recent = (/** @type {number[] | null} */ (remember(`auto:${pagePath}`)) || []).filter(
    (at) => now - at < AUTO_PAY_WINDOW_MS,
  );
  if (recent.length >= AUTO_PAY_MAX) return false;
  remember(`auto:${pagePath}`, [...recent, now]);
  return true;
}

/**
 * Continues from the receiver's last proof after a payment it did not take: asked with a status
 * request when that is free (session key; when the receiver does not answer, the balance stays
 * unknown and Pay asks it first); with the wallet, the next payment builds on the balance before
 * the refused one, unless the refusal disputes that balance (then Pay asks the receiver first,
 * one signature).
 * @param {PendingPayment} pending
 * @param {boolean} balanceDisputed
 */
async function resync(pending, balanceDisputed) {
  if (!channel().sessionKey && !balanceDisputed) {
    continueFrom(BigInt(pending.before));
    return true;
  }
  if (channel().sessionKey) {
    try {
      const answer = await syncWithReceiver();
      if (answer.balance !== null) continueFrom(null); // the library now holds the receiver's balance
      return true;
    } catch (error) {
      console.warn("paywall: receiver", error);
      // The refused payment is still the library's balance (signNewProof booked it): never
      // shown as paid, nor closed with. Remaining is unknown until the receiver answers; Pay
      // asks it first, and a close without it requests the balance before the refused payment.
      state.unsynced = true;
      continueFrom(BigInt(pending.before));
      return false;
    }
  }
  state.unsynced = true; // with the wallet, Pay asks first: it prompts anyway
  return false;
}

/**
 * Signs the channel's balance plus the price, writes the payment cookies and reloads into the
 * content. Returns true when it reloads.
 */
export async function pay() {
  // A balance kept from a refused payment may be behind what another tab paid since: with the
  // session key, asking the receiver is free, and signing below the stored balance would
  // lower it for every tab.
  if (state.payFrom !== null && channel().sessionKey) state.unsynced = true;
  if (state.unsynced) {
    const detail = channel().sessionKey ? "" : "Sign the status request in your wallet.";
    setStatus("asking the receiver for its last balance…", { busy: true, detail });
    const answer = await syncWithReceiver();
    state.unsynced = false;
    if (answer.balance !== null) continueFrom(null); // the library now holds the receiver's balance
  }
  const current = channel();
  const price = info.price;
  if (price === null || !info.contract) return false;
  const before = state.payFrom ?? current.balance;
  if (before + price > deposit()) {
    showError("insufficient_deposit", MESSAGES.insufficient_deposit);
    state.attention = "topup";
    return false;
  }
  setStatus("paying…", { busy: true, detail: current.sessionKey ? "" : "Sign the payment in your wallet." });
  const release = await navigationPaymentTurn();
  try {
    // With the session key and no refused payment to continue from, the library signs on top
    // of the channel's latest balance, which another tab of this browser may just have raised.
    // (Wallet-signed channels still sign the page's own balance: with incrementBalanceAndSign
    // the first payment after opening was refused as an unknown channel in a full-suite run.)
    const proof =
      current.sessionKey && state.payFrom === null
        ? await client().incrementBalanceAndSign(price)
        : await client().signNewProof(before + price);
    state.channel = client().channel;
    continueFrom(null);
    remember("pending", /** @type {PendingPayment} */ ({
      path: pagePath,
      channel: channelName(current),
      before: (proof.balance - price).toString(),
      at: Date.now(),
    }));
    remember(`paid:${pagePath}`, Date.now());
    lib().setPaymentCookies(info.contract, proof, price, COOKIE_MAX_AGE_SECONDS);
  } catch (error) {
    release();
    throw error;
  }
  setStatus("reloading…", { busy: true });
  location.reload(); // the turn ends when this document unloads (or NAVIGATION_TURN_MS passes)
  return true;
}

/** Whether payment cookies are still set, read in this browser's navigation-payment turn. */
async function unsentCookiesInTurn() {
  const release = await navigationPaymentTurn();
  try {
    return lib().hasUnsentPaymentCookies();
  } finally {
    release();
  }
}

/**
 * Waits for this browser's turn to pay by navigation, and returns its early release.
 * The payment cookies belong to the whole origin (every tab), so a second tab writing its own
 * before the first tab's navigation has carried (and the receiver expired) them would send one
 * proof twice and lose a view. The turn is held until this document unloads, that is once the
 * navigation's answer has arrived, or for NAVIGATION_TURN_MS at most (a reload that never
 * answers); a payment that fails before reloading releases it at once.
 * @returns {Promise<() => void>}
 */
function navigationPaymentTurn() {
  const locks = navigator.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((granted) => {
    locks.request(NAVIGATION_TURN_LOCK, () => new Promise((release) => {
      setTimeout(release, NAVIGATION_TURN_MS);
      granted(() => release(undefined));
    }));
  });
}

/**
 * What the last navigation did with the page's payment, before deciding to pay again:
 * false (do not pay by yourself), "fresh" (a plain 402: paying is safe) or "retry" (a refusal
 * that one bounded retry can fix).
 * @param {PendingPayment | null} pending
 * @returns {Promise<false | "fresh" | "retry">}
 */
async function afterNavigation(pending) {
  const current = state.channel;
  const ours = pending && current && pending.channel === channelName(current) ? pending : null;

  // Only after this tab's own payment: payment cookies are shared by every tab of the origin,
  // and another tab's, written for a navigation it has not sent yet, are not ours to judge:
  // looked at in this browser's turn, so that a tab paying meanwhile has sent (and the
  // receiver expired) its own.
  if (pending && (await unsentCookiesInTurn())) {
    // The receiver expires payment cookies on every answer: these never reached it.
    lib().clearPaymentCookies();
    if (pending) remember(`paid:${pending.path}`, null);
    if (ours) await resync(ours, false);
    showError("cookies_blocked", MESSAGES.cookies_blocked);
    return false;
  }

  if (!info.reason) {
    // A fresh 402: any earlier payment of this page went through. Start counting anew.
    remember(`retried:${pagePath}`, null);
    remember(`waits:${pagePath}`, null);
    return "fresh";
  }

  // The receiver refused a payment: nothing was paid for this page. Say why, resync, and
  // retry only where that can help.
  remember(`paid:${pagePath}`, null);
  let resynced = Boolean(current) && adoptReceiverProof(info.balance, info.balanceSignature);
  if (current && info.reason === "insufficient-funds" && topUpNotSeenYet()) {
    // Topped up moments ago and the deposit covers it: the receiver has not seen the top-up yet.
    // Pay again on top of what it accepted (its answer named it, else ask it).
    if (!resynced && ours) resynced = await resync(ours, false);
    if (channel().sessionKey) return waitAndRetry("Waiting for the receiver to see the top-up…");
    showError("topup_not_seen", MESSAGES.topup_not_seen);
    return false;
  }
  showError(info.reason, REFUSALS[info.reason] || info.message || info.reason);
  if (info.reason === "insufficient-funds") state.attention = "topup";
  if (!current) return false;
  if (!resynced && ours) resynced = await resync(ours, Boolean(UNSYNCED[info.reason]));
  if (!resynced && UNSYNCED[info.reason]) {
    showError(info.reason, channel().sessionKey ? UNSYNCED[info.reason] : MESSAGES.resync_in_wallet);
  }
  if (!channel().sessionKey) {
    // Every retry would prompt: leave it to the Pay button, and say when waiting is the fix.
    if (info.reason === "nonexisting-channel" && recentlyChanged()) showError("channel_not_seen", MESSAGES.channel_not_seen);
    return false;
  }

  switch (info.reason) {
    case "invalid-amount":
    case "invalid-balance-proof": {
      if (!resynced || remember(`retried:${pagePath}`)) return false;
      if (ours && info.price !== null && channel().balance === BigInt(ours.before) + info.price) {
        // The receiver's last proof is the one this navigation sent: it holds the payment (the
        // same proof reached it twice, or it refused after taking it). Paying on top would be a
        // second price for one view: say so, and leave it to the Pay button.
        showError("paid_not_served", MESSAGES.paid_not_served);
        state.attention = "pay";
        remember(`paid:${pagePath}`, Date.now()); // paid: Back or Forward to it asks, never pays by itself
        return false;
      }
      remember(`retried:${pagePath}`, Date.now());
      return "retry";
    }
    case "insufficient-confirmations":
    case "nonexisting-channel": {
      // Just opened or topped up: the receiver has not caught up. Wait and retry a few times.
      if (info.reason === "nonexisting-channel" && !recentlyChanged()) return false;
      return waitAndRetry("Waiting for the receiver to confirm the channel…");
    }
    default:
      return false;
  }
}

/**
 * Whether an insufficient-funds refusal only means the receiver has not seen a top-up yet: the
 * channel was topped up moments ago and its deposit (as this browser knows it, the top-up
 * included) covers the payment on top of the receiver's balance.
 */
function topUpNotSeenYet() {
  const current = channel();
  return recentlyChanged() && info.price !== null && current.balance + info.price <= current.deposit;
}

/**
 * Waits a moment, then has the page pay again (a bounded number of times per page): the
 * receiver has not caught up with the chain yet. No error meanwhile, only `status`.
 * @param {string} status
 * @returns {Promise<false | "retry">}
 */
async function waitAndRetry(status) {
  const waits = /** @type {number} */ (remember(`waits:${pagePath}`) || 0);
  if (waits >= WAIT_RETRIES) {
    showError("receiver_behind", MESSAGES.receiver_behind);
    return false;
  }
  remember(`waits:${pagePath}`, waits + 1);
  state.busy = true;
  render();
  setStatus(status, { busy: true });
  await sleep(WAIT_RETRY_MS);
  state.busy = false;
  return "retry";
}

/**
 * On load: pays for the page by itself when that is safe (a session key, an open channel, no
 * refusal it cannot fix, and not paid for moments ago). The wallet is not needed, nor its
 * chain: the session key signs. Resolves to true when the page reloads to pay.
 * @param {PendingPayment | null} pending
 * @returns {Promise<boolean>}
 */
export async function maybeAutoPay(pending) {
  const safe = await afterNavigation(pending);
  const current = state.channel;
  const open = Boolean(current) && channelState() === "open";
  if (open && info.price !== null && remaining() < info.price) {
    // Nothing is paid: say why (unless the receiver's refusal already does) and offer a top-up.
    if (!errorShown()) showError("insufficient_deposit", MESSAGES.insufficient_deposit);
    state.attention = "topup";
    return false;
  }
  if (!safe || !open || !current || !current.sessionKey || info.price === null) return false;
  // `#manage` (any paywalled URL) keeps the page here to top up, close or settle.
  if (location.hash === "#manage") return false;
  if (safe === "fresh") {
    // Back, Forward or a reload of a page paid moments ago: ask, do not pay again.
    state.repeatPaidAt = repeatedNavigation() ? recentlyPaidAt() : null;
    if (state.repeatPaidAt !== null) {
      state.attention = "pay";
      return false;
    }
    // Retries are bounded by their own counters; fresh payments by this guard against loops.
    if (!recordAutoPay()) {
      showError("payment_loop", MESSAGES.payment_loop);
      return false;
    }
  }
  state.busy = true;
  try {
    if (await pay()) return true; // reloading: stay busy
  } catch (error) {
    reportError(error);
  }
  state.busy = false;
  render();
  return false;
}
