// Placeholder paywall: shows what the receiver asks for. The wallet UI (uraiden-wasm) comes later.
//
// Where the values come from:
// - the cookies the server sets on a 402 (RDN-Price, RDN-Receiver-Address, RDN-Token-Address,
//   RDN-Contract-Address, RDN-Chain-Id, RDN-Gateway-Path; SameSite=Lax, Path=/);
// - the JSON the server puts in <script id="rdn-paywall-info" type="application/json">, which
//   also carries the refusal reason and, for the channel's own sender, its last proof.
//
// A page that pays sets the payment cookies (RDN-Sender-Address, RDN-Open-Block, RDN-Balance,
// RDN-Balance-Signature) with Path=/ and reloads; the server consumes them (expires them) on
// its answer, so every proof cookie is sent once.
(function () {
  "use strict";

  function readCookies() {
    var cookies = {};
    document.cookie.split(";").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq > 0) {
        cookies[part.slice(0, eq).trim().toLowerCase()] = decodeURIComponent(part.slice(eq + 1).trim());
      }
    });
    return cookies;
  }

  function readEmbeddedInfo() {
    var element = document.getElementById("rdn-paywall-info");
    if (!element) return {};
    try {
      return JSON.parse(element.textContent);
    } catch (e) {
      return {};
    }
  }

  var cookies = readCookies();
  var info = readEmbeddedInfo();
  function value(jsonKey, cookieName) {
    var v = info[jsonKey];
    if (v === undefined || v === null) v = cookies[cookieName.toLowerCase()];
    return v === undefined || v === null ? "unknown" : String(v);
  }

  function show(id, text) {
    var element = document.getElementById(id);
    if (element) element.textContent = text;
  }

  show("price", value("price", "RDN-Price") + " (smallest token unit)");
  show("receiver", value("receiver", "RDN-Receiver-Address"));
  show("token", value("token", "RDN-Token-Address"));
  show("contract", value("contract", "RDN-Contract-Address"));
  show("chain-id", value("chainId", "RDN-Chain-Id"));
  if (info.reason) {
    var reason = document.getElementById("reason");
    reason.textContent = info.message || info.reason;
    reason.hidden = false;
  }
})();
