#!/usr/bin/env node
// Bundles the paywall page's modules and uraiden-wasm's JS glue into one minified file,
// paywall-web/js/paywall.bundle.js (with a source map that points at the modules), which the
// page loads: one request instead of fifteen, and about a third of their bytes with brotli.
// The modules stay the source (type-checked by `tsc -p paywall-web`); the bundle is committed,
// as the receiver embeds paywall-web/.
//
//   node scripts/build-paywall.mjs           write the bundle
//   node scripts/build-paywall.mjs --check   fail when the committed bundle differs from a fresh one
//   node scripts/build-paywall.mjs DIR       bundle DIR/js/ instead (a copy served with --paywall-info DIR)
//
// scripts/build-wasm.sh runs it after each wasm build (the glue is part of the bundle).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dirArgument = process.argv.slice(2).find((arg) => !arg.startsWith("--"));
const jsDir = path.join(path.resolve(dirArgument ?? path.join(root, "paywall-web")), "js");
if (!fs.existsSync(path.join(jsDir, "paywall.js"))) {
  console.error(`[build-paywall] error: ${jsDir}/paywall.js not found: give the paywall directory (the one with index.html and js/)`);
  process.exit(1);
}
const entry = path.join(jsDir, "paywall.js");
const outfile = path.join(jsDir, "paywall.bundle.js");
const check = process.argv.includes("--check");

const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  legalComments: "none",
  // Linked, without the sources' text: DevTools fetches the map and the modules (served beside
  // the bundle) only when opened.
  sourcemap: "linked",
  sourcesContent: false,
  write: false,
  logLevel: "error",
});

let stale = [];
for (const file of result.outputFiles) {
  const name = path.relative(process.cwd(), file.path);
  if (check) {
    const committed = fs.existsSync(file.path) ? fs.readFileSync(file.path) : null;
    if (!committed || !committed.equals(Buffer.from(file.contents))) stale.push(name);
  } else {
    fs.writeFileSync(file.path, file.contents);
    console.error(`[build-paywall] wrote ${name} (${file.contents.length} B)`);
  }
}
if (stale.length > 0) {
  console.error(
    `[build-paywall] error: ${stale.join(", ")} differ from a fresh bundle of ${path.relative(process.cwd(), jsDir)}/: ` +
      "run `node scripts/build-paywall.mjs` and commit the result",
  );
  process.exit(1);
}
if (check) console.error("[build-paywall] the committed bundle matches the modules");
