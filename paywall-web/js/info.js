// @ts-check
// What the receiver told this page: the JSON it embeds in the 402 page as
// <script id="rdn-paywall-info" type="application/json"> (price, receiver, token, contract,
// chainId, gatewayPath, the chain's parameters when the operator published them, and for a
// refused payment its reason and message).

/** @typedef {`0x${string}`} Address */

/**
 * How a wallet that does not know the chain can add it (EIP-3085), as the receiver publishes it.
 * @typedef {import("./uraiden-wasm/uraiden_wasm.js").ChainParameters} ChainParameters
 */

/**
 * @typedef {object} PaywallInfo
 * @property {string | null} reason the refusal's code when the receiver refused a payment
 * @property {string | null} message the receiver's words for it
 * @property {bigint | null} price base units per view
 * @property {Address | null} receiver
 * @property {Address | null} token
 * @property {Address | null} contract the channel manager
 * @property {number | null} chainId
 * @property {string} gatewayPath the receiver's API path on this origin
 * @property {ChainParameters | null} chain
 * @property {{ symbol: string, decimals: number } | null} tokenUnits the token's symbol and decimals, read by the receiver
 * @property {Address | null} sender the channel's sender, when the receiver named its last proof
 * @property {bigint | null} balance that proof's balance
 * @property {`0x${string}` | null} balanceSignature that proof's signature
 */

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** @param {unknown} value @returns {Address | null} */
function address(value) {
  return typeof value === "string" && ADDRESS.test(value) ? /** @type {Address} */ (value) : null;
}

/** @param {unknown} value */
function amount(value) {
  return /^\d+$/.test(String(value)) ? BigInt(String(value)) : null;
}

/** @param {unknown} value @returns {ChainParameters | null} */
function chainParameters(value) {
  if (!value || typeof value !== "object") return null;
  const chain = /** @type {Record<string, unknown>} */ (value);
  const rpcUrls = Array.isArray(chain.rpcUrls) ? chain.rpcUrls.filter((url) => typeof url === "string") : [];
  if (typeof chain.name !== "string" || rpcUrls.length === 0) return null;
  /** @type {ChainParameters} */
  const parameters = { name: chain.name, rpcUrls };
  const currency = /** @type {Record<string, unknown> | undefined} */ (chain.nativeCurrency);
  if (currency && typeof currency.symbol === "string") {
    parameters.nativeCurrency = {
      name: typeof currency.name === "string" ? currency.name : currency.symbol,
      symbol: currency.symbol,
      decimals: typeof currency.decimals === "number" ? currency.decimals : 18,
    };
  }
  return parameters;
}

/** @param {unknown} value @returns {{ symbol: string, decimals: number } | null} */
function tokenUnits(value) {
  if (!value || typeof value !== "object") return null;
  const units = /** @type {Record<string, unknown>} */ (value);
  const decimals = Number(units.decimals);
  if (typeof units.symbol !== "string" || !Number.isInteger(decimals) || decimals < 0 || decimals > 77) return null;
  return { symbol: units.symbol, decimals };
}

/** @returns {Record<string, unknown>} */
function embedded() {
  const element = document.getElementById("rdn-paywall-info");
  if (!element) return {};
  try {
    return JSON.parse(element.textContent || "{}") || {};
  } catch {
    return {};
  }
}

/** @returns {PaywallInfo} */
export function readPaywallInfo() {
  const json = embedded();
  const chainId = Number(json.chainId);
  const signature = json.balanceSignature;
  return {
    reason: typeof json.reason === "string" ? json.reason : null,
    message: typeof json.message === "string" ? json.message : null,
    price: amount(json.price),
    receiver: address(json.receiver),
    token: address(json.token),
    contract: address(json.contract),
    chainId: Number.isSafeInteger(chainId) && chainId > 0 ? chainId : null,
    gatewayPath: typeof json.gatewayPath === "string" && json.gatewayPath ? json.gatewayPath : "/api/1",
    chain: chainParameters(json.chain),
    tokenUnits: tokenUnits(json.tokenUnits),
    sender: address(json.sender),
    balance: amount(json.balance),
    balanceSignature:
      typeof signature === "string" && /^0x[0-9a-fA-F]+$/.test(signature) ? /** @type {`0x${string}`} */ (signature) : null,
  };
}

/** This page's paywall info, read once. */
export const info = readPaywallInfo();
