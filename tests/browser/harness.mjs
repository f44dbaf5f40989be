// The browser end-to-end harness: a REAL anvil, the REAL contracts deployed by
// `uraiden-server deploy`, a REAL `uraiden-server` receiver, and headless Chromium (Debian's
// chromium driven by playwright-core) with an injected EIP-1193 test wallet backed by keys
// that this process holds (viem signs; anvil only sees raw signed transactions, as with
// MetaMask).
//
//   const stack = await startStack({ log: console.error });
//   const browser = await launchBrowser();
//   const wallet = await installWallet(browser.context, { ...stack.sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
//   await browser.page.goto(`${stack.serverUrl}/echofix/hello`);
//   …
//   await browser.close(); await stack.stop();
//
// Environment:
//   URAIDEN_SERVER_BIN   the uraiden-server binary (default: build it with cargo and use
//                        ${CARGO_TARGET_DIR:-target}/debug/uraiden-server)
//   URAIDEN_ANVIL_BIN    anvil (default: .tools/bin/anvil, then anvil on PATH)
//   URAIDEN_PAYWALL_DIR  the paywall page served with every 402 (default: paywall-web/)
//   CHROMIUM_BIN         chromium (default: `which chromium`)
//   URAIDEN_TEST_VERBOSE=1  progress messages of the harness on stderr
//   URAIDEN_KEEP_LOGS=1  keep the stack's temp dir (logs, state file) even when all passed

import { execFile, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import { createServer } from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { chromium } from "playwright-core";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseAbi,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SCREENSHOT_DIR = path.join(ROOT, "tests", "screenshots");

/** anvil's public development keys (accounts 0–9 of its default mnemonic). Never use them on a real chain. */
export const ANVIL_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

const readArtifact = (name) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, "contracts", "artifacts", `${name}.json`), "utf8"));
/** ABIs from the committed forge artifacts (the same the server embeds). */
export const MANAGER_ABI = readArtifact("RaidenMicroTransferChannels").abi;
export const TOKEN_ABI = readArtifact("CustomToken").abi;
export const ERC20_ABI = parseAbi([
  "function balanceOf(address) view returns (uint256)",
  "function transfer(address to, uint256 value) returns (bool)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function decimals() view returns (uint8)",
]);

const verbose = process.env.URAIDEN_TEST_VERBOSE === "1";
const noop = () => {};

// ---------------------------------------------------------------------------------------------
// child processes: every one is killed on stop() and when this process exits

const children = new Set();
function killAllChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  children.clear();
}
process.on("exit", killAllChildren);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(128 + (os.constants.signals[signal] ?? 0));
  });
}

function spawnLogged(command, args, logFile, options = {}) {
  const out = fs.openSync(logFile, "a");
  const child = spawn(command, args, { stdio: ["ignore", out, out], ...options });
  fs.closeSync(out);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy (returned), or throws after `timeout` ms. */
export async function waitUntil(check, { timeout = 30_000, interval = 100, message = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeout} ms waiting for ${message}` + (lastError ? `: ${lastError.message}` : ""),
      );
    }
    await sleep(interval);
  }
}

async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

/** Waits for a line matching `pattern` in a log file a child writes to. */
async function waitForLine(logFile, pattern, child, what, timeout = 20_000) {
  return waitUntil(
    () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${tail(logFile)}`);
      }
      const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
      return text.match(pattern);
    },
    { timeout, interval: 50, message: `${what} (${logFile})` },
  ).catch((error) => {
    if (/exited/.test(error.message)) throw error;
    throw new Error(`${error.message}\n${tail(logFile)}`);
  });
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------------------------------------
// binaries

