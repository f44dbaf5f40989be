// @ts-check
// The wallet and the library: finding a wallet, loading uraiden-wasm, the client, and reading
// balances and the channel (no prompts here; the actions prompt). The wallet is asked only for
// what the user needs: a payment with the session key needs nothing from it, so the page
// remembers (in this tab) which account it last used and pays from that account's stored
// channel before it reads the wallet, and reads the chain only on the wallet's own chain.

import { quantity } from "./format.js";
import { info } from "./info.js";
import { remember } from "./memory.js";
import { restoreContinueFrom } from "./navigation.js";
import { client, lower, sameAddress, state, wrongChain } from "./state.js";

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

/** Where this tab remembers the account it last used with this receiver. */
const accountKey = () => `account:${info.chainId}:${lower(info.contract)}:${lower(info.receiver)}`;

/** The account this tab last used with this receiver, if any (no wallet request). */
export function rememberedAccount() {
  const account = /** @type {string | null} */ (remember(accountKey()));
  return typeof account === "string" && /^0x[0-9a-fA-F]{40}$/.test(account) ? account : null;
}

/** @param {string} account */
export function rememberAccount(account) {
  remember(accountKey(), account);
}

/**
 * The wallet as the library sees it when the page already knows the account: `eth_accounts` is
 * answered with it (the library asks that to find the stored channel), everything else goes to
 * the wallet.
 * @param {Provider} provider
 * @param {string} account
 * @returns {import("./state.js").Eip1193Provider}
 */
function withKnownAccount(provider, account) {
  return {
    request: (args) => (args.method === "eth_accounts" ? Promise.resolve([account]) : provider.request(args)),
  };
}

/**
 * A new library client for the page's wallet. With `account` (the one the page knows it uses)
 * the library finds that account's stored channel without asking the wallet.
 * @param {string | null} [account]
 */
export async function createClient(account = null) {
  if (!state.lib || !state.provider || !info.contract) throw new Error("the library, a wallet and a contract come first");
  state.client = await state.lib.MicroRaiden.create({
    provider: account ? withKnownAccount(state.provider, account) : state.provider,
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

/** The channel as the chain sees it, and the block number (for the challenge period); nothing
 * on another chain (the wallet would read that chain). */
export async function refreshChannel() {
  state.onchain = null;
  if (!state.channel || wrongChain()) return;
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
    client().forgetStoredChannel({ force: true }); // ended: its key has nothing left to sign
  } catch (error) {
    console.warn("paywall:", error);
  }
  state.channel = null;
  state.onchain = null;
  state.ended = "settled";
}

/** The channel stored in this browser for the client's account (no wallet request once the
 * library knows the account). */
export async function loadStoredChannel() {
  state.channel = await client().loadStoredChannel(info.receiver ?? undefined);
  restoreContinueFrom();
  return state.channel;
}

/** The stored channel to this receiver, else the one on chain (storage lost; only on the
 * receiver's chain). */
export async function loadChannel() {
  const receiver = info.receiver ?? undefined;
  await loadStoredChannel();
  state.sessionKeyLost = false;
  if (!state.channel && !wrongChain()) {
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
  await loadOtherChannels();
}

/**
 * The account's other channels with this receiver that this browser stores (a second channel
 * opened beside a stale opening that was mined after all, or by another app of this origin):
 * the page shows one channel at a time and must not leave the others, and their deposits, out
 * of reach.
 */
export async function loadOtherChannels() {
  state.otherChannels = [];
  try {
    const stored = await client().storedChannels(info.receiver ?? undefined);
    const current = state.channel?.openBlockNumber;
    state.otherChannels = stored.filter((channel) => channel.openBlockNumber !== current);
  } catch (error) {
    console.warn("paywall: stored channels", error);
  }
}
