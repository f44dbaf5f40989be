#!/usr/bin/env node
// Measures the whole-transaction gas (receipt `gasUsed`, 21,000 base and calldata included) of
// every user-facing operation on a real anvil chain, using the exported artifacts and viem. The
// balance proofs are signed with viem's `signTypedData` (eth_signTypedData_v4), so a run is also
// an end-to-end check of the EIP-712 encoding against the contract.
//
//   cd contracts && node tools/measure-gas.mjs      # prints a Markdown table (see GAS.md)
//
// Needs the root node_modules (anvil from @foundry-rs/anvil, viem) and artifacts/*.json.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, createPublicClient, createWalletClient, http, numberToHex, parseUnits } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ANVIL = join(ROOT, '..', 'node_modules', '.bin', 'anvil');
const artifact = (name) => JSON.parse(readFileSync(join(ROOT, 'artifacts', `${name}.json`), 'utf8'));
const MNEMONIC = 'test test test test test test test test test test test junk';
const CHALLENGE_PERIOD = 500;

function startAnvil() {
  return new Promise((resolve, reject) => {
    const child = spawn(ANVIL, ['--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/Listening on ([\d.]+:\d+)/);
      if (match) resolve({ child, url: `http://${match[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`anvil exited with ${code} before listening`)));
  });
}

const { child, url } = await startAnvil();
try {
  const transport = http(url);
  const chain = foundry;
  const publicClient = createPublicClient({ chain, transport });
  const [deployer, receiver, sender, delegate] = [0, 1, 2, 3].map((addressIndex) =>
    mnemonicToAccount(MNEMONIC, { addressIndex }),
  );
  const wallet = (account) => createWalletClient({ account, chain, transport });

  const Token = artifact('CustomToken');
  const Manager = artifact('RaidenMicroTransferChannels');
  const rows = [];

  async function mined(hash) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return receipt;
  }
  async function measure(label, hash) {
    const receipt = await mined(hash);
    rows.push([label, receipt.gasUsed]);
    return receipt;
  }

  // Deploy as the vectors assume: the token at deployer nonce 0, the manager at nonce 1.
  const tokenReceipt = await mined(
    await wallet(deployer).deployContract({
      abi: Token.abi,
      bytecode: Token.bytecode,
      args: [1_000_000n, 18, 'CustomToken', 'TKN'],
    }),
  );
  const token = tokenReceipt.contractAddress;
  const managerReceipt = await mined(
    await wallet(deployer).deployContract({
      abi: Manager.abi,
      bytecode: Manager.bytecode,
      args: [token, CHALLENGE_PERIOD, []],
    }),
  );
  const manager = managerReceipt.contractAddress;
  rows.push(['deploy CustomToken', tokenReceipt.gasUsed], ['deploy RaidenMicroTransferChannels', managerReceipt.gasUsed]);

  const write = (account, address, abi, functionName, args, extra = {}) =>
    wallet(account).writeContract({ address, abi, functionName, args, ...extra });
  const tokenWrite = (account, functionName, args) => write(account, token, Token.abi, functionName, args);
  const managerWrite = (account, functionName, args) => write(account, manager, Manager.abi, functionName, args);

  const domain = { name: 'MicroTransferChannels', version: '1', chainId: chain.id, verifyingContract: manager };
  const fields = [
    { name: 'sender', type: 'address' },
    { name: 'receiver', type: 'address' },
    { name: 'openBlockNumber', type: 'uint32' },
    { name: 'balance', type: 'uint192' },
  ];
  const signProof = (account, primaryType, openBlockNumber, balance) =>
    account.signTypedData({
      domain,
      types: { [primaryType]: fields },
      primaryType,
      message: { sender: sender.address, receiver: receiver.address, openBlockNumber, balance },
    });
  const openBlockOf = (receipt) => Number(receipt.blockNumber);

  const tokens = (n) => parseUnits(String(n), 18);
  await mined(await tokenWrite(deployer, 'transfer', [sender.address, tokens(10_000)]));
  // Pay the receiver once so its token balance slot is non-zero, as for a receiver in service.
  await mined(await tokenWrite(deployer, 'transfer', [receiver.address, 1n]));
  await measure('token approve (before ERC20 create / top-up)', await tokenWrite(sender, 'approve', [manager, 2n ** 256n - 1n]));

  // Steady state: the manager already holds tokens (the very first deposit ever pays 17,100 more
  // for the manager's zero-to-non-zero token balance).
  await mined(await managerWrite(sender, 'createChannel', [deployer.address, tokens(1)]));

  // Opening.
  const erc223Data = concat([sender.address, receiver.address]);
  const erc223Create = await measure(
    'ERC223 create (token.transfer with 40-byte data)',
    await tokenWrite(sender, 'transfer', [manager, tokens(10), erc223Data]),
  );
  await measure(
    'ERC223 create with signer (60-byte data)',
    await tokenWrite(sender, 'transfer', [manager, tokens(10), concat([erc223Data, delegate.address])]),
  );
  const erc20Create = await measure('ERC20 createChannel', await managerWrite(sender, 'createChannel', [receiver.address, tokens(10)]));
  await measure(
    'ERC20 createChannelWithSigner',
    await managerWrite(sender, 'createChannelWithSigner', [receiver.address, tokens(10), delegate.address]),
  );
  // Topping up.
  const erc223Open = openBlockOf(erc223Create);
  await measure(
    'ERC223 top-up (44-byte data)',
    await tokenWrite(sender, 'transfer', [manager, tokens(5), concat([erc223Data, numberToHex(erc223Open, { size: 4 })])]),
  );
  const erc20Open = openBlockOf(erc20Create);
  await measure('ERC20 topUp', await managerWrite(sender, 'topUp', [receiver.address, erc20Open, tokens(5)]));

  // Last among the opening paths: the permit replaces the sender's unlimited allowance.
  const nonce = await publicClient.readContract({ address: token, abi: Token.abi, functionName: 'nonces', args: [sender.address] });
  const deadline = 2n ** 40n;
  const permit = await sender.signTypedData({
    domain: { name: 'CustomToken', version: '1', chainId: chain.id, verifyingContract: token },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: sender.address, spender: manager, value: tokens(10), nonce, deadline },
  });
  const r = `0x${permit.slice(2, 66)}`;
  const s = `0x${permit.slice(66, 130)}`;
  const v = Number.parseInt(permit.slice(130, 132), 16);
  await measure(
    'EIP-2612 createChannelWithPermit (with signer)',
    await managerWrite(sender, 'createChannelWithPermit', [receiver.address, tokens(10), delegate.address, deadline, v, r, s]),
  );

  await mined(await tokenWrite(sender, 'approve', [manager, 2n ** 256n - 1n]));

  // Withdrawing and closing.
  await measure(
    'withdraw (receiver)',
    await managerWrite(receiver, 'withdraw', [sender.address, erc20Open, tokens(3), await signProof(sender, 'BalanceProof', erc20Open, tokens(3))]),
  );
  await measure(
    'cooperativeClose (after a withdraw)',
    await managerWrite(receiver, 'cooperativeClose', [
      sender.address,
      receiver.address,
      erc20Open,
      tokens(7),
      await signProof(sender, 'BalanceProof', erc20Open, tokens(7)),
      await signProof(receiver, 'ClosingProof', erc20Open, tokens(7)),
    ]),
  );
  await measure(
    'cooperativeClose',
    await managerWrite(sender, 'cooperativeClose', [
      sender.address,
      receiver.address,
      erc223Open,
      tokens(7),
      await signProof(sender, 'BalanceProof', erc223Open, tokens(7)),
      await signProof(receiver, 'ClosingProof', erc223Open, tokens(7)),
    ]),
  );
  const third = openBlockOf(await mined(await managerWrite(sender, 'createChannel', [receiver.address, tokens(10)])));
  await measure('uncooperativeClose', await managerWrite(sender, 'uncooperativeClose', [receiver.address, third, tokens(4)]));
  await publicClient.request({ method: 'anvil_mine', params: [numberToHex(CHALLENGE_PERIOD + 1)] });
  await measure('settle', await managerWrite(sender, 'settle', [receiver.address, third]));

  const hardfork = (await publicClient.request({ method: 'anvil_nodeInfo' })).hardFork;
  process.stdout.write(`anvil ${url}, hardfork ${hardfork}, manager ${manager}\n\n`);
  process.stdout.write('| operation | gas (receipt gasUsed) |\n|---|---:|\n');
  for (const [label, gas] of rows) process.stdout.write(`| ${label} | ${gas.toLocaleString('en-US')} |\n`);
} catch (error) {
  process.stderr.write(`measure-gas: ${error.shortMessage ?? error.message}\n`);
  process.exitCode = 1;
} finally {
  child.kill();
}
