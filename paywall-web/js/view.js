// @ts-check
// What the page shows: status, errors, amounts, the wallet and channel cards, which buttons are
// usable. Reads the state; never changes it (except the error box and the status line).

import { formatAmount, formatCount, formatUnits, InputError, parseUnits, SUGGESTED_VIEWS, viewsFor } from "./format.js";
import { info } from "./info.js";
import { blocksUntilSettle, channelState, deposit, payableWithoutWallet, remaining, state, wrongChain } from "./state.js";

/** 0.1 ETH buys 50 tokens from the test token's mint(). */
export const BUY_WEI = 10n ** 17n;

/** Why the receiver refused a payment, by its refusal code. */
export const REFUSALS = /** @type {Record<string, string>} */ ({
  "insufficient-confirmations":
    "The receiver has not confirmed your channel's creation or top-up yet; wait for the next block, then pay again.",
  "nonexisting-channel":
    "The receiver knows no open channel from you (it is closed, closing or not seen yet); close or forget it here and open a new one.",
  "invalid-balance-proof":
    "The receiver refused the payment's signature or balance; the page has resynced with the receiver's last balance, so press Pay to try again.",
  "insufficient-funds":
    "Your channel's remaining deposit does not cover this payment; top up the channel or open a new one.",
  "invalid-amount":
    "The payment did not add exactly the price to the receiver's last balance; the page has resynced, so press Pay to try again.",
});

/** The same refusals when the receiver sent no last proof to continue from. */
export const UNSYNCED = /** @type {Record<string, string>} */ ({
  "invalid-balance-proof":
    "The receiver refused the payment's signature (not by this channel's sender or signer); close or forget this channel and open a new one.",
  "invalid-amount":
    "The payment did not add exactly the price to the receiver's last balance, and the receiver sent no balance to continue from; press Pay to try again.",
});

export const MESSAGES = {
  user_rejected: "You rejected the request in your wallet; nothing was paid.",
  no_wallet: "No Ethereum wallet found: install MetaMask (or another browser wallet), then reload this page.",
  library_missing: "The payment library did not load from this server; reload the page, or tell the site's operator.",
  cookies_blocked: "Your browser did not send the payment cookie; allow cookies for this site, then press Pay.",
  payment_loop: "The receiver did not accept several payments in a row; nothing more is paid automatically. Check the channel below, then press Pay.",
  insufficient_deposit: "Your channel's remaining deposit does not cover this payment; top up the channel or open a new one.",
  topup_not_seen: "The receiver has not seen your top-up yet (it waits for the chain); nothing was paid. Press Pay again in a few seconds.",
  channel_not_seen: "The receiver has not seen your new channel yet (it waits for the chain); nothing was paid. Press Pay again in a few seconds.",
  paid_not_served:
    "The receiver took your payment for this page but did not serve it (its answer was lost, or it refused the payment after taking it); nothing more was paid. Press Pay to pay again and view it.",
  receiver_behind: "The receiver has not caught up with the chain yet; nothing was paid. Press Pay again in a moment.",
  insufficient_eth: "Your account has too little ETH to pay for gas; get some ETH on this network first.",
  resync_in_wallet: "The receiver refused the payment's balance: press Pay to ask it for its last balance (one signature in your wallet), then pay on top of it.",
  session_key_lost:
    "This channel's session key is gone from this browser (its storage was cleared), so each view needs a signature in your wallet now, and the channel cannot be topped up (whoever holds the lost key could spend a new deposit). Close it to get the rest of your deposit back, then open a new channel.",
  unauthorized: "Connect your wallet first.",
  timeout: "The transaction was not mined in time; check your wallet, then reload this page.",
  network: "The network request failed; check your connection and try again.",
  storage: "This browser's storage is unavailable or unreadable; allow site data for this page, or forget the stored channel.",
};

/**
 * The element with `id` (the page's HTML has every id this script uses).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the paywall page lacks #${id}`);
  return /** @type {T} */ (element);
}

/** @param {string} id @returns {HTMLInputElement} */
export const input = (id) => $(id);

/** @param {string} id @returns {HTMLButtonElement} */
const button = (id) => $(id);

/** @param {string} id @param {string} text */
export function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
}

