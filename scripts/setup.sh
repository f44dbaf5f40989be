#!/usr/bin/env bash
# Installs what a fresh machine lacks, and nothing twice: the wasm target, npm packages
# (anvil, forge, cast, solc-js, OpenZeppelin, viem), and links to the foundry binaries.
# Safe to run again and again; every step checks first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '[setup] %s\n' "$*"; }

# Rust: the browser client and the protocol crate build for wasm32.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# npm: reinstall only when package-lock.json changed since the last install.
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.uraiden-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing npm packages"
  # `npm ci` trips over the foundry packages' per-platform optional dependencies; install honours the lock.
  npm install --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi

# The npm wrappers for foundry are node scripts that spawn the real binary; a SIGKILL of
# the wrapper would orphan the child, so tests and scripts use the binaries directly.
mkdir -p .tools/bin
for tool in anvil forge cast; do
  bin="node_modules/@foundry-rs/${tool}-linux-amd64/bin/${tool}"
  [ -x "$bin" ] || { echo "setup: $bin is missing; is this linux-x86_64?" >&2; exit 1; }
  ln -sf "$root/$bin" ".tools/bin/$tool"
done
say "ready: $(.tools/bin/anvil --version | head -1), $(.tools/bin/forge --version | head -1)"
