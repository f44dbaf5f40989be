/// <reference lib="esnext.disposable" />
/* tslint:disable */
/* eslint-disable */

/**
 * The error every export throws or rejects with: `name` is `"UraidenError"`, `code` an
 * `ErrorCode` (or a provider's own code: JSON-RPC errors are negative), `message` says what
 * happened and what to do, `data` is the provider's error data and `cause` its rejection;
 * when the receiver refused a payment, `data` is `{ refusal }`, its reason
 * (`"nonexisting-channel"`, `"insufficient-funds"`, `"insufficient-confirmations"`,
 * `"invalid-balance-proof"`, `"invalid-amount"`).
 */
export class UraidenError extends Error {
    private constructor();
    name: "UraidenError";
    code: number;
    data?: unknown;
    cause?: unknown;
}



/** Any EIP-1193 provider: `window.ethereum`, an EIP-6963 provider, a test wallet. */
export interface Eip1193Provider {
    request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}


/**
 * A channel as this client knows it.
 */
export interface Channel {
    sender: `0x${string}`;
    receiver: `0x${string}`;
    openBlockNumber: number;
    deposit: bigint;
    /**
     * The cumulative balance of the last proof signed.
     */
    balance: bigint;
    /**
     * The channel's signer on chain: the session key's address, or the sender. When it is a
     * session key this browser no longer holds (`sessionKey` false: storage was cleared), the
     * wallet signs instead, as the contract accepts the sender's signatures too.
     */
    signer: `0x${string}`;
    /**
     * Whether proofs are signed in the browser without a wallet prompt.
     */
    sessionKey: boolean;
}

/**
 * A channel being opened: its session key was stored before the transaction was sent.
 */
export interface PendingChannel {
    receiver: `0x${string}`;
    /**
     * The session key's address: the signer the opening registers.
     */
    signer: `0x${string}`;
    deposit: bigint;
    /**
     * When the opening was stored (Unix milliseconds).
     */
    since: number;
    /**
     * The opening transaction, once the wallet named it.
     */
    transactionHash: string | null;
    /**
     * No `ChannelCreated` event names this signer although `receiptTimeoutMs` passed: the
     * transaction was perhaps dropped, or is still waiting. The key is kept (it could still be
     * mined); the transaction's hash tells where to look.
     */
    stale: boolean;
}

/**
 * A mined close (a `TransactionResult` with what the close was).
 */
export interface CloseResult {
    transactionHash: string;
    blockNumber: number;
    /**
     * True when closed with the receiver's closing signature (settled at once).
     */
    cooperative: boolean;
    /**
     * The balance the channel was closed with.
     */
    balance: bigint;
    /**
     * Set when `receiverUrl` was given but the receiver refused or was unreachable and the close
     * fell back to an uncooperative one (`fallbackUncooperative: true`): the receiver's reason.
     */
    fallbackReason?: string;
}

/**
 * A mined transaction.
 */
export interface TransactionResult {
    transactionHash: string;
    blockNumber: number;
}

/**
 * A signed balance proof (`signNewProof`, `incrementBalanceAndSign`), as `setPaymentCookies`
 * takes it back.
 */
export interface SignedBalanceProof {
    sender: `0x${string}`;
    receiver: `0x${string}`;
    openBlockNumber: number;
    balance: bigint;
    signature: string;
}

/**
 * An announced wallet: pass it (or its `provider`) as `MicroRaiden.create({ provider })`.
 */
export interface Eip6963ProviderDetail {
    info: Eip6963ProviderInfo;
    provider: Eip1193Provider;
}

/**
 * EIP-6963 `info`: who the wallet is.
 */
export interface Eip6963ProviderInfo {
    /**
     * Unique per wallet instance and page load (UUIDv4).
     */
    uuid: string;
    /**
     * Human-readable name, e.g. "MetaMask".
     */
    name: string;
    /**
     * A data: URI of the wallet's icon (render it as an <img src>, never as HTML).
     */
    icon: string;
    /**
     * Reverse-DNS id, e.g. "io.metamask".
     */
    rdns: string;
}

