/* @ts-self-types="./uraiden_wasm.d.ts" */
/* uraiden-wasm 0.1.0 (web target, without x402), built by scripts/build-wasm.sh with rustc 1.95.0, wasm-bindgen 0.2.130, wasm-opt 132. */
import { UraidenError } from './snippets/uraiden-wasm-7a3bda58f4f0a90f/js/errors.js';


/**
 * The codes of [`ErrorKind`] as a JS enum (`ErrorCode.UserRejected === 4001`), so callers
 * compare `error.code` with a name rather than a number. A provider may report other codes
 * (JSON-RPC errors are negative): `code` is typed `number`, not `ErrorCode`.
 * @enum {4001 | 4100 | 4200 | 4900 | 4901 | 4902 | 5001 | 5002 | 5003 | 5004 | 5005 | 5006 | 5007 | 5008 | 5009 | 5010 | 5011 | 5012 | 5013 | 5014 | 5015}
 */
export const ErrorCode = Object.freeze({
    /**
     * The user rejected the request in the wallet: show it, never re-prompt automatically.
     */
    UserRejected: 4001, "4001": "UserRejected",
    /**
     * The account or method is not authorised: call `requestAccounts()`.
     */
    Unauthorized: 4100, "4100": "Unauthorized",
    /**
     * The wallet does not support the method.
     */
    UnsupportedMethod: 4200, "4200": "UnsupportedMethod",
    /**
     * The wallet is disconnected from all chains.
     */
    Disconnected: 4900, "4900": "Disconnected",
    /**
     * The wallet is not connected to the requested chain.
     */
    ChainDisconnected: 4901, "4901": "ChainDisconnected",
    /**
     * The wallet does not know the chain: add it first.
     */
    UnrecognizedChain: 4902, "4902": "UnrecognizedChain",
    /**
     * An argument was malformed (address, amount, signature, option).
     */
    InvalidArgument: 5001, "5001": "InvalidArgument",
    /**
     * No EIP-1193 provider was given and `window.ethereum` is absent.
     */
    NoProvider: 5002, "5002": "NoProvider",
    /**
     * The wallet is on another chain than the channel manager.
     */
    WrongChain: 5003, "5003": "WrongChain",
    /**
     * There is no channel to act on (open one, or load the stored one).
     */
    NoChannel: 5004, "5004": "NoChannel",
    /**
     * The new balance would exceed the channel's deposit (top up).
     */
    InsufficientDeposit: 5005, "5005": "InsufficientDeposit",
    /**
     * A paywall asked more than the caller's `maxPrice`.
     */
    PriceTooHigh: 5006, "5006": "PriceTooHigh",
    /**
     * A transaction was mined but reverted.
     */
    TransactionFailed: 5007, "5007": "TransactionFailed",
    /**
     * A transaction was not mined in time.
     */
    Timeout: 5008, "5008": "Timeout",
    /**
     * A provider or server answered something that is not what the protocol says.
     */
    InvalidResponse: 5009, "5009": "InvalidResponse",
    /**
     * A signature does not recover to the expected signer.
     */
    InvalidSignature: 5010, "5010": "InvalidSignature",
    /**
     * `localStorage` is unavailable or holds something unreadable.
     */
    Storage: 5011, "5011": "Storage",
    /**
     * The network request itself failed (`fetch` rejected).
     */
    Network: 5012, "5012": "Network",
    /**
     * The receiver refused to sign a cooperative close (or could not be reached).
     */
    CloseRefused: 5013, "5013": "CloseRefused",
    /**
     * The receiver refused a payment the library could not fix (`data.refusal` says why).
     */
    PaymentRefused: 5014, "5014": "PaymentRefused",
    /**
     * The account already has an open channel (or one being opened) with this receiver: use
     * it, or pass `openChannel({ replace: true })` to open another (both stay stored).
     */
    ChannelAlreadyOpen: 5015, "5015": "ChannelAlreadyOpen",
});

/**
 * A µRaiden sender: a wallet, a channel manager, and the current channel.
 */
