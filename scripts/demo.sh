#!/usr/bin/env bash
# The main job (README: `npm run demo`): a local chain with the contracts deployed.
# Starts anvil, deploys CustomToken + RaidenMicroTransferChannels with `uraiden-server
# deploy`, prints the addresses and the test key, and keeps anvil running until Ctrl-C.
#   --exit   deploy, print, and stop (used by the test suite to check this command)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stay=1
for arg in "$@"; do
  case "$arg" in
    --exit) stay=0 ;;
    *) echo "demo.sh: unknown option $arg (known: --exit)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
cargo build --quiet --locked -p uraiden-server

port="${URAIDEN_DEMO_RPC_PORT:-8545}"
work="$(mktemp -d)"
cleanup() { [ -n "${anvil_pid:-}" ] && kill "$anvil_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

.tools/bin/anvil --port "$port" --silent > "$work/anvil.log" 2>&1 &
anvil_pid=$!
for _ in $(seq 100); do
  .tools/bin/cast chain-id --rpc-url "http://127.0.0.1:$port" > /dev/null 2>&1 && break
  kill -0 "$anvil_pid" 2>/dev/null || { echo "anvil did not start (port $port busy?):" >&2; cat "$work/anvil.log" >&2; exit 1; }
  sleep 0.1
done

# anvil's account 0: a public development key, never use it on a real chain.
key0=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
(umask 077; echo "$key0" > "$work/receiver.key")
"${CARGO_TARGET_DIR:-target}/debug/uraiden-server" --rpc-provider "http://127.0.0.1:$port" --private-key "$work/receiver.key" deploy

cat <<TXT

anvil is listening on http://127.0.0.1:$port (chain id 31337).
Test account (owner and receiver): 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
  private key 0x$key0  (import into MetaMask for local testing only)
TXT
if [ "$stay" = 1 ]; then
  echo "Press Ctrl-C to stop."
  wait "$anvil_pid"
fi