/**
 * How the deposit reaches the contract:
 * - `"approve"` (default): `approve` + `createChannelWithSigner`, two transactions, any ERC20;
 * - `"erc223"`: one `transfer(contract, deposit, data)`, for tokens with ERC223 `tokenFallback`;
 * - `"permit"`: an EIP-2612 permit signature (no gas) + `createChannelWithPermit`, one transaction.
 */
export type DepositMethod = "approve" | "erc223" | "permit";

/**
 * The chain to add (EIP-3085) when the wallet does not know it.
 */
export interface ChainParameters {
    /**
     * Shown in the wallet, e.g. "Sepolia".
     */
    name: string;
    /**
     * At least one public JSON-RPC URL.
     */
    rpcUrls: string[];
    /**
     * Default `{ name: "Ether", symbol: "ETH", decimals: 18 }`.
     */
    nativeCurrency?: NativeCurrency;
    blockExplorerUrls?: string[];
}

/**
 * The chain's native currency, as the wallet shows it.
 */
export interface NativeCurrency {
    decimals: number;
    name: string;
    symbol: string;
}

/**
 * The current channel as the contract sees it.
 */
export interface OnChainChannelInfo {
    state: ChannelPhase;
    deposit: bigint;
    settleBlockNumber: number;
    closingBalance: bigint;
    withdrawnBalance: bigint;
}

/**
 * The receiver's co-signature of a cooperative close.
 */
export interface ClosingSignature {
    /**
     * The balance both signatures are over: the receiver's last accepted balance.
     */
    balance: bigint;
    /**
     * The sender's (or session key's) BalanceProof signature the receiver accepted.
     */
    balanceSignature: string;
    /**
     * The receiver's ClosingProof signature, verified.
     */
    closingSignature: string;
}

/**
 * The token and the connected account's balance of it.
 */
export interface TokenInfo {
    address: `0x${string}`;
    name: string;
    symbol: string;
    decimals: number;
    /**
     * The connected account's balance.
     */
    balance: bigint;
}

/**
 * What `syncWithReceiver` learnt from the receiver.
 */
export interface ReceiverStatus {
    /**
     * Why the receiver has no last proof to give (`"nonexisting-channel"`,
     * `"insufficient-confirmations"`), `null` when it answered with it.
     */
    reason: string | null;
    /**
     * The receiver's last accepted balance, `null` when it did not say.
     */
    balance: bigint | null;
    /**
     * Its proof, `null` before the first payment (or when the receiver did not say).
     */
    balanceSignature: string | null;
    /**
     * Whether the channel now continues from that proof (it is ours and differed).
     */
    resynced: boolean;
}

/**
 * Where a channel is in its life on chain.
 */
export type ChannelPhase = "open" | "closing" | "settled";

/**
 * `MicroRaiden.create(options)`.
 */
