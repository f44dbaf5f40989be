// Self-test of the browser harness and its injected EIP-1193 test wallet, on a page the real
// server serves (the 402 paywall page of /echofix/hello), against a real anvil.
//
//   node --test tests/browser/wallet.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { encodeFunctionData, recoverMessageAddress, recoverTypedDataAddress } from "viem";

import {
  ERC20_ABI,
  MANAGER_ABI,
  installWallet,
  launchBrowser,
  reportFailures,
  screenshot,
  startStack,
} from "./harness.mjs";

let stack;
let browser;
let wallet;
const it = (name, body) => test(name, reportFailures(() => ({ stack, browser }), body));

describe("harness and test wallet", { timeout: 300_000 }, () => {
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    wallet = await installWallet(browser.context, {
      account: stack.sender.address,
      privateKey: stack.sender.privateKey,
      rpcUrl: stack.rpcUrl,
      chainId: stack.chainId,
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the server answers a browser with the 402 paywall page and its embedded info", async () => {
    const response = await browser.page.goto(`${stack.serverUrl}/echofix/hello`);
    assert.equal(response.status(), 402);
    assert.equal(new URL(browser.page.url()).pathname, "/echofix/hello", "the URL stays the paywalled one");
    const info = JSON.parse(await browser.page.locator("#rdn-paywall-info").textContent());
    assert.equal(info.price, "5");
    assert.equal(info.chainId, stack.chainId);
    assert.equal(info.receiver.toLowerCase(), stack.receiver.address.toLowerCase());
    assert.equal(info.contract.toLowerCase(), stack.manager.toLowerCase());
    assert.equal(info.token.toLowerCase(), stack.token.toLowerCase());
    assert.equal(response.headers()["rdn-price"], "5");
    await screenshot(browser.page, "paywall-402");
  });

  it("window.ethereum answers eth_chainId and eth_accounts, and forwards reads to anvil", async () => {
    const result = await browser.page.evaluate(async () => ({
      isTest: window.ethereum.isUraidenTestWallet,
      chainId: await window.ethereum.request({ method: "eth_chainId" }),
      accounts: await window.ethereum.request({ method: "eth_accounts" }),
      requested: await window.ethereum.request({ method: "eth_requestAccounts" }),
      blockNumber: await window.ethereum.request({ method: "eth_blockNumber" }),
      balance: await window.ethereum.request({
        method: "eth_getBalance",
        params: [(await window.ethereum.request({ method: "eth_accounts" }))[0], "latest"],
      }),
    }));
    assert.equal(result.isTest, true);
    assert.equal(result.chainId, `0x${stack.chainId.toString(16)}`);
    assert.deepEqual(result.accounts, [stack.sender.address.toLowerCase()]);
    assert.deepEqual(result.requested, [stack.sender.address.toLowerCase()]);
    assert.equal(BigInt(result.blockNumber), await stack.blockNumber());
    assert.ok(BigInt(result.balance) > 0n, "the sender has ETH for gas");
  });

  it("eth_signTypedData_v4 of a BalanceProof built in the page recovers to the account, in viem and in the contract", async () => {
    const proof = { openBlockNumber: 7, balance: "1000" };
    const { typedData, signature } = await browser.page.evaluate(
      async ({ chainId, contract, receiver, openBlockNumber, balance }) => {
        const [sender] = await window.ethereum.request({ method: "eth_accounts" });
        const typedData = {
          types: {
            EIP712Domain: [
              { name: "name", type: "string" },
              { name: "version", type: "string" },
              { name: "chainId", type: "uint256" },
              { name: "verifyingContract", type: "address" },
            ],
            BalanceProof: [
              { name: "sender", type: "address" },
              { name: "receiver", type: "address" },
              { name: "openBlockNumber", type: "uint32" },
              { name: "balance", type: "uint192" },
            ],
          },
          primaryType: "BalanceProof",
          domain: { name: "MicroTransferChannels", version: "1", chainId, verifyingContract: contract },
          message: { sender, receiver, openBlockNumber, balance },
        };
        const signature = await window.ethereum.request({
          method: "eth_signTypedData_v4",
          params: [sender, JSON.stringify(typedData)],
        });
        return { typedData, signature };
      },
      { chainId: stack.chainId, contract: stack.manager, receiver: stack.receiver.address, ...proof },
    );
    assert.match(signature, /^0x[0-9a-f]{130}$/);
    const { EIP712Domain: _, ...types } = typedData.types;
    const recovered = await recoverTypedDataAddress({ ...typedData, types, signature });
    assert.equal(recovered, stack.sender.address);
    // The contract's own recovery agrees: this is the signature format it verifies.
    const onChain = await stack.publicClient.readContract({
      address: stack.manager,
      abi: MANAGER_ABI,
      functionName: "extractBalanceProofSignature",
      args: [stack.sender.address, stack.receiver.address, proof.openBlockNumber, BigInt(proof.balance), signature],
    });
    assert.equal(onChain, stack.sender.address);
  });

  it("eth_signTypedData_v4 and personal_sign refuse another account (4100)", async () => {
    const error = await browser.page.evaluate(async (other) => {
      try {
        await window.ethereum.request({ method: "personal_sign", params: ["0x68656c6c6f", other] });
        return null;
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    }, stack.receiver.address);
    assert.equal(error?.code, 4100);
  });

  it("personal_sign signs with the account", async () => {
    const signature = await browser.page.evaluate(async () => {
      const [account] = await window.ethereum.request({ method: "eth_accounts" });
      return window.ethereum.request({ method: "personal_sign", params: ["0x68656c6c6f", account] });
    });
    assert.equal(await recoverMessageAddress({ message: "hello", signature }), stack.sender.address);
  });

  it("eth_sendTransaction of a token transfer is signed locally and moves tokens on chain", async () => {
    const amount = 12n * stack.unit;
    const data = encodeFunctionData({ abi: ERC20_ABI, functionName: "transfer", args: [stack.owner.address, amount] });
    const [senderBefore, ownerBefore] = await Promise.all([
      stack.tokenBalance(stack.sender.address),
      stack.tokenBalance(stack.owner.address),
    ]);
    const sentBefore = wallet.transactions().length;
    const hash = await browser.page.evaluate(
      async ({ token, data }) => {
        const [from] = await window.ethereum.request({ method: "eth_accounts" });
        return window.ethereum.request({ method: "eth_sendTransaction", params: [{ from, to: token, data }] });
      },
      { token: stack.token, data },
    );
    assert.match(hash, /^0x[0-9a-f]{64}$/);
    const receipt = await stack.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.from.toLowerCase(), stack.sender.address.toLowerCase());
    // The page can follow the receipt through the wallet, as uraiden-wasm does.
    const pageReceipt = await browser.page.evaluate(
      (h) => window.ethereum.request({ method: "eth_getTransactionReceipt", params: [h] }),
      hash,
    );
    assert.equal(pageReceipt.status, "0x1");
    assert.equal(await stack.tokenBalance(stack.sender.address), senderBefore - amount);
    assert.equal(await stack.tokenBalance(stack.owner.address), ownerBefore + amount);
    assert.equal(wallet.transactions().length, sentBefore + 1);
    assert.equal(wallet.transactions().at(-1).hash, hash);
  });

  it("a reverting transaction is refused with the node's error, and nothing is sent", async () => {
    const tooMuch = 10n ** 30n * stack.unit;
    const data = encodeFunctionData({ abi: ERC20_ABI, functionName: "transfer", args: [stack.owner.address, tooMuch] });
    const error = await browser.page.evaluate(
      async ({ token, data }) => {
        const [from] = await window.ethereum.request({ method: "eth_accounts" });
        try {
          await window.ethereum.request({ method: "eth_sendTransaction", params: [{ from, to: token, data }] });
          return null;
        } catch (e) {
          return { code: e.code, message: e.message };
        }
      },
      { token: stack.token, data },
    );
    assert.ok(error, "the wallet refuses a transaction that reverts");
    assert.equal(typeof error.code, "number");
  });

  it("rejectNext makes the next call fail with 4001 in the page; the one after succeeds", async () => {
    wallet.rejectNext("eth_sendTransaction");
    const promptsBefore = wallet.prompts();
    const data = encodeFunctionData({ abi: ERC20_ABI, functionName: "transfer", args: [stack.owner.address, 1n] });
    const balanceBefore = await stack.tokenBalance(stack.sender.address);
    const outcomes = await browser.page.evaluate(
      async ({ token, data }) => {
        const [from] = await window.ethereum.request({ method: "eth_accounts" });
        const attempt = async () => {
          try {
            return { hash: await window.ethereum.request({ method: "eth_sendTransaction", params: [{ from, to: token, data }] }) };
          } catch (e) {
            return { code: e.code, message: e.message, isError: e instanceof Error };
          }
        };
        return [await attempt(), await attempt()];
      },
      { token: stack.token, data },
    );
    assert.deepEqual(outcomes[0], { code: 4001, message: "User rejected the request.", isError: true });
    assert.match(outcomes[1].hash, /^0x[0-9a-f]{64}$/);
    await stack.publicClient.waitForTransactionReceipt({ hash: outcomes[1].hash, pollingInterval: 50 });
    assert.equal(await stack.tokenBalance(stack.sender.address), balanceBefore - 1n, "only the second one was sent");
    assert.equal(wallet.prompts(), promptsBefore + 2, "a rejected prompt is still a prompt");
  });

  it("wallet_switchEthereumChain: same chain ok, unknown chain 4902; unsupported signing methods 4200", async () => {
    const result = await browser.page.evaluate(async (chainId) => {
      const code = async (args) => {
        try {
          await window.ethereum.request(args);
          return "ok";
        } catch (e) {
          return e.code;
        }
      };
      return {
        same: await code({ method: "wallet_switchEthereumChain", params: [{ chainId }] }),
        other: await code({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x1" }] }),
        ethSign: await code({ method: "eth_sign", params: ["0x00", "0x00"] }),
      };
    }, `0x${stack.chainId.toString(16)}`);
    assert.deepEqual(result, { same: "ok", other: 4902, ethSign: 4200 });
  });

  it("EIP-6963: the wallet announces itself to a listener and answers requestProvider", async () => {
    const announced = await browser.page.evaluate(async () => {
      const seen = [];
      window.addEventListener("eip6963:announceProvider", (event) => seen.push(event.detail));
      window.dispatchEvent(new Event("eip6963:requestProvider"));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return Promise.all(
        seen.map(async (detail) => ({
          info: detail.info,
          frozen: Object.isFrozen(detail),
          isWindowEthereum: detail.provider === window.ethereum,
          chainId: await detail.provider.request({ method: "eth_chainId" }),
        })),
      );
    });
    assert.equal(announced.length, 1);
    const [{ info, frozen, isWindowEthereum, chainId }] = announced;
    assert.deepEqual(
      { name: info.name, rdns: info.rdns, uuid: info.uuid },
      { name: "uraiden test wallet", rdns: "dev.uraiden.testwallet", uuid: wallet.info.uuid },
    );
    assert.match(info.icon, /^data:image\/svg\+xml;base64,/);
    assert.equal(frozen, true);
    assert.equal(isWindowEthereum, true);
    assert.equal(chainId, `0x${stack.chainId.toString(16)}`);
  });

  it("events: accountsChanged reaches the page's listener; the wallet survives a navigation", async () => {
    await browser.page.goto(`${stack.serverUrl}/echofix/other`);
    await browser.page.evaluate(() => {
      window.__events = [];
      window.ethereum.on("accountsChanged", (accounts) => window.__events.push(accounts));
    });
    await wallet.setAccountsExposed(false);
    await wallet.setAccountsExposed(true);
    const events = await browser.page.evaluate(() => window.__events);
    assert.deepEqual(events, [[], [stack.sender.address.toLowerCase()]]);
  });

  it("records every request; prompts() counts only user-facing ones", async () => {
    const methods = wallet.requests.map((entry) => entry.method);
    for (const method of ["eth_chainId", "eth_accounts", "eth_signTypedData_v4", "eth_sendTransaction", "personal_sign"]) {
      assert.ok(methods.includes(method), `${method} recorded`);
    }
    const prompts = wallet.requests.filter((entry) => entry.prompt).map((entry) => entry.method);
    assert.ok(!prompts.includes("eth_accounts") && !prompts.includes("eth_chainId"));
    // eth_requestAccounts of an already connected site answers without a prompt.
    assert.ok(!prompts.includes("eth_requestAccounts"));
    assert.equal(wallet.prompts(), prompts.length);
  });

  it("a wallet that is not connected yet: eth_accounts is [] until eth_requestAccounts, which prompts once", async () => {
    const other = await launchBrowser();
    try {
      const fresh = await installWallet(other.context, {
        privateKey: stack.sender.privateKey,
        rpcUrl: stack.rpcUrl,
        chainId: stack.chainId,
        connected: false,
      });
      await other.page.goto(`${stack.serverUrl}/echofix/hello`);
      const seen = await other.page.evaluate(async () => ({
        before: await window.ethereum.request({ method: "eth_accounts" }),
        requested: await window.ethereum.request({ method: "eth_requestAccounts" }),
        again: await window.ethereum.request({ method: "eth_requestAccounts" }),
        after: await window.ethereum.request({ method: "eth_accounts" }),
      }));
      const me = stack.sender.address.toLowerCase();
      assert.deepEqual(seen, { before: [], requested: [me], again: [me], after: [me] });
      assert.equal(fresh.prompts(), 1);
    } finally {
      await other.close();
    }
  });
});
