//! The crate's one error type.
//!
//! Messages are written for the person who has to fix the input: they say what was wrong
//! and, where it is not obvious, what to do. They never repeat secret material (private
//! keys) and never echo a whole signature; long inputs are truncated (see [`quote`]).

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in `uraiden-protocol`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A signature was not exactly 65 bytes (r‖s‖v).
    #[error("expected a 65-byte signature (r‖s‖v), got {got} bytes")]
    SignatureLength {
        /// The number of bytes received.
        got: usize,
    },
    /// A hex signature was not `0x` followed by 130 hex digits.
    #[error("expected a signature as 0x followed by 130 hex digits (65 bytes r‖s‖v), got {problem}")]
    SignatureHex {
        /// What was wrong, without repeating the input.
        problem: String,
    },
    /// The recovery byte `v` was not 27/28 (or 0/1).
    #[error(
        "signature v must be 27 or 28 (0 or 1 accepted), got {v}; chain-specific (EIP-155) \
         values are rejected by the channel manager, sign the EIP-712 digest again"
    )]
    SignatureV {
        /// The rejected `v` byte.
        v: u8,
    },
    /// `r` or `s` was zero.
    #[error("signature {component} is zero, which is never a valid ECDSA signature")]
    SignatureZero {
        /// `"r"` or `"s"`.
        component: &'static str,
    },
    /// `r` was not below the secp256k1 group order.
    #[error("signature r is not below the secp256k1 group order")]
    SignatureROutOfRange,
    /// `s` was above n/2: a malleable ("high-s") signature, rejected by OpenZeppelin's ECDSA.
    #[error(
        "signature s is in the upper half of the curve order (high-s, malleable); the channel \
         manager only accepts low-s signatures, normalise s to n - s and flip v"
    )]
    SignatureHighS,
    /// No public key could be recovered from the signature and digest.
    #[error("no signer can be recovered from this signature: {reason}")]
    SignatureRecovery {
        /// Why recovery failed.
        reason: String,
    },
    /// Producing a signature failed (practically unreachable with RFC 6979).
    #[error("signing failed: {reason}")]
    Signing {
        /// Why signing failed.
        reason: String,
    },
    /// A private key was malformed. Never contains the key itself.
    #[error("invalid private key: {problem}")]
    PrivateKey {
        /// What was wrong, without any key material.
        problem: &'static str,
    },
    /// The OS/browser random number generator failed.
    #[error("the random number generator failed: {reason}")]
    Randomness {
        /// Why the RNG failed.
        reason: String,
    },
    /// An address was not `0x` + 40 hex digits, or had a bad EIP-55 checksum.
    #[error("expected a 0x-prefixed 20-byte hex address, got {input} ({problem})")]
    InvalidAddress {
        /// The input, quoted and truncated.
        input: String,
        /// What was wrong.
        problem: &'static str,
    },
    /// A token amount was not a canonical decimal integer below 2^192.
    #[error("expected a decimal integer below 2^192, got {input} ({problem})")]
    InvalidAmount {
        /// The input, quoted and truncated.
        input: String,
        /// What was wrong.
        problem: &'static str,
    },
    /// A decimal integer (block number, chain id) was malformed or out of range.
    #[error("expected a decimal integer up to {max} ({what}), got {input} ({problem})")]
    InvalidInteger {
        /// What the number is, e.g. `"uint32 block number"`.
        what: &'static str,
        /// The largest accepted value.
        max: u64,
        /// The input, quoted and truncated.
        input: String,
        /// What was wrong.
        problem: &'static str,
    },
    /// A URL path (`RDN-Gateway-Path`) did not start with `/` or had spaces or control characters.
    #[error("expected an absolute URL path such as \"/api/1\", got {input}")]
    InvalidPath {
        /// The input, quoted and truncated.
        input: String,
    },
    /// A header value was invalid; `reason` says why.
    #[error("{header}: {reason}")]
    InvalidHeader {
        /// The header's name, e.g. `RDN-Balance`.
        header: &'static str,
        /// What was wrong with its value.
        reason: Box<Error>,
    },
    /// An x402 header (`PAYMENT-SIGNATURE`, `PAYMENT-REQUIRED`, `PAYMENT-RESPONSE`) was not
    /// base64 of the JSON the `uraiden` scheme defines; `problem` says where.
    #[error("{header}: {problem}")]
    X402 {
        /// The header's name.
        header: &'static str,
        /// What was wrong, naming the JSON member.
        problem: String,
    },
    /// A required header was absent.
    #[error("{header}: missing; {context}")]
    MissingHeader {
        /// The missing header's name.
        header: &'static str,
        /// Which set of headers it belongs to and what to send.
        context: &'static str,
    },
    /// A close or status request whose deadline has passed (by the receiver's clock).
    #[error(
        "the request expired: its deadline {deadline} is before the receiver's time {now} (unix seconds); \
         sign a new one with a deadline a few minutes ahead"
    )]
    RequestExpired {
        /// The request's deadline.
        deadline: u64,
        /// The receiver's unix time.
        now: u64,
    },
    /// A close or status request valid for longer than the receiver allows.
    #[error(
        "the request's deadline {deadline} is more than {max_seconds} seconds after the receiver's time \
         {now} (unix seconds); sign one that expires sooner (is the clock right?)"
    )]
    RequestDeadlineTooFar {
        /// The request's deadline.
        deadline: u64,
        /// The receiver's unix time.
        now: u64,
        /// The longest lifetime accepted.
        max_seconds: u64,
    },
    /// A close or status request signed by neither the channel's sender nor its signer.
    #[error(
        "the request is signed by {signer}, neither the channel's sender {sender} nor its signer \
         {channel_signer}; sign it with the channel's key, for this receiver, contract and chain"
    )]
    RequestSigner {
        /// Who signed it (recovered).
        signer: alloy_primitives::Address,
        /// The channel's sender.
        sender: alloy_primitives::Address,
        /// The channel's delegated signer (the sender when there is none).
        channel_signer: alloy_primitives::Address,
    },
    /// ERC223 `tokenFallback` data of a length the channel manager does not accept.
    #[error(
        "ERC223 transfer data must be 40 bytes (create: sender‖receiver), 60 bytes (create with \
         signer: sender‖receiver‖signer) or 44 bytes (top up: sender‖receiver‖uint32 open block), \
         got {got} bytes"
    )]
    Erc223DataLength {
        /// The length received.
        got: usize,
    },
    /// A payment would take the channel's balance past its deposit.
    #[error(
        "a balance of {balance} exceeds the channel's deposit of {deposit}; top up the channel or \
         open a new one"
    )]
    ExceedsDeposit {
        /// The balance the payment would need.
        balance: alloy_primitives::aliases::U192,
        /// The deposit.
        deposit: alloy_primitives::aliases::U192,
    },
    /// The receiver's last proof is not signed by the channel's sender or signer (or not over
    /// the balance it names, in this channel).
    #[error(
        "the receiver's last proof (balance {balance}) is not signed by this channel's sender or \
         signer; not adopting it: pay on from the balance known here, or close the channel"
    )]
    ForeignReceiverProof {
        /// The balance the receiver named.
        balance: alloy_primitives::aliases::U192,
    },
    /// The receiver's last proof names more than the deposit.
    #[error(
        "the receiver's last proof (balance {balance}) is above the channel's deposit of \
         {deposit}; not adopting it: a top-up this sender does not know of yet? reload the \
         channel from the chain"
    )]
    ReceiverProofAboveDeposit {
        /// The balance the receiver named.
        balance: alloy_primitives::aliases::U192,
        /// The deposit as the sender knows it.
        deposit: alloy_primitives::aliases::U192,
    },
    /// The receiver named a balance above zero without the signature that proves it.
    #[error(
        "the receiver reports a balance of {balance} without its signature; only a balance of 0 \
         is adopted unsigned"
    )]
    UnsignedReceiverBalance {
        /// The balance the receiver named.
        balance: alloy_primitives::aliases::U192,
    },
}

