#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer, nightly) of the protocol crate's parsers of
# untrusted bytes: RDN-* headers and cookies, x402 headers, signatures and recovery (differential against
# alloy/k256), ERC223 data, amounts, the API's JSON bodies, keystore files. Targets: protocol/fuzz/fuzz_targets/; seed corpus: protocol/fuzz/corpus/.
#
#   scripts/fuzz.sh                 each target briefly (--seconds 15), as `npm test` runs it
#   scripts/fuzz.sh --runs 10000000 each target for that many executions; prints the counts
#   scripts/fuzz.sh --runs N signature_recovery   one target
#
# New inputs go to a temporary corpus, so the committed one only changes by hand. A crash
# leaves its input under protocol/fuzz/artifacts/ and fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

limit=(-max_total_time=15)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=("-max_total_time=$2"); shift 2 ;;
    --runs) limit=("-runs=$2"); shift 2 ;;
    -*) echo "usage: scripts/fuzz.sh [--seconds S | --runs N] [target ...]" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
fuzz_dir=protocol/fuzz
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir "$fuzz_dir")

# No sanitizer: the protocol crate forbids unsafe code (only its dependencies have a little),
# and AddressSanitizer cost 4x the executions per second on signature_recovery; what is
# fuzzed here is logic (acceptance rules, round trips, agreement with alloy), not memory. Built once up front, so the
# times below are fuzzing only.
fuzz=(cargo +nightly fuzz)
common=(--fuzz-dir "$fuzz_dir" --sanitizer none)
# signature_recovery spends its time in k256's field arithmetic: tracing every comparison
# there (and keeping its cmov branches apart) made it 4x slower for the same coverage, so it
# is built without both, in a target directory of its own so neither build undoes the other.
arithmetic=(--no-trace-compares --disable-branch-folding=false --target-dir "$fuzz_dir/target/arithmetic")
options_for() {
  case "$1" in
    signature_recovery) echo "${arithmetic[@]}" ;;
  esac
}
"${fuzz[@]}" build "${common[@]}"
"${fuzz[@]}" build "${common[@]}" "${arithmetic[@]}" signature_recovery
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  started=$SECONDS
  read -r -a options <<<"$(options_for "$target")"
  if ! "${fuzz[@]}" run "${common[@]}" "${options[@]}" "$target" "$scratch/$target" "$fuzz_dir/corpus/$target" \
      -- "${limit[@]}" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $target failed; the input is under $fuzz_dir/artifacts/$target/" >&2
    exit 1
  fi
  runs="$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")"
  printf 'fuzz: %-20s %12s executions in %4ss, no failure\n' "$target" "$runs" "$((SECONDS - started))"
done