/**
 * @param {string} text
 * @param {{ busy?: boolean, detail?: string }} [options]
 */
export function setStatus(text, { busy = false, detail = "" } = {}) {
  setText("status", text);
  $("status").classList.toggle("busy", busy);
  setText("progress", detail);
  $("progress").hidden = !detail;
}

/** @param {string} code @param {string} message */
export function showError(code, message) {
  const element = $("error");
  element.dataset.code = code;
  element.textContent = message;
  element.hidden = false;
}

export function clearError() {
  const element = $("error");
  element.hidden = true;
  element.textContent = "";
  delete element.dataset.code;
}

export function errorShown() {
  return !$("error").hidden;
}

/** @param {boolean} unknownChain */
export function wrongChainMessage(unknownChain) {
  const now = state.walletChainId === null ? "another network" : `chain ${state.walletChainId}`;
  return unknownChain
    ? `Your wallet does not know chain ${info.chainId}; add that network to your wallet, then switch to it.`
    : `Your wallet is on ${now}, but this receiver's channels live on chain ${info.chainId}; switch network to pay.`;
}

/**
 * Shows anything thrown (UraidenError, provider errors, InputError) in #error.
 * @param {unknown} error
 */
export function reportError(error) {
  console.warn("paywall:", error);
  if (error instanceof InputError) {
    const field = document.getElementById(error.field);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
    showError("invalid_input", error.message);
    return;
  }
  const { code: rawCode, message: rawMessage } = /** @type {{ code?: unknown, message?: unknown }} */ (error ?? {});
  const code = Number(rawCode);
  const message = String(rawMessage ?? error);
  if (!state.lib) {
    showError("error", message);
    return;
  }
  // The library's codes; provider errors thrown by the page's own wallet calls share the EIP-1193 ones.
  const E = state.lib.ErrorCode;
  if (code === E.UserRejected) showError("user_rejected", MESSAGES.user_rejected);
  else if (code === E.NoProvider) showError("no_wallet", MESSAGES.no_wallet);
  else if (code === E.WrongChain || code === E.ChainDisconnected || code === E.UnrecognizedChain) {
    showError("wrong_chain", wrongChainMessage(code === E.UnrecognizedChain));
  } else if (code === E.InsufficientDeposit) showError("insufficient_deposit", MESSAGES.insufficient_deposit);
  else if (code === E.Unauthorized) showError("unauthorized", MESSAGES.unauthorized);
  else if (code === E.Timeout) showError("timeout", MESSAGES.timeout);
  else if (code === E.Network) showError("network", MESSAGES.network);
  else if (code === E.Storage) showError("storage", MESSAGES.storage);
  else if (/insufficient funds/i.test(message)) showError("insufficient_eth", MESSAGES.insufficient_eth);
  else if (code === E.TransactionFailed) showError("transaction_failed", `The transaction was reverted: ${message}`);
  else showError("error", message);
}

/** @param {bigint} value @param {string} [symbol] */
const baseUnits = (value, symbol) => `${value} base unit${value === 1n ? "" : "s"}${symbol ? ` of ${symbol}` : ""}`;

/** An amount in tokens with a few digits, or in base units when it is too small for that. @param {bigint} value */
function tokenText(value) {
  if (!state.token) return baseUnits(value);
  const shown = formatAmount(value, state.token.decimals);
  return shown === null ? baseUnits(value, state.token.symbol) : `${shown} ${state.token.symbol}`;
}

/** @param {bigint | null | undefined} value */
function amountNodes(value) {
  const fragment = document.createDocumentFragment();
  if (value === null || value === undefined) {
    fragment.append("—");
    return fragment;
  }
  const text = tokenText(value);
  fragment.append(text);
  if (!text.includes("base unit")) {
    const base = document.createElement("span");
    base.className = "base";
    base.textContent = ` (${baseUnits(value)})`;
    fragment.append(base);
  }
  return fragment;
}

/** Shows an amount with its exact base units in `data-base-units`. @param {string} id @param {bigint | null | undefined} value */
function showAmount(id, value) {
  const element = $(id);
  element.replaceChildren(amountNodes(value));
  if (value === null || value === undefined) delete element.dataset.baseUnits;
  else element.dataset.baseUnits = value.toString();
}

/** @param {number} count @param {string} noun */
const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

