// A wallet that does not know the receiver's chain (EIP-1193 error 4902) is not a dead end
// (issue 10, defect 9): the receiver publishes the chain's name and a public RPC URL
// (--chain-name, --chain-rpc-url), the page passes them to the library, and its switchChain()
// adds the chain with wallet_addEthereumChain, then switches.
//
//   node --test --test-concurrency=1 tests/browser/paywall-chain.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { installWallet, launchBrowser, reportFailures, startStack } from "./harness.mjs";
import { clickWhenReady, waitForIdle, waitForView } from "./paywall-page.mjs";

const CHAIN_NAME = "uraiden local chain";
const PUBLIC_RPC_URL = "https://rpc.uraiden.test/public";
const TIMEOUT = 180_000;

let stack;
const current = { stack: undefined, browser: undefined };

before(async () => {
  stack = await startStack({
    serverArgs: ["--chain-name", CHAIN_NAME, "--chain-rpc-url", PUBLIC_RPC_URL, "--chain-currency-symbol", "ETH"],
  });
  current.stack = stack;
});

after(async () => {
  await current.browser?.close();
  await stack?.stop();
});

test("the receiver publishes its chain's name and public RPC URL in the paywall info", { timeout: TIMEOUT }, async () => {
  const response = await fetch(`${stack.serverUrl}/echofix/info`, { headers: { Accept: "application/json" } });
  assert.equal(response.status, 402);
  const body = await response.json();
  assert.deepEqual(body.chain, {
    name: CHAIN_NAME,
    rpcUrls: [PUBLIC_RPC_URL],
    nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
  });
  assert.equal(body.chainId, stack.chainId);
});

test(
  "a wallet that does not know the chain (4902): Switch network adds it with the receiver's parameters, then the page is usable",
  { timeout: TIMEOUT },
  reportFailures(() => current, async () => {
    const sender = await stack.newSender(100n);
    const browser = await launchBrowser();
    current.browser = browser;
    const wallet = await installWallet(browser.context, {
      account: sender.address,
      privateKey: sender.privateKey,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
      walletChainId: 1,
      knowsChain: false,
    });
    const { page } = browser;
    assert.equal((await page.goto(`${stack.serverUrl}/echofix/chain`)).status(), 402);
    const wrong = await waitForIdle(page);
    assert.equal(wrong.error?.code, "wrong_chain", `the page says the wallet is elsewhere: ${JSON.stringify(wrong.error)}`);

    await clickWhenReady(page, "switch-chain");
    const view = await waitForView(
      page,
      (v) => !v.statusBusy && (v.error?.visible || v.buttons.open?.visible),
      { timeout: 30_000, message: "the page after Switch network" },
    );
    const added = wallet.requests.filter((r) => r.method === "wallet_addEthereumChain");
    assert.equal(added.length, 1, `one wallet_addEthereumChain request; the page shows ${JSON.stringify(view.error)}`);
    assert.deepEqual(added[0].params, [
      {
        chainId: `0x${stack.chainId.toString(16)}`,
        chainName: CHAIN_NAME,
        rpcUrls: [PUBLIC_RPC_URL],
        nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
      },
    ]);
    assert.ok(!added[0].error, `the wallet added the chain: ${JSON.stringify(added[0].error)}`);
    const ready = await waitForView(page, (v) => !v.statusBusy && v.buttons.open?.visible && v.buttons.open.enabled, {
      timeout: 30_000,
      message: "the page to be usable on the receiver's chain (Open channel offered)",
    });
    assert.ok(!ready.error?.visible, `no error left: ${JSON.stringify(ready.error)}`);
    assert.equal(ready.buttons["switch-chain"]?.visible, false, "no switch offered any more");
  }),
);
