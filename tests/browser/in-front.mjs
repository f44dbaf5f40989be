// Helpers of the attack tests: a server in front of the real receiver that can lie for it, the
// receiver's own view of a channel, and a payingFetch in a page that reports what happened.

import assert from "node:assert/strict";
import http from "node:http";

import { installWallet, launchBrowser, waitUntil } from "./harness.mjs";
import { loadLibrary, openSessionChannel } from "./measure-signing.mjs";

/** The payment headers of a paid request (lower case, as node reads them). */
export const PAYMENT_HEADERS = ["rdn-balance", "rdn-balance-signature", "rdn-open-block", "rdn-payment", "rdn-sender-address"];

/**
 * An HTTP server on 127.0.0.1 in front of the receiver at `target`: `answer(request, forward)`
 * returns a fetch `Response`, or null to forward the request as it is. `forward({ path, drop })`
 * sends the request (its body too) to the receiver at `path` (default: the same) without the
 * headers in `drop`. With `cors`, every answer allows any origin, so pages of other origins may
 * call it (and the request's `Origin` is not forwarded); without, the page is served through it
 * and its payments are same-origin.
 */
export async function inFront(target, answer, { cors = false } = {}) {
  const allow = cors
    ? { "access-control-allow-origin": "*", "access-control-allow-headers": "*", "access-control-expose-headers": "*" }
    : {};
  const server = http.createServer(async (req, res) => {
    if (cors && req.method === "OPTIONS") {
      res.writeHead(204, allow);
      res.end();
      return;
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    if (cors) delete headers.origin;
    const forward = ({ path = req.url, drop = [] } = {}) => {
      const sent = { ...headers };
      for (const name of drop) delete sent[name];
      return fetch(`${target}${path}`, { method: req.method, headers: sent, body, redirect: "manual" });
    };
    try {
      const response = (await answer({ url: req.url, headers }, forward)) ?? (await forward());
      const out = { ...allow };
      response.headers.forEach((value, name) => {
        if (!["content-encoding", "content-length", "transfer-encoding", "connection", "set-cookie"].includes(name)) {
          out[name] = value;
        }
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out["set-cookie"] = cookies; // each one: the receiver expires several
      const bytes = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, out);
      res.end(bytes);
    } catch (error) {
      res.writeHead(500, allow);
      res.end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The receiver's balance for `sender`'s channel opened in `block` (its operator API). */
export async function receiverBalance(stack, sender, block) {
  const { status, body } = await stack.api(`/channels/${sender}/${block}`);
  assert.equal(status, 200, JSON.stringify(body));
  return BigInt(body.balance);
}

/**
 * `payingFetch(url)` in `page` (the library as `window.client`): its status and body, or the
 * error thrown; the library's balance after either way.
 */
export function payIn(page, url, maxPrice) {
  return page.evaluate(
    async ({ url, maxPrice }) => {
      const balance = () => String(window.client.channel?.balance);
      try {
        const response = await window.client.payingFetch(url, { maxPrice: BigInt(maxPrice) });
        return { status: response.status, body: await response.text(), balance: balance() };
      } catch (error) {
        return { thrown: { code: error.code, message: error.message }, balance: balance() };
      }
    },
    { url, maxPrice: String(maxPrice) },
  );
}

/** A fresh sender, a browser on `origin` with the library, and a session-key channel of `deposit`. */
export async function newUser(stack, origin, deposit) {
  const sender = await stack.newSender(10n);
  const browser = await launchBrowser();
  await installWallet(browser.context, { ...sender, rpcUrl: stack.rpcUrl, chainId: stack.chainId });
  await loadLibrary(browser.page, origin);
  const channel = await openSessionChannel(browser.page, stack, deposit);
  return { sender, browser, page: browser.page, channel };
}

/** Waits until the receiver has seen `channel` confirmed (it then takes payments from it). */
export async function receiverKnows(stack, sender, channel) {
  await waitUntil(
    async () => (await stack.api(`/channels/${sender.address}/${channel.openBlockNumber}`)).status === 200,
    { timeout: 30_000, message: "the receiver to see the channel" },
  );
}
