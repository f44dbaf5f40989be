#!/usr/bin/env node
// Known-answer vectors for µRaiden's EIP-712 v4 messages: the on-chain BalanceProof and
// ClosingProof (eip712.json, also checked by the contract), and the off-chain CloseRequest and
// StatusRequest a sender signs to ask the receiver (eip712-requests.json; the contract never
// sees them, so they live in a file of their own).
//
// This is an implementation independent of the Rust crate (viem + noble-curves), so the
// Rust `uraiden-protocol` crate, the contract tests and the wasm client can all be checked
// against the same numbers.
//
//   node tests/vectors/generate.mjs           # (re)writes tests/vectors/eip712*.json
//   node tests/vectors/generate.mjs --check   # exits 1 if a committed file is stale
//
// Run from the repository root (viem comes from the root node_modules).

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getContractAddress,
  hashDomain,
  hashStruct,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToHex,
  toHex,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'eip712.json');
const OUT_REQUESTS = join(dirname(fileURLToPath(import.meta.url)), 'eip712-requests.json');

// anvil's / hardhat's well-known development mnemonic: accounts 0–4.
const MNEMONIC = 'test test test test test test test test test test test junk';
const accounts = [0, 1, 2, 3, 4].map((addressIndex) => {
  const account = mnemonicToAccount(MNEMONIC, { addressIndex });
  return { account, privateKey: toHex(account.getHdKey().privateKey) };
});
// Roles (the same on a real anvil): 0 deploys the channel manager, 1 is the receiver,
// 2 and 4 are senders, 3 is a delegated (session-key) signer of sender 2.
const [deployer, receiver, sender, delegate, sender2] = accounts;

const CHAIN_ID = 31337;
// Account 0 deploys the token at nonce 0 and the channel manager at nonce 1.
const verifyingContract = getContractAddress({
  from: deployer.account.address,
  nonce: 1n,
}).toLowerCase();

const DOMAIN_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
];
const PROOF_FIELDS = [
  { name: 'sender', type: 'address' },
  { name: 'receiver', type: 'address' },
  { name: 'openBlockNumber', type: 'uint32' },
  { name: 'balance', type: 'uint192' },
];
const PRIMARY_TYPES = ['BalanceProof', 'ClosingProof'];
// Signed by the sender (or its delegated signer) to ask the receiver, valid until `deadline`.
const REQUEST_FIELDS = {
  CloseRequest: [...PROOF_FIELDS, { name: 'deadline', type: 'uint64' }],
  StatusRequest: [...PROOF_FIELDS.filter((f) => f.name !== 'balance'), { name: 'deadline', type: 'uint64' }],
};
const FIELDS = {
  BalanceProof: PROOF_FIELDS,
  ClosingProof: PROOF_FIELDS,
  ...REQUEST_FIELDS,
};

const domain = {
  name: 'MicroTransferChannels',
  version: '1',
  chainId: CHAIN_ID,
  verifyingContract,
};

const encodeType = (primaryType) =>
  `${primaryType}(${FIELDS[primaryType].map((f) => `${f.type} ${f.name}`).join(',')})`;

