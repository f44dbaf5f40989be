// An x402 app as its developers write it: @x402/core's x402Client and @x402/fetch's
// wrapFetchWithPayment, with uraiden-wasm's scheme client registered, or, as an app that
// does not know uraiden, with @x402/evm's `exact` scheme only. Bundled with esbuild at test
// time from the real npm packages (tests/browser/x402-app.test.mjs), served from its own
// origin, and driven by the test through `window.x402app`.
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client, x402HTTPClient } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import init, { MicroRaiden } from "uraiden-wasm/web";

let raiden;
let client;
let fetchWithPayment;

/** `fetchWithPayment(url)` as the app sees it: status, body and the decoded PAYMENT-RESPONSE, or what it threw. */
async function pay(url) {
  try {
    const response = await fetchWithPayment(url);
    const settled = response.headers.get("PAYMENT-RESPONSE");
    return {
      status: response.status,
      body: await response.text(),
      settlement: settled ? decodePaymentResponseHeader(settled) : null,
    };
  } catch (error) {
    return { thrown: String(error?.message ?? error) };
  }
}

window.x402app = {
  /**
   * The app with the uraiden scheme: what README's "Paying from an x402 app" shows. Without
   * `allowedAssets`, x402Client keeps its default spend controls (known USD assets only).
   */
  async withUraiden({ contract, deposit, maxAmountPerPayment, allowedAssets = true, pollIntervalMs }) {
    await init();
    raiden = await MicroRaiden.create({ contract, pollIntervalMs });
    const scheme = raiden.x402Scheme({ deposit: BigInt(deposit) });
    client = new x402Client().register(scheme.network, scheme);
    if (allowedAssets) {
      client.setSpendControls({ allowedAssets: [{ network: scheme.network, asset: raiden.token, maxAmountPerPayment }] });
    }
    fetchWithPayment = wrapFetchWithPayment(fetch, client);
    return { scheme: scheme.scheme, network: scheme.network };
  },

  /** The same x402 client, knowing only @x402/evm's `exact` scheme (its signer is never asked). */
  async withoutUraiden() {
    client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(generatePrivateKey()) });
    fetchWithPayment = wrapFetchWithPayment(fetch, client);
  },

  pay,

  /** A 402 as x402HTTPClient reads it (no payment attempted). */
  async offer(url) {
    const response = await fetch(url);
    const required = new x402HTTPClient(client).getPaymentRequiredResponse((name) => response.headers.get(name));
    return { status: response.status, required };
  },

  /** The uraiden client's channel, amounts as strings. */
  channel() {
    const channel = raiden?.channel;
    return channel && { ...channel, deposit: String(channel.deposit), balance: String(channel.balance) };
  },

  /** Closes the channel with the receiver's signature (its API at `receiverUrl`). */
  async close(receiverUrl) {
    const closed = await raiden.closeChannel({ receiverUrl });
    return { cooperative: closed.cooperative, balance: String(closed.balance) };
  },
};