function which(name) {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

export function anvilBin() {
  if (process.env.URAIDEN_ANVIL_BIN) return process.env.URAIDEN_ANVIL_BIN;
  const local = path.join(ROOT, ".tools", "bin", "anvil");
  if (fs.existsSync(local)) return local;
  const onPath = which("anvil");
  if (onPath) return onPath;
  throw new Error("anvil not found: run `bash scripts/setup.sh` (or set URAIDEN_ANVIL_BIN)");
}

let serverBinPromise;
/** The uraiden-server binary: $URAIDEN_SERVER_BIN, else built once per process with cargo. */
export function serverBin({ log = noop } = {}) {
  if (process.env.URAIDEN_SERVER_BIN) return Promise.resolve(process.env.URAIDEN_SERVER_BIN);
  serverBinPromise ??= (async () => {
    const targetDir = process.env.CARGO_TARGET_DIR || path.join(ROOT, "target");
    log("building uraiden-server (cargo build --locked -p uraiden-server)");
    try {
      await execFileAsync("cargo", ["build", "--quiet", "--locked", "-p", "uraiden-server"], {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      throw new Error(`cargo build -p uraiden-server failed:\n${error.stderr || error.message}`);
    }
    return path.resolve(ROOT, targetDir, "debug", "uraiden-server");
  })();
  return serverBinPromise;
}

export function chromiumBin() {
  const bin = process.env.CHROMIUM_BIN || which("chromium") || which("chromium-browser");
  if (!bin) throw new Error("chromium not found: run `bash scripts/setup.sh` (or set CHROMIUM_BIN)");
  return bin;
}

// ---------------------------------------------------------------------------------------------
// the stack

/**
 * Starts anvil, deploys the contracts, funds the sender and starts the receiver.
 *
 * Options: `log` (progress messages), `tokenDecimals` (18), `challengePeriod` (500, the
 * contract's minimum), `confirmations` (1: mined is enough, passed explicitly since the
 * server's default of 3 would wait for blocks anvil only mines on transactions; anvil never reorgs),
 * `pollIntervalMs` (200), `senderTokens` (1,000 whole tokens), `paywallDir`
 * (paywall-web/), `serverArgs` (extra options of `start`), `paidPath` (a paywalled path that
 * answers 402 once the receiver is up; the echo demo's by default).
 */
export async function startStack(options = {}) {
  const {
    log = verbose ? (m) => process.stderr.write(`[harness] ${m}\n`) : noop,
    tokenDecimals = 18,
    challengePeriod = 500,
    confirmations = 1,
    pollIntervalMs = 200,
    senderTokens = 1000n,
    paywallDir = process.env.URAIDEN_PAYWALL_DIR || path.join(ROOT, "paywall-web"),
    serverArgs = [],
    paidPath = "/echofix/hello",
  } = options;
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-browser-"));
  const logs = { anvil: path.join(dir, "anvil.log"), server: path.join(dir, "server.log"), deploy: path.join(dir, "deploy.log") };
  const own = [];
  let stopped = false;
  const stack = { dir, logs, failed: false };

  const cleanupOnError = async (error) => {
    for (const child of own) await stopChild(child, 1000);
    error.message += `\n(stack logs kept in ${dir})`;
    throw error;
  };

  try {
    const bin = await serverBin({ log });

    // anvil: a fresh chain on a free port, instant mining.
    const anvil = spawnLogged(anvilBin(), ["--port", "0", "--host", "127.0.0.1"], logs.anvil);
    own.push(anvil);
    const [, port] = await waitForLine(logs.anvil, /Listening on [\d.]+:(\d+)/, anvil, "anvil");
    const rpcUrl = `http://127.0.0.1:${port}`;
    log(`anvil on ${rpcUrl}`);

    const publicClient = createPublicClient({ transport: http(rpcUrl) });
    const chainId = await publicClient.getChainId();
    const chain = defineChain({
      id: chainId,
      name: `anvil ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const client = createPublicClient({ chain, transport: http(rpcUrl) });

    const who = (index) => {
      const privateKey = ANVIL_KEYS[index];
      return { address: privateKeyToAccount(privateKey).address, privateKey };
    };
    const owner = who(0);
    const receiver = who(1);
    const sender = who(2);

    const keyFile = (name, key) => {
      const file = path.join(dir, `${name}.key`);
      fs.writeFileSync(file, key.replace(/^0x/, "") + "\n", { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      return file;
    };
    const ownerKey = keyFile("owner", owner.privateKey);
    const receiverKey = keyFile("receiver", receiver.privateKey);

    // Contracts: token + channel manager, by the server's own deploy command.
    const deployArgs = [
      "--rpc-provider", rpcUrl, "--private-key", ownerKey, "deploy",
      "--challenge-period", String(challengePeriod), "--token-decimals", String(tokenDecimals),
    ];
    let deployOut;
    try {
      const { stdout, stderr } = await execFileAsync(bin, deployArgs, { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
      fs.writeFileSync(logs.deploy, `$ uraiden-server ${deployArgs.join(" ")}\n${stdout}\n${stderr}`);
      deployOut = stdout;
    } catch (error) {
      throw new Error(`uraiden-server deploy failed:\n${error.stdout ?? ""}\n${error.stderr ?? error.message}`);
    }
    const field = (label) => {
      const match = deployOut.match(new RegExp(`^${label}: (\\S+)`, "m"));
      if (!match) throw new Error(`deploy printed no "${label}:" line:\n${deployOut}`);
      return match[1];
    };
    const token = field("token address");
    const manager = field("channel manager address");
    const deployBlock = Number(field("deployed at block"));
    log(`deployed token ${token}, manager ${manager} at block ${deployBlock}`);

    const unit = 10n ** BigInt(tokenDecimals);
    const walletFor = (privateKey) =>
      createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport: http(rpcUrl) });
    const ownerWallet = walletFor(owner.privateKey);

    const tokenBalance = (address) =>
      client.readContract({ address: token, abi: ERC20_ABI, functionName: "balanceOf", args: [address] });

    /** Sends `amount` base units of the token from the owner; waits for the receipt. */
    const giveTokens = async (to, amount) => {
      const hash = await ownerWallet.writeContract({ address: token, abi: ERC20_ABI, functionName: "transfer", args: [to, amount] });
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      if (receipt.status !== "success") throw new Error(`token transfer to ${to} reverted`);
      return receipt;
    };
    await giveTokens(sender.address, senderTokens * unit);
    log(`sender ${sender.address} has ${senderTokens} tokens`);

    // The receiver.
    const httpPort = await freePort();
    const apiToken = `browser-tests-${randomUUID()}`;
    const apiTokenFile = path.join(dir, "api-token");
    fs.writeFileSync(apiTokenFile, apiToken, { mode: 0o600 });
    const startArgs = [
      "--rpc-provider", rpcUrl,
      "--private-key", receiverKey,
      "--channel-manager-address", manager,
      "--state-file", path.join(dir, "receiver.db"),
      "--start-block", String(deployBlock),
      "--poll-interval-ms", String(pollIntervalMs),
      "--confirmations", String(confirmations),
      "--api-token-file", apiTokenFile,
      ...(paywallDir ? ["--paywall-info", paywallDir] : []),
      "start", "--host", "127.0.0.1", "--port", String(httpPort),
      ...serverArgs,
    ];
    fs.writeFileSync(logs.server, `$ uraiden-server ${startArgs.join(" ")}\n`);
    const server = spawnLogged(bin, startArgs, logs.server, {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG ?? "info" },
    });
    own.push(server);
    const serverUrl = `http://127.0.0.1:${httpPort}`;
    // 502 until the first sync with the chain; then the paywall answers 402.
    await waitUntil(
      async () => {
        if (server.exitCode !== null || server.signalCode !== null) {
          throw new Error(`uraiden-server exited (${server.exitCode ?? server.signalCode}):\n${tail(logs.server)}`);
        }
        const response = await fetch(`${serverUrl}${paidPath}`, { headers: { Accept: "application/json" } });
        return response.status === 402;
      },
      { timeout: 30_000, interval: 100, message: `uraiden-server on ${serverUrl} to answer 402` },
    ).catch((error) => {
      throw new Error(`${error.message}\n${tail(logs.server)}`);
    });
    log(`uraiden-server on ${serverUrl} (stack up in ${Date.now() - started} ms)`);

    const api = async (apiPath, init = {}) => {
      const response = await fetch(`${serverUrl}/api/1${apiPath}`, {
        ...init,
        headers: { Authorization: `Bearer ${apiToken}`, Accept: "application/json", ...(init.headers ?? {}) },
      });
      const text = await response.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: response.status, body };
    };

    Object.assign(stack, {
      rpcUrl,
      serverUrl,
      chainId,
      chain,
      token,
      manager,
      deployBlock,
      tokenDecimals,
      unit,
      challengePeriod,
      apiToken,
      owner,
      receiver,
      sender,
      publicClient: client,
      anvil,
      server,
      walletFor,
      tokenBalance,
      giveTokens,
      /** `GET/DELETE … /api/1<path>` with the operator's bearer token: `{ status, body }`. */
      api,
      /** The receiver's channels of `sender` (operator API). */
      serverChannels: async (address) => {
        const { status, body } = await api(`/channels/${address}`);
        if (status !== 200) throw new Error(`GET /api/1/channels/${address}: ${status} ${JSON.stringify(body)}`);
        return body;
      },
      /** Mines `n` blocks at once (anvil_mine). */
      mine: async (n = 1) => {
        await client.request({ method: "anvil_mine", params: [toHex(n)] });
      },
      blockNumber: () => client.getBlockNumber(),
      /** `getChannelInfo` on chain, or null when the contract knows no such channel. */
      channelOnChain: async (senderAddress, openBlock, receiverAddress = receiver.address) => {
        try {
          const [key, deposit, settleBlock, closingBalance, withdrawn] = await client.readContract({
            address: manager,
            abi: MANAGER_ABI,
            functionName: "getChannelInfo",
            args: [senderAddress, receiverAddress, openBlock],
          });
          return { key, deposit, settleBlock, closingBalance, withdrawn };
        } catch (error) {
          if (/ChannelNotFound|revert/i.test(String(error?.message))) return null;
          throw error;
        }
      },
      /** Every ChannelCreated event of `sender` (to this receiver): `{ openBlock, deposit, signer }`. */
      channelsCreatedBy: async (senderAddress, receiverAddress = receiver.address) => {
        const events = await client.getContractEvents({
          address: manager,
          abi: MANAGER_ABI,
          eventName: "ChannelCreated",
          args: { sender: senderAddress, receiver: receiverAddress },
          fromBlock: BigInt(deployBlock),
          toBlock: "latest",
        });
        return events.map((entry) => ({
          openBlock: Number(entry.blockNumber),
          deposit: entry.args.deposit,
          signer: entry.args.signer,
          transactionHash: entry.transactionHash,
        }));
      },
      /** Every ChannelSettled event of `sender`: `{ openBlock, balance, receiverTokens }`. */
      channelsSettledBy: async (senderAddress, receiverAddress = receiver.address) => {
        const events = await client.getContractEvents({
          address: manager,
          abi: MANAGER_ABI,
          eventName: "ChannelSettled",
          args: { sender: senderAddress, receiver: receiverAddress },
          fromBlock: BigInt(deployBlock),
          toBlock: "latest",
        });
        return events.map((entry) => ({
          openBlock: Number(entry.args.openBlockNumber),
          balance: entry.args.balance,
          receiverTokens: entry.args.receiverTokens,
          transactionHash: entry.transactionHash,
        }));
      },
      /**
       * A brand-new sender account: a random key with 100 ETH and `tokens` whole tokens,
       * so each test can start from a clean slate (no channel, no stored state).
       */
      newSender: async (tokens = senderTokens) => {
        const privateKey = generatePrivateKey();
        const address = privateKeyToAccount(privateKey).address;
        await client.request({ method: "anvil_setBalance", params: [address, toHex(100n * 10n ** 18n)] });
        if (tokens > 0n) await giveTokens(address, BigInt(tokens) * unit);
        return { address, privateKey };
      },
      /** The last lines of the server's (or anvil's) log. */
      tail: (which = "server", lines = 60) => tail(logs[which], lines),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopChild(server);
        await stopChild(anvil, 1000);
        if (!stack.failed && process.env.URAIDEN_KEEP_LOGS !== "1") {
          fs.rmSync(dir, { recursive: true, force: true });
        } else {
          process.stderr.write(`[harness] stack logs kept in ${dir}\n`);
        }
      },
    });
    return stack;
  } catch (error) {
    return cleanupOnError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// the browser

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Headless Chromium with a fresh profile (a persistent context in a new temp dir).
 * `console` collects the pages' console messages and uncaught errors, for failure reports.
 */
export async function launchBrowser({ viewport = { width: 1100, height: 900 } } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumBin(),
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
  });
  const consoleLog = [];
  const watch = (page) => {
    page.on("console", (message) => consoleLog.push(`[console.${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => consoleLog.push(`[pageerror] ${error.stack || error.message}`));
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) consoleLog.push(`[navigated] ${frame.url()}`);
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  return {
    context,
    page,
    profile,
    console: consoleLog,
    close: async () => {
      if (closed) return;
      closed = true;
      await context.close().catch(noop);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A static file server for `dir` on a free port (an app's own origin); resolves to `{ origin, close }`. */
export function serveStatic(dir) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
  const server = createServer((request, response) => {
    const url = new URL(request.url, "http://localhost");
    const file = path.join(dir, url.pathname === "/" ? "index.html" : path.normalize(url.pathname));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      response.writeHead(404).end("not found");
      return;
    }
    response.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
    });
  });
}

/** Decodes an x402 header value (`PAYMENT-REQUIRED`, `-SIGNATURE`, `-RESPONSE`: base64 of JSON). */
export const x402Json = (value) => JSON.parse(Buffer.from(value, "base64").toString("utf8"));

/**
 * Records the page's requests whose URL contains `part`, in the order answered: `{ url, status }`,
 * then `headers` (sent) and `answer` (received), as on the network (not only those JS may read).
 */
export function recordResponses(page, part) {
  const seen = [];
  page.on("response", (response) => {
    const request = response.request();
    if (!request.url().includes(part)) return;
    const entry = { url: request.url(), status: response.status() };
    seen.push(entry);
    Promise.all([request.allHeaders(), response.allHeaders()]).then(([headers, answer]) => {
      Object.assign(entry, { headers, answer });
    });
  });
  return seen;
}

// ---------------------------------------------------------------------------------------------
// the test wallet

/** Methods a real wallet shows the user a prompt for. */
export const PROMPT_METHODS = new Set([
  "eth_requestAccounts",
  "eth_sendTransaction",
  "eth_signTypedData_v4",
  "personal_sign",
  "wallet_switchEthereumChain",
  "wallet_addEthereumChain",
]);

/** Signing methods this wallet does not offer (anvil would sign them with its own unlocked keys). */
const UNSUPPORTED = new Set([
  "eth_sign",
  "eth_signTypedData",
  "eth_signTypedData_v1",
  "eth_signTypedData_v3",
  "eth_signTransaction",
  "eth_sendUnsignedTransaction",
  "wallet_watchAsset",
  "anvil_impersonateAccount",
]);

export const USER_REJECTED = { code: 4001, message: "User rejected the request." };

const WALLET_ICON =
  "data:image/svg+xml;base64," +
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#3355ff"/><text x="16" y="22" font-size="16" text-anchor="middle" fill="#fff" font-family="sans-serif">µ</text></svg>',
  ).toString("base64");

class WalletError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** The JSON-RPC code and data of a viem error (its innermost RPC error), for the page. */
function rpcErrorOf(error) {
  if (error instanceof WalletError) return { code: error.code, message: error.message, data: error.data };
  let code = -32603;
  let data;
  let inner = error;
  for (let depth = 0; inner && depth < 10; depth += 1, inner = inner.cause) {
    if (typeof inner.code === "number") code = inner.code;
    if (inner.data !== undefined && data === undefined) data = inner.data;
  }
  return { code, message: error.shortMessage || error.message || String(error), data };
}

/**
 * Injects `window.ethereum` (and an EIP-6963 announcement) into every page of `context`,
 * backed by `privateKey` in this Node process.
 *
 * Options: `account` (address; checked against the key), `privateKey`, `rpcUrl`, `chainId`,
 * `connected` (default true: `eth_accounts` answers the account from the start, like a
 * wallet that already authorised the site; false: `[]` until `eth_requestAccounts`),
 * `walletChainId` (the chain the wallet starts on; default `chainId`; switching to
 * `chainId` succeeds, anything else is 4902), `knowsChain` (default true; false: switching to
 * `chainId` is 4902 until `wallet_addEthereumChain` adds it with an RPC URL), `name`, `rdns`,
 * `uuid`, `injectWindowEthereum` (default true; false: EIP-6963 only).
 *
 * Returns `{ address, requests, prompts(), rejectNext(method, n?, error?), emit(event, data),
 * transactions(), clearRequests(), setAccountsExposed(bool), setChain(id) }`.
 */
export async function installWallet(context, options) {
  const {
    privateKey,
    rpcUrl,
    chainId,
    connected = true,
    walletChainId = chainId,
    knowsChain = true,
    name = "uraiden test wallet",
    rdns = "dev.uraiden.testwallet",
    uuid = randomUUID(),
    injectWindowEthereum = true,
    bindingName = "__uraidenTestWalletRequest",
  } = options;
  const account = privateKeyToAccount(privateKey);
  if (options.account && options.account.toLowerCase() !== account.address.toLowerCase()) {
    throw new Error(`installWallet: account ${options.account} does not match the private key (${account.address})`);
  }
  // Addresses go to the page in lowercase, as MetaMask answers eth_accounts.
  const address = account.address.toLowerCase();
  const chain = defineChain({
    id: chainId,
    name: `anvil ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const walletClient = createWalletClient({ account, chain, transport: http(rpcUrl) });

  const state = {
    authorized: connected,
    exposed: true,
    currentChainId: walletChainId,
    knowsChain,
  };
  const requests = [];
  const rejections = new Map(); // method -> array of errors to throw next
  let sendQueue = Promise.resolve();
  let rpcId = 0;

  const forward = async (method, params) => {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: params ?? [] }),
    });
    const body = await response.json();
    if (body.error) throw new WalletError(body.error.code ?? -32603, body.error.message ?? "RPC error", body.error.data);
    return body.result;
  };

  const requireAccount = (given, method) => {
    if (typeof given !== "string" || given.toLowerCase() !== address) {
      throw new WalletError(4100, `${method}: the requested account ${given} is not authorised by this wallet (it has ${address})`);
    }
    if (!state.authorized) throw new WalletError(4100, `${method}: call eth_requestAccounts first`);
  };

  const handlers = {
    eth_requestAccounts: async () => {
      state.authorized = true;
      return [address];
    },
    eth_accounts: async () => (state.authorized && state.exposed ? [address] : []),
    eth_chainId: async () => toHex(state.currentChainId),
    net_version: async () => String(state.currentChainId),
    wallet_switchEthereumChain: async (params) => {
      const wanted = Number(BigInt(params?.[0]?.chainId ?? "0x0"));
      if (wanted !== chainId || !state.knowsChain) {
        throw new WalletError(4902, `Unrecognized chain ID ${toHex(wanted)}. Try adding the chain using wallet_addEthereumChain first.`);
      }
      if (state.currentChainId !== wanted) {
        state.currentChainId = wanted;
        emit("chainChanged", toHex(wanted)).catch(noop);
      }
      return null;
    },
    // EIP-3085, as MetaMask: adds the chain (after the user's approval), then offers to switch.
    wallet_addEthereumChain: async (params) => {
      const { chainId: hex, chainName, rpcUrls, nativeCurrency } = params?.[0] ?? {};
      if (Number(BigInt(hex ?? "0x0")) !== chainId || !chainName || !Array.isArray(rpcUrls) || rpcUrls.length === 0) {
        throw new WalletError(-32602, `wallet_addEthereumChain: unusable parameters ${JSON.stringify(params)}`);
      }
      if (nativeCurrency && (typeof nativeCurrency.symbol !== "string" || nativeCurrency.decimals !== 18)) {
        throw new WalletError(-32602, `wallet_addEthereumChain: unusable nativeCurrency ${JSON.stringify(nativeCurrency)}`);
      }
      state.knowsChain = true;
      if (state.currentChainId !== chainId) {
        state.currentChainId = chainId;
        emit("chainChanged", toHex(chainId)).catch(noop);
      }
      return null;
    },
    eth_sendTransaction: async (params) => {
      const tx = params?.[0] ?? {};
      requireAccount(tx.from, "eth_sendTransaction");
      if (state.currentChainId !== chainId) {
        throw new WalletError(4901, `the wallet is on chain ${state.currentChainId}, not ${chainId}`);
      }
      const request = {
        to: tx.to ?? undefined,
        data: tx.data ?? tx.input ?? undefined,
        value: tx.value !== undefined ? BigInt(tx.value) : undefined,
        gas: tx.gas !== undefined ? BigInt(tx.gas) : undefined,
      };
      // One transaction at a time, so nonces never collide.
      const send = sendQueue.then(() => walletClient.sendTransaction(request));
      sendQueue = send.catch(noop);
      return send;
    },
    eth_signTypedData_v4: async (params) => {
      const [who, json] = params ?? [];
      requireAccount(who, "eth_signTypedData_v4");
      const typedData = typeof json === "string" ? JSON.parse(json) : json;
      const { EIP712Domain: _domainType, ...types } = typedData.types ?? {};
      return account.signTypedData({
        domain: typedData.domain,
        types,
        primaryType: typedData.primaryType,
        message: typedData.message,
      });
    },
    personal_sign: async (params) => {
      const [message, who] = params ?? [];
      requireAccount(who, "personal_sign");
      const raw = typeof message === "string" && /^0x[0-9a-fA-F]*$/.test(message) ? { raw: message } : message;
      return account.signMessage({ message: raw });
    },
  };

  const handle = async (source, payload) => {
    const { method, params } = payload ?? {};
    const entry = { method, params, url: source?.page?.url?.() ?? null, at: Date.now() };
    // A prompt: every call of a prompting method, except eth_requestAccounts once authorised
    // (a real wallet answers that at once for a connected site).
    entry.prompt = PROMPT_METHODS.has(method) && !(method === "eth_requestAccounts" && state.authorized);
    requests.push(entry);
    try {
      const queued = rejections.get(method) ?? [];
      const at = queued.findIndex((rejection) => !rejection.when || rejection.when(params));
      if (at >= 0) {
        const [rejection] = queued.splice(at, 1);
        throw new WalletError(rejection.code, rejection.message, rejection.data);
      }
      if (UNSUPPORTED.has(method)) throw new WalletError(4200, `The test wallet does not support ${method}.`);
      if (typeof method !== "string") throw new WalletError(-32600, "request needs a method name");
      const handler = handlers[method];
      const result = handler ? await handler(params) : await forward(method, params);
      entry.result = result;
      return { ok: true, result: result ?? null };
    } catch (error) {
      const rpcError = rpcErrorOf(error);
      entry.error = rpcError;
      return { ok: false, error: rpcError };
    }
  };

  await context.exposeBinding(bindingName, handle);
  await context.addInitScript(
    ({ bindingName: binding, info, injectWindowEthereum: inject }) => {
      const listeners = new Map();
      const provider = {
        isUraidenTestWallet: true,
        isMetaMask: false,
        async request(args) {
          if (!args || typeof args.method !== "string") {
            throw Object.assign(new Error("request({ method, params }) needs a method"), { code: -32600 });
          }
          const reply = await window[binding]({ method: args.method, params: args.params });
          if (reply.ok) return reply.result;
          const error = new Error(reply.error.message);
          error.code = reply.error.code;
          if (reply.error.data !== undefined && reply.error.data !== null) error.data = reply.error.data;
          throw error;
        },
        on(event, listener) {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event).add(listener);
          return provider;
        },
        removeListener(event, listener) {
          listeners.get(event)?.delete(listener);
          return provider;
        },
        off(event, listener) {
          return provider.removeListener(event, listener);
        },
      };
      // One emitter per wallet (several wallets may share a page, as EIP-6963 allows).
      Object.defineProperty(window, `${binding}Emit`, {
        value: (event, data) => {
          for (const listener of listeners.get(event) ?? []) {
            try {
              listener(data);
            } catch (error) {
              console.error(error);
            }
          }
        },
      });
      if (inject) {
        Object.defineProperty(window, "ethereum", { value: provider, writable: false, configurable: true });
      }
      const detail = Object.freeze({ info: Object.freeze({ ...info }), provider });
      const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
      window.addEventListener("eip6963:requestProvider", announce);
      announce();
    },
    { bindingName, injectWindowEthereum, info: { uuid, name, icon: WALLET_ICON, rdns } },
  );

  async function emit(event, data) {
    await Promise.all(
      context.pages().map((page) =>
        page.evaluate(([name, e, d]) => window[name]?.(e, d), [`${bindingName}Emit`, event, data]).catch(noop),
      ),
    );
  }

  return {
    address,
    checksumAddress: account.address,
    privateKey,
    info: { uuid, name, rdns, icon: WALLET_ICON },
    requests,
    /** How many user-facing prompts the wallet has shown (rejected ones included). */
    prompts: () => requests.filter((entry) => entry.prompt).length,
    /** The requests of one method. */
    calls: (method) => requests.filter((entry) => entry.method === method),
    /** `eth_sendTransaction` requests that were sent, with their transaction hash. */
    transactions: () =>
      requests
        .filter((entry) => entry.method === "eth_sendTransaction" && entry.result)
        .map((entry) => ({ ...entry.params[0], hash: entry.result })),
    /**
     * The next `count` calls of `method` fail with `error` (default: the user rejects, 4001).
     * `rejectNext(method, { count, error, when })`: only calls whose params satisfy
     * `when(params)` are rejected (and counted); others pass.
     */
    rejectNext(method, countOrOptions = 1, error = USER_REJECTED) {
      const options = typeof countOrOptions === "object" ? countOrOptions : { count: countOrOptions, error };
      const { count = 1, when = null } = options;
      if (!rejections.has(method)) rejections.set(method, []);
      for (let i = 0; i < count; i += 1) rejections.get(method).push({ ...(options.error ?? error), when });
    },
    clearRejections: () => rejections.clear(),
    clearRequests: () => requests.splice(0, requests.length),
    /** Emits an EIP-1193 event (accountsChanged, chainChanged, …) in every page. */
    emit,
    /** Simulates the user disconnecting the site (`eth_accounts` → []) or reconnecting it. */
    setAccountsExposed: async (exposed) => {
      state.exposed = exposed;
      await emit("accountsChanged", exposed ? [address] : []);
    },
    /** Simulates the user switching the wallet to `id` in the wallet itself (emits chainChanged). */
    setChain: async (id) => {
      state.currentChainId = id;
      await emit("chainChanged", toHex(id));
    },
    get chainId() {
      return state.currentChainId;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// screenshots and failure reports

let screenshotCount = 0;
let screenshotSuite = path.basename(process.argv[1] ?? "browser").replace(/\.test\.m?js$|\.m?js$/, "");
export function setScreenshotSuite(name) {
  screenshotSuite = name;
  screenshotCount = 0;
}

const cleanedSuites = new Set();
/**
 * Writes tests/screenshots/<suite>-<NN>-<name>.png (full page) and returns its path. The
 * first screenshot of a suite in this process removes the suite's files of earlier runs.
 */
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  if (!cleanedSuites.has(screenshotSuite)) {
    cleanedSuites.add(screenshotSuite);
    const stale = new RegExp(`^${screenshotSuite.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d{2,}-.*\\.png$`);
    for (const file of fs.readdirSync(SCREENSHOT_DIR)) {
      if (stale.test(file)) fs.rmSync(path.join(SCREENSHOT_DIR, file), { force: true });
    }
  }
  screenshotCount += 1;
  const safe = String(name).replace(/[^a-zA-Z0-9._-]+/g, "-");
  const file = path.join(SCREENSHOT_DIR, `${screenshotSuite}-${String(screenshotCount).padStart(2, "0")}-${safe}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Wraps a test body: on failure, prints where the stack's logs are (and keeps them), the
 * tail of the server log, the page's console and a failure screenshot, then rethrows.
 * `get()` returns `{ stack, browser }` (either may be missing) when the failure happens.
 */
export function reportFailures(get, body) {
  return async (t) => {
    try {
      return await body(t);
    } catch (error) {
      const { stack, browser } = get() ?? {};
      const lines = [`\n──── failure in "${t?.name ?? "test"}" ────`];
      if (stack) {
        stack.failed = true;
        lines.push(`stack logs: ${stack.dir}`, "server log (tail):", stack.tail?.("server", 40) ?? "");
      }
      if (browser) {
        lines.push("browser console (tail):", ...browser.console.slice(-40));
        try {
          if (browser.page && !browser.page.isClosed()) {
            lines.push(`page url: ${browser.page.url()}`);
            lines.push(`screenshot: ${await screenshot(browser.page, `FAILED-${t?.name ?? "test"}`.slice(0, 60))}`);
          }
        } catch (screenshotError) {
          lines.push(`(no screenshot: ${screenshotError.message})`);
        }
      }
      process.stderr.write(lines.join("\n") + "\n");
      throw error;
    }
  };
}

/** Formats `amount` base units as a decimal string of whole tokens (for inputs). */
export function formatTokens(amount, decimals) {
  const unit = 10n ** BigInt(decimals);
  const whole = amount / unit;
  const fraction = amount % unit;
  if (fraction === 0n) return whole.toString();
  return `${whole}.${fraction.toString().padStart(decimals, "0").replace(/0+$/, "")}`;
}
