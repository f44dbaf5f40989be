#!/usr/bin/env bash
# The main job (README: `npm run demo`): a local chain, the contracts, and `uraiden-server`
# paywalling the seed's echo demo. Starts anvil, deploys CustomToken +
# RaidenMicroTransferChannels with `uraiden-server deploy`, funds two test senders (one for
# the browser, one for the command line), starts the receiver, prints what to open and which
# test keys to use, and runs until Ctrl-C.
#   --exit      check that the paywall answers 402 with its RDN headers and that
#               `uraiden get` pays, then stop (the test suite runs this)
#   --headless  run the whole browser flow by itself in headless Chromium (deposit, paid
#               pages with a session key, cooperative close), print what it paid, then stop
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stay=1
headless=0
for arg in "$@"; do
  case "$arg" in
    --exit) stay=0 ;;
    --headless) headless=1 ;;
    *) echo "demo.sh: unknown option $arg (known: --exit, --headless)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
cargo build --quiet --locked -p uraiden-server -p uraiden-client
server_bin="${CARGO_TARGET_DIR:-target}/debug/uraiden-server"
client_bin="${CARGO_TARGET_DIR:-target}/debug/uraiden"

rpc_port="${URAIDEN_DEMO_RPC_PORT:-8545}"
http_port="${URAIDEN_DEMO_PORT:-5000}"
rpc="http://127.0.0.1:$rpc_port"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # what, command...
  local what="$1"; shift
  for _ in $(seq 150); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: $what did not come up; logs in $work" >&2
  cat "$work"/*.log >&2 || true
  exit 1
}

.tools/bin/anvil --port "$rpc_port" > "$work/anvil.log" 2>&1 &
pids+=($!)
wait_for "anvil on port $rpc_port (busy? set URAIDEN_DEMO_RPC_PORT)" .tools/bin/cast chain-id --rpc-url "$rpc"

# anvil's public development keys: never use them on a real chain.
owner_key=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
receiver_key=59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
receiver=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
sender_key=5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
sender=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
# The browser's sender is another account, so its channel and the command line's stay apart.
browser_key=7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
browser_sender=0x90F79bf6EB2c4f870365E785982E1f101E93b906
(umask 077; for who in owner receiver sender; do key_var="${who}_key"; echo "${!key_var}" > "$work/$who.key"; done)

"$server_bin" --rpc-provider "$rpc" --private-key "$work/owner.key" deploy | tee "$work/deploy.out"
manager=$(sed -n 's/^channel manager address: //p' "$work/deploy.out")
token=$(sed -n 's/^token address: //p' "$work/deploy.out")
start_block=$(sed -n 's/^deployed at block: //p' "$work/deploy.out")

# The owner holds the supply: give each test sender 1,000 tokens to open channels with.
for to in "$sender" "$browser_sender"; do
  .tools/bin/cast send --quiet --rpc-url "$rpc" --private-key "0x$owner_key" \
    "$token" "transfer(address,uint256)" "$to" 1000ether > /dev/null
done

# --confirmations 1: anvil mines a block only per transaction and never reorgs, so waiting for
# more blocks would only stall the demo (a real chain wants the default, 3).
"$server_bin" --rpc-provider "$rpc" --private-key "$work/receiver.key" \
  --channel-manager-address "$manager" --state-file "$work/receiver.db" \
  --start-block "$start_block" --poll-interval-ms 500 --confirmations 1 \
  start --host 127.0.0.1 --port "$http_port" > "$work/server.log" 2>&1 &
pids+=($!)
# The server answers 502 until its first sync with the chain; then the paywall says 402.
paywall_ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/echofix/hello")" = 402 ]; }
wait_for "uraiden-server on port $http_port (busy? set URAIDEN_DEMO_PORT)" paywall_ready

cat <<TXT

uraiden demo is up:
  chain      $rpc (anvil, chain id 31337)
  contracts  token $token, channel manager $manager
  paywall    http://localhost:$http_port/echofix/hello   (5 token units)
             http://localhost:$http_port/echodyn/hello   (priced by length)
  stats      http://localhost:$http_port/api/1/stats

In Chrome with MetaMask (local testing only; anvil's public development key):
  1. add the network: RPC URL $rpc, chain id 31337, currency ETH;
  2. import the test sender's private key 0x$browser_key
     ($browser_sender, 1,000 TKN and 10,000 ETH);
  3. open http://localhost:$http_port/echofix/hello, enter a deposit, press "Open channel":
     MetaMask asks twice (approve, createChannel); later pages are paid without a prompt.
Pay from the command line as $sender (opens a channel on first use, then pays 5 per request):
  $client_bin --rpc-provider $rpc --private-key $work/sender.key \\
    --channel-manager-address $manager --state-file $work/sender.json \\
    get --max-price 5 http://localhost:$http_port/echofix/hello
TXT

if [ "$stay" = 0 ]; then
  headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$http_port/echofix/hello")
  for name in RDN-Receiver-Address RDN-Contract-Address RDN-Token-Address RDN-Price RDN-Chain-Id; do
    grep -qi "^$name:" <<< "$headers" || { echo "demo: the 402 lacks $name" >&2; exit 1; }
  done
  body=$("$client_bin" --rpc-provider "$rpc" --private-key "$work/sender.key" \
    --channel-manager-address "$manager" --state-file "$work/sender.json" \
    get --max-price 5 "http://127.0.0.1:$http_port/echofix/hello")
  [ "$body" = hello ] || { echo "demo: uraiden get printed '$body', expected 'hello'" >&2; cat "$work/server.log" >&2; exit 1; }
  echo "demo check passed: the paywall answers 402 with its RDN headers, and uraiden get paid and printed: $body"
fi
if [ "$headless" = 1 ]; then
  echo
  echo "headless: Chromium with a test wallet holding $browser_sender's key pays the demo pages"
  URAIDEN_DEMO_RPC="$rpc" URAIDEN_DEMO_URL="http://127.0.0.1:$http_port" \
    URAIDEN_DEMO_SENDER_KEY="0x$browser_key" URAIDEN_DEMO_RECEIVER="$receiver" URAIDEN_DEMO_TOKEN="$token" \
    URAIDEN_DEMO_SCREENSHOTS="${URAIDEN_DEMO_SCREENSHOTS:-$root/tests/screenshots/headless-demo}" \
    node scripts/headless-demo.mjs || { echo "demo: the headless browser flow failed; server log:" >&2; tail -40 "$work/server.log" >&2; exit 1; }
fi

[ "$stay" = 1 ] && [ "$headless" = 0 ] || exit 0
echo "Press Ctrl-C to stop."
wait "${pids[0]}"
