// Writes the committed seed corpus of each fuzz target from the known-answer vectors
// (tests/vectors/eip712.json): valid headers, signatures with their digests, ERC223 data and
// amounts, plus near misses. Run again only when the vectors change: `node protocol/fuzz/make-seeds.mjs`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
