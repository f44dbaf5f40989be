#!/usr/bin/env bash
# Installs what a fresh machine lacks, and nothing twice: the wasm target, npm packages
# (anvil, forge, cast, solc-js, OpenZeppelin, viem, binaryen, playwright-core), links to the foundry
# binaries, wasm-pack and wasm-bindgen-cli, nightly Rust and cargo-fuzz, and Debian's chromium.
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
# The browser client: wasm-pack drives the build, wasm-bindgen must match Cargo.lock's exact
# version, and wasm-opt comes from npm's binaryen (Debian's binaryen 108 emits wasm Chromium rejects).
# cargo's bin dir goes on PATH for this script and for the scripts that call it.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v wasm-pack >/dev/null 2>&1; then
  say "installing wasm-pack (cargo install, about 3 minutes)"
  cargo install wasm-pack --locked --quiet
fi
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (cargo install, about 3 minutes)"
  # Not --locked: the CLI's own lock file pins crates that no longer build with this toolchain.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force --quiet
fi

# Fuzzing (scripts/fuzz.sh): cargo-fuzz needs a nightly toolchain; stable stays the default.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  say "installing the nightly Rust toolchain for cargo-fuzz (rustup, minimal profile)"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (cargo install, about 2 minutes)"
  cargo install cargo-fuzz --locked --quiet
fi

# Headless Chromium for the browser end-to-end tests: Debian's package, driven by playwright-core.
if ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian's chromium (apt-get)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -q chromium chromium-driver >/dev/null ||
    { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q chromium chromium-driver >/dev/null; }
fi

# PostgreSQL for the several-instances tests: Debian's package, whose binaries (initdb, pg_ctl,
# postgres) the tests run on a throwaway cluster of their own; no system service is started.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing Debian's postgresql (apt-get)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -q postgresql >/dev/null ||
    { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q postgresql >/dev/null; }
fi

say "ready: $(.tools/bin/anvil --version | head -1), $(.tools/bin/forge --version | head -1), $(wasm-pack --version), $(wasm-bindgen --version), $(chromium --version 2>/dev/null), $(ls -d /usr/lib/postgresql/*/bin/postgres | head -1)"
