// The paywall page shows token amounts with a sensible number of digits (issue 10, defect 12:
// no "0.000000000000000005 TKN"), and suggests a deposit as a number of views. The page's
// format module is plain ES, so it runs in Node as it does in the browser.
//
//   node --test tests/browser/paywall-format.test.mjs

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  formatAmount,
  formatCount,
  formatUnits,
  InputError,
  parseUnits,
  SUGGESTED_VIEWS,
  viewsFor,
} from "../../paywall-web/js/format.js";

const TOKEN = 10n ** 18n;

test("amounts a few fraction digits describe are shown exactly", () => {
  assert.equal(formatAmount(20n * TOKEN, 18), "20");
  assert.equal(formatAmount(15n * TOKEN / 10n, 18), "1.5");
  assert.equal(formatAmount(123456n * 10n ** 12n, 18), "0.123456");
  assert.equal(formatAmount(0n, 18), "0");
  assert.equal(formatAmount(5n, 0), "5");
});

test("longer amounts are rounded down to six fraction digits, and say so", () => {
  assert.equal(formatAmount(20n * TOKEN - 18n, 18), "≈ 19.999999");
  assert.equal(formatAmount(1234567n * 10n ** 11n, 18), "≈ 0.123456");
});

test("amounts too small for six fraction digits are not a row of zeros", () => {
  assert.equal(formatAmount(5n, 18), null, "the caller shows base units instead");
  assert.equal(formatAmount(10n ** 12n - 1n, 18), null);
  assert.equal(formatAmount(10n ** 12n, 18), "0.000001");
});

test("exact formatting and parsing round-trip; bad input is refused with the field named", () => {
  assert.equal(formatUnits(5n, 18), "0.000000000000000005");
  assert.equal(parseUnits(formatUnits(123456789n, 18), 18, "deposit"), 123456789n);
  assert.equal(parseUnits("1.5", 18, "deposit"), 15n * TOKEN / 10n);
  for (const bad of ["", "abc", "0", "1.2.3", "-1"]) {
    assert.throws(() => parseUnits(bad, 18, "deposit"), (error) => error instanceof InputError && error.field === "deposit", bad);
  }
  assert.throws(() => parseUnits("0.001", 2, "topup-amount"), /at most 2 digits/);
});

test("the suggested deposit and a typed deposit are counted in views", () => {
  assert.equal(SUGGESTED_VIEWS, 100n);
  assert.equal(viewsFor(20n * TOKEN, 5n), 4n * TOKEN);
  assert.equal(viewsFor(12n, 5n), 2n, "whole views only");
  assert.equal(viewsFor(12n, 0n), 0n, "a free page has no view count");
  assert.equal(formatCount(4n * TOKEN), "4,000,000,000,000,000,000");
});