const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT192 = (1n << 192n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;
// A deadline as a client signs it: a few minutes after some moment (2023-11-14T22:13:20Z).
const DEADLINE = 1_700_000_300n;

const addr = (who) => who.account.address.toLowerCase();

const CASES = [
  ['balance-proof-zero-balance', 'BalanceProof', sender, sender, 1, 0n],
  ['balance-proof-one', 'BalanceProof', sender, sender, 1234, 1n],
  ['balance-proof-typical', 'BalanceProof', sender, sender, 123456, 5_000_000_000_000_000_000n],
  ['balance-proof-open-block-zero', 'BalanceProof', sender, sender, 0, 1000n],
  ['balance-proof-max-open-block', 'BalanceProof', sender, sender, MAX_UINT32, 7n],
  ['balance-proof-max-balance', 'BalanceProof', sender, sender, 4242, MAX_UINT192],
  ['balance-proof-max-both', 'BalanceProof', sender2, sender2, MAX_UINT32, MAX_UINT192],
  ['balance-proof-delegated-signer', 'BalanceProof', sender, delegate, 123456, 25n],
  ['closing-proof-typical', 'ClosingProof', sender, receiver, 123456, 5_000_000_000_000_000_000n],
  ['closing-proof-zero-balance', 'ClosingProof', sender2, receiver, 1, 0n],
  ['closing-proof-max', 'ClosingProof', sender, receiver, MAX_UINT32, MAX_UINT192],
];

const REQUEST_CASES = [
  ['close-request-typical', 'CloseRequest', sender, sender, 123456, 5_000_000_000_000_000_000n, DEADLINE],
  ['close-request-zero-balance', 'CloseRequest', sender2, sender2, 1, 0n, DEADLINE],
  ['close-request-delegated-signer', 'CloseRequest', sender, delegate, 123456, 25n, DEADLINE],
  ['close-request-max', 'CloseRequest', sender, sender, MAX_UINT32, MAX_UINT192, MAX_UINT64],
  ['status-request-typical', 'StatusRequest', sender, sender, 123456, null, DEADLINE],
  ['status-request-delegated-signer', 'StatusRequest', sender, delegate, 123456, null, DEADLINE],
  ['status-request-max', 'StatusRequest', sender2, sender2, MAX_UINT32, null, MAX_UINT64],
  ['status-request-zero', 'StatusRequest', sender2, sender2, 0, null, 0n],
];

async function buildCase([name, primaryType, from, signer, openBlockNumber, balance, deadline = null]) {
  const fields = FIELDS[primaryType];
  const message = { sender: addr(from), receiver: addr(receiver), openBlockNumber };
  if (balance !== null) message.balance = balance.toString(10);
  if (deadline !== null) message.deadline = deadline.toString(10);
  const typedData = {
    types: { EIP712Domain: DOMAIN_FIELDS, [primaryType]: fields },
    primaryType,
    domain,
    message,
  };
  // viem wants bigint for uint192 and uint64; the JSON above keeps the decimal strings a
  // wallet gets.
  const big = {};
  if (balance !== null) big.balance = balance;
  if (deadline !== null) big.deadline = deadline;
  const hashable = {
    types: { [primaryType]: fields },
    primaryType,
    domain,
    message: { ...message, ...big },
  };
  const structHash = hashStruct({ data: hashable.message, primaryType, types: hashable.types });
  const digest = hashTypedData(hashable);
  const signature = await signer.account.signTypedData(hashable);

  // Self-checks: the signature recovers to the signer, and is low-s with v 27/28.
  const recovered = await recoverTypedDataAddress({ ...hashable, signature });
  if (recovered.toLowerCase() !== addr(signer)) throw new Error(`${name}: recovery mismatch`);
  const v = parseInt(signature.slice(130), 16);
  if (signature.length !== 132 || (v !== 27 && v !== 28)) throw new Error(`${name}: bad v`);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  if (BigInt(`0x${signature.slice(66, 130)}`) > n / 2n) throw new Error(`${name}: high s`);

  return {
    name,
    primaryType,
    privateKey: signer.privateKey.toLowerCase(),
    signer: addr(signer),
    message,
    typedData,
    structHash,
    digest,
    signature: signature.toLowerCase(),
  };
}

async function buildRequests() {
  const cases = [];
  for (const c of REQUEST_CASES) cases.push(await buildCase(c));
  const vectors = {
    description:
      'Known-answer vectors for the EIP-712 v4 CloseRequest/StatusRequest a channel\'s sender (or its delegated ' +
      'signer) signs to ask the receiver for a closing signature or for its last accepted proof; never sent on ' +
      'chain. Same domain, keys and roles as eip712.json. Addresses and hex are lowercase; balance and ' +
      'deadline (unix seconds) are decimal strings. Generated by tests/vectors/generate.mjs with viem; ' +
      'check with `--check`.',
    domain,
    domainSeparator: hashDomain({ domain, types: { EIP712Domain: DOMAIN_FIELDS } }),
    typeHashes: Object.fromEntries(
      Object.keys(REQUEST_FIELDS).map((t) => [t, keccak256(stringToHex(encodeType(t)))]),
    ),
    cases,
  };
  return `${JSON.stringify(vectors, null, 2)}\n`;
}

async function build() {
  const cases = [];
  for (const c of CASES) cases.push(await buildCase(c));
  const vectors = {
    description:
      'Known-answer vectors for the EIP-712 v4 BalanceProof/ClosingProof of RaidenMicroTransferChannels. ' +
      'Generated by tests/vectors/generate.mjs with viem (hashDomain, hashStruct, hashTypedData, ' +
      'account.signTypedData: RFC 6979, low-s, v 27/28) from anvil\'s dev mnemonic ' +
      '"test test test test test test test test test test test junk" (accounts 0-4; account 0 deploys, ' +
      'the channel manager is its nonce-1 contract; 1 receives; 2 and 4 send; 3 is a delegated signer). ' +
      'Addresses and hex are lowercase; balance is a decimal string. Regenerate with ' +
      '`node tests/vectors/generate.mjs`, check with `--check`.',
    domain,
    domainSeparator: hashDomain({ domain, types: { EIP712Domain: DOMAIN_FIELDS } }),
    typeHashes: Object.fromEntries(
      PRIMARY_TYPES.map((t) => [t, keccak256(stringToHex(encodeType(t)))]),
    ),
    cases,
  };
  return `${JSON.stringify(vectors, null, 2)}\n`;
}

const outputs = [
  [OUT, await build()],
  [OUT_REQUESTS, await buildRequests()],
];
let stale = false;
for (const [out, text] of outputs) {
  const shown = relative(process.cwd(), out) || out;
  if (process.argv.includes('--check')) {
    let committed = null;
    try {
      committed = readFileSync(out, 'utf8');
    } catch {
      // reported below
    }
    if (committed !== text) {
      console.error(
        committed === null
          ? `${shown} is missing; run \`node tests/vectors/generate.mjs\` to create it.`
          : `${shown} differs from what generate.mjs produces; run \`node tests/vectors/generate.mjs\` ` +
              'and review the diff (the vectors are the shared reference: a change here is a protocol change).',
      );
      stale = true;
    } else {
      console.log(`${shown} is up to date (${JSON.parse(text).cases.length} cases).`);
    }
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${shown} (${JSON.parse(text).cases.length} cases)`);
  }
}
if (stale) process.exit(1);
