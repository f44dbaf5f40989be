// @ts-check
// Token amounts for people: base units (bigint) ↔ decimal token text, and input parsing.

/** Fraction digits shown before an amount is rounded (the base units stay in `data-base-units`). */
const SHOWN_FRACTION_DIGITS = 6;

/** How many views the suggested deposit pays for. */
export const SUGGESTED_VIEWS = 100n;

/**
 * `value` base units as an exact decimal string with `decimals` places, trailing zeros trimmed.
 * @param {bigint} value
 * @param {number} decimals
 */
export function formatUnits(value, decimals) {
  const base = 10n ** BigInt(decimals);
  const whole = value / base;
  const fraction = (value % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

/**
 * `value` base units for reading: exact when a few fraction digits say it all, else rounded
 * down to them ("≈ 0.123456"); `null` for a non-zero amount too small to show that way (show
 * its base units rather than a row of zeros).
 * @param {bigint} value
 * @param {number} decimals
 * @returns {string | null}
 */
export function formatAmount(value, decimals) {
  const exact = formatUnits(value, decimals);
  const fraction = exact.split(".")[1] ?? "";
  if (fraction.length <= SHOWN_FRACTION_DIGITS) return exact;
  const step = 10n ** BigInt(decimals - SHOWN_FRACTION_DIGITS);
  const rounded = (value / step) * step;
  return rounded === 0n ? null : `≈ ${formatUnits(rounded, decimals)}`;
}

/**
 * The number of views `amount` pays for at `price`.
 * @param {bigint} amount
 * @param {bigint} price
 */
export function viewsFor(amount, price) {
  return price > 0n ? amount / price : 0n;
}

/** `1234567n` → "1,234,567". @param {bigint} count */
export function formatCount(count) {
  return count.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A user's input that the page refuses, naming the input element. */
export class InputError extends Error {
  /**
   * @param {string} field the input element's id
   * @param {string} message
   */
  constructor(field, message) {
    super(message);
    this.name = "InputError";
    this.field = field;
  }
}

/**
 * "1.5" tokens → base units; refuses more decimals than the token has, and zero.
 * @param {string} text
 * @param {number} decimals
 * @param {string} field the input element's id, for the error
 */
export function parseUnits(text, decimals, field) {
  const value = String(text).trim().replace(/_/g, "");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(value);
  if (!value || !match || (match[1] === "" && !match[2])) {
    throw new InputError(field, "Enter an amount of tokens, such as 1.5.");
  }
  const fraction = match[2] || "";
  if (fraction.length > decimals) {
    throw new InputError(field, `This token has ${decimals} decimals; use at most ${decimals} digits after the point.`);
  }
  const amount = BigInt(match[1] || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (amount === 0n) throw new InputError(field, "Enter an amount above zero.");
  return amount;
}

/** A JSON-RPC quantity ("0x1a") as a bigint; "0x" and empty as zero. @param {unknown} hex */
export function quantity(hex) {
  return BigInt(typeof hex === "string" && hex !== "0x" && hex !== "" ? hex : "0x0");
}
