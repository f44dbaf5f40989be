// @ts-check
// What this tab remembers across the page's reloads (sessionStorage, this tab only): small
// JSON values under the page's own prefix. The channel itself is the library's to store.

const PREFIX = "paywall:";

/**
 * A value in this tab's sessionStorage: read with one argument, write with two (`null` deletes).
 * @template T
 * @param {string} key
 * @param {T | null} [value]
 * @returns {T | null}
 */
export function remember(key, value) {
  try {
    if (value === undefined) return JSON.parse(sessionStorage.getItem(PREFIX + key) || "null");
    if (value === null) sessionStorage.removeItem(PREFIX + key);
    else sessionStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    /* storage unavailable: no memory across reloads */
  }
  return null;
}
