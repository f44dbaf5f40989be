// @ts-check
// What the buttons do: connect, switch network, open, top up, pay, close, settle, buy, forget.
// One action at a time, buttons disabled while it runs, errors shown.

import { formatUnits, InputError, parseUnits } from "./format.js";
import { info } from "./info.js";
import { whileTransactionPending } from "./leaving.js";
import { continueFrom, markChannelChanged, markChannelClosing, pay, restoreContinueFrom } from "./navigation.js";
import { replacesStaleOpening, useOpenedChannel } from "./opening.js";
import { sleep, syncWithReceiver } from "./receiver.js";
import { channel, channelState, client, lib, payableWithoutWallet, remaining, sameAddress, state, wrongChain } from "./state.js";
import { channelEnded, loadChannel, loadOtherChannels, refreshChannel, refreshWallet, rememberAccount } from "./wallet.js";
import {
  BUY_WEI,
  clearError,
  input,
  MESSAGES,
  render,
  reportError,
  setStatus,
  showError,
  wrongChainMessage,
} from "./view.js";

const TX = "waiting for the transaction…";
const POLL_MS = 3_000;

/**
 * Runs a user action: one at a time, buttons disabled, status while it runs, errors shown.
 * @param {string} status
 * @param {() => Promise<unknown>} body resolves to "reloading" when the page navigates away
 * @param {string} [detail]
 */