export interface CreateOptions {
    /**
     * The RaidenMicroTransferChannels address.
     */
    contract: `0x${string}`;
    /**
     * The token; read from the contract's `token()` when omitted.
     */
    token?: `0x${string}`;
    /**
     * The chain the contract lives on; the wallet's current chain when omitted.
     */
    chainId?: number;
    /**
     * The default receiver for `openChannel` and `loadStoredChannel`.
     */
    receiver?: `0x${string}`;
    /**
     * Receipt polling interval, default 1000 ms.
     */
    pollIntervalMs?: number;
    /**
     * Blocks a transaction needs, its own included, before a method that sent it resolves
     * (default 1: mined is enough). Match the receiver's `--confirmations`.
     */
    confirmations?: number;
    /**
     * How long to wait for a transaction to be mined, default 600000 ms.
     */
    receiptTimeoutMs?: number;
    /**
     * How long `payingFetch` waits for the receiver to see a new channel or deposit confirmed
     * (it retries the same proof every `pollIntervalMs`), default 120000 ms; then it throws
     * (`Timeout`, `InsufficientDeposit` or `NoChannel`, with `data.refusal`).
     */
    confirmationTimeoutMs?: number;
    /**
     * Defaults to `window.ethereum`; an entry of `discoverWallets()` (or its `provider`) works too.
     */
    provider?: Eip1193Provider | Eip6963ProviderDetail;
    /**
     * How to add the chain when the wallet does not know it (4902): `switchChain()` then adds it.
     */
    chain?: ChainParameters;
    /**
     * The origins whose 402s `payingFetch` may pay (`["https://shop.example"]`): a 402 requested
     * from, or redirected to, another origin throws `InvalidResponse`; paid requests do not follow redirects
     * (one resolves as an `opaqueredirect` Response, status 0). Default: any origin, bounded by
     * `maxPrice`.
     */
    paidOrigins?: string[];
    /**
     * How long `payingFetch` waits for the answer to a paid request (or a status request) before
     * it aborts it and throws `Timeout` (default 60000 ms; at least 1): the proof stays signed
     * but not counted, and later payments no longer wait behind it. `init.signal` aborts it too.
     */
    paymentTimeoutMs?: number;
}

/**
 * `closeChannel(options)`.
 */
export interface CloseChannelOptions {
    /**
     * The receiver's ClosingProof signature over `balance`: closes cooperatively.
     */
    closingSignature?: string;
    /**
     * With `receiverUrl`: when the receiver refuses or cannot be reached, close uncooperatively
     * instead of failing (`CloseResult.fallbackReason` says why). Default false.
     */
    fallbackUncooperative?: boolean;
    /**
     * Defaults to the channel's last signed balance (must be it, or omitted, with `receiverUrl`).
     */
    balance?: bigint;
    /**
     * Ask the receiver for its closing signature first (`DELETE {api}/channels/{sender}/{block}`
     * with a close request signed now: by the session key, else one wallet prompt), then close
     * cooperatively: its origin (`https://shop.example`, API at `/api/1`) or API base URL
     * (`https://shop.example/api/1`, or `/api/1` on the same origin). When the receiver holds
     * another last balance signed by this channel, the close continues from it.
     */
    receiverUrl?: string;
}

/**
 * `forgetStoredChannel(options)`.
 */
export interface ForgetOptions {
    /**
     * Forget a channel whose session key this browser holds all the same (its key is deleted for
     * good): needed unless the channel is known closed or settled, else `forgetStoredChannel`
     * throws `InvalidArgument`.
     */
    force?: boolean;
}

/**
 * `openChannel(options)`.
 */
export interface OpenChannelOptions {
    receiver?: `0x${string}`;
    deposit: bigint;
    /**
     * Create a browser key and register it as the channel's signer (default true).
     */
    sessionKey?: boolean;
    /**
     * Default `"approve"`.
     */
    method?: DepositMethod;
    /**
     * Open another channel although one with this receiver is open or being opened (else
     * `openChannel` throws `ErrorCode.ChannelAlreadyOpen`). Every channel stays stored with its
     * session key: `storedChannels()` lists them, `loadStoredChannel(receiver, openBlockNumber)`
     * picks one.
     */
    replace?: boolean;
}

/**
 * `payingFetch(input, options)`.
 */
export interface PayingFetchOptions {
    /**
     * The most one request may cost, in token base units.
     */
    maxPrice: bigint;
    /**
     * Overrides `CreateOptions.paymentTimeoutMs` for this call.
     */
    paymentTimeoutMs?: number;
    /**
     * Passed to `new Request(input, init)`.
     */
    init?: RequestInit;
}

/**
 * `topUpChannel(deposit, options)`.
 */
