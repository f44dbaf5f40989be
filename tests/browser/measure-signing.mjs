#!/usr/bin/env node
// How fast does the browser sign a micropayment with a session key?
//
// Brings up the stack (anvil, contracts, uraiden-server; tests/browser/harness.mjs), loads the
// paywall's wasm (/js/uraiden-wasm/uraiden_wasm.js, as served by the server) in headless
// Chromium, opens a session-key channel through the injected test wallet, then times in the
// page (performance.now()):
//   - N × incrementBalanceAndSign(1n)  (session key; includes the localStorage record)
//   - N × signNewProof(balance)        (session key)
//   - N × balanceProofTypedData(…)     (building the EIP-712 JSON only, no signature)
//   - M × eth_signTypedData_v4 through the wallet (the path without a session key; here a
//     Playwright binding + viem in Node, no human: a lower bound for a real wallet prompt)
//
//   node tests/browser/measure-signing.mjs [--n 2000] [--wallet-n 100] [--json]
//
// Per-call percentiles are limited by the browser's timer resolution (Chromium coarsens
// performance.now() to 100 µs on pages that are not cross-origin isolated); the mean comes
// from the total time of the batch and is exact.
//
// The bring-up is reusable (a headless demo can start from it): `openSessionChannel` and
// `loadLibrary` are exported.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { installWallet, launchBrowser, startStack } from "./harness.mjs";

/** The npm package's web build (wasm-client/pkg/web/, with x402), which no receiver serves. */
const NPM_WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../wasm-client/pkg/web");
const NPM_PATH = "/npm/uraiden-wasm/";

/**
 * Loads the wasm library into `page` (any page of the server's origin) as `window.uraiden`:
 * the paywall's build as the receiver serves it (`build: "paywall"`, the default: no x402), or
 * the npm package's web build (`build: "npm"`: pays in x402 when offered), routed into the
 * page at /npm/uraiden-wasm/ of the same origin.
 */
export async function loadLibrary(page, serverUrl, { build = "paywall" } = {}) {
  if (!page.url().startsWith(serverUrl)) await page.goto(`${serverUrl}/api/1/stats`);
  let module = "/js/uraiden-wasm/uraiden_wasm.js";
  if (build === "npm") {
    await page.route(`${new URL(serverUrl).origin}${NPM_PATH}**`, (route) => {
      const file = path.join(NPM_WEB, new URL(route.request().url()).pathname.slice(NPM_PATH.length));
      return file.startsWith(NPM_WEB) && fs.existsSync(file) ? route.fulfill({ path: file }) : route.abort();
    });
    module = `${NPM_PATH}uraiden_wasm.js`;
  }
  await page.evaluate(async (module) => {
    const lib = await import(module);
    await lib.default();
    window.uraiden = lib;
  }, module);
}

/**
 * Creates `window.client` (MicroRaiden over window.ethereum), connects and opens a channel of
 * `deposit` base units with a session key. Returns the library's Channel (amounts as strings).
 */
export async function openSessionChannel(page, stack, deposit, { sessionKey = true } = {}) {
  return page.evaluate(
    async ({ contract, token, chainId, receiver, deposit, sessionKey }) => {
      window.client = await window.uraiden.MicroRaiden.create({ contract, token, chainId, receiver, pollIntervalMs: 100 });
      await window.client.requestAccounts();
      const channel = await window.client.openChannel({ deposit: BigInt(deposit), sessionKey });
      return { ...channel, deposit: String(channel.deposit), balance: String(channel.balance) };
    },
    {
      contract: stack.manager,
      token: stack.token,
      chainId: stack.chainId,
      receiver: stack.receiver.address,
      deposit: String(deposit),
      sessionKey,
    },
  );
}

function parseArgs(argv) {
  const options = { n: 2000, walletN: 100, json: false, warmup: 50 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const next = () => {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${arg} needs a positive integer`);
      return value;
    };
    if (arg === "--n") options.n = next();
    else if (arg === "--wallet-n") options.walletN = next();
    else if (arg === "--warmup") options.warmup = next();
    else if (arg === "--json") options.json = true;
    else if (arg === "-h" || arg === "--help") {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 22).join("\n") + "\n");
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (known: --n, --wallet-n, --warmup, --json)`);
  }
  return options;
}

