#!/usr/bin/env node
// Offline solc for forge: forge cannot download a compiler here, and `solcjs --standard-json`
// prints a stray line on stdout that breaks forge, so answer forge's two calls directly.
const solc = require('solc');
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);

// forge inlines the sources it resolved, but solc-js normalises away leading `../` in
// relative imports of libraries outside the project (../node_modules), then asks for them.
function readImport(name) {
  for (const candidate of [name, path.join('..', name)]) {
    try {
      return { contents: fs.readFileSync(path.resolve(process.cwd(), candidate), 'utf8') };
    } catch (_) { /* try the next candidate */ }
  }
  return { error: `solc.cjs: source not found: ${name}` };
}
if (args.includes('--version')) {
  // forge parses the second line: "Version: 0.8.x+commit.y.Linux.g++"
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    process.stdout.write(solc.compile(JSON.stringify(input), { import: readImport }));
  });
} else {
  process.stderr.write('solc.cjs: only --version and --standard-json are supported\n');
  process.exit(2);
}
