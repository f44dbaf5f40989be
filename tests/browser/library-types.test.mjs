// uraiden-wasm's TypeScript declarations against what the library really does, in Chromium:
// the option and result types are generated from the Rust definitions (tsify), so the objects
// the library returns must have exactly the declared fields with the declared types (addresses
// `0x${string}`, amounts bigint, block numbers number), and an option of the wrong type must be
// refused with an InvalidArgument error that names the field. A declaration edited by hand, or a
// Rust type that no longer matches it, fails here.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { ROOT, installWallet, launchBrowser, reportFailures, startStack } from "./harness.mjs";
import { loadLibrary, openSessionChannel } from "./measure-signing.mjs";

const DTS = path.join(ROOT, "paywall-web", "js", "uraiden-wasm", "uraiden_wasm.d.ts");
/** The npm package's web build: the paywall's, plus the `x402` feature. */
const NPM_DTS = path.join(ROOT, "wasm-client", "pkg", "web", "uraiden_wasm.d.ts");
const ADDRESS_TYPE = "`0x${string}`";

/** The `.d.ts`'s interfaces as name → field → { optional, type }, and its type aliases. */
function declarations(text) {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const interfaces = new Map();
  const bases = [];
  for (const [, name, base, body] of withoutComments.matchAll(/export interface (\w+)(?: extends (\w+))? \{([\s\S]*?)\n\}/g)) {
    const fields = new Map();
    for (const [, field, optional, type] of body.matchAll(/^\s*(\w+)(\??): (.+?);\s*$/gm)) {
      fields.set(field, { optional: optional === "?", type });
    }
    interfaces.set(name, fields);
    if (base) bases.push([name, base]);
  }
  for (const [name, base] of bases) {
    for (const [field, declaration] of interfaces.get(base) ?? []) interfaces.get(name).set(field, declaration);
  }
  const aliases = new Map();
  for (const [, name, type] of withoutComments.matchAll(/export type (\w+) = ([^;]+);/g)) aliases.set(name, type.trim());
  return { interfaces, aliases };
}

const declared = declarations(fs.readFileSync(DTS, "utf8"));
const npmDeclared = declarations(fs.readFileSync(NPM_DTS, "utf8"));

/** Whether a value described in the page (see `describe` below) fits the declared `type`. */
function fits(value, type, decls = declared) {
  return type.split(" | ").some((member) => {
    if (decls.aliases.has(member)) return fits(value, decls.aliases.get(member), decls);
    if (member === "null") return value.kind === "null";
    if (member.startsWith("Record<")) return value.kind === "object";
    if (member === ADDRESS_TYPE) return value.kind === "string" && /^0x[0-9a-fA-F]{40}$/.test(value.text);
    if (/^"[^"]*"$/.test(member)) return value.kind === "string" && value.text === JSON.parse(member);
    return value.kind === member;
  });
}

