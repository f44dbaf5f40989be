// @ts-check
// The µRaiden paywall page (SPEC §6): drives `uraiden-wasm` to open, top up, close and settle a
// channel, and pays for this page by navigation. It knows no protocol of its own: what to pay
// comes from the receiver's paywall info (<script id="rdn-paywall-info">, see info.js), and the
// library signs, writes the payment cookies and talks to the receiver.
//
// Modules, one concern each:
// - info.js: the receiver's paywall info;        - format.js: token amounts for people;
// - state.js: the page's state and what follows; - view.js: rendering, messages, errors;
// - wallet.js: wallet, library client, balances; - receiver.js: status requests to the receiver;
// - navigation.js: paying by navigation, and what this tab remembers across reloads;
// - opening.js: an opening left pending (reload); - lostkey.js: a channel whose session key is lost;
// - leaving.js: asking before leaving with a transaction pending;
// - actions.js: what the buttons do;              - paywall.js: this entry point.

import {
  buy,
  closeCooperatively,
  closeUncooperatively,
  connect,
  forget,
  openChannel,
  payClicked,
  poll,
  act,
  settle,
  switchChain,
  topUp,
  useAccount,
  useStoredChannel,
} from "./actions.js";
import { info } from "./info.js";
import { continueLostKeyChannel } from "./lostkey.js";
import { closingRequested, maybeAutoPay, takePendingPayment } from "./navigation.js";
import { resumeOpening } from "./opening.js";
import { channelState, payableWithoutWallet, state, wrongChain } from "./state.js";
import { $, MESSAGES, REFUSALS, render, reportError, setStatus, showError } from "./view.js";
import {
  announcedWallets,
  createClient,
  discoveredWallet,
  injectedWallet,
  loadStoredChannel,
  rememberedAccount,
  rpc,
} from "./wallet.js";

const POLL_MS = 3_000;

/** The library, its wasm compiled and instantiated. */
async function loadLibrary() {
  const lib = await import("./uraiden-wasm/uraiden_wasm.js");
  // Named from here: in the bundle (paywall.bundle.js, beside this file) the glue's own
  // import.meta.url is the bundle's.
  await lib.default({ module_or_path: new URL("./uraiden-wasm/uraiden_wasm_bg.wasm", import.meta.url) });
  return lib;
}

/** The wallet's accounts, without a prompt (`[]` when the site is not connected). */
async function walletAccountsNow() {
  return /** @type {string[]} */ (await rpc("eth_accounts").catch(() => []));
}

/** Follows the wallet's account and chain (while it is the page's wallet). */
function followWallet() {
  const provider = state.provider;
  if (!provider || typeof provider.on !== "function") return;
  provider.on("accountsChanged", (/** @type {string[] | undefined} */ accounts) => {
    if (state.busy || provider !== state.provider) return;
    act("loading…", async () => {
      await createClient(); // the library remembers the first account it saw
      await useAccount((accounts && accounts[0]) || null);
    });
  });
  provider.on("chainChanged", () => {
    if (state.busy || !state.account || provider !== state.provider) return;
    act("loading…", async () => useAccount(state.account));
  });
}

/**
 * With several EIP-6963 wallets in the browser, a chooser: the page starts with
 * `window.ethereum` (or the first announced) and switches when the user picks another.
 * @param {import("./state.js").Library} lib
 */
async function offerWalletChoice(lib) {
  const wallets = await announcedWallets(lib);
  if (wallets.length < 2) return;
  const select = /** @type {HTMLSelectElement} */ ($("wallet-choice"));
  select.replaceChildren(
    ...wallets.map((wallet, index) => Object.assign(document.createElement("option"), { value: String(index), textContent: wallet.name })),
  );
  const current = wallets.findIndex((wallet) => wallet.provider === state.provider);
  select.value = String(Math.max(current, 0));
  $("wallet-chooser").hidden = false;
  select.addEventListener("change", () => {
    const chosen = wallets[Number(select.value)];
    if (!chosen || chosen.provider === state.provider) return;
    act("switching wallet…", async () => {
      Object.assign(state, { provider: chosen.provider, walletName: `${chosen.name} (EIP-6963)`, account: null });
      await createClient();
      followWallet();
      const accounts = /** @type {string[]} */ (await rpc("eth_accounts").catch(() => []));
      await useAccount(accounts[0] || null);
    });
  });
}

async function main() {
  const pending = takePendingPayment();
  render();
  setStatus("loading…", { busy: true });

  $("connect").addEventListener("click", connect);
  $("switch-chain").addEventListener("click", switchChain);
  $("buy").addEventListener("click", buy);
  $("open-form").addEventListener("submit", openChannel);
  $("deposit").addEventListener("input", () => render());
  $("topup-form").addEventListener("submit", topUp);
  $("pay").addEventListener("click", payClicked);
  $("close").addEventListener("click", closeCooperatively);
  $("close-uncooperative").addEventListener("click", closeUncooperatively);
  $("settle").addEventListener("click", settle);
  $("forget").addEventListener("click", forget);
  $("other-channels").addEventListener("click", (event) => {
    const target = event.target;
    if (target instanceof HTMLButtonElement && target.dataset.openBlock) useStoredChannel(Number(target.dataset.openBlock));
  });

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
    const found = await discoveredWallet(state.lib);
    if (!found) {
      render();
      showError("no_wallet", MESSAGES.no_wallet);
      return;
    }
    Object.assign(state, { provider: found.provider, walletName: found.name });
  }

  // Pay first: a channel this browser holds with a session key pays with no wallet request.
  // The wallet is read (accounts, chain, balances, the channel on chain) only when the page stays.
  const remembered = rememberedAccount();
  let walletAccounts = null;
  let autoPayDone = false;
  try {
    const account = remembered ?? (walletAccounts = await walletAccountsNow())[0] ?? null;
    await createClient(account);
    const stored = account ? await loadStoredChannel() : null;
    // A channel this tab is closing: the chain says what it is, so the wallet path decides.
    if (stored && stored.sessionKey && !closingRequested(stored)) {
      autoPayDone = true; // what the last navigation did is handled; once is enough
      if (await maybeAutoPay(pending)) return; // reloading to pay
    }
  } catch (error) {
    reportError(error);
  }

  try {
    const accounts = walletAccounts ?? (await walletAccountsNow());
    await createClient(accounts[0] ?? null);
    render();
    setStatus("loading…", { busy: true });
    if (accounts[0]) await useAccount(accounts[0]);
  } catch (error) {
    reportError(error);
  }
  // A channel being opened when the page was left: continue it (ready to pay, not paid).
  const resumed = !autoPayDone && state.account && !wrongChain() && !state.channel && (await resumeOpening());
  if (autoPayDone) {
    // Handled above: the wallet only added what the page shows.
  } else if (state.account && !wrongChain() && state.sessionKeyLost && channelState() === "open") {
    await continueLostKeyChannel(pending);
  } else if (state.account && !state.sessionKeyLost && !resumed && (!wrongChain() || payableWithoutWallet())) {
    await maybeAutoPay(pending);
  } else if (info.reason && !state.account) {
    showError(info.reason, REFUSALS[info.reason] || info.message || info.reason);
  }
  if (!state.busy) render();
  followWallet();
  setTimeout(poll, POLL_MS);
  // Not while paying: the page is about to reload.
  if (!state.busy) await offerWalletChoice(state.lib).catch((error) => console.warn("paywall: wallets", error));
}

// Back to this page from the back/forward cache: its state is stale, load it anew.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

main();
