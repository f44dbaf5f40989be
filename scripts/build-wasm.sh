#!/usr/bin/env bash
# Builds the browser client (wasm-client/, crate uraiden-wasm) into
#   wasm-client/pkg/              the npm package `uraiden-wasm`: bundler target at the root, web target in web/
#   paywall-web/js/uraiden-wasm/  the web target the paywall page imports (committed: the server embeds it),
#                                 built without the crate's `x402` feature, which the page never runs
#   paywall-web/js/paywall.bundle.js  the page with that glue, bundled (scripts/build-paywall.mjs)
# with wasm-pack (cargo profile release-wasm), the wasm-bindgen CLI on PATH and npm binaryen's wasm-opt -Oz.
#
#   scripts/build-wasm.sh           build; returns at once when no input changed since the last build
#   scripts/build-wasm.sh --force   build even when nothing changed
#   scripts/build-wasm.sh --check   rebuild into a temp dir; fail when paywall-web/js/uraiden-wasm differs
#
# Reproducible: the same sources, Cargo.lock, rustc, wasm-bindgen and binaryen give byte-identical output
# from any checkout path and any CARGO_TARGET_DIR (those paths are remapped out of the wasm).
# Also fails when a generated .d.ts declares `any`, and typechecks wasm-client/npm/usage.ts (and
# usage-x402.ts, against @x402/core's types) when node_modules/.bin/tsc exists.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '[build-wasm] %s\n' "$*" >&2; }
die() { printf '[build-wasm] error: %s\n' "$*" >&2; exit 1; }

mode=build
case "${1:-}" in
  "") ;;
  --force) mode=force ;;
  --check) mode=check ;;
  -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option '$1' (use --check, --force, or nothing)" ;;
esac

cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$cargo_home/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$CARGO_TARGET_DIR"
CARGO_TARGET_DIR="$(cd "$CARGO_TARGET_DIR" && pwd)"
wasm_opt="$root/node_modules/.bin/wasm-opt"
crate_dir="$root/wasm-client"
raw_wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release-wasm/uraiden_wasm.wasm"
paywall_dir="$root/paywall-web/js/uraiden-wasm"
pkg_dir="$crate_dir/pkg"
work="$CARGO_TARGET_DIR/uraiden-wasm-build"
# What the paywall page loads: the web target's glue, its wasm and their types, and the JS
# snippets the glue imports (snippets/: the UraidenError class).
paywall_files=(uraiden_wasm.js uraiden_wasm_bg.wasm uraiden_wasm.d.ts uraiden_wasm_bg.wasm.d.ts)
copy_web_files() {
  local from="$1" to="$2" file
  mkdir -p "$to"
  for file in "${paywall_files[@]}"; do cp "$from/$file" "$to/"; done
  if [ -d "$from/snippets" ]; then cp -r "$from/snippets" "$to/"; fi
}

# --- tools -------------------------------------------------------------------------------------
command -v node >/dev/null || die "node is not installed (Node >= 20): see README.md"
command -v wasm-pack >/dev/null || die "wasm-pack is not installed: run scripts/setup.sh"
want_bindgen="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
have_bindgen="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
[ "$have_bindgen" = "$want_bindgen" ] ||
  die "wasm-bindgen CLI $want_bindgen is needed (the version in Cargo.lock), found '${have_bindgen:-none}': run scripts/setup.sh"
[ -x "$wasm_opt" ] || die "node_modules/.bin/wasm-opt (npm binaryen) is missing: run scripts/setup.sh"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  die "the rust target wasm32-unknown-unknown is missing: run scripts/setup.sh"
tool_versions="rustc $(rustc -V | awk '{print $2}'), wasm-bindgen $have_bindgen, wasm-opt $("$wasm_opt" --version | awk '{print $3}')"

# --- reproducibility -----------------------------------------------------------------------------
# Panic locations embed source paths: map the registry, the checkout and the target dir to fixed
# names. CARGO_ENCODED_RUSTFLAGS wins over RUSTFLAGS and .cargo/config rustflags, so nothing
# local leaks into the build.
unset RUSTFLAGS
remap() { printf -- '--remap-path-prefix=%s=%s' "$1" "$2"; }
CARGO_ENCODED_RUSTFLAGS="$(remap "$cargo_home" /cargo)"$'\x1f'"$(remap "$root" /uraiden)"$'\x1f'"$(remap "$CARGO_TARGET_DIR" /target)"
export CARGO_ENCODED_RUSTFLAGS
export SOURCE_DATE_EPOCH=0

# Everything the output depends on, by content (paths relative to the checkout).
inputs_hash() {
  {
    echo "$tool_versions, wasm-pack $(wasm-pack --version | awk '{print $2}')"
    find wasm-client protocol contracts/artifacts -type f \
      -not -path 'wasm-client/pkg/*' -not -path '*/target/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock scripts/build-wasm.sh
    if [ -d .cargo ]; then find .cargo -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; fi
  } | sha256sum | cut -d' ' -f1
}

