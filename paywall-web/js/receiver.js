// @ts-check
// Talking to the receiver about the channel, through the library's status request (signed now:
// free with a session key, one wallet signature otherwise): its last accepted proof, and
// whether it knows the channel yet.

import { channel, client, state } from "./state.js";

/** After opening: how long to wait for the receiver to see the channel. */
const RECEIVER_WAIT_MS = 60_000;
const RECEIVER_POLL_MS = 500;

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the receiver for the channel's last accepted proof and continues from it when the
 * channel's sender or signer signed it. Resolves to the receiver's answer.
 */
export async function syncWithReceiver() {
  const answer = await client().syncWithReceiver(location.href);
  state.channel = client().channel;
  return answer;
}

/**
 * Adopts a last proof the receiver named in this page's paywall info, when it is provably
 * ours; returns whether it did.
 * @param {bigint | null} balance
 * @param {string | null} signature
 */
export function adoptReceiverProof(balance, signature) {
  if (!state.channel || balance === null || !signature) return false;
  try {
    state.channel = client().resyncFromReceiver(balance, signature);
    return true;
  } catch (error) {
    console.warn("paywall: resync", error); // e.g. a top-up this browser does not know yet
    return false;
  }
}

/**
 * Waits until the receiver takes payments from the current channel: it answers the status
 * request with no refusal once it has seen the channel confirmed. Only with a session key
 * (each wallet-signed request would prompt); returns whether the receiver is ready, or
 * `null` when the page cannot ask without a prompt.
 */
export async function waitForReceiver() {
  if (!channel().sessionKey) return null;
  const until = Date.now() + RECEIVER_WAIT_MS;
  for (;;) {
    try {
      const answer = await syncWithReceiver();
      if (answer.reason === null) return true;
    } catch (error) {
      console.warn("paywall: receiver", error);
    }
    if (Date.now() > until) return false;
    await sleep(RECEIVER_POLL_MS);
  }
}