/** Asserts that `object` (described) has exactly the fields of interface `name`, each of its type. */
function assertShape(name, object, decls = declared) {
  const fields = decls.interfaces.get(name);
  assert.ok(fields, `the .d.ts declares interface ${name}`);
  for (const [field, { optional }] of fields) {
    if (!optional) assert.ok(field in object, `${name}.${field} is declared required and was returned`);
  }
  for (const [field, value] of Object.entries(object)) {
    const declaration = fields.get(field);
    assert.ok(declaration, `${name}.${field} was returned but is not declared`);
    assert.ok(fits(value, declaration.type, decls), `${name}.${field} is declared ${declaration.type}, got ${JSON.stringify(value)}`);
  }
}

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  const sender = await stack.newSender(10n);
  await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(browser.page, stack.serverUrl);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("the .d.ts types every address `0x${string}` and every amount bigint, inputs and outputs", () => {
  const expected = {
    CreateOptions: { contract: ADDRESS_TYPE, token: ADDRESS_TYPE, receiver: ADDRESS_TYPE, chainId: "number" },
    OpenChannelOptions: { receiver: ADDRESS_TYPE, deposit: "bigint", method: "DepositMethod" },
    CloseChannelOptions: { balance: "bigint", closingSignature: "string", receiverUrl: "string" },
    PayingFetchOptions: { maxPrice: "bigint", init: "RequestInit" },
    Channel: { sender: ADDRESS_TYPE, receiver: ADDRESS_TYPE, signer: ADDRESS_TYPE, deposit: "bigint", balance: "bigint", openBlockNumber: "number" },
    SignedBalanceProof: { sender: ADDRESS_TYPE, receiver: ADDRESS_TYPE, balance: "bigint", signature: "string" },
    PendingChannel: { receiver: ADDRESS_TYPE, signer: ADDRESS_TYPE, deposit: "bigint", transactionHash: "string | null" },
    TokenInfo: { address: ADDRESS_TYPE, balance: "bigint", decimals: "number" },
    OnChainChannelInfo: { state: "ChannelPhase", deposit: "bigint", settleBlockNumber: "number" },
    CloseResult: { balance: "bigint", blockNumber: "number", transactionHash: "string" },
    ReceiverStatus: { balance: "bigint | null", balanceSignature: "string | null", reason: "string | null" },
    ChainParameters: { name: "string", rpcUrls: "string[]", nativeCurrency: "NativeCurrency" },
  };
  for (const [name, fields] of Object.entries(expected)) {
    const declaredFields = declared.interfaces.get(name);
    assert.ok(declaredFields, `the .d.ts declares interface ${name}`);
    for (const [field, type] of Object.entries(fields)) {
      assert.equal(declaredFields.get(field)?.type, type, `${name}.${field}`);
    }
  }
  assert.equal(declared.aliases.get("DepositMethod"), `"approve" | "erc223" | "permit"`);
  const text = fs.readFileSync(DTS, "utf8");
  assert.match(text, /requestAccounts\(\): Promise<`0x\$\{string\}`\[\]>;/);
  assert.match(text, /readonly contract: `0x\$\{string\}`;/);
  assert.match(text, /readonly account: `0x\$\{string\}` \| undefined;/);
});

test(
  "every result object has exactly the declared fields, each of the declared type",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const results = await browser.page.evaluate(
        async ({ contract, token, chainId, receiver, serverUrl }) => {
          // Field by field: typeof, and the text of strings (bigints cannot leave the page as such).
          const describe = (object) =>
            Object.fromEntries(
              Object.entries(object).map(([key, value]) => [
                key,
                value === null ? { kind: "null" } : typeof value === "string" ? { kind: "string", text: value } : { kind: typeof value },
              ]),
            );
          const { MicroRaiden } = window.uraiden;
          const client = await MicroRaiden.create({ contract, token, chainId, receiver, pollIntervalMs: 100 });
          const [account] = await client.requestAccounts();
          const opened = await client.openChannel({ deposit: 50n });
          const proof = await client.signNewProof(0n);
          const paid = await client.payingFetch(`${serverUrl}/echofix/types`, { maxPrice: 5n });
          await paid.text();
          const out = {
            account,
            getters: { contract: client.contract, token: client.token, account: client.account },
            Channel: [opened, client.channel, ...(await client.storedChannels())].map(describe),
            SignedBalanceProof: [describe(proof)],
            TokenInfo: [describe(await client.getTokenInfo())],
            OnChainChannelInfo: [describe(await client.getChannelInfo())],
            ReceiverStatus: [describe(await client.syncWithReceiver(`${serverUrl}/echofix/types`))],
            ClosingSignature: [describe(await client.requestClosingSignature(serverUrl))],
            TransactionResult: [describe(await client.buyToken(1n))],
          };
          out.CloseResult = [describe(await client.closeChannel({ receiverUrl: serverUrl }))];
          return out;
        },
        {
          contract: stack.manager,
          token: stack.token,
          chainId: stack.chainId,
          receiver: stack.receiver.address,
          serverUrl: stack.serverUrl,
        },
      );
      for (const [name, objects] of Object.entries(results)) {
        if (name === "account" || name === "getters") continue;
        for (const object of objects) assertShape(name, object);
      }
      for (const [getter, value] of Object.entries(results.getters)) {
        assert.match(value, /^0x[0-9a-fA-F]{40}$/, `${getter} is a 0x address`);
      }
      assert.match(results.account, /^0x[0-9a-fA-F]{40}$/);
    },
  ),
);

