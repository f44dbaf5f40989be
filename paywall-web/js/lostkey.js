// @ts-check
// A channel whose session key this browser lost (its storage was cleared): the library continues
// it wallet-signed, as the contract accepts the sender's own signatures. What the browser then
// holds as its balance is only what the chain knows (or a payment the receiver may have
// refused), so the page asks the receiver for its verified last proof (one status signature in
// the wallet) whenever this tab does not know the balance the receiver holds, and shows the
// remaining deposit from it, or none while it is unknown: a refused payment is never shown as
// paid. It then says what to do: each view is a wallet signature now, and the channel cannot be
// topped up (whoever holds the lost key could spend the new deposit), so close it and open a
// new one.

import { info } from "./info.js";
import { remember } from "./memory.js";
import { channelName, continueFrom } from "./navigation.js";
import { syncWithReceiver } from "./receiver.js";
import { channel, lib, state } from "./state.js";
import { MESSAGES, REFUSALS, render, setStatus, showError } from "./view.js";

/** The balance the receiver is known to hold, per channel, in this tab (sessionStorage). */
const KNOWN = "accepted:";

/** @param {unknown} error */
function declined(error) {
  return Number(/** @type {{ code?: unknown }} */ (error ?? {}).code) === lib().ErrorCode.UserRejected;
}

/**
 * On load, for an open channel whose session key is lost: learns the receiver's balance when
 * this tab does not know it (one wallet signature), and explains the channel's state.
 * @param {import("./navigation.js").PendingPayment | null} pending the payment the previous load sent
 */
export async function continueLostKeyChannel(pending) {
  const name = channelName(channel());
  const refusal = info.reason;
  const unsent = lib().hasUnsentPaymentCookies();
  if (unsent) lib().clearPaymentCookies(); // the receiver never saw them
  const balance = () => channel().balance.toString();

  // A payment sent since the tab last knew the balance was taken when the receiver answered
  // with the content (no refusal, and the cookies went out).
  if (pending && pending.channel === name && !refusal && !unsent) remember(KNOWN + name, balance());
  const inSync = !refusal && !unsent && remember(KNOWN + name) === balance();

  /** @type {unknown} */
  let failed = null;
  if (!inSync) {
    state.busy = true;
    render();
    setStatus("asking the receiver for this channel's balance…", {
      busy: true,
      detail: "Sign the status request in your wallet: it proves the channel is yours and pays nothing; the receiver answers with the balance it holds.",
    });
    try {
      await syncWithReceiver();
      state.unsynced = false;
      continueFrom(null);
      remember(KNOWN + name, balance());
    } catch (error) {
      console.warn("paywall: receiver", error);
      state.unsynced = true; // Remaining is unknown; Pay asks the receiver first
      failed = error;
    } finally {
      state.busy = false;
    }
  }

  const notes = [];
  if (unsent) notes.push(MESSAGES.cookies_blocked);
  else if (refusal) notes.push(`The receiver refused the last payment: ${REFUSALS[refusal] || info.message || refusal}`);
  if (failed) {
    notes.push(
      declined(failed)
        ? "You declined the status request, so the remaining deposit is not known yet: Pay asks the receiver first (one more signature)."
        : `The receiver's balance could not be read (${String(/** @type {{ message?: unknown }} */ (failed).message ?? failed)}): Pay asks it first.`,
    );
  }
  showError("session_key_lost", [...notes, MESSAGES.session_key_lost].join(" "));
  state.attention = "close";
}
