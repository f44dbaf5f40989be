#!/usr/bin/env node
// Known-answer vectors for µRaiden's EIP-712 v4 messages (BalanceProof, ClosingProof).
//
// This is an implementation independent of the Rust crate (viem + noble-curves), so the
// Rust `uraiden-protocol` crate, the contract tests and the wasm client can all be checked
// against the same numbers.
//
//   node tests/vectors/generate.mjs           # (re)writes tests/vectors/eip712.json
//   node tests/vectors/generate.mjs --check   # exits 1 if the committed file is stale
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

const domain = {
  name: 'MicroTransferChannels',
  version: '1',
  chainId: CHAIN_ID,
  verifyingContract,
};

const encodeType = (primaryType) =>
  `${primaryType}(${PROOF_FIELDS.map((f) => `${f.type} ${f.name}`).join(',')})`;

const MAX_UINT32 = 2 ** 32 - 1;
const MAX_UINT192 = (1n << 192n) - 1n;

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

async function buildCase([name, primaryType, from, signer, openBlockNumber, balance]) {
  const message = {
    sender: addr(from),
    receiver: addr(receiver),
    openBlockNumber,
    balance: balance.toString(10),
  };
  const typedData = {
    types: { EIP712Domain: DOMAIN_FIELDS, [primaryType]: PROOF_FIELDS },
    primaryType,
    domain,
    message,
  };
  // viem wants bigint for uint192; the JSON above keeps the decimal string a wallet gets.
  const hashable = {
    types: { [primaryType]: PROOF_FIELDS },
    primaryType,
    domain,
    message: { ...message, balance },
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

const text = await build();
const shown = relative(process.cwd(), OUT) || OUT;
if (process.argv.includes('--check')) {
  let committed = null;
  try {
    committed = readFileSync(OUT, 'utf8');
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
    process.exit(1);
  }
  console.log(`${shown} is up to date (${JSON.parse(text).cases.length} cases).`);
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${shown} (${JSON.parse(text).cases.length} cases)`);
}