export interface TopUpOptions {
    /**
     * Default `"approve"`; `"permit"` is for opening only.
     */
    method?: "approve" | "erc223";
}


/**
 * The codes of [`ErrorKind`] as a JS enum (`ErrorCode.UserRejected === 4001`), so callers
 * compare `error.code` with a name rather than a number. A provider may report other codes
 * (JSON-RPC errors are negative): `code` is typed `number`, not `ErrorCode`.
 */
export enum ErrorCode {
    /**
     * The user rejected the request in the wallet: show it, never re-prompt automatically.
     */
    UserRejected = 4001,
    /**
     * The account or method is not authorised: call `requestAccounts()`.
     */
    Unauthorized = 4100,
    /**
     * The wallet does not support the method.
     */
    UnsupportedMethod = 4200,
    /**
     * The wallet is disconnected from all chains.
     */
    Disconnected = 4900,
    /**
     * The wallet is not connected to the requested chain.
     */
    ChainDisconnected = 4901,
    /**
     * The wallet does not know the chain: add it first.
     */
    UnrecognizedChain = 4902,
    /**
     * An argument was malformed (address, amount, signature, option).
     */
    InvalidArgument = 5001,
    /**
     * No EIP-1193 provider was given and `window.ethereum` is absent.
     */
    NoProvider = 5002,
    /**
     * The wallet is on another chain than the channel manager.
     */
    WrongChain = 5003,
    /**
     * There is no channel to act on (open one, or load the stored one).
     */
    NoChannel = 5004,
    /**
     * The new balance would exceed the channel's deposit (top up).
     */
    InsufficientDeposit = 5005,
    /**
     * A paywall asked more than the caller's `maxPrice`.
     */
    PriceTooHigh = 5006,
    /**
     * A transaction was mined but reverted.
     */
    TransactionFailed = 5007,
    /**
     * A transaction was not mined in time.
     */
    Timeout = 5008,
    /**
     * A provider or server answered something that is not what the protocol says.
     */
    InvalidResponse = 5009,
    /**
     * A signature does not recover to the expected signer.
     */
    InvalidSignature = 5010,
    /**
     * `localStorage` is unavailable or holds something unreadable.
     */
    Storage = 5011,
    /**
     * The network request itself failed (`fetch` rejected).
     */
    Network = 5012,
    /**
     * The receiver refused to sign a cooperative close (or could not be reached).
     */
    CloseRefused = 5013,
    /**
     * The receiver refused a payment the library could not fix (`data.refusal` says why).
     */
    PaymentRefused = 5014,
    /**
     * The account already has an open channel (or one being opened) with this receiver: use
     * it, or pass `openChannel({ replace: true })` to open another (both stay stored).
     */
    ChannelAlreadyOpen = 5015,
}

/**
 * A µRaiden sender: a wallet, a channel manager, and the current channel.
 */
