// Writes the committed seed corpus of each fuzz target from the known-answer vectors
// (tests/vectors/eip712.json): valid headers, signatures with their digests, ERC223 data and
// amounts, the API's JSON bodies, keystores (encrypted here, with Node's scrypt, PBKDF2 and
// AES and viem's keccak256), plus near misses. Run again only when the vectors change: `node protocol/fuzz/make-seeds.mjs`.
import { createCipheriv, pbkdf2Sync, scryptSync } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { keccak256 } from "viem";

const here = dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(readFileSync(join(here, "../../tests/vectors/eip712.json"), "utf8"));
const hex = (text) => Buffer.from(text.replace(/^0x/, ""), "hex");

function write(target, seeds) {
  const dir = join(here, "corpus", target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  seeds.forEach((seed, i) => writeFileSync(join(dir, `seed-${String(i).padStart(2, "0")}`), seed));
}

const balanceProofs = vectors.cases.filter((c) => c.primaryType === "BalanceProof");
const { chainId, verifyingContract } = vectors.domain;

write(
  "payment_headers",
  balanceProofs.flatMap(({ message, signature }) => {
    const paying = [
      `RDN-Contract-Address: ${verifyingContract}`,
      `RDN-Receiver-Address: ${message.receiver}`,
      `RDN-Sender-Address: ${message.sender}`,
      `RDN-Open-Block: ${message.openBlockNumber}`,
      `RDN-Balance: ${message.balance}`,
      `RDN-Balance-Signature: ${signature}`,
      `RDN-Payment: 5`,
    ].join("\n");
    const paywall = [
      "RDN-Gateway-Path: /api/1",
      `RDN-Receiver-Address: ${message.receiver}`,
      `RDN-Contract-Address: ${verifyingContract}`,
      `RDN-Token-Address: ${message.sender}`,
      "RDN-Price: 5",
      `RDN-Chain-Id: ${chainId}`,
      `RDN-Sender-Address: ${message.sender}`,
      `RDN-Sender-Balance: ${message.balance}`,
      `RDN-Balance-Signature: ${signature}`,
      "RDN-Insufficient-Funds: 1",
    ].join("\n");
    return [paying, paywall];
  }),
);

write(
  "signature_recovery",
  vectors.cases.flatMap(({ signature, digest }) => {
    const good = Buffer.concat([hex(signature), hex(digest)]);
    const parity01 = Buffer.from(good);
    parity01[64] -= 27;
    const eip155 = Buffer.from(good);
    eip155[64] += 10;
    return [good, parity01, eip155];
  }),
);

write(
  "erc223_data",
  balanceProofs.slice(0, 3).flatMap(({ message }) => {
    const sender = hex(message.sender);
    const receiver = hex(message.receiver);
    const block = Buffer.alloc(4);
    block.writeUInt32BE(message.openBlockNumber);
    return [
      Buffer.concat([sender, receiver]),
      Buffer.concat([sender, receiver, block]),
      Buffer.concat([sender, receiver, sender]),
      Buffer.concat([sender, receiver, block, block]),
    ];
  }),
);

write(
  "cookies",
  balanceProofs.slice(0, 2).flatMap(({ message, signature }) => {
    const payment = [
      `RDN-Contract-Address=${verifyingContract}`,
      `RDN-Receiver-Address=${message.receiver}`,
      `RDN-Sender-Address=${message.sender}`,
      `RDN-Open-Block=${message.openBlockNumber}`,
      `RDN-Balance=${message.balance}`,
      `RDN-Balance-Signature="${signature}"`,
    ].join("; ");
    return [
      Buffer.from(payment),
      // Neighbours set by other applications of the domain: UTF-8, Latin-1, no '=', empty.
      Buffer.concat([Buffer.from("theme=café; "), Buffer.from(payment)]),
      Buffer.concat([Buffer.from("lang="), Buffer.from([0x66, 0xe9, 0x65]), Buffer.from("; flag; ;"), Buffer.from(payment)]),
    ];
  }),
);

write("amounts", [
  "0",
  "5",
  "1000000000000000000",
  "6277101735386680763835789423207666416102355444464034512895",
  "6277101735386680763835789423207666416102355444464034512896",
  "007",
  "-1",
  "1e18",
  " 5",
]);

const [first, second] = balanceProofs;
write("api_bodies", [
  // The close request a sender sends, as senders write it and as people and scripts do.
  JSON.stringify({ balance: first.message.balance, deadline: 1700000300, signature: first.signature }),
  `{"balance": 13000, "deadline": " 1700000300", "signature": " ${second.signature.toUpperCase().replace("0X", "0x")}"}`,
  // The seed's body (a balance proof), extra fields, amounts the rules refuse.
  JSON.stringify({ balance: first.message.balance, balance_signature: first.signature }),
  JSON.stringify({ balance: "1", deadline: 5, signature: first.signature, extra: 1 }),
  `{"balance": "6277101735386680763835789423207666416102355444464034512896", "deadline": 5, "signature": "${first.signature}"}`,
  `{"balance": -1, "deadline": 1.5, "signature": "${first.signature}"}`,
  `{"balance": "0x10", "deadline": "+5", "signature": "${first.signature}"}`,
  `{"balance": 18446744073709551616, "deadline": 1e3, "signature": "${first.signature}"}`,
  // The receiver's answers: its closing signature, its 409 with the last proof.
  JSON.stringify({ close_signature: second.signature }),
  JSON.stringify({ error: "conflict", message: "…", balance: "25", balance_signature: first.signature }),
  JSON.stringify({ error: "conflict", message: "…", balance: "0", balance_signature: null }),
  // The operator's withdraw request.
  "",
  " \n",
  JSON.stringify({ min_amount: "70" }),
  JSON.stringify({ min_amount: 70 }),
  JSON.stringify({ min_amount: null }),
]);

/** A V3 keystore of `key` under password "fuzz" with the given KDF (cheap, so it is decrypted). */
function keystore(key, kdf, kdfparams, derive) {
  const salt = Buffer.from("5a17".repeat(16), "hex");
  const iv = Buffer.from("0123456789abcdef0123456789abcdef", "hex");
  const derived = derive(Buffer.from("fuzz"), salt);
  const cipher = createCipheriv("aes-128-ctr", derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  return JSON.stringify({
    version: 3,
    id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    crypto: {
      cipher: "aes-128-ctr",
      cipherparams: { iv: iv.toString("hex") },
      ciphertext: ciphertext.toString("hex"),
      kdf,
      kdfparams: { ...kdfparams, dklen: 32, salt: salt.toString("hex") },
      mac,
    },
  });
}

const key = Buffer.from("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "hex");
const scrypt = (n, r, p) =>
  keystore(key, "scrypt", { n, r, p }, (password, salt) => scryptSync(password, salt, 32, { N: n, r, p }));
const pbkdf2 = (c) =>
  keystore(key, "pbkdf2", { c, prf: "hmac-sha256" }, (password, salt) => pbkdf2Sync(password, salt, c, 32, "sha256"));
const geth = scrypt(2, 1, 1).replace('"n":2', '"n":262144').replace('"r":1', '"r":8');
write("keystore", [
  scrypt(2, 1, 1),
  scrypt(16, 2, 2),
  pbkdf2(1),
  pbkdf2(3),
  // Geth's standard parameters (checked, not decrypted), a capitalised "Crypto" (old wallets).
  geth,
  pbkdf2(2).replace('"crypto"', '"Crypto"'),
  // Beyond the bounds, and malformed: a short derived key, IV, the other KDF's parameters.
  geth.replace('"p":1', '"p":4096'),
  pbkdf2(1).replace('"c":1', '"c":4294967295'),
  pbkdf2(1).replace('"dklen":32', '"dklen":16'),
  pbkdf2(1).replace('"0123456789abcdef0123456789abcdef"', '"01234567"'),
  pbkdf2(1).replace('"kdf":"pbkdf2"', '"kdf":"scrypt"'),
]);