# The content of the outputs, so an edited or deleted output is rebuilt.
outputs_hash() {
  if [ ! -d "$pkg_dir" ] || [ ! -d "$paywall_dir" ]; then
    echo missing
    return
  fi
  (cd "$root" && find wasm-client/pkg paywall-web/js/uraiden-wasm -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# Two fixes to wasm-bindgen's declarations. The raw wasm exports (`_bg.wasm.d.ts`, the web
# target's `InitOutput`) type externref as `any`: they are opaque handles nobody should call, so
# `unknown` is the honest type. The classes declare `[Symbol.dispose]()`, which needs the
# `esnext.disposable` lib (TypeScript >= 5.2): reference it, so a project on lib ES2022 without
# skipLibCheck typechecks too. A reexported JS class (UraidenError) is declared `let X: unknown`
# beside the class declaration the crate writes for it: drop the `let`.
tidy_types() {
  node - "$@" <<'JS'
const fs = require("fs");
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  let fixed = file.endsWith("_bg.wasm.d.ts")
    ? text.replace(/\bany\b/g, "unknown")
    : text.replace(/export interface InitOutput \{[\s\S]*?\n\}/, (block) => block.replace(/\bany\b/g, "unknown"));
  fixed = fixed.replace(/^export let (\w+): unknown;\n\n?/gm, (line, name) =>
    fixed.includes(`export class ${name} `) ? "" : line);
  if (fixed.includes("Symbol.dispose") && !fixed.includes('reference lib="esnext.disposable"')) {
    fixed = '/// <reference lib="esnext.disposable" />\n' + fixed;
  }
  if (fixed !== text) fs.writeFileSync(file, fixed);
}
JS
}

# Fails when a generated declaration file says `any` outside comments.
check_no_any() {
  local found
  found="$(grep -nHwE 'any' "$@" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)' || true)"
  if [ -n "$found" ]; then
    printf '%s\n' "$found" >&2
    die "the generated TypeScript declares 'any' (above): give the JsValue an unchecked_param_type / unchecked_return_type / typescript_type in wasm-client/src"
  fi
}

# Builds the variants $2… into $1/<variant>, optimised and checked: `bundler` and `web`, the npm
# package's targets, and `paywall`, the web target without the `x402` feature (the paywall page
# pays by navigation; x402 would put its first view over its budget).
build_into() {
  local out="$1" variant target features cargo_args label
  shift
  rm -rf "$out"
  mkdir -p "$out"
  for variant in "$@"; do
    target="$variant" cargo_args=() label="$variant target"
    if [ "$variant" = paywall ]; then
      target=web cargo_args=(-- --no-default-features) label="web target, without x402"
    fi
    say "wasm-pack build --target $target --profile release-wasm ${cargo_args[*]}"
    # --log-level error: wasm-pack's warnings are about its own update check (offline here).
    wasm-pack --log-level error build "$crate_dir" --mode no-install --no-pack --target "$target" \
      --profile release-wasm --out-dir "$out/$variant" --out-name uraiden_wasm "${cargo_args[@]}"
    rm -f "$out/$variant/.gitignore"
    # Exactly the wasm features rustc emitted (it records them in the raw module; wasm-bindgen
    # drops that record), so wasm-opt neither rejects nor lowers them.
    mapfile -t features < <("$wasm_opt" --print-features "$raw_wasm" -o /dev/null)
    # Kept for scripts/measure-wasm.mjs (size before wasm-opt).
    cp "$out/$variant/uraiden_wasm_bg.wasm" "$out/pre-opt-$variant.wasm"
    "$wasm_opt" -Oz "${features[@]}" "$out/$variant/uraiden_wasm_bg.wasm" -o "$out/$variant/uraiden_wasm_bg.wasm.opt"
    mv "$out/$variant/uraiden_wasm_bg.wasm.opt" "$out/$variant/uraiden_wasm_bg.wasm"
    # Which tools made it: a --check failure is often just another rustc.
    local glue="$out/$variant/uraiden_wasm.js"
    # After wasm-bindgen's `@ts-self-types` directive, which must stay on the first line.
    local header="/* uraiden-wasm $version ($label), built by scripts/build-wasm.sh with $tool_versions. */"
    if head -1 "$glue" | grep -q '@ts-self-types'; then
      { head -1 "$glue"; echo "$header"; tail -n +2 "$glue"; } >"$glue.tmp"
    else
      { echo "$header"; cat "$glue"; } >"$glue.tmp"
    fi
    mv "$glue.tmp" "$glue"
  done
  tidy_types "$out"/*/*.d.ts
  check_no_any "$out"/*/*.d.ts
}

# Copies $1's files over $2 when they differ (keeping unchanged files' mtimes) and removes the rest.
sync_dir() {
  local from="$1" to="$2" file
  mkdir -p "$to"
  (cd "$from" && find . -type f) | while read -r file; do
    mkdir -p "$(dirname "$to/$file")"
    cmp -s "$from/$file" "$to/$file" || cp "$from/$file" "$to/$file"
  done
  (cd "$to" && find . -type f) | while read -r file; do
    [ -e "$from/$file" ] || rm -f "$to/$file"
  done
  find "$to" -mindepth 1 -type d -empty -delete
}

# The npm package: bundler target at the root, web target in web/, our package.json and README.
assemble_pkg() {
  local out="$1" stage="$1/pkg" file
  mkdir -p "$stage/web"
  cp -r "$out"/bundler/* "$stage/"
  copy_web_files "$out/web" "$stage/web"
  node - "$crate_dir/npm/package.json" "$stage/package.json" "$version" "$license" "$repository" <<'EOF'
const fs = require("fs");
const [template, target, version, license, repository] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(template, "utf8"));
Object.assign(pkg, { version, license });
if (repository) pkg.repository = repository;
fs.writeFileSync(target, JSON.stringify(pkg, null, 2) + "\n");
EOF
  node - "$crate_dir/npm/README.md" "$stage/README.md" "$stage/uraiden_wasm_bg.wasm" "$version" <<'EOF'
const fs = require("fs");
const zlib = require("zlib");
const [template, target, wasm, version] = process.argv.slice(2);
const bytes = fs.readFileSync(wasm);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_LGWIN, BROTLI_PARAM_SIZE_HINT } = zlib.constants;
const brotli = zlib.brotliCompressSync(bytes, {
  params: { [BROTLI_PARAM_QUALITY]: 11, [BROTLI_PARAM_LGWIN]: 22, [BROTLI_PARAM_SIZE_HINT]: bytes.length },
}).length;
const sizes = `\`uraiden_wasm_bg.wasm\` (${version}): ${kib(bytes.length)} raw, ${kib(gzip)} gzip -9, ${kib(brotli)} brotli 11.`;
fs.writeFileSync(target, fs.readFileSync(template, "utf8").replace("<!-- sizes -->", sizes));
EOF
}

meta="$(cargo metadata --no-deps --format-version 1 --offline 2>/dev/null || cargo metadata --no-deps --format-version 1)"
read -r version license repository < <(node -e '
  const p = JSON.parse(require("fs").readFileSync(0, "utf8")).packages.find((p) => p.name === "uraiden-wasm");
  console.log(p.version, p.license.replace(/ /g, "\u00a0"), p.repository || "");' <<<"$meta")
license="${license//$'\u00a0'/ }"

if [ "$mode" = check ]; then
  committed="$(grep -m1 -o "built by scripts/build-wasm.sh with [^*]*" "$paywall_dir/uraiden_wasm.js" 2>/dev/null |
    sed -e 's/^built by scripts\/build-wasm.sh with //' -e 's/\. *$//' || true)"
  if [ -n "$committed" ] && [ "$committed" != "$tool_versions" ]; then
    # Another rustc or binaryen emits other (equally valid) bytes: comparing would only report that.
    say "warning: the committed build was made with $committed; this machine has $tool_versions."
    say "warning: byte comparison skipped; rebuild with the committed versions to check it."
    exit 0
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  build_into "$tmp/out" paywall
  copy_web_files "$tmp/out/paywall" "$tmp/fresh"
  if ! diff -rq "$tmp/fresh" "$paywall_dir" >&2; then
    die "paywall-web/js/uraiden-wasm/ differs from a fresh build of wasm-client/ (above).
  fresh build:   $tool_versions
  committed one: ${committed:-none}
  Run scripts/build-wasm.sh and commit paywall-web/js/uraiden-wasm/ with the wasm-client/ change.
  (With other tool versions than the committed build's, rebuild with the same versions instead.)"
  fi
  say "paywall-web/js/uraiden-wasm/ matches a fresh build ($tool_versions)"
  exit 0
fi

# One build at a time per target dir: they share $work.
mkdir -p "$work"
exec 9>"$work/lock"
flock 9
stamp="$work/stamp"
inputs="$(inputs_hash)"
if [ "$mode" = build ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs $(outputs_hash)" ]; then
  say "up to date (nothing changed since the last build); --force rebuilds"
  exit 0
fi

build_into "$work/out" bundler web paywall
assemble_pkg "$work/out"
sync_dir "$work/out/pkg" "$pkg_dir"
copy_web_files "$work/out/paywall" "$work/out/paywall-files"
sync_dir "$work/out/paywall-files" "$paywall_dir"
# The page loads the glue through its bundle: rebuild it with the new glue.
node scripts/build-paywall.mjs || die "bundling the paywall page failed (scripts/build-paywall.mjs)"

if [ -x node_modules/.bin/tsc ]; then
  say "typechecking wasm-client/npm/usage.ts against the package's .d.ts"
  node_modules/.bin/tsc -p "$crate_dir/npm/tsconfig.json" || die "wasm-client/npm/usage.ts does not typecheck against the generated .d.ts"
  node_modules/.bin/tsc -p "$crate_dir/npm/tsconfig.x402.json" ||
    die "wasm-client/npm/usage-x402.ts: the x402 scheme client does not typecheck as @x402/core's SchemeNetworkClient"
else
  say "typecheck skipped: node_modules/.bin/tsc is not installed (npm package typescript)"
fi

echo "$inputs $(outputs_hash)" >"$stamp"
say "built $(wc -c <"$paywall_dir/uraiden_wasm_bg.wasm") bytes of wasm into wasm-client/pkg/ and paywall-web/js/uraiden-wasm/"
