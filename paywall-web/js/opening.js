// @ts-check
// A channel being opened when the page loads: the library stored its session key before the
// opening transaction was sent, and the tab was reloaded or closed meanwhile. The page says so,
// waits for the transaction through the library and continues with the channel and its key.
// An opening whose transaction never came (stale) is shown with what to do; the library keeps
// its key in case it is mined after all, and a new channel may be opened beside it.

import { formatUnits } from "./format.js";
import { info } from "./info.js";
import { whileTransactionPending } from "./leaving.js";
import { markChannelChanged } from "./navigation.js";
import { sleep, waitForReceiver } from "./receiver.js";
import { client, lib, state } from "./state.js";
import { REFUSALS, render, reportError, setStatus, showError } from "./view.js";
import { refreshChannel, refreshWallet } from "./wallet.js";

/** @typedef {import("./uraiden-wasm/uraiden_wasm.js").PendingChannel} PendingChannel */

/** When the library calls an opening stale: its default receipt timeout, which the page's client keeps. */
const STALE_AFTER_MS = 600_000;

/** An opening that never came: opening a new channel replaces it (its key stays stored). */
let staleOpening = /** @type {PendingChannel | null} */ (null);

/** Whether "Open channel" must open beside a stale opening (`openChannel({ replace })`). */
export function replacesStaleOpening() {
  return staleOpening !== null;
}

/** @param {bigint} amount */
const tokens = (amount) => (state.token ? `${formatUnits(amount, state.token.decimals)} ${state.token.symbol}` : `${amount} base units`);

/** @param {PendingChannel} opening */
function transactionText(opening) {
  return opening.transactionHash ? `transaction ${opening.transactionHash}` : "its transaction was not sent when the page was left";
}

/** @param {PendingChannel} opening */
function showStale(opening) {
  staleOpening = opening;
  const since = new Date(opening.since).toLocaleString();
  showError(
    "opening_stale",
    `A channel opening with ${tokens(opening.deposit)}, started ${since} (${transactionText(opening)}), has not appeared on chain. ` +
      "Check the transaction in your wallet's activity: if it is still waiting, reload this page later; " +
      "if it was dropped or rejected, open a new channel below. This browser has kept the opening's session key, " +
      "so the channel is usable if the transaction is mined after all.",
  );
  state.attention = "open";
}

/**
 * On load, with no channel: continues an opening the page left pending (waits for it, then for
 * the receiver), or says that it is stale. Resolves to whether a channel came of it.
 */
export async function resumeOpening() {
  if (state.channel || state.busy) return false;
  const receiver = info.receiver ?? undefined;
  /** @type {PendingChannel[]} */
  let openings;
  try {
    openings = await client().pendingChannels(receiver);
  } catch (error) {
    console.warn("paywall: pending openings", error);
    return false;
  }
  const opening = openings.find((candidate) => !candidate.stale);
  if (!opening) {
    if (openings[0]) showStale(openings[0]);
    return false;
  }
  state.busy = true;
  render();
  setStatus("A channel is being opened…", {
    busy: true,
    detail: `Waiting for the opening of a channel with ${tokens(opening.deposit)} to be mined (${transactionText(opening)}). ` +
      "Its session key is stored in this browser: the page continues by itself.",
  });
  try {
    // Waited for until it turns stale, not longer: the user must not be kept waiting for a
    // transaction that never comes (its wallet prompt rejected, or the transaction dropped).
    const mined = client().waitForPendingChannel(receiver);
    const untilStale = Math.max(0, opening.since + STALE_AFTER_MS - Date.now());
    const channel = await whileTransactionPending(() => Promise.race([mined, sleep(untilStale).then(() => null)]));
    if (!channel) {
      showStale({ ...opening, stale: true });
      // Mined after all: start again with it, unless another channel was opened meanwhile.
      mined.then(() => state.channel || state.busy || location.reload(), () => {});
      return false;
    }
    await useOpenedChannel(channel);
  } catch (error) {
    const code = Number(/** @type {{ code?: unknown }} */ (error ?? {}).code);
    if (code === lib().ErrorCode.Timeout) showStale({ ...opening, stale: true });
    else reportError(error);
  } finally {
    state.busy = false;
    render();
  }
  return state.channel !== null;
}

/**
 * A channel just opened (here, or in a load that was left while it was pending) becomes the
 * page's: shown, then ready to pay once the receiver has seen it.
 * @param {import("./state.js").Channel} channel
 */
export async function useOpenedChannel(channel) {
  state.channel = channel;
  state.ended = null;
  state.sessionKeyLost = false;
  markChannelChanged();
  await Promise.all([refreshChannel(), refreshWallet()]);
  state.payable = false;
  render();
  setStatus("Waiting for the receiver to see the channel…", { busy: true });
  const seen = await waitForReceiver();
  state.payable = true;
  if (seen === false) showError("insufficient-confirmations", REFUSALS["insufficient-confirmations"]);
  else state.attention = "pay";
}