test(
  "an option of the wrong type is refused with InvalidArgument naming the field",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      const refusals = await browser.page.evaluate(
        async ({ contract, token, chainId, receiver, serverUrl }) => {
          const { MicroRaiden, ErrorCode, setPaymentCookies } = window.uraiden;
          const refused = async (call) => {
            try {
              await call();
              return "accepted";
            } catch (error) {
              return error.code === ErrorCode.InvalidArgument ? error.message : `code ${error.code}: ${error.message}`;
            }
          };
          const base = { contract, token, chainId, receiver };
          const create = (options) => refused(() => MicroRaiden.create(options));
          const chain = { name: "Local", rpcUrls: ["http://127.0.0.1:8545"] };
          const client = await MicroRaiden.create(base);
          const proof = { sender: receiver, receiver, openBlockNumber: 1, balance: 1n, signature: `0x${"11".repeat(65)}` };
          return [
            [await create({ ...base, contract: undefined }), "contract: required"],
            [await create({ ...base, contract: "0x12" }), /^contract: /],
            [await create({ ...base, receiver: 12 }), "receiver: expected a 0x address string, got number `12`"],
            [await create({ ...base, chainId: "31337" }), `chainId: expected a non-negative integer number, got string "31337"`],
            [await create({ ...base, confirmations: 1.5 }), "confirmations: expected a non-negative integer number, got number `1.5`"],
            [await create({ ...base, chain: { ...chain, rpcUrls: [5] } }), "chain.rpcUrls: expected a string, got number `5`"],
            [await create({ ...base, chain: { ...chain, rpcUrls: [] } }), "chain.rpcUrls: needs at least one URL"],
            [await create({ ...base, chain: { rpcUrls: chain.rpcUrls } }), "chain.name: required"],
            [
              await create({ ...base, chain: { ...chain, nativeCurrency: { name: "Ether", symbol: "ETH" } } }),
              "chain.nativeCurrency.decimals: required",
            ],
            [await create("0x12"), "options: expected an object, got string \"0x12\""],
            [await refused(() => client.openChannel({})), "deposit: required"],
            [await refused(() => client.openChannel({ deposit: 5 })), "deposit: expected a bigint token amount in base units, such as 10n"],
            [await refused(() => client.openChannel({ deposit: -1n })), "deposit: must not be negative, got -1n"],
            [
              await refused(() => client.openChannel({ deposit: 5n, method: "ERC223" })),
              `method: expected "approve", "erc223" or "permit", got "ERC223"`,
            ],
            [await refused(() => client.openChannel({ deposit: 5n, sessionKey: "no" })), `sessionKey: expected a boolean, got string "no"`],
            [
              await refused(() => client.topUpChannel(5n, { method: "permit" })),
              `method: the contract has no top-up with permit: use "approve" or "erc223"`,
            ],
            [
              await refused(() => client.closeChannel({ fallbackUncooperative: "yes" })),
              `fallbackUncooperative: expected a boolean, got string "yes"`,
            ],
            [await refused(() => client.closeChannel({ closingSignature: "0x12" })), /^closingSignature: /],
            [await refused(() => client.closeChannel({ balance: 1 })), /^balance: expected a bigint/],
            [await refused(() => client.payingFetch(`${serverUrl}/echofix/x`, {})), "maxPrice: required"],
            [await refused(() => client.payingFetch(`${serverUrl}/echofix/x`, { maxPrice: "5" })), /^maxPrice: expected a bigint/],
            [
              await refused(() => setPaymentCookies(contract, { ...proof, openBlockNumber: "1" })),
              `openBlockNumber: expected a non-negative integer number, got string "1"`,
            ],
            [await refused(() => setPaymentCookies(contract, { ...proof, sender: "me" })), /^sender: /],
          ].map(([message, expected]) =>
            typeof expected === "string" ? [message, expected] : [message, { source: expected.source }],
          );
        },
        {
          contract: stack.manager,
          token: stack.token,
          chainId: stack.chainId,
          receiver: stack.receiver.address,
          serverUrl: stack.serverUrl,
        },
      );
      for (const [message, expected] of refusals) {
        if (typeof expected === "string") assert.equal(message, expected);
        else assert.match(message, new RegExp(expected.source));
      }
    },
  ),
);

