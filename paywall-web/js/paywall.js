// The µRaiden paywall page (SPEC §6): drives `uraiden-wasm` to open, top up, close and
// settle a channel, and pays by setting the payment cookies and reloading (SPEC §4).
//
// Where the values come from:
// - the JSON the server embeds as <script id="rdn-paywall-info" type="application/json">:
//   price, receiver, token, contract, chainId, gatewayPath, reason + message for a refused
//   payment and, for the channel's own sender or signer, its last accepted proof (sender,
//   balance, balanceSignature);
// - the cookies the server sets on a 402 (RDN-Price, RDN-Receiver-Address, …), as a fallback.
//
// A payment is the cookies RDN-Contract-Address, RDN-Receiver-Address, RDN-Sender-Address,
// RDN-Open-Block, RDN-Balance, RDN-Balance-Signature and RDN-Payment (Path=/) followed by a
// reload; the server consumes (expires) them on its answer, so each proof is sent once.
//
// A payment counts only once the server accepted it: the page keeps the balance it knows
// the receiver accepted ("confirmed") apart from the last balance the library signed, and
// after a refusal continues from the receiver's last proof (verified) or from the balance
// before the refused payment.

const LIBRARY_URL = "./uraiden-wasm/uraiden_wasm.js";
const BUY_WEI = 10n ** 17n; // 0.1 ETH buys 50 tokens from the test token's mint()
const COOKIE_MAX_AGE = 120; // seconds: a proof cookie the server never saw does not linger
const AUTO_PAY_WINDOW_MS = 30_000;
const AUTO_PAY_MAX = 4; // automatic payments per page within the window: no reload loops
const WAIT_RETRY_MS = 2_000; // retry after "not confirmed yet"
const WAIT_RETRIES = 15;
const RECEIVER_WAIT_MS = 60_000; // after opening, how long to wait for the receiver to see it
const POLL_MS = 3_000;
const STORE = "uraiden-paywall:v1:";

const REFUSALS = {
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
};

// When the receiver sent no last proof to continue from.
const UNSYNCED = {
  "invalid-balance-proof":
    "The receiver refused the payment's signature (not by this channel's sender or signer); close or forget this channel and open a new one.",
  "invalid-amount":
    "The payment did not add exactly the price to the receiver's last balance, and the receiver sent no balance to continue from; press Pay to try again.",
};

const MESSAGES = {
  user_rejected: "You rejected the request in your wallet; nothing was paid.",
  no_wallet: "No Ethereum wallet found: install MetaMask (or another browser wallet), then reload this page.",
  library_missing: "The payment library did not load from this server; reload the page, or tell the site's operator.",
  cookies_blocked: "Your browser did not send the payment cookie; allow cookies for this site, then press Pay.",
  payment_loop: "The receiver did not accept several payments in a row; nothing more is paid automatically. Check the channel below, then press Pay.",
  insufficient_deposit: "Your channel's remaining deposit does not cover this payment; top up the channel or open a new one.",
  insufficient_eth: "Your account has too little ETH to pay for gas; get some ETH on this network first.",
  resync_in_wallet: "The receiver refused the payment's balance: press Pay to ask it for its last balance (one signature in your wallet), then pay on top of it.",
  session_key_lost: "This channel's session key is gone from this browser (its storage was cleared): close the channel to get the rest of your deposit back, then open a new one. Until then each view needs a wallet signature.",
  unauthorized: "Connect your wallet first.",
  timeout: "The transaction was not mined in time; check your wallet, then reload this page.",
  network: "The network request failed; check your connection and try again.",
  storage: "This browser's storage is unavailable or unreadable; allow site data for this page, or forget the stored channel.",
};

// ---------------------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const lower = (address) => String(address || "").toLowerCase();
const sameAddress = (a, b) => Boolean(a) && lower(a) === lower(b);

function readCookies() {
  const cookies = {};
  for (const part of document.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) {
      let value = part.slice(eq + 1).trim();
      try { value = decodeURIComponent(value); } catch { /* keep it raw */ }
      cookies[part.slice(0, eq).trim().toLowerCase()] = value;
    }
  }
  return cookies;
}

function readEmbeddedInfo() {
  const element = document.getElementById("rdn-paywall-info");
  if (!element) return {};
  try {
    return JSON.parse(element.textContent) || {};
  } catch {
    return {};
  }
}

function paywallInfo() {
  const embedded = readEmbeddedInfo();
  const cookies = readCookies();
  const pick = (key, cookie) => embedded[key] ?? cookies[cookie.toLowerCase()] ?? null;
  const price = pick("price", "RDN-Price");
  const chainId = pick("chainId", "RDN-Chain-Id");
  return {
    reason: embedded.reason || null,
    message: embedded.message || null,
    price: /^\d+$/.test(String(price)) ? BigInt(price) : null,
    receiver: pick("receiver", "RDN-Receiver-Address"),
    token: pick("token", "RDN-Token-Address"),
    contract: pick("contract", "RDN-Contract-Address"),
    chainId: chainId === null ? null : Number(chainId),
    gatewayPath: pick("gatewayPath", "RDN-Gateway-Path") || "/api/1",
    sender: embedded.sender || null,
    balance: /^\d+$/.test(String(embedded.balance)) ? BigInt(embedded.balance) : null,
    balanceSignature: embedded.balanceSignature || null,
  };
}

