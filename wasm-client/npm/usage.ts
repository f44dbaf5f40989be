// Compile-time check of the package's TypeScript declarations (never run, never published):
// the calls a page makes must typecheck under `strict` without casts, and results must carry
// the documented types. scripts/build-wasm.sh runs `tsc -p wasm-client/npm/tsconfig.json`.
import {
  MicroRaiden,
  ErrorCode,
  UraidenError,
  balanceProofTypedData,
  discoverWallets,
  recoverBalanceProofSigner,
  type Channel,
  type CloseResult,
  type DepositMethod,
  type Eip1193Provider,
  type Eip6963ProviderDetail,
  type OnChainChannelInfo,
  type PendingChannel,
  type SignedBalanceProof,
  type X402PaymentPayloadResult,
  type X402PaymentRequirements,
  type X402Scheme,
  type X402SchemeHooks,
} from "uraiden-wasm";
import init, { MicroRaiden as WebMicroRaiden, type InitOutput } from "uraiden-wasm/web";

declare const injected: Eip1193Provider;

export async function page(): Promise<void> {
  const output: InitOutput = await init();
  void output;
  const wallets: Eip6963ProviderDetail[] = await discoverWallets(100);
  const rdns: string | undefined = wallets[0]?.info.rdns;
  void rdns;
  const raiden: MicroRaiden = await MicroRaiden.create({
    provider: wallets[0] ?? injected,
    contract: "0x0000000000000000000000000000000000000001",
    receiver: "0x0000000000000000000000000000000000000002",
    chainId: 31337,
  });
  const accounts: string[] = await raiden.requestAccounts();
  void accounts;
  const stored: Channel | null = await raiden.loadStoredChannel();
  const recovered: Channel | null = await raiden.loadChannelFromBlockchain(null, 0);
  const method: DepositMethod = "permit";
  const channel: Channel = stored ?? recovered ?? (await raiden.openChannel({ deposit: 100n, sessionKey: true, method }));
  const pending: PendingChannel[] = await raiden.pendingChannels();
  if (pending[0] && !pending[0].stale) {
    const opened: Channel = await raiden.waitForPendingChannel();
    void opened;
  }
  const all: Channel[] = await raiden.storedChannels();
  const older: Channel | null = await raiden.loadStoredChannel(undefined, all[1]?.openBlockNumber);
  void older;
  const another: Channel = await raiden.openChannel({ deposit: 100n, replace: true });
  void another;
  const refusedTwice: boolean = ErrorCode.ChannelAlreadyOpen === 5015;
  void refusedTwice;
  const toppedUp: Channel = await raiden.topUpChannel(10n, { method: "erc223" });
  void toppedUp;
  // @ts-expect-error the contract has no top-up with permit
  void raiden.topUpChannel(10n, { method: "permit" });
  const promptFree: boolean = channel.sessionKey;
  const deposit: bigint = channel.deposit;
  void promptFree;
  void deposit;
  const proof: SignedBalanceProof = await raiden.incrementBalanceAndSign(5n);
  const valid: boolean = raiden.verifyProof(proof.balance, proof.signature);
  void valid;
  const resynced: Channel = raiden.resyncFromReceiver(5n, proof.signature);
  void resynced;
  const response: Response = await raiden.payingFetch("/echofix/hello", { maxPrice: 5n, init: { method: "GET" } });
  void response;
  const info: OnChainChannelInfo = await raiden.getChannelInfo();
  if (info.state === "open") {
    const closed: CloseResult = await raiden.closeChannel({ receiverUrl: "/api/1", fallbackUncooperative: true });
    const reason: string | undefined = closed.fallbackReason;
    const balance: bigint = closed.balance;
    void reason;
    void balance;
  }
  const signatures = await raiden.requestClosingSignature("https://shop.example");
  const closingSignature: string = signatures.closingSignature;
  void closingSignature;
  const typed: string = balanceProofTypedData(31337n, "0x01", "0x02", "0x03", 7, "10");
  const signer: string = recoverBalanceProofSigner(31337n, "0x01", "0x02", "0x03", 7, "10", "0x…");
  void typed;
  void signer;
  // Addresses are `0x${string}` both ways.
  const sender: `0x${string}` = channel.sender;
  const contract: `0x${string}` = raiden.contract;
  void sender;
  void contract;
  // @ts-expect-error an address starts with 0x
  void MicroRaiden.create({ contract: "RaidenMicroTransferChannels" });
  const web = await WebMicroRaiden.create({ contract: "0x0000000000000000000000000000000000000001" });
  const chainId: number = web.chainId;
  void chainId;
}

// The x402 scheme client: its own declarations (usage-x402.ts checks them against @x402/core's).
export async function x402Scheme(raiden: MicroRaiden, requirements: X402PaymentRequirements): Promise<void> {
  const scheme: X402Scheme = raiden.x402Scheme({ deposit: 500n, maxPrice: 10n, method: "approve" });
  const name: "uraiden" = scheme.scheme;
  const network: `eip155:${number}` = scheme.network;
  void name;
  void network;
  const paid: X402PaymentPayloadResult = await scheme.createPaymentPayload(2, requirements, { maxAmountPerPayment: "10" });
  const hooks: X402SchemeHooks = scheme.schemeHooks;
  const answer = await hooks.onPaymentResponse({ paymentPayload: { payload: paid.payload }, requirements });
  const retry: boolean = answer?.recovered === true;
  void retry;
  // @ts-expect-error the deposit is a bigint
  void raiden.x402Scheme({ deposit: 500 });
}

export function describe(error: unknown): string {
  if (error instanceof UraidenError) {
    const asError: Error = error;
    const code: number = error.code;
    const data: unknown = error.data;
    const cause: unknown = error.cause;
    void asError;
    void data;
    void cause;
    return code === ErrorCode.UserRejected ? "cancelled in the wallet" : `${error.name} ${ErrorCode[code] ?? code}: ${error.message}`;
  }
  return String(error);
}

// @ts-expect-error amounts are bigint, never number
void MicroRaiden.prototype.incrementBalanceAndSign.call(null as unknown as MicroRaiden, 5);