export class MicroRaiden {
    static __wrap(ptr) {
        const obj = Object.create(MicroRaiden.prototype);
        obj.__wbg_ptr = ptr;
        MicroRaidenFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        MicroRaidenFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_microraiden_free(ptr, 0);
    }
    /**
     * The connected account, once known.
     * @returns {`0x${string}` | undefined}
     */
    get account() {
        const ret = wasm.microraiden_account(this.__wbg_ptr);
        let v1;
        if (ret[0] !== 0) {
            v1 = getStringFromWasm0(ret[0], ret[1]);
            wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        }
        return v1;
    }
    /**
     * The token's payable `mint()`: buys tokens with `value` wei.
     * @param {bigint} value
     * @returns {Promise<TransactionResult>}
     */
    buyToken(value) {
        const ret = wasm.microraiden_buyToken(this.__wbg_ptr, value);
        return ret;
    }
    /**
     * The chain id proofs are signed for.
     * @returns {number}
     */
    get chainId() {
        const ret = wasm.microraiden_chainId(this.__wbg_ptr);
        return ret;
    }
    /**
     * The current channel, or `null`.
     * @returns {Channel | null}
     */
    get channel() {
        const ret = wasm.microraiden_channel(this.__wbg_ptr);
        return ret;
    }
    /**
     * Closes the channel: cooperatively with the receiver's closing signature (given, or
     * requested from `receiverUrl`; settles at once), else uncooperatively (starts the
     * challenge period; `settleChannel` after it).
     * @param {CloseChannelOptions | null} [options]
     * @returns {Promise<CloseResult>}
     */
    closeChannel(options) {
        const ret = wasm.microraiden_closeChannel(this.__wbg_ptr, isLikeNone(options) ? 0 : addToExternrefTable0(options));
        return ret;
    }
    /**
     * The channel manager's address.
     * @returns {`0x${string}`}
     */
    get contract() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.microraiden_contract(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Connects to a wallet and a channel manager. Reads the chain id (and the token when not
     * given); prompts nothing.
     * @param {CreateOptions} options
     * @returns {Promise<MicroRaiden>}
     */
    static create(options) {
        const ret = wasm.microraiden_create(options);
        return ret;
    }
    /**
     * Forgets the current channel and its session key (in memory and in `localStorage`); the
     * account's other channels stay stored. A channel holding a session key is forgotten only
     * with `{ force: true }` (the key is gone for good; the channel may still be open).
     * @param {ForgetOptions | null} [options]
     */
    forgetStoredChannel(options) {
        const ret = wasm.microraiden_forgetStoredChannel(this.__wbg_ptr, isLikeNone(options) ? 0 : addToExternrefTable0(options));
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * The current channel as the contract sees it.
     * @returns {Promise<OnChainChannelInfo>}
     */
    getChannelInfo() {
        const ret = wasm.microraiden_getChannelInfo(this.__wbg_ptr);
        return ret;
    }
    /**
     * The token's name, symbol, decimals and the account's balance.
     * @returns {Promise<TokenInfo>}
     */
    getTokenInfo() {
        const ret = wasm.microraiden_getTokenInfo(this.__wbg_ptr);
        return ret;
    }
    /**
     * Adds `amount` to the balance and signs the new proof.
     * @param {bigint} amount
     * @returns {Promise<SignedBalanceProof>}
     */
    incrementBalanceAndSign(amount) {
        const ret = wasm.microraiden_incrementBalanceAndSign(this.__wbg_ptr, amount);
        return ret;
    }
    /**
     * Finds the newest channel from the account to `receiver` (default: the one given to
     * `create`) that still exists on chain, from its `ChannelCreated` event (`eth_getLogs` from
     * `fromBlock`, default 0), and makes it current; `null` when there is none. For a browser
     * that lost its storage: the balance is what the chain knows (withdrawn or closing balance,
     * or what was stored); `syncWithReceiver` (or the next 402) adopts the receiver's last
     * proof. A channel whose signer is a session key this browser no longer holds is loaded
     * wallet-signed (`sessionKey: false`, `signer` the lost key): the contract accepts the
     * sender's signatures too, and proofs by the lost key stay credible.
     * @param {`0x${string}` | null} [receiver]
     * @param {number | null} [fromBlock]
     * @returns {Promise<Channel | null>}
     */
    loadChannelFromBlockchain(receiver, fromBlock) {
        const val1 = +(isLikeNone(fromBlock) ? 0 : fromBlock);
        const ret = wasm.microraiden_loadChannelFromBlockchain(this.__wbg_ptr, isLikeNone(receiver) ? 0 : addToExternrefTable0(receiver), !isLikeNone(fromBlock), val1);
        return ret;
    }
    /**
     * Loads a stored channel to `receiver` (default: the one given to `create`) and makes it
     * current: the one opened in `openBlockNumber` when given, else the newest one still open
     * on chain (a channel being opened whose transaction was mined meanwhile is stored first);
     * `null` when none is stored. The others stay stored (`storedChannels()`).
     * @param {`0x${string}` | null} [receiver]
     * @param {number | null} [openBlockNumber]
     * @returns {Promise<Channel | null>}
     */
    loadStoredChannel(receiver, openBlockNumber) {
        const val1 = +(isLikeNone(openBlockNumber) ? Number.MAX_SAFE_INTEGER : (openBlockNumber) >>> 0);
        const ret = wasm.microraiden_loadStoredChannel(this.__wbg_ptr, isLikeNone(receiver) ? 0 : addToExternrefTable0(receiver), val1);
        return ret;
    }
    /**
     * Opens a channel and makes it current, waiting for the receipts: by default `approve` +
     * `createChannelWithSigner` (two prompts); `method: "erc223"` or `"permit"` take one
     * transaction. With `sessionKey` (default) a browser key becomes the channel's signer.
     * @param {OpenChannelOptions} options
     * @returns {Promise<Channel>}
     */
    openChannel(options) {
        const ret = wasm.microraiden_openChannel(this.__wbg_ptr, options);
        return ret;
    }
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
     * @param {string} input
     * @param {PayingFetchOptions} options
     * @returns {Promise<Response>}
     */
    payingFetch(input, options) {
        const ptr0 = passStringToWasm0(input, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.microraiden_payingFetch(this.__wbg_ptr, ptr0, len0, options);
        return ret;
    }
    /**
     * The channels with `receiver` being opened: their session key is stored, their
     * `ChannelCreated` event not seen yet (one that is mined meanwhile becomes a stored channel
     * and is not listed). A page reloaded while opening says "a channel is being opened" and
     * calls `waitForPendingChannel()`.
     * @param {`0x${string}` | null} [receiver]
     * @returns {Promise<PendingChannel[]>}
     */
    pendingChannels(receiver) {
        const ret = wasm.microraiden_pendingChannels(this.__wbg_ptr, isLikeNone(receiver) ? 0 : addToExternrefTable0(receiver));
        return ret;
    }
    /**
     * `eth_requestAccounts` (prompts); the first account becomes the sender.
     * @returns {Promise<`0x${string}`[]>}
     */
    requestAccounts() {
        const ret = wasm.microraiden_requestAccounts(this.__wbg_ptr);
        return ret;
    }
    /**
     * Asks the receiver at `receiverUrl` (its origin, or API base such as `/api/1`) to co-sign
     * closing the channel with its last proof; the closing signature is verified. Pass it to
     * `closeChannel({ closingSignature })`, or let `closeChannel({ receiverUrl })` do both.
     * @param {string} receiverUrl
     * @returns {Promise<ClosingSignature>}
     */
    requestClosingSignature(receiverUrl) {
        const ptr0 = passStringToWasm0(receiverUrl, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.microraiden_requestClosingSignature(this.__wbg_ptr, ptr0, len0);
        return ret;
    }
    /**
     * Adopts the receiver's last accepted proof (`RDN-Sender-Balance`, `RDN-Balance-Signature`
     * of a 402 to a status request) as the channel's balance, after checking that the channel's
     * sender or signer signed it; throws `InvalidSignatureError` otherwise. `payingFetch` and
     * `syncWithReceiver` do this themselves.
     * @param {bigint} balance
     * @param {string} signature
     * @returns {Channel}
     */
    resyncFromReceiver(balance, signature) {
        const ptr0 = passStringToWasm0(signature, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.microraiden_resyncFromReceiver(this.__wbg_ptr, balance, ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * `settle` after the challenge period; forgets the channel.
     * @returns {Promise<TransactionResult>}
     */
    settleChannel() {
        const ret = wasm.microraiden_settleChannel(this.__wbg_ptr);
        return ret;
    }
    /**
     * Signs a proof for the cumulative `balance` and makes it the channel's balance.
     * @param {bigint} balance
     * @returns {Promise<SignedBalanceProof>}
     */
    signNewProof(balance) {
        const ret = wasm.microraiden_signNewProof(this.__wbg_ptr, balance);
        return ret;
    }
    /**
     * Every channel stored for the account with `receiver` (default: the one given to
     * `create`), newest first, each with its session key kept until it is closed and forgotten.
     * @param {`0x${string}` | null} [receiver]
     * @returns {Promise<Channel[]>}
     */
    storedChannels(receiver) {
        const ret = wasm.microraiden_storedChannels(this.__wbg_ptr, isLikeNone(receiver) ? 0 : addToExternrefTable0(receiver));
        return ret;
    }
    /**
     * Asks the wallet to switch to the channel manager's chain, when it is elsewhere.
     * @returns {Promise<void>}
     */
    switchChain() {
        const ret = wasm.microraiden_switchChain(this.__wbg_ptr);
        return ret;
    }
    /**
     * Asks the paywalled resource at `url` for the channel's last accepted proof, proving with a
     * status request signed now (the session key; else one wallet prompt) rather than a
     * payment, and continues from it when the channel's sender or signer signed it.
     * @param {string} url
     * @returns {Promise<ReceiverStatus>}
     */
    syncWithReceiver(url) {
        const ptr0 = passStringToWasm0(url, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.microraiden_syncWithReceiver(this.__wbg_ptr, ptr0, len0);
        return ret;
    }
    /**
     * The token's address.
     * @returns {`0x${string}`}
     */
    get token() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.microraiden_token(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Adds `deposit` to the channel: `approve` + `topUp`, or one ERC223 transfer with
     * `{ method: "erc223" }`.
     * @param {bigint} deposit
     * @param {TopUpOptions | null} [options]
     * @returns {Promise<Channel>}
     */
    topUpChannel(deposit, options) {
        const ret = wasm.microraiden_topUpChannel(this.__wbg_ptr, deposit, isLikeNone(options) ? 0 : addToExternrefTable0(options));
        return ret;
    }
    /**
     * Whether `signature` over `balance` in the current channel is by its sender or signer.
     * @param {bigint} balance
     * @param {string} signature
     * @returns {boolean}
     */
    verifyProof(balance, signature) {
        const ptr0 = passStringToWasm0(signature, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.microraiden_verifyProof(this.__wbg_ptr, balance, ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return ret[0] !== 0;
    }
    /**
     * Waits until a channel being opened with `receiver` is mined (up to `receiptTimeoutMs`,
     * polling every `pollIntervalMs`), stores it with its session key and makes it current.
     * @param {`0x${string}` | null} [receiver]
     * @returns {Promise<Channel>}
     */
    waitForPendingChannel(receiver) {
        const ret = wasm.microraiden_waitForPendingChannel(this.__wbg_ptr, isLikeNone(receiver) ? 0 : addToExternrefTable0(receiver));
        return ret;
    }
}
if (Symbol.dispose) MicroRaiden.prototype[Symbol.dispose] = MicroRaiden.prototype.free;

export { UraidenError }

/**
 * The JSON string to pass to `eth_signTypedData_v4` for a balance proof.
 * @param {bigint} chainId
 * @param {string} contract
 * @param {string} sender
 * @param {string} receiver
 * @param {number} openBlockNumber
 * @param {string} balance - the cumulative balance in decimal
 * @returns {string}
 */
export function balanceProofTypedData(chainId, contract, sender, receiver, openBlockNumber, balance) {
    let deferred8_0;
    let deferred8_1;
    try {
        const val5 = BigInt.asIntN(64, chainId);
        const val6 = +openBlockNumber;
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3;
        try {
            ptr0 = passStringToWasm0(contract, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(sender, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(receiver, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(balance, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.balanceProofTypedData(val5, ptr0, len0, ptr1, len1, ptr2, len2, val6, ptr3, len3);
        var ptr7 = ret[0];
        var len7 = ret[1];
        if (ret[3]) {
            ptr7 = 0; len7 = 0;
            throw takeFromExternrefTable0(ret[2]);
        }
        deferred8_0 = ptr7;
        deferred8_1 = len7;
        return getStringFromWasm0(ptr7, len7);
    } finally {
        wasm.__wbindgen_free(deferred8_0, deferred8_1, 1);
    }
}

/**
 * Deletes every payment cookie (those of a navigation the receiver never saw).
 */
export function clearPaymentCookies() {
    const ret = wasm.clearPaymentCookies();
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}

/**
 * Asks the page's wallets to announce themselves (EIP-6963) and resolves, after `timeoutMs`
 * (default 250), to one entry per wallet, in the order they answered; `[]` when none did.
 * @param {number | null} [timeoutMs]
 * @returns {Promise<Eip6963ProviderDetail[]>}
 */
export function discoverWallets(timeoutMs) {
    const ret = wasm.discoverWallets(isLikeNone(timeoutMs) ? Number.MAX_SAFE_INTEGER : (timeoutMs) >>> 0);
    return ret;
}

/**
 * Whether a payment cookie is still set: after a navigation that carried one, the receiver
 * never saw it (the browser blocks cookies for this site).
 * @returns {boolean}
 */
export function hasUnsentPaymentCookies() {
    const ret = wasm.hasUnsentPaymentCookies();
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return ret[0] !== 0;
}

/**
 * The checksummed address that signed a balance proof; throws for a signature the
 * contract would reject.
 * @param {bigint} chainId
 * @param {string} contract
 * @param {string} sender
 * @param {string} receiver
 * @param {number} openBlockNumber
 * @param {string} balance - the cumulative balance in decimal
 * @param {string} signature
 * @returns {string}
 */
export function recoverBalanceProofSigner(chainId, contract, sender, receiver, openBlockNumber, balance, signature) {
    let deferred9_0;
    let deferred9_1;
    try {
        const val6 = BigInt.asIntN(64, chainId);
        const val7 = +openBlockNumber;
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3, ptr4, len4;
        try {
            ptr0 = passStringToWasm0(contract, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(sender, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(receiver, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(balance, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
            ptr4 = passStringToWasm0(signature, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len4 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr4) { wasm.__wbindgen_free(ptr4, len4 * 1, 1); }
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.recoverBalanceProofSigner(val6, ptr0, len0, ptr1, len1, ptr2, len2, val7, ptr3, len3, ptr4, len4);
        var ptr8 = ret[0];
        var len8 = ret[1];
        if (ret[3]) {
            ptr8 = 0; len8 = 0;
            throw takeFromExternrefTable0(ret[2]);
        }
        deferred9_0 = ptr8;
        deferred9_1 = len8;
        return getStringFromWasm0(ptr8, len8);
    } finally {
        wasm.__wbindgen_free(deferred9_0, deferred9_1, 1);
    }
}

/**
 * Writes `proof` (from `signNewProof` or `incrementBalanceAndSign`) as the payment cookies for
 * the next navigation to this origin, with `payment` (what this navigation pays) and the
 * channel manager `contract`. The cookies expire after `maxAgeSeconds` (default 120) so a proof
 * the receiver never saw does not linger.
 * @param {`0x${string}`} contract
 * @param {SignedBalanceProof} proof
 * @param {bigint} payment
 * @param {number | null} [maxAgeSeconds]
 */
export function setPaymentCookies(contract, proof, payment, maxAgeSeconds) {
    const val2 = +(isLikeNone(maxAgeSeconds) ? Number.MAX_SAFE_INTEGER : (maxAgeSeconds) >>> 0);
    const ptr0 = passStringToWasm0(contract, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    const ret = wasm.setPaymentCookies(ptr0, len0, proof, payment, val2);
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_BigInt_3ce25b1933d9ed9c: function() { return handleError(function (arg0) {
            const ret = BigInt(arg0);
            return ret;
        }, arguments); },
        __wbg_Error_208446807d0d1e30: function(arg0, arg1) {
            const ret = Error(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: function(arg0) {
            const v = arg0;
            const ret = typeof(v) === 'boolean' ? v : undefined;
            return isLikeNone(ret) ? 0xFFFFFF : ret ? 1 : 0;
        },
        __wbg___wbindgen_is_bigint_5fa10641e039d3ef: function(arg0) {
            const ret = typeof(arg0) === 'bigint';
            return ret;
        },
        __wbg___wbindgen_is_function_741ff2bb612836f5: function(arg0) {
            const ret = typeof(arg0) === 'function';
            return ret;
        },
        __wbg___wbindgen_is_null_c22311b1cc228e3a: function(arg0) {
            const ret = arg0 === null;
            return ret;
        },
        __wbg___wbindgen_is_object_8b968c3ab8e96595: function(arg0) {
            const val = arg0;
            const ret = typeof(val) === 'object' && val !== null;
            return ret;
        },
        __wbg___wbindgen_is_string_fc456fee5d3317de: function(arg0) {
            const ret = typeof(arg0) === 'string';
            return ret;
        },
        __wbg___wbindgen_is_undefined_be5b34249ff1fc15: function(arg0) {
            const ret = arg0 === undefined;
            return ret;
        },
        __wbg___wbindgen_number_get_934b640d0889af78: function(arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'number' ? obj : undefined;
            getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
        },
        __wbg___wbindgen_string_get_7ce8eee7fd327545: function(arg0, arg1) {
            const obj = arg1;
            const ret = typeof(obj) === 'string' ? obj : undefined;
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg___wbindgen_throw_4c88d8bf264fd984: function(arg0, arg1) {
            throw new Error(getStringFromWasm0(arg0, arg1));
        },
        __wbg__wbg_cb_unref_09736879a3f67559: function(arg0) {
            arg0._wbg_cb_unref();
        },
        __wbg_aborted_31456edf1be00084: function(arg0) {
            const ret = arg0.aborted;
            return ret;
        },
        __wbg_addEventListener_847fd86b8c33ec43: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            arg0.addEventListener(getStringFromWasm0(arg1, arg2), arg3);
        }, arguments); },
        __wbg_any_3de977a078b8b089: function(arg0) {
            const ret = AbortSignal.any(arg0);
            return ret;
        },
        __wbg_bind_00665d4267fdf38a: function(arg0, arg1) {
            const ret = arg0.bind(arg1);
            return ret;
        },
        __wbg_call_275b78b3b6520b92: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            const ret = arg0.call(arg1, arg2, arg3, arg4);
            return ret;
        }, arguments); },
        __wbg_call_40b008ba32f73991: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.call(arg1);
            return ret;
        }, arguments); },
        __wbg_call_a410eb4b59ed5965: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.call(arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_clearTimeout_cdafc72b6f56c589: function(arg0) {
            clearTimeout(arg0);
        },
        __wbg_clone_a0934ceb1865184d: function() { return handleError(function (arg0) {
            const ret = arg0.clone();
            return ret;
        }, arguments); },
        __wbg_crypto_23f565a907d30078: function(arg0) {
            const ret = arg0.crypto;
            return ret;
        },
        __wbg_detail_2174ce1962cc649d: function(arg0) {
            const ret = arg0.detail;
            return ret;
        },
        __wbg_dispatchEvent_a2af00ffae37e129: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.dispatchEvent(arg1);
            return ret;
        }, arguments); },
        __wbg_fetch_81012d13dd241419: function(arg0) {
            const ret = fetch(arg0);
            return ret;
        },
        __wbg_from_eac91875c8a5ffa4: function(arg0) {
            const ret = Array.from(arg0);
            return ret;
        },
        __wbg_getItem_49556a3e59cfb688: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg1.getItem(getStringFromWasm0(arg2, arg3));
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_getRandomValues_d2908e0b99612b91: function() { return handleError(function (arg0, arg1) {
            arg0.getRandomValues(arg1);
        }, arguments); },
        __wbg_get_2080c49015e35254: function() { return handleError(function (arg0, arg1) {
            const ret = Reflect.get(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_get_556f1c9a5c587e8c: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            const ret = arg1.get(getStringFromWasm0(arg2, arg3));
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_get_unchecked_e6325ad374eff861: function(arg0, arg1) {
            const ret = arg0[arg1 >>> 0];
            return ret;
        },
        __wbg_has_4893849f7bfec3df: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.has(getStringFromWasm0(arg1, arg2));
            return ret;
        }, arguments); },
        __wbg_headers_5fc0106c076eb731: function(arg0) {
            const ret = arg0.headers;
            return ret;
        },
        __wbg_headers_9ef80dd266706f48: function(arg0) {
            const ret = arg0.headers;
            return ret;
        },
        __wbg_instanceof_CustomEvent_c7fd5d1b316fdfb2: function(arg0) {
            let result;
            try {
                result = arg0 instanceof CustomEvent;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Error_74e3cca0c4a69161: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Error;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_EventTarget_a8ec754d19c1e1e0: function(arg0) {
            let result;
            try {
                result = arg0 instanceof EventTarget;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Promise_59148c6049d0e3a0: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Promise;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Response_5b0b4f7f1daeae51: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Response;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_instanceof_Window_5cf453f5639aa1a2: function(arg0) {
            let result;
            try {
                result = arg0 instanceof Window;
            } catch (_) {
                result = false;
            }
            const ret = result;
            return ret;
        },
        __wbg_isArray_bcf1376d0d732d08: function(arg0) {
            const ret = Array.isArray(arg0);
            return ret;
        },
        __wbg_key_63ff854ef83f5a09: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg1.key(arg2 >>> 0);
            var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            var len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        }, arguments); },
        __wbg_length_186163212ffe79c3: function(arg0) {
            const ret = arg0.length;
            return ret;
        },
        __wbg_length_b03a0fabb109b1e9: function(arg0) {
            const ret = arg0.length;
            return ret;
        },
        __wbg_length_ea72997cbff8f351: function() { return handleError(function (arg0) {
            const ret = arg0.length;
            return ret;
        }, arguments); },
        __wbg_localStorage_6827cfe6db14a9f6: function() { return handleError(function (arg0) {
            const ret = arg0.localStorage;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        }, arguments); },
        __wbg_message_43d8c8f1d543a349: function(arg0) {
            const ret = arg0.message;
            return ret;
        },
        __wbg_microraiden_new: function(arg0) {
            const ret = MicroRaiden.__wrap(arg0);
            return ret;
        },
        __wbg_msCrypto_d5f06fad6bf1409b: function(arg0) {
            const ret = arg0.msCrypto;
            return ret;
        },
        __wbg_new_277c27c26f94cbc2: function() { return handleError(function () {
            const ret = new Headers();
            return ret;
        }, arguments); },
        __wbg_new_37eb45aaf5eeb820: function() {
            const ret = new Array();
            return ret;
        },
        __wbg_new_5f28518387ad0e34: function() { return handleError(function () {
            const ret = new AbortController();
            return ret;
        }, arguments); },
        __wbg_new_96baed0986e0d99f: function() { return handleError(function (arg0, arg1) {
            const ret = new URL(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_new_ba40181b3f24ac80: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_cd4348290afae586: function() {
            const ret = new Object();
            return ret;
        },
        __wbg_new_f552ca9cc23d8b44: function(arg0, arg1, arg2, arg3, arg4) {
            const ret = new UraidenError(arg0, getStringFromWasm0(arg1, arg2), arg3, arg4);
            return ret;
        },
        __wbg_new_f6667bebfb038bfc: function() { return handleError(function (arg0, arg1) {
            const ret = new Event(getStringFromWasm0(arg0, arg1));
            return ret;
        }, arguments); },
        __wbg_new_typed_e09da9dae6ee5935: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_with_length_01b143a7e5dd5a3e: function(arg0) {
            const ret = new Uint8Array(arg0 >>> 0);
            return ret;
        },
        __wbg_new_with_request_and_init_4c2b56a914a13493: function() { return handleError(function (arg0, arg1) {
            const ret = new Request(arg0, arg1);
            return ret;
        }, arguments); },
        __wbg_new_with_str_and_init_d9f6b5611184e16b: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = new Request(getStringFromWasm0(arg0, arg1), arg2);
            return ret;
        }, arguments); },
        __wbg_node_86166ff8ce1f2002: function(arg0) {
            const ret = arg0.node;
            return ret;
        },
        __wbg_now_463ac581d2fc7ea3: function() {
            const ret = Date.now();
            return ret;
        },
        __wbg_of_027eb15371aac932: function(arg0) {
            const ret = Array.of(arg0);
            return ret;
        },
        __wbg_of_e7ea0fcd535c1444: function(arg0, arg1) {
            const ret = Array.of(arg0, arg1);
            return ret;
        },
        __wbg_origin_fba7d3755dd37895: function(arg0, arg1) {
            const ret = arg1.origin;
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg_process_91f425a63f58e399: function(arg0) {
            const ret = arg0.process;
            return ret;
        },
        __wbg_prototypesetcall_13162965d1fe7aa3: function(arg0, arg1, arg2) {
            Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
        },
        __wbg_push_c9f4893fc209f768: function(arg0, arg1) {
            const ret = arg0.push(arg1);
            return ret;
        },
        __wbg_queueMicrotask_1e8503a8a690f0a3: function(arg0) {
            const ret = arg0.queueMicrotask;
            return ret;
        },
        __wbg_queueMicrotask_4a1a4d8dd332373b: function(arg0) {
            queueMicrotask(arg0);
        },
        __wbg_race_d17769ed306b5623: function(arg0) {
            const ret = Promise.race(arg0);
            return ret;
        },
        __wbg_randomFillSync_34b023059e3363de: function() { return handleError(function (arg0, arg1) {
            arg0.randomFillSync(arg1);
        }, arguments); },
        __wbg_removeEventListener_4e20bd5fac3de092: function() { return handleError(function (arg0, arg1, arg2, arg3) {
            arg0.removeEventListener(getStringFromWasm0(arg1, arg2), arg3);
        }, arguments); },
        __wbg_removeItem_6db621e167d16a1c: function() { return handleError(function (arg0, arg1, arg2) {
            arg0.removeItem(getStringFromWasm0(arg1, arg2));
        }, arguments); },
        __wbg_request_9f380b8433805d24: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.request(arg1);
            return ret;
        }, arguments); },
        __wbg_require_9a7d8cc2e1d275c0: function() { return handleError(function () {
            const ret = module.require;
            return ret;
        }, arguments); },
        __wbg_resolve_dbf78ab4942478b0: function(arg0) {
            const ret = Promise.resolve(arg0);
            return ret;
        },
        __wbg_setItem_cfa3cb31f271776a: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            arg0.setItem(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
        }, arguments); },
        __wbg_setTimeout_018e6eab9dad5619: function(arg0, arg1) {
            const ret = setTimeout(arg0, arg1);
            return ret;
        },
        __wbg_set_2793479888329cb6: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = Reflect.set(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_set_bcb0ec2400cfa22e: function() { return handleError(function (arg0, arg1, arg2, arg3, arg4) {
            arg0.set(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
        }, arguments); },
        __wbg_set_body_877d5251e78ca815: function(arg0, arg1) {
            arg0.body = arg1;
        },
        __wbg_set_headers_6d75a7df4eb22716: function(arg0, arg1) {
            arg0.headers = arg1;
        },
        __wbg_set_method_639e69af35614d36: function(arg0, arg1, arg2) {
            arg0.method = getStringFromWasm0(arg1, arg2);
        },
        __wbg_set_redirect_a95a432ab7d10765: function(arg0, arg1) {
            arg0.redirect = __wbindgen_enum_RequestRedirect[arg1];
        },
        __wbg_set_signal_0b2eee78907e5ba7: function(arg0, arg1) {
            arg0.signal = arg1;
        },
        __wbg_signal_b2980930b83811aa: function(arg0) {
            const ret = arg0.signal;
            return ret;
        },
        __wbg_signal_fac908876f45725d: function(arg0) {
            const ret = arg0.signal;
            return ret;
        },
        __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: function() {
            const ret = typeof globalThis === 'undefined' ? undefined : globalThis;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: function() {
            const ret = typeof global === 'undefined' ? undefined : global;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_SELF_53bb20457401453d: function() {
            const ret = typeof self === 'undefined' ? undefined : self;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: function() {
            const ret = typeof window === 'undefined' ? undefined : window;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_status_cb85b6c8d1769fa1: function(arg0) {
            const ret = arg0.status;
            return ret;
        },
        __wbg_subarray_58f388a9247ac0bb: function(arg0, arg1, arg2) {
            const ret = arg0.subarray(arg1 >>> 0, arg2 >>> 0);
            return ret;
        },
        __wbg_text_5240eb2c41de8292: function() { return handleError(function (arg0) {
            const ret = arg0.text();
            return ret;
        }, arguments); },
        __wbg_then_656f253a5dd7d8ea: function(arg0, arg1, arg2) {
            const ret = arg0.then(arg1, arg2);
            return ret;
        },
        __wbg_then_e3f7f2d365708be8: function(arg0, arg1) {
            const ret = arg0.then(arg1);
            return ret;
        },
        __wbg_toString_6b1cac73c93ef5d1: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.toString(arg1);
            return ret;
        }, arguments); },
        __wbg_toString_ac62c4a5cb3e62c7: function() { return handleError(function (arg0, arg1) {
            const ret = arg0.toString(arg1);
            return ret;
        }, arguments); },
        __wbg_url_1be993c7b186415b: function(arg0, arg1) {
            const ret = arg1.url;
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg_url_9fadea28ec624f1d: function(arg0, arg1) {
            const ret = arg1.url;
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        __wbg_versions_6e128a981b0df859: function(arg0) {
            const ret = arg0.versions;
            return ret;
        },
        __wbindgen_generic_0000000000000001: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [Externref], shim_idx: 173, ret: Result(Unit), inner_ret: Some(Result(Unit)) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__h60702a48838d1764);
            return ret;
        },
        __wbindgen_generic_0000000000000002: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [Externref], shim_idx: 179, ret: Externref, inner_ret: Some(Externref) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__he5ff5a6db65ddc42);
            return ret;
        },
        __wbindgen_generic_0000000000000003: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [NamedExternref("Event")], shim_idx: 8, ret: Unit, inner_ret: Some(Unit) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__h8b2b8158666fd09b);
            return ret;
        },
        __wbindgen_generic_0000000000000004: function(arg0) {
            // Cast intrinsic for `F64 -> Externref`.
            const ret = arg0;
            return ret;
        },
        __wbindgen_generic_0000000000000005: function(arg0, arg1) {
            // Cast intrinsic for `Ref(Slice(U8)) -> NamedExternref("Uint8Array")`.
            const ret = getArrayU8FromWasm0(arg0, arg1);
            return ret;
        },
        __wbindgen_generic_0000000000000006: function(arg0, arg1) {
            // Cast intrinsic for `Ref(String) -> Externref`.
            const ret = getStringFromWasm0(arg0, arg1);
            return ret;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
            table.set(1024, undefined);
            table.set(1025, null);
            table.set(1026, true);
            table.set(1027, false);
        },
    };
    return {
        __proto__: null,
        "./uraiden_wasm_bg.js": import0,
    };
}

function wasm_bindgen__convert__closures_____invoke__h8b2b8158666fd09b(arg0, arg1, arg2) {
    wasm.wasm_bindgen__convert__closures_____invoke__h8b2b8158666fd09b(arg0, arg1, arg2);
}

function wasm_bindgen__convert__closures_____invoke__he5ff5a6db65ddc42(arg0, arg1, arg2) {
    const ret = wasm.wasm_bindgen__convert__closures_____invoke__he5ff5a6db65ddc42(arg0, arg1, arg2);
    return ret;
}

function wasm_bindgen__convert__closures_____invoke__h60702a48838d1764(arg0, arg1, arg2) {
    const ret = wasm.wasm_bindgen__convert__closures_____invoke__h60702a48838d1764(arg0, arg1, arg2);
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}

function wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475(arg0, arg1, arg2, arg3) {
    wasm.wasm_bindgen__convert__closures_____invoke__hb98d63cc49481475(arg0, arg1, arg2, arg3);
}


const __wbindgen_enum_RequestRedirect = ["follow", "error", "manual"];
const MicroRaidenFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_microraiden_free(ptr, 1));

function addToExternrefTable0(obj) {
    const idx = wasm.__externref_table_alloc();
    wasm.__wbindgen_externrefs.set(idx, obj);
    return idx;
}

const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => wasm.__wbindgen_destroy_closure(state.a, state.b));

function getArrayU8FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}

let cachedDataViewMemory0 = null;
function getDataViewMemory0() {
    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
    }
    return cachedDataViewMemory0;
}

function getStringFromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}

let cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
    if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
    }
    return cachedUint8ArrayMemory0;
}

function handleError(f, args) {
    try {
        return f.apply(this, args);
    } catch (e) {
        const idx = addToExternrefTable0(e);
        wasm.__wbindgen_exn_store(idx);
    }
}

function isLikeNone(x) {
    return x === undefined || x === null;
}

function makeMutClosure(arg0, arg1, f) {
    const state = { a: arg0, b: arg1, cnt: 1 };
    const real = (...args) => {

        // First up with a closure we increment the internal reference
        // count. This ensures that the Rust closure environment won't
        // be deallocated while we're invoking it.
        state.cnt++;
        const a = state.a;
        state.a = 0;
        try {
            return f(a, state.b, ...args);
        } finally {
            state.a = a;
            real._wbg_cb_unref();
        }
    };
    real._wbg_cb_unref = () => {
        if (--state.cnt === 0) {
            wasm.__wbindgen_destroy_closure(state.a, state.b);
            state.a = 0;
            CLOSURE_DTORS.unregister(state);
        }
    };
    CLOSURE_DTORS.register(real, state, state);
    return real;
}

function passStringToWasm0(arg, malloc, realloc) {
    if (realloc === undefined) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr, ptr + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr;
    }

    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;

    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);

        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }

    WASM_VECTOR_LEN = offset;
    return ptr;
}

function takeFromExternrefTable0(idx) {
    const value = wasm.__wbindgen_externrefs.get(idx);
    wasm.__externref_table_dealloc(idx);
    return value;
}

let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
cachedTextDecoder.decode();
const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(bytes) {
    numBytesDecoded += bytes.length;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
        cachedTextDecoder.decode();
        numBytesDecoded = bytes.length;
    }
    return cachedTextDecoder.decode(bytes);
}

const cachedTextEncoder = new TextEncoder();

if (!('encodeInto' in cachedTextEncoder)) {
    cachedTextEncoder.encodeInto = function (arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
            read: arg.length,
            written: buf.length
        };
    };
}

let WASM_VECTOR_LEN = 0;

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    cachedDataViewMemory0 = null;
    cachedUint8ArrayMemory0 = null;
    wasm.__wbindgen_start();
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {
    if (wasm !== undefined) return wasm;


    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports();
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module);
}

let __wbg_init_promise;
async function __wbg_init(module_or_path) {
    if (wasm !== undefined) return wasm;
    if (__wbg_init_promise === undefined) {
        __wbg_init_promise = __wbg_init_once(module_or_path);
        __wbg_init_promise.catch(() => { __wbg_init_promise = undefined; });
    }
    return __wbg_init_promise;
}

async function __wbg_init_once(module_or_path) {

    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('uraiden_wasm_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports();

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module);
}

export { initSync, __wbg_init as default };