function idleStatus() {
  if (!state.lib) return state.provider ? "loading…" : "Install a wallet to pay.";
  if (!state.account) return state.provider ? "Connect your wallet to pay." : "Install a wallet to pay.";
  if (wrongChain() && !payableWithoutWallet()) return "Switch your wallet's network to pay.";
  switch (channelState()) {
    case "open":
      if (!state.payable) return "Waiting for the receiver to see the channel…";
      if (state.repeatPaidAt !== null) return "Paid moments ago: press Pay again to view it once more.";
      if (remaining() < (info.price ?? 0n)) return "Top up the channel to pay.";
      // Never "Ready" next to a refusal or a failure.
      return errorShown() ? "Not paid: see the message below." : "Ready to pay.";
    case "closing": {
      const left = blocksUntilSettle();
      return left > 0 ? `Closing: you can settle in ${plural(left, "block")}.` : "Ready to settle.";
    }
    case "settled":
      return "Channel settled. Open a new channel to pay.";
    default:
      return "Open a channel to pay.";
  }
}

/** The deposit help: a suggestion as a number of views, and what the typed amount pays for. */
function depositHelp() {
  const price = info.price;
  if (!state.token || !price) return "Whole tokens; decimals allowed. Unspent deposit comes back when you close.";
  const { decimals, symbol } = state.token;
  const text = input("deposit").value.trim();
  let typed = "";
  if (text) {
    try {
      typed = ` ${text} ${symbol} pays for ${formatCount(viewsFor(parseUnits(text, decimals, "deposit"), price))} views.`;
    } catch {
      typed = ""; // not an amount (yet): Open says why
    }
  }
  const suggested = price * SUGGESTED_VIEWS;
  return `Suggested: ${formatUnits(suggested, decimals)} ${symbol} for ${SUGGESTED_VIEWS} views.${typed} Unspent deposit comes back when you close.`;
}

/** @param {number} paidAt */
function repeatNotice(paidAt) {
  const seconds = Math.max(0, Math.round((Date.now() - paidAt) / 1000));
  return `You paid for this page ${seconds} s ago; going back or forward to it does not pay again. ` +
    `${tokenText(remaining())} left in the channel. Press Pay again to view it once more.`;
}

/**
 * The account's other stored channels with this receiver, each a button that shows it (to pay
 * from, top up or close): none is left out of reach.
 * @param {boolean} connected
 * @param {boolean} busy
 */
function renderOtherChannels(connected, busy) {
  const others = state.otherChannels;
  const list = $("other-channels");
  list.hidden = !connected || others.length === 0;
  if (list.hidden) return;
  const intro = others.length === 1
    ? "This browser also holds another channel of yours with this receiver"
    : `This browser also holds ${others.length} other channels of yours with this receiver`;
  const buttons = others.map((other) => {
    const show = document.createElement("button");
    show.type = "button";
    show.className = "link";
    show.dataset.openBlock = String(other.openBlockNumber);
    show.disabled = busy;
    show.textContent = `opened in block ${other.openBlockNumber}: ${tokenText(other.deposit)} deposit, ${tokenText(other.balance)} paid; show it`;
    return show;
  });
  list.replaceChildren(`${intro} (close the ones you no longer use: their unspent deposit comes back):`, ...buttons);
}