/** `value` base units as a decimal string with `decimals` places, trailing zeros trimmed. */
function formatUnits(value, decimals) {
  const base = 10n ** BigInt(decimals);
  const whole = value / base;
  const fraction = (value % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

class InputError extends Error {
  constructor(field, message) {
    super(message);
    this.name = "InputError";
    this.field = field;
  }
}

/** "1.5" tokens → base units; refuses more decimals than the token has, and zero. */
function parseUnits(text, decimals, field) {
  const value = String(text).trim().replace(/_/g, "");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(value);
  if (!value || !match || (match[1] === "" && !match[2])) {
    throw new InputError(field, "Enter an amount of tokens, such as 1.5.");
  }
  const fraction = match[2] || "";
  if (fraction.length > decimals) {
    throw new InputError(field, `This token has ${decimals} decimals; use at most ${decimals} digits after the point.`);
  }
  const amount = BigInt(match[1] || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (amount === 0n) throw new InputError(field, "Enter an amount above zero.");
  return amount;
}

function hexToBigInt(hex) {
  return BigInt(hex && hex !== "0x" ? hex : "0x0");
}

/** An ABI-encoded `string` return value. */
function decodeAbiString(hex) {
  const data = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (data.length < 128) return "";
  const length = Number(BigInt(`0x${data.slice(64, 128)}`));
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = parseInt(data.slice(128 + 2 * i, 130 + 2 * i), 16);
  return new TextDecoder().decode(bytes);
}

function session(key, value) {
  try {
    if (value === undefined) return JSON.parse(sessionStorage.getItem(STORE + key) || "null");
    if (value === null) sessionStorage.removeItem(STORE + key);
    else sessionStorage.setItem(STORE + key, JSON.stringify(value));
  } catch { /* storage unavailable: no memory across reloads */ }
  return null;
}

function local(key, value) {
  try {
    if (value === undefined) return JSON.parse(localStorage.getItem(STORE + key) || "null");
    if (value === null) localStorage.removeItem(STORE + key);
    else localStorage.setItem(STORE + key, JSON.stringify(value));
  } catch { /* idem */ }
  return null;
}

const PAYMENT_COOKIES = [
  "RDN-Sender-Address", "RDN-Open-Block", "RDN-Balance", "RDN-Sender-Balance", "RDN-Balance-Signature", "RDN-Payment",
];

function setCookie(name, value, maxAge) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${name}=${value}; Path=/; Max-Age=${maxAge}; SameSite=Lax${secure}`;
}

// ---------------------------------------------------------------------------------------
// State

const info = paywallInfo();
const state = {
  lib: null, // the uraiden-wasm module
  provider: null,
  walletName: null,
  client: null, // MicroRaiden
  account: null,
  walletChainId: null,
  token: null, // { name, symbol, decimals, balance } (balance once connected)
  eth: null,
  channel: null, // the library's Channel
  onchain: null, // OnChainChannelInfo
  block: null,
  ended: null, // "settled" after this page closed or settled the channel
  sessionKeyLost: false,
  unsynced: false, // a refusal left the balance unknown: Pay asks the receiver first
  busy: false,
  payable: false, // the receiver has seen the channel (or we do not know it has not)
  attention: null, // a button id to highlight
};
const pathKey = `path:${location.pathname}${location.search}`;

function channelKey(channel) {
  return `channel:${info.chainId}:${lower(info.contract)}:${lower(channel.sender)}:${lower(channel.receiver)}:${channel.openBlockNumber}`;
}

/** The balance the receiver accepted last, as far as this page knows. */
function confirmedBalance() {
  const channel = state.channel;
  if (!channel) return 0n;
  const override = local(channelKey(channel));
  if (override && BigInt(override.signed) === channel.balance) return BigInt(override.confirmed);
  return channel.balance;
}

function setConfirmedBalance(channel, confirmed) {
  if (confirmed === channel.balance) local(channelKey(channel), null);
  else local(channelKey(channel), { confirmed: confirmed.toString(), signed: channel.balance.toString() });
}

function deposit() {
  if (state.onchain && state.onchain.state !== "settled") return state.onchain.deposit;
  return state.channel ? state.channel.deposit : 0n;
}

function remaining() {
  // Closing: what comes back to you is the deposit minus the closing balance.
  const spent = state.onchain && state.onchain.state === "closing" ? state.onchain.closingBalance : confirmedBalance();
  const left = deposit() - spent;
  return left > 0n ? left : 0n;
}

function channelState() {
  if (state.channel) return state.onchain ? state.onchain.state : "open";
  return state.ended || "none";
}

function wrongChain() {
  return state.walletChainId !== null && info.chainId !== null && state.walletChainId !== info.chainId;
}

// ---------------------------------------------------------------------------------------
// Rendering

function amountNodes(value) {
  const fragment = document.createDocumentFragment();
  if (value === null || value === undefined) {
    fragment.append("—");
    return fragment;
  }
  if (state.token && state.token.decimals !== undefined) {
    fragment.append(`${formatUnits(value, state.token.decimals)} ${state.token.symbol}`);
    const base = document.createElement("span");
    base.className = "base";
    base.textContent = ` (${value} base unit${value === 1n ? "" : "s"})`;
    fragment.append(base);
  } else {
    fragment.append(`${value} token base unit${value === 1n ? "" : "s"}`);
  }
  return fragment;
}

function showAmount(id, value) {
  const element = $(id);
  element.replaceChildren(amountNodes(value));
  if (value === null || value === undefined) delete element.dataset.baseUnits;
  else element.dataset.baseUnits = value.toString();
}

function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
}

function setStatus(text, { busy = false, detail = "" } = {}) {
  setText("status", text);
  $("status").classList.toggle("busy", busy);
  setText("progress", detail);
  $("progress").hidden = !detail;
}

function showError(code, message) {
  const element = $("error");
  element.dataset.code = code;
  element.textContent = message;
  element.hidden = false;
}

function clearError() {
  const element = $("error");
  element.hidden = true;
  element.textContent = "";
  delete element.dataset.code;
}

/** Maps anything thrown (UraidenError, provider errors, InputError) to #error. */
function reportError(error) {
  console.warn("paywall:", error);
  if (error instanceof InputError) {
    const input = $(error.field);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
    showError("invalid_input", error.message);
    return;
  }
  const code = Number(error && error.code);
  const message = String((error && error.message) || error);
  // The library's codes; provider errors thrown by the page's own wallet calls share the EIP-1193 ones.
  const E = (state.lib && state.lib.ErrorCode) || {};
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

function wrongChainMessage(unknownChain) {
  const now = state.walletChainId === null ? "another network" : `chain ${state.walletChainId}`;
  return unknownChain
    ? `Your wallet does not know chain ${info.chainId}; add that network to your wallet, then switch to it.`
    : `Your wallet is on ${now}, but this receiver's channels live on chain ${info.chainId}; switch network to pay.`;
}

function idleStatus() {
  if (!state.lib) return state.provider ? "loading…" : "Install a wallet to pay.";
  if (!state.account) return state.provider ? "Connect your wallet to pay." : "Install a wallet to pay.";
  if (wrongChain()) return "Switch your wallet's network to pay.";
  switch (channelState()) {
    case "open":
      if (!state.payable) return "Waiting for the receiver to see the channel…";
      return remaining() >= (info.price ?? 0n) ? "Ready to pay." : "Top up the channel to pay.";
    case "closing": {
      const left = blocksUntilSettle();
      return left > 0 ? `Closing: you can settle in ${left} block${left === 1 ? "" : "s"}.` : "Ready to settle.";
    }
    case "settled":
      return "Channel settled. Open a new channel to pay.";
    default:
      return "Open a channel to pay.";
  }
}

function blocksUntilSettle() {
  if (!state.onchain || state.block === null) return Infinity;
  // settle() is allowed strictly after the settle block.
  return Math.max(0, state.onchain.settleBlockNumber + 1 - state.block);
}

function render() {
  const connected = Boolean(state.account && state.client);
  const ready = connected && !wrongChain();
  const busy = state.busy;
  const channel = state.channel;
  const chState = channelState();
  const price = info.price ?? 0n;

  let resource = location.pathname;
  try { resource = decodeURIComponent(resource); } catch { /* shown encoded */ }
  setText("resource", resource + location.search);
  showAmount("price", info.price);
  setText("receiver", info.receiver || "unknown");
  setText("token", state.token && state.token.name ? `${state.token.name} (${state.token.symbol}) ${info.token}` : info.token || "unknown");
  setText("contract", info.contract || "unknown");
  setText("chain-id", info.chainId === null ? "unknown" : String(info.chainId));
  setText("wallet-name", state.walletName || "—");
  for (const unit of document.querySelectorAll("[data-symbol]")) {
    unit.textContent = state.token && state.token.symbol ? state.token.symbol : "tokens";
  }

  setText("account", state.account || "not connected");
  showAmount("token-balance", state.token && state.token.balance !== undefined ? state.token.balance : null);
  setText("eth-balance", state.eth === null ? "—" : `${formatUnits(state.eth, 18)} ETH`);

  const hints = [];
  if (connected && state.eth === 0n) {
    hints.push("This account has no ETH for gas: opening, topping up and closing a channel are transactions. Paying for a view needs none.");
  } else if (connected && state.eth !== null && state.eth < BUY_WEI) {
    hints.push("Buying test tokens needs 0.1 ETH plus gas; this account has less.");
  }
  if (connected && state.token && state.token.balance === 0n && chState !== "open") {
    hints.push(`You hold no ${state.token.symbol}: buy test tokens below, or get some from the receiver.`);
  }
  if (channel && !channel.sessionKey && !state.sessionKeyLost && chState === "open") {
    hints.push("This channel has no session key: each view asks your wallet for a signature.");
  }
  const hintList = $("hints");
  hintList.replaceChildren(...hints.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  hintList.hidden = hints.length === 0;

  const badge = $("channel-state");
  setText("channel-state", chState);
  badge.dataset.state = chState;
  showAmount("channel-deposit", channel ? deposit() : null);
  showAmount("channel-remaining", channel ? remaining() : null);
  setText("channel-signer", !channel ? "—" : channel.sessionKey ? "session key in this browser" : "your wallet");
  const closing = chState === "closing";
  $("channel-settle-label").hidden = !closing;
  $("channel-settle").hidden = !closing;
  if (closing) {
    const left = blocksUntilSettle();
    setText("channel-settle", left === Infinity ? "…" : left > 0 ? `${left} block${left === 1 ? "" : "s"} left (settle block ${state.onchain.settleBlockNumber})` : "over: settle now");
  }

  const open = chState === "open" && Boolean(channel);
  const hasTokenInfo = Boolean(state.token && state.token.decimals !== undefined);
  $("connect").hidden = connected;
  $("connect").disabled = busy || !state.provider || !state.lib;
  $("switch-chain").hidden = !(connected && wrongChain());
  $("switch-chain").disabled = busy;
  $("buy").hidden = !connected;
  $("buy").disabled = busy || !ready || (state.eth !== null && state.eth < BUY_WEI);

  $("pay-actions").hidden = !open;
  $("pay").disabled = busy || !ready || !open || remaining() < price;
  setText("pay", price > 0n && hasTokenInfo
    ? `Pay ${formatUnits(price, state.token.decimals)} ${state.token.symbol} and view`
    : "Pay and view");

  $("open-form").hidden = !(connected && !channel);
  $("open").disabled = busy || !ready || !hasTokenInfo;
  $("deposit").disabled = busy;
  $("session-key").disabled = busy;
  $("topup-form").hidden = !open;
  $("topup").disabled = busy || !ready || !hasTokenInfo;
  $("topup-amount").disabled = busy;

  $("close").hidden = !open;
  $("close").disabled = busy || !ready;
  $("close-uncooperative").hidden = !open;
  $("close-uncooperative").disabled = busy || !ready;
  $("settle").hidden = !closing;
  $("settle").disabled = busy || !ready || blocksUntilSettle() > 0;
  $("forget").hidden = !channel;
  $("forget").disabled = busy;
  for (const id of ["close", "close-uncooperative", "topup", "open", "pay"]) {
    $(id).classList.toggle("attention", state.attention === id && !$(id).disabled);
  }

  if (!busy) setStatus(idleStatus());
}

// ---------------------------------------------------------------------------------------
// Wallet discovery and the library

/** `window.ethereum`, when a wallet injected it: the page's first choice. */
function injectedWallet() {
  const provider = window.ethereum;
  if (!provider || typeof provider.request !== "function") return null;
  return { provider, name: provider.isMetaMask ? "MetaMask (window.ethereum)" : "window.ethereum" };
}

/** Without `window.ethereum`: the first wallet announced over EIP-6963 (the library asks). */
async function discoveredWallet() {
  const [wallet] = await state.lib.discoverWallets(500);
  if (wallet) return { provider: wallet.provider, name: `${wallet.info.name || "wallet"} (EIP-6963)` };
  const late = injectedWallet(); // some wallets inject late
  return late && { provider: late.provider, name: "window.ethereum" };
}

async function loadLibrary() {
  const lib = await import(LIBRARY_URL);
  await lib.default();
  return lib;
}

async function rpc(method, params = []) {
  return state.provider.request({ method, params });
}

async function createClient() {
  state.client = await state.lib.MicroRaiden.create({
    provider: state.provider,
    contract: info.contract,
    token: info.token,
    chainId: info.chainId,
    receiver: info.receiver,
    pollIntervalMs: 500,
  });
}

/** The token's decimals and symbol without an account (plain eth_calls), for the price. */
async function readTokenMetadata() {
  try {
    if (Number(hexToBigInt(await rpc("eth_chainId"))) !== info.chainId) return;
    const [decimals, symbol] = await Promise.all([
      rpc("eth_call", [{ to: info.token, data: "0x313ce567" }, "latest"]),
      rpc("eth_call", [{ to: info.token, data: "0x95d89b41" }, "latest"]),
    ]);
    const places = Number(hexToBigInt(decimals));
    if (!state.token && decimals.length > 2 && places <= 77) {
      state.token = { name: "", symbol: decodeAbiString(symbol) || "tokens", decimals: places };
    }
  } catch {
    // Not on the right chain, or the wallet refuses calls before connecting: base units only.
  }
}

async function refreshWallet() {
  state.walletChainId = Number(hexToBigInt(await rpc("eth_chainId")));
  if (wrongChain()) {
    // Balances on another chain would mislead.
    state.eth = null;
    if (state.token) state.token = { ...state.token, balance: undefined };
    return;
  }
  const [eth, token] = await Promise.all([
    rpc("eth_getBalance", [state.account, "latest"]).then(hexToBigInt).catch(() => null),
    state.client.getTokenInfo().catch((error) => {
      console.warn("paywall: token info", error);
      return null;
    }),
  ]);
  state.eth = eth;
  if (token) state.token = token;
}

async function refreshChannel() {
  state.onchain = null;
  if (!state.channel) return;
  try {
    state.onchain = await state.client.getChannelInfo();
  } catch (error) {
    console.warn("paywall: channel info", error);
  }
  try {
    state.block = Number(hexToBigInt(await rpc("eth_blockNumber")));
  } catch {
    state.block = null;
  }
}

/** The stored channel to this receiver, else the one on chain (storage lost). */
async function loadChannel() {
  state.channel = await state.client.loadStoredChannel(info.receiver);
  state.sessionKeyLost = false;
  if (!state.channel) {
    try {
      state.channel = await state.client.loadChannelFromBlockchain(info.receiver);
    } catch (error) {
      console.warn("paywall: channel from the blockchain", error);
    }
  }
  if (state.channel) {
    state.sessionKeyLost = Boolean(state.channel.sessionKeyLost) ||
      (!state.channel.sessionKey && !sameAddress(state.channel.signer, state.channel.sender));
  }
  await refreshChannel();
  if (state.channel && state.onchain && state.onchain.state === "settled") {
    // Settled (or closed cooperatively) elsewhere: nothing left to use here.
    try { state.client.forgetStoredChannel(); } catch (error) { console.warn("paywall:", error); }
    state.channel = null;
    state.onchain = null;
    state.ended = "settled";
  }
}

// ---------------------------------------------------------------------------------------
// Talking to the receiver

/** A valid signature by an unrelated throwaway key: the receiver refuses it without a prompt. */
const PROBE_SIGNATURE =
  "0x0cf2228b1c2190ecd747ec2f5a1e6a4583f45a4dbba2d5474f6317e2c8ac8b1e13d6834653a6c01efa6b91007b356e49037dbdb26a53c05ea035d93e87587e361c";

/**
 * Asks the receiver about the channel with a proof it never accepts (balance zero, by a
 * stranger's key): the refusal says whether it knows the channel ("invalid-balance-proof" once
 * it does). Returns `{ reason }`; throws when the receiver cannot be reached.
 */
async function askReceiver(channel) {
  const response = await fetch(location.href, {
    method: "GET",
    cache: "no-store",
    credentials: "omit",
    headers: {
      Accept: "application/json",
      "RDN-Contract-Address": info.contract,
      "RDN-Receiver-Address": info.receiver,
      "RDN-Sender-Address": channel.sender,
      "RDN-Open-Block": String(channel.openBlockNumber),
      "RDN-Balance": "0",
      "RDN-Balance-Signature": PROBE_SIGNATURE,
    },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 402) {
    throw Object.assign(new Error(body.message || `the receiver answered ${response.status}`), { name: "ReceiverError" });
  }
  return { reason: body.reason || null };
}

/**
 * The receiver's last accepted proof for the current channel, resyncing the page's confirmed
 * balance: the library asks with a status request signed now (free with a session key, one
 * wallet signature otherwise). Returns `{ reason, balance, balanceSignature, adopted }`.
 */
async function syncWithReceiver() {
  const answer = await state.client.syncWithReceiver(location.href);
  state.channel = state.client.channel;
  const adopted = answer.balance !== null && adoptReceiverProof(answer.balance, answer.balanceSignature);
  return { ...answer, adopted };
}

/**
 * Adopts the receiver's last accepted proof as the channel's balance when the channel's
 * sender or signer provably signed it (or, before any payment, when it is no more than the
 * page's); returns whether it did.
 */
function adoptReceiverProof(balance, signature) {
  const channel = state.channel;
  if (!channel || balance === null) return false;
  if (!signature) {
    if (balance > channel.balance) return false;
    setConfirmedBalance(channel, balance);
    return true;
  }
  try {
    state.channel = state.client.resyncFromReceiver(balance, signature);
    local(channelKey(state.channel), null);
    return true;
  } catch (error) {
    console.warn("paywall: resync", error); // e.g. a top-up this browser does not know yet
  }
  try {
    if (state.client.verifyProof(balance, signature)) {
      setConfirmedBalance(state.channel, balance);
      return true;
    }
  } catch (error) {
    console.warn("paywall: verify", error);
  }
  return false;
}

/** After opening: waits until the receiver takes payments from the channel (no prompt). */
async function waitForReceiver(channel) {
  const until = Date.now() + RECEIVER_WAIT_MS;
  for (;;) {
    let answer = null;
    try {
      answer = await askReceiver(channel);
    } catch (error) {
      console.warn("paywall: receiver", error);
    }
    if (answer && answer.reason === "invalid-balance-proof") return true;
    if (Date.now() > until) return false;
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------
// Paying

function recordAutoPay() {
  const now = Date.now();
  const recent = (session(`${pathKey}:auto`) || []).filter((at) => now - at < AUTO_PAY_WINDOW_MS);
  if (recent.length >= AUTO_PAY_MAX) return false;
  session(`${pathKey}:auto`, [...recent, now]);
  return true;
}

/** Signs the confirmed balance plus the price, sets the cookies and reloads into the content. */
async function pay() {
  if (state.unsynced) {
    setStatus("asking the receiver for its last balance…", { busy: true, detail: "Sign the status request in your wallet." });
    await syncWithReceiver();
    state.unsynced = false;
  }
  const channel = state.channel;
  const price = info.price;
  const before = confirmedBalance();
  const balance = before + price;
  if (balance > deposit()) {
    showError("insufficient_deposit", MESSAGES.insufficient_deposit);
    state.attention = "topup";
    return false;
  }
  setStatus("paying…", { busy: true, detail: channel.sessionKey ? "" : "Sign the payment in your wallet." });
  const proof = await state.client.signNewProof(balance);
  state.channel = state.client.channel;
  // The page counts it once the receiver accepted it: afterNavigation() rolls back otherwise.
  session("pending", { key: channelKey(channel), before: before.toString(), after: balance.toString(), path: pathKey });
  setCookie("RDN-Contract-Address", info.contract, COOKIE_MAX_AGE);
  setCookie("RDN-Receiver-Address", info.receiver, COOKIE_MAX_AGE);
  setCookie("RDN-Sender-Address", proof.sender, COOKIE_MAX_AGE);
  setCookie("RDN-Open-Block", String(proof.openBlockNumber), COOKIE_MAX_AGE);
  setCookie("RDN-Balance", proof.balance.toString(), COOKIE_MAX_AGE);
  setCookie("RDN-Balance-Signature", proof.signature, COOKIE_MAX_AGE);
  setCookie("RDN-Payment", price.toString(), COOKIE_MAX_AGE);
  setStatus("reloading…", { busy: true });
  location.reload();
  return true;
}

/**
 * What the last navigation did with the page's payment, before deciding to pay again:
 * returns false (do not pay by yourself), "fresh" (a plain 402: paying is safe) or "retry"
 * (a refusal that one bounded retry can fix).
 */
async function afterNavigation(pending) {
  const channel = state.channel;
  const ours = pending && channel && pending.key === channelKey(channel);

  if (readCookies()["rdn-balance-signature"] !== undefined) {
    // The server expires payment cookies on every answer: these never reached it.
    for (const name of PAYMENT_COOKIES) setCookie(name, "", 0);
    if (ours) setConfirmedBalance(channel, BigInt(pending.before));
    showError("cookies_blocked", MESSAGES.cookies_blocked);
    return false;
  }

  if (!info.reason) {
    // A fresh 402: any earlier payment of this page went through. Start counting anew.
    session(`${pathKey}:retried`, null);
    session(`${pathKey}:waits`, null);
    if (ours) setConfirmedBalance(channel, BigInt(pending.after));
    return "fresh";
  }

  // The receiver refused a payment: say why, resync, and retry only where that can help.
  showError(info.reason, REFUSALS[info.reason] || info.message || info.reason);
  if (info.reason === "insufficient-funds") state.attention = "topup";
  if (!channel) return false;
  const unsynced = () => {
    if (UNSYNCED[info.reason]) showError(info.reason, UNSYNCED[info.reason]);
    return false;
  };
  if (ours) setConfirmedBalance(channel, BigInt(pending.before));
  // The refusal names the receiver's last proof only to a status request: ask with one (free
  // with a session key; with the wallet, Pay asks first, as it prompts anyway).
  let resynced = sameAddress(info.sender, channel.sender) && adoptReceiverProof(info.balance, info.balanceSignature);
  if (!resynced && UNSYNCED[info.reason] && state.channel.sessionKey) {
    resynced = await syncWithReceiver().then((answer) => answer.adopted, (error) => {
      console.warn("paywall: receiver", error);
      return false;
    });
  } else if (!resynced && UNSYNCED[info.reason]) {
    state.unsynced = true;
    showError(info.reason, MESSAGES.resync_in_wallet);
    return false;
  }
  if (!resynced) unsynced();
  if (!state.channel.sessionKey) return false; // every retry would prompt: leave it to the Pay button

  switch (info.reason) {
    case "invalid-amount":
    case "invalid-balance-proof": {
      if (!resynced || session(`${pathKey}:retried`)) return false;
      session(`${pathKey}:retried`, Date.now());
      return "retry";
    }
    case "insufficient-confirmations":
    case "nonexisting-channel": {
      // Just opened or topped up: the receiver has not caught up. Wait and retry a few times.
      const opened = local(`opened:${channelKey(channel)}`);
      if (info.reason === "nonexisting-channel" && !(opened && Date.now() - opened < RECEIVER_WAIT_MS)) return false;
      const waits = session(`${pathKey}:waits`) || 0;
      if (waits >= WAIT_RETRIES) return false;
      session(`${pathKey}:waits`, waits + 1);
      state.busy = true;
      render();
      setStatus("Waiting for the receiver to confirm the channel…", { busy: true });
      await sleep(WAIT_RETRY_MS);
      state.busy = false;
      return "retry";
    }
    default:
      return false;
  }
}

async function maybeAutoPay(pending) {
  const safe = await afterNavigation(pending);
  const channel = state.channel;
  const open = Boolean(channel) && channelState() === "open" && !wrongChain();
  if (open && info.price !== null && remaining() < info.price) {
    // Nothing is paid: say why (unless the receiver's refusal already does) and offer a top-up.
    if ($("error").hidden) showError("insufficient_deposit", MESSAGES.insufficient_deposit);
    state.attention = "topup";
    return;
  }
  if (!safe || !open || !channel.sessionKey || info.price === null) return;
  // `#manage` (any paywalled URL) keeps the page here to top up, close or settle.
  if (location.hash === "#manage") return;
  // Retries are bounded by their own counters; fresh payments by this guard against loops.
  if (safe === "fresh" && !recordAutoPay()) {
    showError("payment_loop", MESSAGES.payment_loop);
    return;
  }
  state.busy = true;
  try {
    if (await pay()) return; // reloading: stay busy
  } catch (error) {
    reportError(error);
  }
  state.busy = false;
  render();
}

// ---------------------------------------------------------------------------------------
// Actions

/** Runs a user action: one at a time, buttons disabled, status while it runs, errors shown. */
async function act(status, body, detail = "") {
  if (state.busy) return;
  state.busy = true;
  state.attention = null;
  clearError();
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  render();
  setStatus(status, { busy: true, detail });
  let reloading = false;
  try {
    reloading = (await body()) === "reloading";
  } catch (error) {
    reportError(error);
  } finally {
    if (!reloading) {
      state.busy = false;
      render();
    }
  }
}

const TX = "waiting for the transaction…";

async function connect() {
  await act("connecting…", async () => {
    const accounts = await state.client.requestAccounts();
    await useAccount(accounts[0] || null);
  }, "Approve the connection in your wallet.");
}

async function useAccount(account) {
  state.account = account;
  state.channel = null;
  state.onchain = null;
  state.ended = null;
  if (!account) return;
  await refreshWallet();
  if (wrongChain()) {
    showError("wrong_chain", wrongChainMessage(false));
    return;
  }
  await loadChannel();
  state.account = state.client.account || account; // checksummed once the library has it
  if (state.sessionKeyLost && channelState() === "open") {
    showError("session_key_lost", MESSAGES.session_key_lost);
    state.attention = "close";
  }
  state.payable = true;
}

async function switchChain() {
  await act("switching network…", async () => {
    await state.client.switchChain();
    await useAccount(state.account);
  }, "Approve the network switch in your wallet.");
}

async function openChannel(event) {
  event.preventDefault();
  await act(TX, async () => {
    const amount = parseUnits($("deposit").value, state.token.decimals, "deposit");
    if (state.token.balance !== undefined && amount > state.token.balance) {
      throw new InputError("deposit", `You hold ${formatUnits(state.token.balance, state.token.decimals)} ${state.token.symbol}; deposit at most that, or buy tokens first.`);
    }
    const sessionKey = $("session-key").checked;
    setStatus(TX, { busy: true, detail: `Opening a channel with ${formatUnits(amount, state.token.decimals)} ${state.token.symbol}: confirm the approval, then the channel, in your wallet.` });
    const channel = await state.client.openChannel({ receiver: info.receiver, deposit: amount, sessionKey });
    state.channel = channel;
    state.ended = null;
    local(`opened:${channelKey(channel)}`, Date.now());
    await Promise.all([refreshChannel(), refreshWallet()]);
    state.payable = false;
    render();
    setStatus("Waiting for the receiver to see the channel…", { busy: true });
    state.payable = await waitForReceiver(channel);
    if (!state.payable) {
      state.payable = true;
      showError("insufficient-confirmations", REFUSALS["insufficient-confirmations"]);
    } else {
      state.attention = "pay";
    }
  });
}

async function topUp(event) {
  event.preventDefault();
  await act(TX, async () => {
    const amount = parseUnits($("topup-amount").value, state.token.decimals, "topup-amount");
    setStatus(TX, { busy: true, detail: `Adding ${formatUnits(amount, state.token.decimals)} ${state.token.symbol}: confirm the approval, then the top-up, in your wallet.` });
    await state.client.topUpChannel(amount);
    state.channel = state.client.channel;
    local(`opened:${channelKey(state.channel)}`, Date.now());
    $("topup-amount").value = "";
    await Promise.all([refreshChannel(), refreshWallet()]);
    state.attention = "pay";
  });
}

async function payClicked() {
  await act("paying…", async () => ((await pay()) ? "reloading" : undefined));
}

/** The receiver's API base (RDN-Gateway-Path, default /api/1) on this origin. */
function receiverUrl() {
  return new URL(info.gatewayPath, location.origin).href;
}

/** Whether the library threw because the receiver will not co-sign: refused or unreachable, a bad answer, a wrong signature. */
function isCloseRefusal(error) {
  const { CloseRefused, InvalidResponse, InvalidSignature } = state.lib.ErrorCode;
  return [CloseRefused, InvalidResponse, InvalidSignature].includes(Number(error && error.code));
}

async function closeCooperatively() {
  await act("asking the receiver to co-sign the close…", async () => {
    const channel = state.channel;
    let refusal = null;
    const detail = channel.sessionKey
      ? "Closing with the receiver's signature: confirm in your wallet; the channel settles at once."
      : "Sign the close request, then confirm the close, in your wallet; the channel settles at once.";
    setStatus(TX, { busy: true, detail });
    try {
      // The library asks the receiver with a close request signed now (continuing from the
      // receiver's last balance when it differs), checks its signature, and closes.
      await state.client.closeChannel({ receiverUrl: receiverUrl() });
    } catch (error) {
      if (!isCloseRefusal(error)) throw error;
      refusal = error.message;
    }
    if (refusal !== null) {
      state.channel = state.client.channel;
      state.attention = "close-uncooperative";
      showError("close_refused", `The receiver did not co-sign the close (${refusal}). You can close without it: press “Close without the receiver”, then settle after the challenge period.`);
      return;
    }
    local(channelKey(channel), null);
    state.channel = null;
    state.onchain = null;
    state.ended = "settled";
    await refreshWallet();
  });
}

async function closeUncooperatively() {
  await act(TX, async () => {
    const channel = state.channel;
    let balance = confirmedBalance();
    if (channel.sessionKey) {
      // Close with what the receiver accepted, if it answers (it may be why we are here).
      try {
        const answer = await Promise.race([syncWithReceiver(), sleep(3_000).then(() => null)]);
        if (answer && answer.balance !== null) balance = confirmedBalance();
      } catch (error) {
        console.warn("paywall: receiver", error);
      }
    }
    setStatus(TX, { busy: true, detail: "Requesting the close on chain: confirm in your wallet. You can settle after the challenge period." });
    await state.client.closeChannel({ balance });
    state.channel = state.client.channel;
    await refreshChannel();
  });
}

async function settle() {
  await act(TX, async () => {
    const channel = state.channel;
    setStatus(TX, { busy: true, detail: "Settling: confirm in your wallet; the rest of your deposit comes back." });
    await state.client.settleChannel();
    local(channelKey(channel), null);
    state.channel = null;
    state.onchain = null;
    state.ended = "settled";
    await refreshWallet();
  });
}

async function buy() {
  await act(TX, async () => {
    await state.client.buyToken(BUY_WEI);
    await refreshWallet();
  }, "Buying 50 test tokens for 0.1 ETH: confirm in your wallet.");
}

async function forget() {
  await act("forgetting…", async () => {
    const channel = state.channel;
    if (channel) local(channelKey(channel), null);
    state.client.forgetStoredChannel();
    state.channel = null;
    state.onchain = null;
    state.ended = null;
    state.sessionKeyLost = false;
  });
}

/** While a channel is closing, follow the blocks (and the receiver's own close). */
async function poll() {
  if (!state.busy && state.client && state.channel && channelState() === "closing") {
    try {
      await refreshChannel();
      if (state.onchain && state.onchain.state === "settled") {
        try { state.client.forgetStoredChannel(); } catch (error) { console.warn("paywall:", error); }
        state.channel = null;
        state.onchain = null;
        state.ended = "settled";
      }
    } catch (error) {
      console.warn("paywall: poll", error);
    }
    if (!state.busy) render();
  }
  setTimeout(poll, POLL_MS);
}

// ---------------------------------------------------------------------------------------
// Start

async function main() {
  const pending = session("pending");
  session("pending", null);
  render();
  setStatus("loading…", { busy: true });

  $("connect").addEventListener("click", connect);
  $("switch-chain").addEventListener("click", switchChain);
  $("buy").addEventListener("click", buy);
  $("open-form").addEventListener("submit", openChannel);
  $("topup-form").addEventListener("submit", topUp);
  $("pay").addEventListener("click", payClicked);
  $("close").addEventListener("click", closeCooperatively);
  $("close-uncooperative").addEventListener("click", closeUncooperatively);
  $("settle").addEventListener("click", settle);
  $("forget").addEventListener("click", forget);

  if (!info.contract || !info.receiver || info.price === null || info.chainId === null) {
    showError("error", "This page lacks the receiver's payment details; reload it from the paywalled address.");
    setStatus("Cannot pay here.");
    return;
  }

  const injected = injectedWallet();
  if (injected) Object.assign(state, { provider: injected.provider, walletName: injected.name });
  try {
    state.lib = await loadLibrary();
  } catch (error) {
    console.error("paywall: library", error);
    render();
    showError("library_missing", MESSAGES.library_missing);
    return;
  }
  if (!state.provider) {
    const found = await discoveredWallet();
    if (!found) {
      render();
      showError("no_wallet", MESSAGES.no_wallet);
      return;
    }
    Object.assign(state, { provider: found.provider, walletName: found.name });
  }

  try {
    await createClient();
    await readTokenMetadata();
    const accounts = await rpc("eth_accounts").catch(() => []);
    render();
    setStatus("loading…", { busy: true });
    if (accounts && accounts[0]) await useAccount(accounts[0]);
  } catch (error) {
    reportError(error);
  }
  if (state.account && !wrongChain() && !state.sessionKeyLost) {
    await maybeAutoPay(pending);
  } else if (info.reason && !state.account) {
    showError(info.reason, REFUSALS[info.reason] || info.message || info.reason);
  }
  if (!state.busy) render();

  if (typeof state.provider.on === "function") {
    state.provider.on("accountsChanged", (accounts) => {
      if (state.busy) return;
      act("loading…", async () => {
        await createClient(); // the library remembers the first account it saw
        await useAccount((accounts && accounts[0]) || null);
      });
    });
    state.provider.on("chainChanged", () => {
      if (state.busy || !state.account) return;
      act("loading…", async () => useAccount(state.account));
    });
  }
  setTimeout(poll, POLL_MS);
}

// Back to this page from the content (back/forward cache): its state is stale, load it anew.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

main();
