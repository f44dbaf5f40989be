#!/usr/bin/env node
// Prints the sizes of the browser client, raw, gzip (zlib level 9) and brotli (quality 11, window
// 2^22: what the receiver serves, server/src/http/assets/encoding.rs), at each build stage of the
// paywall's build (without the `x402` feature): rustc's output (cargo profile release-wasm),
// wasm-bindgen's output before wasm-opt, and what the paywall serves (paywall-web/js/uraiden-wasm/,
// after wasm-opt -Oz), plus the JS glue; then the npm package's web build, which has x402.
//
//   node scripts/measure-wasm.mjs          a table
//   node scripts/measure-wasm.mjs --json   the same as JSON
//
// Run scripts/build-wasm.sh first (with the same CARGO_TARGET_DIR); stages it cannot find are
// listed as missing.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = path.resolve(root, process.env.CARGO_TARGET_DIR || "target");
const json = process.argv.includes("--json");

const stages = [
  ["rustc output, before wasm-bindgen", path.join(targetDir, "wasm32-unknown-unknown/release-wasm/uraiden_wasm.wasm")],
  ["wasm-bindgen output, before wasm-opt", path.join(targetDir, "uraiden-wasm-build/out/pre-opt-paywall.wasm")],
  ["after wasm-opt -Oz (served)", path.join(root, "paywall-web/js/uraiden-wasm/uraiden_wasm_bg.wasm")],
  ["JS glue uraiden_wasm.js (served)", path.join(root, "paywall-web/js/uraiden-wasm/uraiden_wasm.js")],
  ["npm package, with x402: web wasm", path.join(root, "wasm-client/pkg/web/uraiden_wasm_bg.wasm")],
  ["npm package, with x402: web JS glue", path.join(root, "wasm-client/pkg/web/uraiden_wasm.js")],
];

const rows = stages.map(([stage, file]) => {
  if (!fs.existsSync(file)) return { stage, file: path.relative(root, file), missing: true };
  const bytes = fs.readFileSync(file);
  const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
  const brotli = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 22,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }).length;
  return { stage, file: path.relative(root, file), bytes: bytes.length, gzip, brotli };
});

if (json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const kib = (n) => (n === undefined ? "missing" : `${(n / 1024).toFixed(1)} KiB`);
  const table = [
    ["stage", "raw", "gzip -9", "brotli 11", "file"],
    ...rows.map((r) => [r.stage, kib(r.bytes), kib(r.gzip), kib(r.brotli), r.file]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i >= 1 && i <= 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ");
  console.log(line(table[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of table.slice(1)) console.log(line(row));
  const served = rows.slice(2, 4).filter((r) => !r.missing);
  if (served.length === 2) {
    const sum = (key) => served.reduce((total, r) => total + r[key], 0);
    console.log(`served in total: ${kib(sum("bytes"))} raw, ${kib(sum("gzip"))} gzip -9, ${kib(sum("brotli"))} brotli 11`);
  }
  if (rows.some((r) => r.missing)) {
    console.log("missing stages: run scripts/build-wasm.sh with the same CARGO_TARGET_DIR first");
    process.exitCode = 1;
  }
}
