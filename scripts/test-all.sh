#!/usr/bin/env bash
# The project's one test command (README: `npm test`; CI's .ci/run calls it too).
# Installs what is missing, then runs every suite: contracts, vectors, Rust (native and
# wasm32), the wasm package, end to end on anvil, and the browser suite in headless Chromium.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
export PATH="$root/.tools/bin:$root/node_modules/.bin:$PATH"
# Incremental state only pays off on rebuilds after small edits; on a fresh machine it is
# gigabytes of disk for nothing. Developers who want it set CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

started=$SECONDS
step() {
  printf '\n=== %s\n' "$1"
  shift
  local t0=$SECONDS
  "$@"
  printf '=== done in %ss\n' "$((SECONDS - t0))"
}

step "contracts: formatting" bash -c 'cd contracts && forge fmt --check'
step "contracts: compile; committed artifacts match the sources" \
  bash -c 'cd contracts && forge build && node tools/export-artifacts.mjs --check'
step "contracts: unit, fuzz and invariant tests" bash -c 'cd contracts && forge test'
step "vectors: regenerate with viem and compare with the committed file" \
  node tests/vectors/generate.mjs --check
step "rust: formatting" cargo fmt --all -- --check
step "rust: lints" cargo clippy --workspace --all-targets --locked -- -D warnings
step "rust: lints of the paywall's build of uraiden-wasm (without the x402 feature)" \
  cargo clippy -p uraiden-wasm --all-targets --locked --no-default-features -- -D warnings
step "fuzz: every protocol parser of untrusted bytes, briefly, from the committed corpus" \
  bash scripts/fuzz.sh --seconds 15
step "rust: wasm32 build of the shared crates" \
  cargo build --locked --target wasm32-unknown-unknown -p uraiden-protocol -p uraiden-wasm
step "wasm: npm package uraiden-wasm (bundler + web); committed paywall build matches; no 'any' in types" \
  bash -c 'bash scripts/build-wasm.sh --check && bash scripts/build-wasm.sh && node scripts/measure-wasm.mjs'
step "paywall page: its modules type-check against uraiden-wasm's .d.ts (tsc --checkJs, strict); the committed bundle matches them" \
  bash -c 'tsc -p paywall-web && node scripts/build-paywall.mjs --check'
step "main job: npm run demo brings up anvil, contracts and a paywalled server; --headless pays in Chromium" \
  env URAIDEN_DEMO_RPC_PORT=18545 URAIDEN_DEMO_PORT=15000 bash scripts/demo.sh --exit --headless
step "browser: headless Chromium end to end (anvil, uraiden-server, paywall page, npm package)" \
  node --test --test-concurrency=1 --test-reporter=spec tests/browser/
step "rust: unit, vector and end-to-end tests (anvil)" cargo test --workspace --locked

printf '\nall suites passed in %ss\n' "$((SECONDS - started))"
