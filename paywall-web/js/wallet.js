// @ts-check
// The wallet and the library: finding a wallet, loading uraiden-wasm, the client, and reading
// balances and the channel (no prompts here; the actions prompt).

import { quantity } from "./format.js";
import { info } from "./info.js";
import { client, sameAddress, state, wrongChain } from "./state.js";

/** @typedef {NonNullable<import("./state.js").PaywallState["provider"]>} Provider */

/**
 * `window.ethereum`, when a wallet injected it: the page's first choice.
 * @returns {{ provider: Provider, name: string } | null}
 */
export function injectedWallet() {
  const provider = /** @type {Provider | undefined} */ (/** @type {any} */ (window).ethereum);
  if (!provider || typeof provider.request !== "function") return null;
  return { provider, name: provider.isMetaMask ? "MetaMask (window.ethereum)" : "window.ethereum" };
}

/**
 * Without `window.ethereum`: the first wallet announced over EIP-6963 (the library asks).
 * @param {import("./state.js").Library} lib
 * @returns {Promise<{ provider: Provider, name: string } | null>}
 */
export async function discoveredWallet(lib) {
  const [wallet] = await lib.discoverWallets(500);
  if (wallet) return { provider: wallet.provider, name: `${wallet.info.name || "wallet"} (EIP-6963)` };
  const late = injectedWallet(); // some wallets inject late
  return late && { provider: late.provider, name: "window.ethereum" };
}

/**
 * Every wallet that announces itself over EIP-6963 (several extensions can live side by side).
 * @param {import("./state.js").Library} lib
 * @returns {Promise<{ provider: Provider, name: string }[]>}
 */
export async function announcedWallets(lib) {
  const wallets = await lib.discoverWallets(300);
  return wallets.map((wallet) => ({ provider: wallet.provider, name: wallet.info.name || wallet.info.rdns || "wallet" }));
}

/**
 * A wallet call the library does not make for the page (balances, block number).
 * @param {string} method
 * @param {unknown[]} [params]
 */
export async function rpc(method, params = []) {
  if (!state.provider) throw new Error("no wallet");
  return state.provider.request({ method, params });
}

export async function createClient() {
  if (!state.lib || !state.provider || !info.contract) throw new Error("the library, a wallet and a contract come first");
  state.client = await state.lib.MicroRaiden.create({
    provider: state.provider,
    contract: info.contract,
    token: info.token ?? undefined,
    chainId: info.chainId ?? undefined,
    receiver: info.receiver ?? undefined,
    chain: info.chain ?? undefined,
    pollIntervalMs: 500,
  });
}

/** The wallet's chain, ETH and token balances (none on another chain: they would mislead). */
export async function refreshWallet() {
  state.walletChainId = Number(quantity(await rpc("eth_chainId")));
  if (wrongChain()) {
    state.eth = null;
    if (state.token) state.token = { ...state.token, balance: undefined };
    return;
  }
  const [eth, token] = await Promise.all([
    rpc("eth_getBalance", [state.account, "latest"]).then(quantity).catch(() => null),
    client().getTokenInfo().catch((error) => {
      console.warn("paywall: token info", error);
      return null;
    }),
  ]);
  state.eth = eth;
  if (token) state.token = token;
}

/** The channel as the chain sees it, and the block number (for the challenge period). */
export async function refreshChannel() {
  state.onchain = null;
  if (!state.channel) return;
  try {
    state.onchain = await client().getChannelInfo();
  } catch (error) {
    console.warn("paywall: channel info", error);
  }
  try {
    state.block = Number(quantity(await rpc("eth_blockNumber")));
  } catch {
    state.block = null;
  }
}

/** Settled (or closed cooperatively) elsewhere, or here: nothing left to use. */
export function channelEnded() {
  try {
    client().forgetStoredChannel();
  } catch (error) {
    console.warn("paywall:", error);
  }
  state.channel = null;
  state.onchain = null;
  state.ended = "settled";
}

/** The stored channel to this receiver, else the one on chain (storage lost). */
export async function loadChannel() {
  const receiver = info.receiver ?? undefined;
  state.channel = await client().loadStoredChannel(receiver);
  state.sessionKeyLost = false;
  if (!state.channel) {
    try {
      state.channel = await client().loadChannelFromBlockchain(receiver);
    } catch (error) {
      console.warn("paywall: channel from the blockchain", error);
    }
  }
  const channel = state.channel;
  // Signed by a key this browser does not hold: the session key is gone.
  if (channel) state.sessionKeyLost = !channel.sessionKey && !sameAddress(channel.signer, channel.sender);
  await refreshChannel();
  if (state.channel && state.onchain && state.onchain.state === "settled") channelEnded();
}
