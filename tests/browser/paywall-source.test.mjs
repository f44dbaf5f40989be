// The paywall page is not a second implementation of the sender (issue 10, "the cause"): its
// modules carry no protocol knowledge of their own (header and cookie names, ABI selectors,
// balance records, hard-coded error codes) and are type-checked against uraiden-wasm's .d.ts.
// No browser needed.
//
//   node --test tests/browser/paywall-source.test.mjs

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { ROOT } from "./harness.mjs";

const PAYWALL_DIR = process.env.URAIDEN_PAYWALL_DIR || path.join(ROOT, "paywall-web");
const JS_DIR = path.join(PAYWALL_DIR, "js");
// The page's own modules; uraiden-wasm/ is the library, where the protocol belongs, and
// paywall.bundle.js is both, minified (scripts/build-paywall.mjs --check keeps it in step).
const modules = fs
  .readdirSync(JS_DIR)
  .filter((name) => name.endsWith(".js") && name !== "paywall.bundle.js")
  .map((name) => ({ name, text: fs.readFileSync(path.join(JS_DIR, name), "utf8") }));

/** What the page must leave to the library, with why. */
const FORBIDDEN = [
  [/RDN-/, "an RDN header or cookie name: the library writes and reads them"],
  [/0x[0-9a-f]{8}/i, "a hex constant such as an ABI selector or a signature: the library encodes calls"],
  [/uraiden-paywall:v1/, "the page's old balance records"],
  [/localStorage/, "balance or channel records of its own: the library stores the channel"],
  [/decodeAbi|eth_call\b/, "contract calls of its own: the library reads the token and the channel"],
  [/\bcode\s*===?\s*-?\d{3,}/, "a hard-coded error code: compare with the library's ErrorCode"],
];

test("the paywall page's modules exist and each is type-checked (// @ts-check first)", () => {
  assert.ok(modules.length >= 5, `the page is split into modules: ${modules.map((m) => m.name)}`);
  for (const { name, text } of modules) {
    assert.ok(text.startsWith("// @ts-check\n"), `${name} starts with // @ts-check`);
  }
});

test("the paywall page's modules carry no protocol knowledge of their own", () => {
  const found = [];
  for (const { name, text } of modules) {
    text.split("\n").forEach((line, index) => {
      for (const [pattern, why] of FORBIDDEN) {
        if (pattern.test(line)) found.push(`${name}:${index + 1}: ${why}\n    ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(found, [], `protocol knowledge in the page:\n${found.join("\n")}`);
});

test("the paywall page type-checks against the library's .d.ts (tsc --checkJs, strict)", () => {
  const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
  try {
    execFileSync(tsc, ["-p", PAYWALL_DIR], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    assert.fail(`tsc -p ${path.relative(ROOT, PAYWALL_DIR)} failed:\n${error.stdout || ""}${error.stderr || error.message}`);
  }
});

test("the READMEs say how to install the built package, not `npm install uraiden-wasm` (it is not published)", () => {
  for (const readme of ["README.md", "wasm-client/npm/README.md"]) {
    const text = fs.readFileSync(path.join(ROOT, readme), "utf8");
    assert.doesNotMatch(text, /npm install uraiden-wasm\b/, `${readme} points at a package the registry does not have`);
  }
  assert.match(fs.readFileSync(path.join(ROOT, "wasm-client/npm/README.md"), "utf8"), /npm install \S*wasm-client\/pkg/);
});