export class MicroRaiden {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The token's payable `mint()`: buys tokens with `value` wei.
     */
    buyToken(value: bigint): Promise<TransactionResult>;
    /**
     * Closes the channel: cooperatively with the receiver's closing signature (given, or
     * requested from `receiverUrl`; settles at once), else uncooperatively (starts the
     * challenge period; `settleChannel` after it).
     */
    closeChannel(options?: CloseChannelOptions | null): Promise<CloseResult>;
    /**
     * Connects to a wallet and a channel manager. Reads the chain id (and the token when not
     * given); prompts nothing.
     */
    static create(options: CreateOptions): Promise<MicroRaiden>;
    /**
     * Forgets the current channel and its session key (in memory and in `localStorage`); the
     * account's other channels stay stored. A channel holding a session key is forgotten only
     * with `{ force: true }` (the key is gone for good; the channel may still be open).
     */
    forgetStoredChannel(options?: ForgetOptions | null): void;
    /**
     * The current channel as the contract sees it.
     */
    getChannelInfo(): Promise<OnChainChannelInfo>;
    /**
     * The token's name, symbol, decimals and the account's balance.
     */
    getTokenInfo(): Promise<TokenInfo>;
    /**
     * Adds `amount` to the balance and signs the new proof.
     */
    incrementBalanceAndSign(amount: bigint): Promise<SignedBalanceProof>;
    /**
     * Finds the newest channel from the account to `receiver` (default: the one given to
     * `create`) that still exists on chain, from its `ChannelCreated` event (`eth_getLogs` from
     * `fromBlock`, default 0), and makes it current; `null` when there is none. For a browser
     * that lost its storage: the balance is what the chain knows (withdrawn or closing balance,
     * or what was stored); `syncWithReceiver` (or the next 402) adopts the receiver's last
     * proof. A channel whose signer is a session key this browser no longer holds is loaded
     * wallet-signed (`sessionKey: false`, `signer` the lost key): the contract accepts the
     * sender's signatures too, and proofs by the lost key stay credible.
     */
    loadChannelFromBlockchain(receiver?: `0x${string}` | null, fromBlock?: number | null): Promise<Channel | null>;
    /**
     * Loads a stored channel to `receiver` (default: the one given to `create`) and makes it
     * current: the one opened in `openBlockNumber` when given, else the newest one still open
     * on chain (a channel being opened whose transaction was mined meanwhile is stored first);
     * `null` when none is stored. The others stay stored (`storedChannels()`).
     */
    loadStoredChannel(receiver?: `0x${string}` | null, openBlockNumber?: number | null): Promise<Channel | null>;
    /**
     * Opens a channel and makes it current, waiting for the receipts: by default `approve` +
     * `createChannelWithSigner` (two prompts); `method: "erc223"` or `"permit"` take one
     * transaction. With `sessionKey` (default) a browser key becomes the channel's signer.
     */
    openChannel(options: OpenChannelOptions): Promise<Channel>;
    /**
     * `fetch(input, init)`; on 402 pays the price (at most `maxPrice`) from the channel to
     * that receiver and retries once (twice when the receiver's refusal shows this browser was
     * out of sync: it then pays on top of the receiver's last accepted proof). The channel's
     * balance follows what the receiver accepted. Concurrent calls pay one after the other. A
     * channel or top-up the receiver has not seen yet is waited for (`confirmationTimeoutMs`);
     * a refusal that remains rejects with an `UraidenError` (`data.refusal` names it), never a
     * 402. A 429 charged nothing: after a short `Retry-After` (at most 10 s) the same payment
     * is sent again, a few times; otherwise the 429 resolves, with its `Retry-After` readable,
     * and nothing was counted. Resolves to the final `Response`. With a session key it makes no
     * wallet request. The proof travels in x402's `PAYMENT-SIGNATURE` when the 402 offers the
     * `uraiden` scheme in `PAYMENT-REQUIRED` (the npm package's build; the paywall page's has no
     * x402), else in `RDN-*` headers: the same rules either way.
     */
    payingFetch(input: string, options: PayingFetchOptions): Promise<Response>;
    /**
     * The channels with `receiver` being opened: their session key is stored, their
     * `ChannelCreated` event not seen yet (one that is mined meanwhile becomes a stored channel
     * and is not listed). A page reloaded while opening says "a channel is being opened" and
     * calls `waitForPendingChannel()`.
     */
    pendingChannels(receiver?: `0x${string}` | null): Promise<PendingChannel[]>;
    /**
     * `eth_requestAccounts` (prompts); the first account becomes the sender.
     */
    requestAccounts(): Promise<`0x${string}`[]>;
    /**
     * Asks the receiver at `receiverUrl` (its origin, or API base such as `/api/1`) to co-sign
     * closing the channel with its last proof; the closing signature is verified. Pass it to
     * `closeChannel({ closingSignature })`, or let `closeChannel({ receiverUrl })` do both.
     */
    requestClosingSignature(receiverUrl: string): Promise<ClosingSignature>;
    /**
     * Adopts the receiver's last accepted proof (`RDN-Sender-Balance`, `RDN-Balance-Signature`
     * of a 402 to a status request) as the channel's balance, after checking that the channel's
     * sender or signer signed it; throws `InvalidSignatureError` otherwise. `payingFetch` and
     * `syncWithReceiver` do this themselves.
     */
    resyncFromReceiver(balance: bigint, signature: string): Channel;
    /**
     * `settle` after the challenge period; forgets the channel.
     */
    settleChannel(): Promise<TransactionResult>;
    /**
     * Signs a proof for the cumulative `balance` and makes it the channel's balance.
     */
    signNewProof(balance: bigint): Promise<SignedBalanceProof>;
    /**
     * Every channel stored for the account with `receiver` (default: the one given to
     * `create`), newest first, each with its session key kept until it is closed and forgotten.
     */
    storedChannels(receiver?: `0x${string}` | null): Promise<Channel[]>;
    /**
     * Asks the wallet to switch to the channel manager's chain, when it is elsewhere.
     */
    switchChain(): Promise<void>;
    /**
     * Asks the paywalled resource at `url` for the channel's last accepted proof, proving with a
     * status request signed now (the session key; else one wallet prompt) rather than a
     * payment, and continues from it when the channel's sender or signer signed it.
     */
    syncWithReceiver(url: string): Promise<ReceiverStatus>;
    /**
     * Adds `deposit` to the channel: `approve` + `topUp`, or one ERC223 transfer with
     * `{ method: "erc223" }`.
     */
    topUpChannel(deposit: bigint, options?: TopUpOptions | null): Promise<Channel>;
    /**
     * Whether `signature` over `balance` in the current channel is by its sender or signer.
     */
    verifyProof(balance: bigint, signature: string): boolean;
    /**
     * Waits until a channel being opened with `receiver` is mined (up to `receiptTimeoutMs`,
     * polling every `pollIntervalMs`), stores it with its session key and makes it current.
     */
    waitForPendingChannel(receiver?: `0x${string}` | null): Promise<Channel>;
    /**
     * The connected account, once known.
     */
    readonly account: `0x${string}` | undefined;
    /**
     * The chain id proofs are signed for.
     */
    readonly chainId: number;
    /**
     * The current channel, or `null`.
     */
    readonly channel: Channel | null;
    /**
     * The channel manager's address.
     */
    readonly contract: `0x${string}`;
    /**
     * The token's address.
     */
    readonly token: `0x${string}`;
}