export function render() {
  const connected = Boolean(state.account && state.client);
  // On-chain actions need the receiver's chain; a session-key payment needs no wallet at all.
  const ready = connected && !wrongChain();
  const payReady = connected && (!wrongChain() || payableWithoutWallet());
  const busy = state.busy;
  const channel = state.channel;
  const chState = channelState();
  const price = info.price ?? 0n;
  const token = state.token;

  let resource = location.pathname;
  try { resource = decodeURIComponent(resource); } catch { /* shown encoded */ }
  setText("resource", resource + location.search);
  showAmount("price", info.price);
  setText("receiver", info.receiver || "unknown");
  setText("token", token && token.name ? `${token.name} (${token.symbol}) ${info.token}` : info.token || "unknown");
  setText("contract", info.contract || "unknown");
  setText("chain-id", info.chainId === null ? "unknown" : String(info.chainId));
  setText("wallet-name", state.walletName || "—");
  for (const unit of document.querySelectorAll("[data-symbol]")) {
    unit.textContent = token && token.symbol ? token.symbol : "tokens";
  }
  setText("deposit-help", depositHelp());

  setText("account", state.account || "not connected");
  showAmount("token-balance", token && token.balance !== undefined ? token.balance : null);
  setText("eth-balance", state.eth === null ? "—" : `${formatAmount(state.eth, 18) ?? "< 0.000001"} ETH`);

  const hints = [];
  if (connected && state.eth === 0n) {
    hints.push("This account has no ETH for gas: opening, topping up and closing a channel are transactions. Paying for a view needs none.");
  } else if (connected && state.eth !== null && state.eth < BUY_WEI) {
    hints.push("Buying test tokens needs 0.1 ETH plus gas; this account has less.");
  }
  if (connected && token && token.balance === 0n && chState !== "open") {
    hints.push(`You hold no ${token.symbol}: buy test tokens below, or get some from the receiver.`);
  }
  if (connected && wrongChain() && payableWithoutWallet()) {
    hints.push(`Your wallet is on chain ${state.walletChainId}: paying needs no switch (the session key signs), but topping up, closing and settling happen on chain ${info.chainId}: press Switch network first.`);
  }
  if (channel && !channel.sessionKey && !state.sessionKeyLost && chState === "open") {
    hints.push("This channel has no session key: each view asks your wallet for a signature.");
  }
  const hintList = $("hints");
  hintList.replaceChildren(...hints.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  hintList.hidden = hints.length === 0;

  setText("channel-state", chState);
  $("channel-state").dataset.state = chState;
  showAmount("channel-deposit", channel ? deposit() : null);
  // Unknown while a refusal (or a lost session key) left the receiver's balance unknown: never guessed.
  showAmount("channel-remaining", channel && !state.unsynced ? remaining() : null);
  setText("channel-signer", !channel ? "—" : channel.sessionKey ? "session key in this browser" : "your wallet");
  const closing = chState === "closing";
  $("channel-settle-label").hidden = !closing;
  $("channel-settle").hidden = !closing;
  if (closing && state.onchain) {
    const left = blocksUntilSettle();
    setText("channel-settle", left === Infinity ? "…" : left > 0 ? `${plural(left, "block")} left (settle block ${state.onchain.settleBlockNumber})` : "over: settle now");
  }

  renderOtherChannels(connected, busy);

  const open = chState === "open" && Boolean(channel);
  const repeat = open && state.repeatPaidAt !== null;
  $("repeat-notice").hidden = !repeat;
  if (repeat && state.repeatPaidAt !== null) setText("repeat-notice", repeatNotice(state.repeatPaidAt));

  $("connect").hidden = connected;
  button("connect").disabled = busy || !state.provider || !state.lib;
  $("switch-chain").hidden = !(connected && wrongChain());
  button("switch-chain").disabled = busy;
  $("buy").hidden = !connected;
  button("buy").disabled = busy || !ready || (state.eth !== null && state.eth < BUY_WEI);

  $("pay-actions").hidden = !open;
  button("pay").disabled = busy || !payReady || !open || remaining() < price;
  const again = repeat ? "Pay again" : "Pay";
  setText("pay", price > 0n && token ? `${again} ${tokenText(price)} and view` : `${again} and view`);

  $("open-form").hidden = !(connected && !channel);
  button("open").disabled = busy || !ready || !token;
  input("deposit").disabled = busy;
  input("session-key").disabled = busy;
  $("topup-form").hidden = !open || state.sessionKeyLost; // the library refuses: the lost key could spend it
  button("topup").disabled = busy || !ready || !token;
  input("topup-amount").disabled = busy;

  $("close").hidden = !open;
  button("close").disabled = busy || !ready;
  $("close-uncooperative").hidden = !open;
  button("close-uncooperative").disabled = busy || !ready;
  $("settle").hidden = !closing;
  button("settle").disabled = busy || !ready || blocksUntilSettle() > 0;
  $("forget").hidden = !channel;
  button("forget").disabled = busy;
  for (const id of ["close", "close-uncooperative", "topup", "open", "pay"]) {
    $(id).classList.toggle("attention", state.attention === id && !button(id).disabled);
  }

  if (!busy) setStatus(idleStatus());
}
