#!/usr/bin/env node
// Exports the deployable contracts from forge's build output (out/) into small, committed
// artifacts that the Rust crates read with alloy's `sol!(Name, "contracts/artifacts/Name.json")`:
// { contractName, abi, bytecode, deployedBytecode }.
//
//   forge build && node tools/export-artifacts.mjs           # (re)writes artifacts/*.json
//   forge build && node tools/export-artifacts.mjs --check   # exits 1 if they are stale
//
// The build is deterministic (foundry.toml: bytecode_hash = "none", cbor_metadata = false), so a
// fresh compile of unchanged sources reproduces the committed files byte for byte.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'out');
const ARTIFACTS = join(ROOT, 'artifacts');
const CONTRACTS = [
  { source: 'RaidenMicroTransferChannels.sol', name: 'RaidenMicroTransferChannels' },
  { source: 'CustomToken.sol', name: 'CustomToken' },
];

function fail(message) {
  process.stderr.write(`export-artifacts: ${message}\n`);
  process.exit(1);
}

function render({ source, name }) {
  const built = join(OUT, source, `${name}.json`);
  if (!existsSync(built)) {
    fail(`${relative(process.cwd(), built)} not found: run \`forge build\` in contracts/ first`);
  }
  const forge = JSON.parse(readFileSync(built, 'utf8'));
  const bytecode = forge.bytecode?.object;
  const deployedBytecode = forge.deployedBytecode?.object;
  if (!Array.isArray(forge.abi) || !bytecode?.startsWith('0x') || !deployedBytecode?.startsWith('0x')) {
    fail(`${built} has no abi/bytecode: is it a forge build output?`);
  }
  // Key order is fixed here; the ABI keeps solc's (deterministic) order.
  const artifact = { contractName: name, abi: forge.abi, bytecode, deployedBytecode };
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter((arg) => arg !== '--check');
if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(' ')} (usage: export-artifacts.mjs [--check])`);

const stale = [];
for (const contract of CONTRACTS) {
  const file = join(ARTIFACTS, `${contract.name}.json`);
  const fresh = render(contract);
  if (check) {
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : null;
    if (committed !== fresh) stale.push(`${relative(process.cwd(), file)} (${committed === null ? 'missing' : 'differs'})`);
  } else {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(file, fresh);
    process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
  }
}

if (stale.length > 0) {
  fail(
    `artifacts do not match a fresh compile:\n  ${stale.join('\n  ')}\n` +
      'regenerate them with: cd contracts && forge build && node tools/export-artifacts.mjs',
  );
}
if (check) process.stdout.write(`export-artifacts: ${CONTRACTS.length} artifacts up to date\n`);