/**
 * The JSON string to pass to `eth_signTypedData_v4` for a balance proof.
 * @param chainId
 * @param contract
 * @param sender
 * @param receiver
 * @param openBlockNumber
 * @param balance - the cumulative balance in decimal
 */
export function balanceProofTypedData(chainId: bigint, contract: string, sender: string, receiver: string, openBlockNumber: number, balance: string): string;

/**
 * Deletes every payment cookie (those of a navigation the receiver never saw).
 */
export function clearPaymentCookies(): void;

/**
 * Asks the page's wallets to announce themselves (EIP-6963) and resolves, after `timeoutMs`
 * (default 250), to one entry per wallet, in the order they answered; `[]` when none did.
 */
export function discoverWallets(timeoutMs?: number | null): Promise<Eip6963ProviderDetail[]>;

/**
 * Whether a payment cookie is still set: after a navigation that carried one, the receiver
 * never saw it (the browser blocks cookies for this site).
 */
export function hasUnsentPaymentCookies(): boolean;

/**
 * The checksummed address that signed a balance proof; throws for a signature the
 * contract would reject.
 * @param chainId
 * @param contract
 * @param sender
 * @param receiver
 * @param openBlockNumber
 * @param balance - the cumulative balance in decimal
 * @param signature
 */
export function recoverBalanceProofSigner(chainId: bigint, contract: string, sender: string, receiver: string, openBlockNumber: number, balance: string, signature: string): string;

