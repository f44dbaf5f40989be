// @ts-check
// The page's state in memory, and what follows from it (deposit, remaining, the channel's state).
// The channel's balance is the library's (what the receiver accepted, once it is in sync).

import { info } from "./info.js";

/** @typedef {typeof import("./uraiden-wasm/uraiden_wasm.js")} Library */
/** @typedef {import("./uraiden-wasm/uraiden_wasm.js").MicroRaiden} MicroRaiden */
/** @typedef {import("./uraiden-wasm/uraiden_wasm.js").Channel} Channel */
/** @typedef {import("./uraiden-wasm/uraiden_wasm.js").OnChainChannelInfo} OnChainChannelInfo */
/** @typedef {import("./uraiden-wasm/uraiden_wasm.js").Eip1193Provider} Eip1193Provider */
/** @typedef {import("./info.js").Address} Address */

/**
 * @typedef {object} TokenView what the page knows of the token (balance once connected)
 * @property {string} name
 * @property {string} symbol
 * @property {number} decimals
 * @property {bigint} [balance]
 */

/** @typedef {"none" | "open" | "closing" | "settled"} ChannelStateName */

/**
 * @typedef {object} PaywallState
 * @property {Library | null} lib the uraiden-wasm module
 * @property {(Eip1193Provider & { on?: (event: string, listener: (data: any) => void) => unknown, isMetaMask?: boolean }) | null} provider
 * @property {string | null} walletName
 * @property {MicroRaiden | null} client
 * @property {Address | null} account
 * @property {number | null} walletChainId
 * @property {TokenView | null} token
 * @property {bigint | null} eth
 * @property {Channel | null} channel
 * @property {Channel[]} otherChannels the account's other channels with this receiver stored in this browser (each with its key)
 * @property {OnChainChannelInfo | null} onchain
 * @property {number | null} block
 * @property {"settled" | null} ended set after this page closed or settled the channel
 * @property {boolean} sessionKeyLost
 * @property {boolean} unsynced a refusal left the balance unknown: Pay asks the receiver first
 * @property {bigint | null} payFrom the balance the receiver holds when the library's is ahead of it (a payment it did not take); set with navigation.js `continueFrom`
 * @property {boolean} busy
 * @property {boolean} payable the receiver has seen the channel (or we do not know it has not)
 * @property {number | null} repeatPaidAt when this page was last paid for, if that was moments ago (ms)
 * @property {string | null} attention a button id to highlight
 */

/** @type {PaywallState} */
export const state = {
  lib: null,
  provider: null,
  walletName: null,
  client: null,
  account: null,
  walletChainId: null,
  // Amounts in whole tokens from the first render: the receiver read the token's units.
  token: info.tokenUnits ? { name: info.tokenUnits.symbol, ...info.tokenUnits } : null,
  eth: null,
  channel: null,
  otherChannels: [],
  onchain: null,
  block: null,
  ended: null,
  sessionKeyLost: false,
  unsynced: false,
  payFrom: null,
  busy: false,
  payable: false,
  repeatPaidAt: null,
  attention: null,
};

/** @param {string | null | undefined} address */
export const lower = (address) => String(address || "").toLowerCase();

/** @param {string | null | undefined} a @param {string | null | undefined} b */
export const sameAddress = (a, b) => Boolean(a) && lower(a) === lower(b);

/** The channel's deposit, as the chain says when known. */
export function deposit() {
  if (state.onchain && state.onchain.state !== "settled") return state.onchain.deposit;
  return state.channel ? state.channel.deposit : 0n;
}

/** What is left to pay with (closing: what comes back, the deposit minus the closing balance). */
export function remaining() {
  const spent =
    state.onchain && state.onchain.state === "closing"
      ? state.onchain.closingBalance
      : state.payFrom ?? state.channel?.balance ?? 0n;
  const left = deposit() - spent;
  return left > 0n ? left : 0n;
}

/** @returns {ChannelStateName} */
export function channelState() {
  if (state.channel) return state.onchain ? state.onchain.state : "open";
  return state.ended || "none";
}

export function wrongChain() {
  return state.walletChainId !== null && info.chainId !== null && state.walletChainId !== info.chainId;
}

/** An open channel whose proofs a session key signs: paying needs neither the wallet nor its chain. */
export function payableWithoutWallet() {
  return Boolean(state.channel && state.channel.sessionKey) && channelState() === "open";
}

/** Blocks until the challenge period is over (settle is allowed strictly after the settle block). */
export function blocksUntilSettle() {
  if (!state.onchain || state.block === null) return Infinity;
  return Math.max(0, state.onchain.settleBlockNumber + 1 - state.block);
}

/** The library, once loaded (the page only calls this after loading it). */
export function lib() {
  if (!state.lib) throw new Error("the payment library is not loaded");
  return state.lib;
}

/** The connected client (the page only calls this after creating it). */
export function client() {
  if (!state.client) throw new Error("no wallet client yet");
  return state.client;
}

/** The current channel (the page only calls this where one is open). */
export function channel() {
  if (!state.channel) throw new Error("no channel");
  return state.channel;
}