impl Error {
    /// Wraps `self` as the reason why `header` is invalid.
    pub(crate) fn in_header(self, header: &'static str) -> Self {
        Self::InvalidHeader { header, reason: Box::new(self) }
    }
}

/// Longest input echoed in an error message, in characters.
const QUOTE_MAX_CHARS: usize = 48;

/// Quotes `input` for an error message, truncating anything long (with the total length),
/// so a message never carries a whole signature or an attacker's megabyte of header.
pub(crate) fn quote(input: &str) -> String {
    let total = input.chars().count();
    if total <= QUOTE_MAX_CHARS {
        format!("{input:?}")
    } else {
        let head: String = input.chars().take(QUOTE_MAX_CHARS).collect();
        format!("{:?}… ({total} characters)", head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_keeps_short_input_and_escapes_it() {
        assert_eq!(quote("12a"), "\"12a\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
    }

    #[test]
    fn quote_truncates_long_input_and_reports_its_length() {
        let long = "x".repeat(500);
        let quoted = quote(&long);
        assert!(quoted.len() < 80, "{quoted}");
        assert!(quoted.ends_with("… (500 characters)"), "{quoted}");
        assert!(quoted.starts_with(&format!("\"{}\"", "x".repeat(QUOTE_MAX_CHARS))));
    }

    #[test]
    fn header_errors_name_the_header_first() {
        let err = Error::InvalidAmount { input: quote("12a"), problem: "not a decimal digit" }
            .in_header("RDN-Balance");
        assert_eq!(
            err.to_string(),
            "RDN-Balance: expected a decimal integer below 2^192, got \"12a\" (not a decimal digit)"
        );
    }
}