/** Runs the measurements in `page` (library loaded, channel open); returns the raw numbers. */
export async function measure(page, stack, { n, walletN, warmup }) {
  return page.evaluate(
    async ({ n, walletN, warmup, chainId, contract, receiver }) => {
      const client = window.client;
      const lib = window.uraiden;
      const stats = (samples, totalMs) => {
        const sorted = [...samples].sort((a, b) => a - b);
        const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
        return {
          count: samples.length,
          totalMs,
          meanMs: totalMs / samples.length,
          medianMs: at(0.5),
          p99Ms: at(0.99),
          maxMs: sorted.at(-1),
          perSecond: (samples.length / totalMs) * 1000,
        };
      };
      const time = async (count, body) => {
        const samples = new Array(count);
        const start = performance.now();
        for (let i = 0; i < count; i += 1) {
          const t0 = performance.now();
          await body(i);
          samples[i] = performance.now() - t0;
        }
        return stats(samples, performance.now() - start);
      };

      for (let i = 0; i < warmup; i += 1) await client.incrementBalanceAndSign(1n);
      const increment = await time(n, () => client.incrementBalanceAndSign(1n));
      let balance = client.channel.balance;
      const signNew = await time(n, () => client.signNewProof(++balance));
      const channel = client.channel;
      const last = await client.signNewProof(channel.balance + 1n);
      const recovered = lib.recoverBalanceProofSigner(
        BigInt(chainId), contract, channel.sender, receiver, channel.openBlockNumber, String(last.balance), last.signature,
      );
      const typedData = await time(n, (i) =>
        lib.balanceProofTypedData(BigInt(chainId), contract, channel.sender, receiver, channel.openBlockNumber, String(i)),
      );
      const json = lib.balanceProofTypedData(BigInt(chainId), contract, channel.sender, receiver, channel.openBlockNumber, "1");
      const wallet = await time(walletN, () =>
        window.ethereum.request({ method: "eth_signTypedData_v4", params: [channel.sender.toLowerCase(), json] }),
      );
      return {
        increment,
        signNew,
        typedData,
        wallet,
        check: { signer: channel.signer, recovered, sessionKey: channel.sessionKey, balance: String(last.balance) },
        timerResolutionHint: (() => {
          let smallest = Infinity;
          let previous = performance.now();
          for (let i = 0; i < 10000; i += 1) {
            const now = performance.now();
            if (now > previous) smallest = Math.min(smallest, now - previous);
            previous = now;
          }
          return smallest;
        })(),
        userAgent: navigator.userAgent,
      };
    },
    { n, walletN, warmup, chainId: stack.chainId, contract: stack.manager, receiver: stack.receiver.address },
  );
}

function report(result, options) {
  const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;
  const rows = [
    ["incrementBalanceAndSign (session key)", result.increment],
    ["signNewProof (session key)", result.signNew],
    ["balanceProofTypedData (JSON only)", result.typedData],
    ["eth_signTypedData_v4 via the test wallet", result.wallet],
  ];
  const lines = [
    `uraiden-wasm signing in headless Chromium (${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? "Chromium"}),`,
    `N=${options.n} (wallet path: ${options.walletN}), after ${options.warmup} warm-up signatures;`,
    `timer resolution about ${us(result.timerResolutionHint)} (percentiles are rounded to it; means are exact).`,
    "",
    `${"".padEnd(42)} ${"mean".padStart(10)} ${"median".padStart(10)} ${"p99".padStart(10)} ${"per second".padStart(12)}`,
  ];
  for (const [label, s] of rows) {
    lines.push(
      `${label.padEnd(42)} ${us(s.meanMs).padStart(10)} ${us(s.medianMs).padStart(10)} ${us(s.p99Ms).padStart(10)} ${Math.round(s.perSecond).toLocaleString("en-US").padStart(12)}`,
    );
  }
  lines.push(
    "",
    `check: the last proof (balance ${result.check.balance}) recovers to ${result.check.recovered}, the channel's signer ${result.check.signer}` +
      ` (session key: ${result.check.sessionKey}).`,
  );
  return lines.join("\n");
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const log = (message) => process.stderr.write(`[measure-signing] ${message}\n`);
  const stack = await startStack({ log });
  let browser;
  try {
    browser = await launchBrowser();
    await installWallet(browser.context, {
      account: stack.sender.address,
      privateKey: stack.sender.privateKey,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
    });
    await loadLibrary(browser.page, stack.serverUrl);
    // Enough for every signature at 1 base unit each.
    const deposit = BigInt(options.n * 2 + options.warmup + 10);
    log(`opening a session-key channel of ${deposit} base units`);
    const channel = await openSessionChannel(browser.page, stack, deposit);
    log(`channel open at block ${channel.openBlockNumber}, signer ${channel.signer}; measuring`);
    const result = await measure(browser.page, stack, options);
    if (result.check.recovered.toLowerCase() !== result.check.signer.toLowerCase()) {
      throw new Error(`the last proof recovers to ${result.check.recovered}, not the signer ${result.check.signer}`);
    }
    if (options.json) process.stdout.write(JSON.stringify({ options, ...result }, null, 2) + "\n");
    else process.stdout.write(report(result, options) + "\n");
  } catch (error) {
    stack.failed = true;
    if (browser) process.stderr.write(`browser console:\n${browser.console.slice(-30).join("\n")}\n`);
    throw error;
  } finally {
    await browser?.close();
    await stack.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  });
}