export async function act(status, body, detail = "") {
  if (state.busy) return;
  state.busy = true;
  state.attention = null;
  clearError();
  for (const field of document.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
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

/** @param {bigint} amount */
const tokens = (amount) => (state.token ? `${formatUnits(amount, state.token.decimals)} ${state.token.symbol}` : `${amount} base units`);

function decimals() {
  if (!state.token) throw new Error("the token's decimals are not known yet");
  return state.token.decimals;
}

/**
 * Makes `account` the page's account: its balances and its channel to this receiver.
 * @param {string | null} account
 */
export async function useAccount(account) {
  state.account = /** @type {import("./state.js").Address | null} */ (account);
  state.channel = null;
  state.payFrom = null;
  state.onchain = null;
  state.ended = null;
  if (!account) return;
  rememberAccount(account);
  await refreshWallet();
  // On another chain the stored channel still shows (a session key pays without the wallet);
  // what needs the chain waits for a switch.
  await loadChannel();
  state.account = /** @type {import("./state.js").Address} */ (client().account || account); // checksummed once the library has it
  if (wrongChain() && !payableWithoutWallet()) {
    showError("wrong_chain", wrongChainMessage(false));
    return;
  }
  if (state.sessionKeyLost && channelState() === "open") {
    showError("session_key_lost", MESSAGES.session_key_lost);
    state.attention = "close";
  }
  state.payable = true;
}

export async function connect() {
  await act("connecting…", async () => {
    const accounts = await client().requestAccounts();
    await useAccount(accounts[0] || null);
  }, "Approve the connection in your wallet.");
}

export async function switchChain() {
  const detail = info.chain
    ? `Approve the network switch in your wallet (it may first ask to add ${info.chain.name}).`
    : "Approve the network switch in your wallet.";
  await act("switching network…", async () => {
    await client().switchChain();
    await useAccount(state.account);
  }, detail);
}

/** @param {Event} event */
export async function openChannel(event) {
  event.preventDefault();
  await act(TX, async () => {
    const amount = parseUnits(input("deposit").value, decimals(), "deposit");
    const balance = state.token?.balance;
    if (balance !== undefined && amount > balance) {
      throw new InputError("deposit", `You hold ${tokens(balance)}; deposit at most that, or buy tokens first.`);
    }
    const sessionKey = input("session-key").checked;
    setStatus(TX, { busy: true, detail: `Opening a channel with ${tokens(amount)}: confirm the approval, then the channel, in your wallet.` });
    const options = { receiver: info.receiver ?? undefined, deposit: amount, sessionKey, replace: replacesStaleOpening() };
    await useOpenedChannel(await whileTransactionPending(() => client().openChannel(options)));
  });
}

/** @param {Event} event */
export async function topUp(event) {
  event.preventDefault();
  await act(TX, async () => {
    const amount = parseUnits(input("topup-amount").value, decimals(), "topup-amount");
    setStatus(TX, { busy: true, detail: `Adding ${tokens(amount)}: confirm the approval, then the top-up, in your wallet.` });
    state.channel = await whileTransactionPending(() => client().topUpChannel(amount));
    markChannelChanged();
    input("topup-amount").value = "";
    await Promise.all([refreshChannel(), refreshWallet()]);
    state.attention = "pay";
  });
}

export async function payClicked() {
  await act("paying…", async () => ((await pay()) ? "reloading" : undefined));
}

/** The receiver's API base (its gateway path) on this origin. */
function receiverUrl() {
  return new URL(info.gatewayPath, location.origin).href;
}

/**
 * Whether the library threw because the receiver will not co-sign: refused or unreachable, a
 * bad answer, a wrong signature.
 * @param {unknown} error
 */
function isCloseRefusal(error) {
  const { CloseRefused, InvalidResponse, InvalidSignature } = lib().ErrorCode;
  const code = Number(/** @type {{ code?: unknown }} */ (error ?? {}).code);
  return [CloseRefused, InvalidResponse, InvalidSignature].includes(code);
}

export async function closeCooperatively() {
  await act("asking the receiver to co-sign the close…", async () => {
    const detail = channel().sessionKey
      ? "Closing with the receiver's signature: confirm in your wallet; the channel settles at once."
      : "Sign the close request (it proves to the receiver that you own the channel), then confirm the close, in your wallet; the channel settles at once.";
    setStatus(TX, { busy: true, detail });
    try {
      // The library asks the receiver with a close request signed now (continuing from the
      // receiver's last balance when it differs), checks its signature, and closes.
      await whileTransactionPending(() => client().closeChannel({ receiverUrl: receiverUrl() }));
    } catch (error) {
      if (!isCloseRefusal(error)) throw error;
      state.channel = client().channel;
      state.attention = "close-uncooperative";
      const reason = /** @type {{ message?: unknown }} */ (error ?? {}).message;
      showError("close_refused", `The receiver did not co-sign the close (${reason}). You can close without it: press “Close without the receiver”, then settle after the challenge period.`);
      return;
    }
    state.channel = null;
    state.onchain = null;
    state.ended = "settled";
    await refreshWallet();
  });
}

export async function closeUncooperatively() {
  await act(TX, async () => {
    if (channel().sessionKey) {
      // Close with what the receiver accepted, if it answers (it may be why we are here).
      try {
        const answer = await Promise.race([syncWithReceiver(), sleep(3_000).then(() => null)]);
        if (answer && answer.balance !== null) continueFrom(null); // the library holds the receiver's balance
      } catch (error) {
        console.warn("paywall: receiver", error);
      }
    }
    setStatus(TX, { busy: true, detail: "Requesting the close on chain: confirm in your wallet. You can settle after the challenge period." });
    const balance = state.payFrom ?? channel().balance;
    await whileTransactionPending(() => client().closeChannel({ balance }));
    markChannelClosing();
    continueFrom(null);
    state.channel = client().channel;
    await refreshChannel();
  });
}

export async function settle() {
  await act(TX, async () => {
    setStatus(TX, { busy: true, detail: "Settling: confirm in your wallet; the rest of your deposit comes back." });
    await whileTransactionPending(() => client().settleChannel());
    state.channel = null;
    state.onchain = null;
    state.ended = "settled";
    await refreshWallet();
  });
}

export async function buy() {
  await act(TX, async () => {
    await whileTransactionPending(() => client().buyToken(BUY_WEI));
    await refreshWallet();
  }, "Buying 50 test tokens for 0.1 ETH: confirm in your wallet.");
}

/**
 * Makes the stored channel opened in `openBlockNumber` the page's (to pay from, top up, close).
 * @param {number} openBlockNumber
 */
export async function useStoredChannel(openBlockNumber) {
  await act("loading…", async () => {
    state.channel = await client().loadStoredChannel(info.receiver ?? undefined, openBlockNumber);
    restoreContinueFrom();
    state.unsynced = false;
    state.ended = null;
    state.repeatPaidAt = null;
    const shown = state.channel;
    // Signed by a key this browser does not hold: the session key is gone (as loadChannel says).
    state.sessionKeyLost = shown !== null && !shown.sessionKey && !sameAddress(shown.signer, shown.sender);
    await refreshChannel();
    if (state.channel && state.onchain && state.onchain.state === "settled") channelEnded();
    await loadOtherChannels();
  });
}

export async function forget() {
  // An open channel's session key is gone for good once forgotten (the chain keeps no copy):
  // the channel is then only reachable wallet-signed, a prompt per view and no top-ups. Ask.
  const current = state.channel;
  if (current?.sessionKey && channelState() === "open" && !window.confirm(forgetOpenWarning())) return;
  await act("forgetting…", async () => {
    client().forgetStoredChannel({ force: true }); // asked above when it was still open
    await loadOtherChannels();
    state.channel = null;
    state.onchain = null;
    state.ended = null;
    state.sessionKeyLost = false;
  });
}

function forgetOpenWarning() {
  return `This channel is still open, with ${tokens(remaining())} left. Forgetting it deletes its session key from this browser for good: ` +
    "the deposit stays yours on chain, but the channel can then only be paid from with a wallet signature per view, and never topped up. " +
    "Close the channel instead to get the rest back. Forget it anyway?";
}

/** While a channel is closing, follows the blocks (and the receiver's own close). */
export async function poll() {
  if (!state.busy && state.client && state.channel && channelState() === "closing") {
    try {
      await refreshChannel();
      if (state.onchain && state.onchain.state === "settled") channelEnded();
    } catch (error) {
      console.warn("paywall: poll", error);
    }
    if (!state.busy) render();
  }
  setTimeout(poll, POLL_MS);
}
