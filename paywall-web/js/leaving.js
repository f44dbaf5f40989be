// @ts-check
// Leaving the page while one of its transactions is pending asks first (the browser's own
// "leave site?" dialog): the transaction goes on without the page, which would no longer
// follow it. The handler is set only while something is pending, so the page stays eligible
// for the back/forward cache otherwise.

let pending = 0;

/** @param {BeforeUnloadEvent} event */
function askBeforeLeaving(event) {
  event.preventDefault();
  event.returnValue = ""; // older browsers show the dialog only when this is set
}

/**
 * Runs `work` (sending a transaction and waiting for it) with the leave-confirmation set.
 * @template T
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function whileTransactionPending(work) {
  if (pending === 0) window.addEventListener("beforeunload", askBeforeLeaving);
  pending += 1;
  try {
    return await work();
  } finally {
    pending -= 1;
    if (pending === 0) window.removeEventListener("beforeunload", askBeforeLeaving);
  }
}