test(
  "the npm build's x402 scheme client returns what it declares, and refuses what it cannot pay by name",
  reportFailures(
    () => ({ stack, browser }),
    async () => {
      // Only the npm package has x402 (the paywall's build leaves it out).
      assert.ok(!declared.interfaces.has("X402PaymentPayloadResult"), "the paywall's build declares no x402");
      for (const name of ["X402PaymentRequirements", "X402PaymentPayloadResult", "X402SchemeHooks", "X402SchemeOptions"]) {
        assert.ok(npmDeclared.interfaces.has(name), `the npm build declares ${name}`);
      }
      assert.equal(npmDeclared.interfaces.get("X402SchemeOptions").get("deposit").type, "bigint");
      const npmText = fs.readFileSync(NPM_DTS, "utf8");
      assert.match(npmText, /x402Scheme\(options\?: X402SchemeOptions \| null\): X402Scheme;/);
      assert.match(npmText, /readonly network: `eip155:\$\{number\}`;/);

      const page = await browser.context.newPage();
      try {
        await loadLibrary(page, stack.serverUrl, { build: "npm" });
        await openSessionChannel(page, stack, 50n);
        const out = await page.evaluate(async ({ serverUrl }) => {
          const describe = (object) =>
            Object.fromEntries(
              Object.entries(object).map(([key, value]) => [
                key,
                value === null ? { kind: "null" } : typeof value === "string" ? { kind: "string", text: value } : { kind: typeof value },
              ]),
            );
          const { ErrorCode } = window.uraiden;
          const refused = async (call) => {
            try {
              await call();
              return "accepted";
            } catch (error) {
              return `${ErrorCode[error.code] ?? error.code}: ${error.message}`;
            }
          };
          const required = JSON.parse(atob((await fetch(`${serverUrl}/echofix/x402`)).headers.get("PAYMENT-REQUIRED")));
          const [offer] = required.accepts;
          const scheme = window.client.x402Scheme({ deposit: 50n });
          const result = await scheme.createPaymentPayload(2, offer, { maxAmountPerPayment: "5" });
          // Not sent: its answer never comes, and the hook hands the payment turn on.
          const answered = await scheme.schemeHooks.onPaymentResponse({ paymentPayload: { payload: result.payload }, requirements: offer });
          return {
            getters: { scheme: scheme.scheme, network: scheme.network },
            result: describe(result),
            payload: result.payload,
            answered: answered === undefined ? "undefined" : JSON.stringify(answered),
            refusals: [
              await refused(() => window.client.x402Scheme({ deposit: 5 })),
              await refused(() => scheme.createPaymentPayload(1, offer)),
              await refused(() => scheme.createPaymentPayload(2, offer, { maxAmountPerPayment: "4" })),
              await refused(() => scheme.createPaymentPayload(2, { ...offer, extra: { ...offer.extra, channelManager: offer.payTo } })),
              await refused(() => scheme.createPaymentPayload(2, { ...offer, extra: { ...offer.extra, name: "Other" } })),
            ],
          };
        }, { serverUrl: stack.serverUrl });
        assert.deepEqual(out.getters, { scheme: "uraiden", network: `eip155:${stack.chainId}` });
        assertShape("X402PaymentPayloadResult", out.result, npmDeclared);
        assert.deepEqual(Object.keys(out.payload), ["sender", "openBlock", "balance", "balanceSignature", "statusDeadline", "statusSignature"]);
        assert.equal(out.payload.balance, "5");
        assert.equal(out.answered, "undefined");
        const [badDeposit, badVersion, overCap, otherContract, otherDomain] = out.refusals;
        assert.equal(badDeposit, "InvalidArgument: deposit: expected a bigint token amount in base units, such as 10n");
        assert.equal(badVersion, "InvalidArgument: x402Version: the uraiden scheme speaks x402 version 2 only");
        assert.equal(overCap, "PriceTooHigh: the resource costs 5 but maxPrice is 4; nothing was paid");
        assert.match(otherContract, /^InvalidResponse: the paywall wants payment through 0x[0-9a-fA-F]{40} on chain \d+, this client uses/);
        assert.match(otherDomain, /^InvalidResponse: PAYMENT-REQUIRED: the offer\.extra\.name is "Other"; .*nothing was paid$/);
      } finally {
        await page.close();
      }
    },
  ),
);
