// The published package as a web developer meets it: `npm pack` of wasm-client/pkg,
// installed into a fresh Vite + TypeScript app in a temp dir, type-checked with `tsc
// --strict`, built with `vite build`, served from its own origin, and used in headless
// Chromium (injected test wallet) to open a channel, pay a real uraiden-server's 402
// cross-origin (`--cors-origin`) with `payingFetch`, and close with the receiver's signature.
//
// Needs the built package (`bash scripts/build-wasm.sh`; `npm test` builds it first) and
// the npm registry (vite and typescript are installed into the temp app).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  ROOT,
  installWallet,
  launchBrowser,
  reportFailures,
  screenshot,
  serveStatic,
  setScreenshotSuite,
  startStack,
} from "./harness.mjs";

const PACKAGE_DIR = path.join(ROOT, "wasm-client", "pkg");
// The versions a new app would get today on this machine's Node 20 / npm.
const APP_DEPENDENCIES = ["vite@8", "typescript@5"];

const APP_SOURCE = `
import init, { MicroRaiden, UraidenError, type Channel, type CloseResult } from "uraiden-wasm/web";

const params = new URLSearchParams(location.search);
const out = document.getElementById("out") as HTMLElement;

async function main(): Promise<void> {
  await init();
  const client = await MicroRaiden.create({ contract: (params.get("contract") ?? "") as \`0x\${string}\` });
  await client.requestAccounts();
  const channel: Channel = await client.openChannel({
    receiver: (params.get("receiver") ?? undefined) as \`0x\${string}\` | undefined,
    deposit: 50n,
  });
  const bodies: string[] = [];
  for (const word of ["first", "second", "third"]) {
    const response: Response = await client.payingFetch(\`\${params.get("server")}/echofix/\${word}\`, {
      maxPrice: 5n,
    });
    bodies.push(\`\${response.status} \${await response.text()}\`);
  }
  const balance: bigint = client.channel?.balance ?? -1n;
  // Close through the receiver's API (its closing signature), then on chain: settled at once.
  const closed: CloseResult = await client.closeChannel({ receiverUrl: params.get("server") ?? "" });
  out.dataset.result = JSON.stringify({
    openBlock: channel.openBlockNumber,
    bodies,
    balance: balance.toString(),
    cooperative: closed.cooperative,
    closedBalance: closed.balance.toString(),
  });
}

main().catch((error: unknown) => {
  out.dataset.error = error instanceof UraidenError ? \`\${error.name} (\${error.code}): \${error.message}\` : String(error);
});
`;

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>paying app</title></head>
<body><h1>An app that pays 402s</h1><pre id="out"></pre><script type="module" src="/src/main.ts"></script></body>
</html>
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "bundler",
    lib: ["ES2022", "DOM"],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  include: ["src"],
};

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

let app; // { dir, dist }
let site; // the static server of the built app
let stack;
let browser;
let failed = false;
const withReport = (body) =>
  reportFailures(() => ({ stack, browser }), async (t) => {
    try {
      return await body(t);
    } catch (error) {
      failed = true;
      throw error;
    }
  });

before(async () => {
  assert.ok(
    fs.existsSync(path.join(PACKAGE_DIR, "package.json")),
    `${PACKAGE_DIR} is missing: build the package first with bash scripts/build-wasm.sh`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uraiden-vite-app-"));
  const tarball = run("npm", ["pack", PACKAGE_DIR, "--pack-destination", dir, "--silent"], ROOT).trim().split("\n").pop();
  fs.mkdirSync(path.join(dir, "src"));
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "paying-app", private: true, type: "module" }, null, 2),
  );
  fs.writeFileSync(path.join(dir, "index.html"), INDEX_HTML);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
  fs.writeFileSync(path.join(dir, "src", "main.ts"), APP_SOURCE);
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./${tarball}`, ...APP_DEPENDENCIES], dir);
  app = { dir, dist: path.join(dir, "dist") };
  site = await serveStatic(app.dist);
  setScreenshotSuite("npm-package");
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  site?.close();
  if (app && !failed) fs.rmSync(app.dir, { recursive: true, force: true });
});

test("the packed package type-checks under tsc --strict in a fresh app", withReport(() => {
  // Fails on any implicit any, a wrong type in the app above, or a broken .d.ts.
  run(path.join(app.dir, "node_modules", ".bin", "tsc"), ["-p", "."], app.dir);
  for (const entry of ["uraiden_wasm.d.ts", "web/uraiden_wasm.d.ts"]) {
    const types = fs.readFileSync(path.join(app.dir, "node_modules", "uraiden-wasm", entry), "utf8");
    // Declarations only: the doc comments may say "any wallet".
    const declarations = types.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(declarations, /\bany\b/, `${entry}: the published types must not use \`any\``);
  }
}));

test("vite build bundles the package with its wasm", withReport(() => {
  run(path.join(app.dir, "node_modules", ".bin", "vite"), ["build", "--logLevel", "warn"], app.dir);
  const assets = fs.readdirSync(path.join(app.dist, "assets"));
  assert.ok(assets.some((name) => name.endsWith(".wasm")), `no .wasm among the built assets: ${assets}`);
}));

test("the built app opens a channel, pays 402s cross-origin and closes cooperatively in Chromium", withReport(async () => {
  stack = await startStack({ serverArgs: ["--cors-origin", site.origin] });
  const sender = await stack.newSender(100n);
  browser = await launchBrowser();
  const wallet = await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  const query = new URLSearchParams({ contract: stack.manager, receiver: stack.receiver.address, server: stack.serverUrl });
  await browser.page.goto(`${site.origin}/?${query}`);
  const out = browser.page.locator("#out");
  await browser.page.waitForFunction(
    () => {
      const element = document.getElementById("out");
      return element && (element.dataset.result || element.dataset.error);
    },
    null,
    { timeout: 60_000 },
  );
  await screenshot(browser.page, "paid");
  assert.equal(await out.getAttribute("data-error"), null);
  const result = JSON.parse(await out.getAttribute("data-result"));
  assert.deepEqual(result.bodies, ["200 first", "200 second", "200 third"]);
  assert.equal(result.balance, "15");

  // The receiver stored every payment, and the one channel is the app's, signed by a session key.
  const channels = await stack.serverChannels(sender.address);
  assert.equal(channels.length, 1, JSON.stringify(channels));
  assert.equal(channels[0].balance, "15");
  assert.equal(channels[0].open_block, result.openBlock);
  assert.notEqual(channels[0].signer?.toLowerCase(), sender.address.toLowerCase());
  // One approve and one createChannel; the three payments and the close's balance proof
  // needed no wallet signature; then one cooperativeClose.
  assert.equal(wallet.transactions().length, 3);
  assert.equal(wallet.calls("eth_signTypedData_v4").length, 0);

  // The close went through the receiver's API: cooperative, settled on chain at 15.
  assert.equal(result.cooperative, true);
  assert.equal(result.closedBalance, "15");
  const settled = await stack.channelsSettledBy(sender.address);
  assert.deepEqual(settled.map((entry) => [entry.openBlock, entry.balance]), [[result.openBlock, 15n]]);
}));
