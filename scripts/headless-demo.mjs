// `npm run demo -- --headless`: the whole browser flow without a person, against the stack
// that scripts/demo.sh started. Headless Chromium with a test wallet holding the demo
// sender's key opens the paywalled page, deposits, opens a channel with a session key, reads
// several paid pages without any wallet prompt, closes cooperatively, and prints what it paid
// and the token balances on chain before and after.
//
// Environment (set by scripts/demo.sh): URAIDEN_DEMO_RPC, URAIDEN_DEMO_URL,
// URAIDEN_DEMO_SENDER_KEY, URAIDEN_DEMO_RECEIVER, URAIDEN_DEMO_TOKEN; optional
// URAIDEN_DEMO_SCREENSHOTS (a folder for a screenshot of each step).

import fs from "node:fs";
import path from "node:path";

import { createPublicClient, formatUnits, http, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { installWallet, launchBrowser } from "../tests/browser/harness.mjs";
import { clickWhenReady, waitForContent, waitForView } from "../tests/browser/paywall-page.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`headless-demo: ${name} is not set; run it through npm run demo -- --headless`);
  return value;
};
const rpcUrl = env("URAIDEN_DEMO_RPC");
const baseUrl = env("URAIDEN_DEMO_URL");
const senderKey = env("URAIDEN_DEMO_SENDER_KEY");
const receiver = env("URAIDEN_DEMO_RECEIVER");
const token = env("URAIDEN_DEMO_TOKEN");
const screenshots = process.env.URAIDEN_DEMO_SCREENSHOTS;

const DEPOSIT_TOKENS = "1";
const PAGES = ["/echofix/hello", "/echofix/world", "/echodyn/headless", "/echodyn/uraiden", "/echofix/bye"];
const STEP_TIMEOUT_MS = 60_000;
/** The demo's prices: /echofix/ costs 5 base units, /echodyn/<param> one per byte of param. */
const price = (resource) => (resource.startsWith("/echofix/") ? 5 : resource.split("/").pop().length);

const client = createPublicClient({ transport: http(rpcUrl) });
const erc20 = parseAbi(["function balanceOf(address) view returns (uint256)", "function decimals() view returns (uint8)"]);
const sender = privateKeyToAccount(senderKey).address;
const decimals = await client.readContract({ address: token, abi: erc20, functionName: "decimals" });
const balances = async () => ({
  sender: await client.readContract({ address: token, abi: erc20, functionName: "balanceOf", args: [sender] }),
  receiver: await client.readContract({ address: token, abi: erc20, functionName: "balanceOf", args: [receiver] }),
});
const tokens = (amount) => `${formatUnits(amount, decimals)} TKN (${amount} base units)`;
let shot = 0;
const snap = async (page, name) => {
  if (!screenshots) return;
  fs.mkdirSync(screenshots, { recursive: true });
  shot += 1;
  await page.screenshot({ path: path.join(screenshots, `${String(shot).padStart(2, "0")}-${name}.png`), fullPage: true });
};

const browser = await launchBrowser();
try {
  const chainId = await client.getChainId();
  const wallet = await installWallet(browser.context, { privateKey: senderKey, rpcUrl, chainId });
  const { page } = browser;
  const before = await balances();
  console.log(`sender ${sender}: ${tokens(before.sender)}; receiver ${receiver}: ${tokens(before.receiver)}`);

  // The first page: the paywall, a deposit, a channel; then "Pay" shows the content.
  await page.goto(`${baseUrl}${PAGES[0]}`);
  await clickWhenReady(page, "open");
  await snap(page, "paywall");
  await page.fill("#deposit", DEPOSIT_TOKENS);
  console.log(`opening a channel with a deposit of ${DEPOSIT_TOKENS} TKN (approve + createChannel in the wallet)…`);
  await page.click("#open");
  await waitForView(page, (view) => view.channelState === "open", { message: "the channel to open" });
  await snap(page, "channel-open");
  const promptsAfterOpen = wallet.prompts();
  await clickWhenReady(page, "pay");

  // Every page, the first included: paid with the session key, content shown.
  for (const [index, resource] of PAGES.entries()) {
    const expected = resource.split("/").pop();
    if (index > 0) await page.goto(`${baseUrl}${resource}`);
    await waitForContent(page, expected);
    console.log(`paid ${price(resource)} base units for ${resource} → ${JSON.stringify(expected)}`);
    await snap(page, `content-${index + 1}`);
  }
  const paid = PAGES.reduce((sum, resource) => sum + price(resource), 0);
  const promptsForPages = wallet.prompts() - promptsAfterOpen;
  console.log(`wallet prompts for ${PAGES.length} paid pages after opening: ${promptsForPages}`);
  if (promptsForPages !== 0) throw new Error("the session key should have signed every page without a prompt");

  // Back to a paywall page to close: `#manage` stops the page from paying by itself.
  await page.goto(`${baseUrl}/echofix/close-me#manage`);
  await waitForView(page, (view) => view.channelState === "open", { message: "the open channel" });
  await snap(page, "before-close");
  await clickWhenReady(page, "close");
  await waitForView(page, (view) => ["settled", "none"].includes(view.channelState), {
    message: "the channel to close",
  });
  await snap(page, "closed");
  const after = await balances();
  if (after.receiver - before.receiver !== BigInt(paid) || before.sender - after.sender !== BigInt(paid)) {
    throw new Error(`the close moved other amounts than the ${paid} base units paid`);
  }
  console.log(
    `closed cooperatively: the receiver got ${tokens(after.receiver - before.receiver)}, ` +
      `the sender spent ${tokens(before.sender - after.sender)}; the pages above cost ${paid} base units`,
  );
} finally {
  await browser.close();
}