/**
 * Writes `proof` (from `signNewProof` or `incrementBalanceAndSign`) as the payment cookies for
 * the next navigation to this origin, with `payment` (what this navigation pays) and the
 * channel manager `contract`. The cookies expire after `maxAgeSeconds` (default 120) so a proof
 * the receiver never saw does not linger.
 */
export function setPaymentCookies(contract: `0x${string}`, proof: SignedBalanceProof, payment: bigint, maxAgeSeconds?: number | null): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_microraiden_free: (a: number, b: number) => void;
    readonly balanceProofTypedData: (a: bigint, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number) => [number, number, number, number];
    readonly clearPaymentCookies: () => [number, number];
    readonly discoverWallets: (a: number) => unknown;
    readonly hasUnsentPaymentCookies: () => [number, number, number];
    readonly microraiden_account: (a: number) => [number, number];
    readonly microraiden_buyToken: (a: number, b: unknown) => unknown;
    readonly microraiden_chainId: (a: number) => number;
    readonly microraiden_channel: (a: number) => unknown;
    readonly microraiden_closeChannel: (a: number, b: number) => unknown;
    readonly microraiden_contract: (a: number) => [number, number];
    readonly microraiden_create: (a: unknown) => unknown;
    readonly microraiden_forgetStoredChannel: (a: number, b: number) => [number, number];
    readonly microraiden_getChannelInfo: (a: number) => unknown;
    readonly microraiden_getTokenInfo: (a: number) => unknown;
    readonly microraiden_incrementBalanceAndSign: (a: number, b: unknown) => unknown;
    readonly microraiden_loadChannelFromBlockchain: (a: number, b: number, c: number, d: number) => unknown;
    readonly microraiden_loadStoredChannel: (a: number, b: number, c: number) => unknown;
    readonly microraiden_openChannel: (a: number, b: unknown) => unknown;
    readonly microraiden_payingFetch: (a: number, b: number, c: number, d: unknown) => unknown;
    readonly microraiden_pendingChannels: (a: number, b: number) => unknown;
    readonly microraiden_requestAccounts: (a: number) => unknown;
    readonly microraiden_requestClosingSignature: (a: number, b: number, c: number) => unknown;
    readonly microraiden_resyncFromReceiver: (a: number, b: unknown, c: number, d: number) => [number, number, number];
    readonly microraiden_settleChannel: (a: number) => unknown;
    readonly microraiden_signNewProof: (a: number, b: unknown) => unknown;
    readonly microraiden_storedChannels: (a: number, b: number) => unknown;
    readonly microraiden_switchChain: (a: number) => unknown;
    readonly microraiden_syncWithReceiver: (a: number, b: number, c: number) => unknown;
    readonly microraiden_token: (a: number) => [number, number];
    readonly microraiden_topUpChannel: (a: number, b: unknown, c: number) => unknown;
    readonly microraiden_verifyProof: (a: number, b: unknown, c: number, d: number) => [number, number, number];
    readonly microraiden_waitForPendingChannel: (a: number, b: number) => unknown;
    readonly recoverBalanceProofSigner: (a: bigint, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number) => [number, number, number, number];
    readonly setPaymentCookies: (a: number, b: number, c: unknown, d: unknown, e: number) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h60702a48838d1764: (a: number, b: number, c: unknown) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475: (a: number, b: number, c: unknown, d: unknown) => void;
    readonly wasm_bindgen__convert__closures_____invoke__he5ff5a6db65ddc42: (a: number, b: number, c: unknown) => unknown;
    readonly wasm_bindgen__convert__closures_____invoke__h8b2b8158666fd09b: (a: number, b: number, c: unknown) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __externref_table_alloc: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_destroy_closure: (a: number, b: number) => void;
    readonly __externref_table_dealloc: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
