// The error class every uraiden-wasm export throws or rejects with. A real `Error` (so
// `instanceof Error`, a `stack`, and `cause` work as everywhere else), whose `name`, `code` and
// `message` are own enumerable properties so `JSON.stringify(error)` shows them.
export class UraidenError extends Error {
  constructor(code, message, data, cause) {
    super(message, cause === undefined ? undefined : { cause });
    const field = (value) => ({ value, enumerable: true, writable: true, configurable: true });
    Object.defineProperties(this, { name: field("UraidenError"), code: field(code), message: field(message) });
    if (data !== undefined) Object.defineProperty(this, "data", field(data));
  }
}
