// Compile-time check (never run, never published) that the x402 scheme client is what
// @x402/core's x402Client registers, with @x402/core's own declarations and no cast: an x402
// app (wrapFetchWithPayment of @x402/fetch) pays a uraiden receiver in these few lines.
// scripts/build-wasm.sh runs `tsc -p wasm-client/npm/tsconfig.x402.json`.
import { wrapFetchWithPayment, x402Client, type SchemeNetworkClient } from "@x402/fetch";
import { MicroRaiden } from "uraiden-wasm";

export async function app(): Promise<Response> {
  const raiden = await MicroRaiden.create({ contract: "0x0000000000000000000000000000000000000001" });
  const scheme = raiden.x402Scheme({ deposit: 500n });
  const registered: SchemeNetworkClient = scheme;
  void registered;
  const client = new x402Client()
    .register(scheme.network, scheme)
    .setSpendControls({ allowedAssets: [{ network: scheme.network, asset: raiden.token, maxAmountPerPayment: "10" }] });
  const fetchWithPayment = wrapFetchWithPayment(fetch, client);
  return fetchWithPayment("https://shop.example/echofix/hello");
}
