//! Signatures exactly as the channel manager accepts them, and signer recovery.
//!
//! [`ProofSignature`] holds a 65-byte r‖s‖v secp256k1 signature that passes OpenZeppelin's
//! `ECDSA.recover`: `v` is 27 or 28 (0 and 1 are read as 27 and 28), `r` and `s` are nonzero
//! and below the group order n, and `s ≤ n/2` (low-s). Anything else is refused when parsed,
//! so a proof the server accepts can always be redeemed on chain. (The original µRaiden
//! accepted EIP-155 style `v ≥ 35`, which the contract then rejected.)

use core::{fmt, str::FromStr};

use crate::{
    eip712::{eip712_signing_hash, BalanceProof, CloseRequest, ClosingProof, StatusRequest},
    error::{Error, Result},
    recovery::recover_public_key,
};
use alloy_primitives::{keccak256, uint, Address, Signature, B256, U256};
use alloy_sol_types::Eip712Domain;

/// The secp256k1 group order n.
const SECP256K1_N: U256 = uint!(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141_U256);
/// n / 2, the largest `s` OpenZeppelin's ECDSA accepts.
const SECP256K1_HALF_N: U256 = uint!(0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0_U256);

/// A 65-byte r‖s‖v ECDSA signature over a balance or closing proof, valid by the channel
/// manager's rules: `v` 27 or 28 (0 and 1 read as 27 and 28), `r` and `s` nonzero and below
/// the group order, `s ≤ n/2` (OpenZeppelin's `ECDSA.recover`).
///
/// It can only be built through checks, so holding one means the bytes are acceptable
/// on chain; whether it was made by the right key is [`recover_signer`]'s question.
/// [`Display`](fmt::Display) and [`to_hex`](Self::to_hex) give the full `0x` hex with `v`
/// 27/28; [`Debug`](fmt::Debug) abbreviates it so logs do not carry usable proofs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProofSignature(Signature);

impl ProofSignature {
    /// The length of the encoding, in bytes.
    pub const LEN: usize = 65;

    /// Parses 65 bytes r‖s‖v, `v` ∈ {27, 28} or {0, 1}.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; Self::LEN] =
            bytes.try_into().map_err(|_| Error::SignatureLength { got: bytes.len() })?;
        let y_parity = match bytes[64] {
            0 | 27 => false,
            1 | 28 => true,
            v => return Err(Error::SignatureV { v }),
        };
        Self::from_parts(U256::from_be_slice(&bytes[..32]), U256::from_be_slice(&bytes[32..64]), y_parity)
    }

    /// Parses `0x` followed by 130 hex digits (either case).
    pub fn from_hex(input: &str) -> Result<Self> {
        let digits = input
            .strip_prefix("0x")
            .ok_or_else(|| Error::SignatureHex { problem: "a value without the 0x prefix".into() })?;
        if digits.len() != 2 * Self::LEN {
            return Err(Error::SignatureHex {
                problem: format!("{} characters after 0x", digits.chars().count()),
            });
        }
        let mut bytes = [0u8; Self::LEN];
        alloy_primitives::hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| Error::SignatureHex { problem: "a character that is not a hex digit".into() })?;
        Self::from_bytes(&bytes)
    }

    /// Checks the scalars and the parity bit (`false` for v = 27, `true` for v = 28).
    pub fn from_parts(r: U256, s: U256, y_parity: bool) -> Result<Self> {
        if r.is_zero() {
            return Err(Error::SignatureZero { component: "r" });
        }
        if s.is_zero() {
            return Err(Error::SignatureZero { component: "s" });
        }
        if r >= SECP256K1_N {
            return Err(Error::SignatureROutOfRange);
        }
        // Also covers s ≥ n.
        if s > SECP256K1_HALF_N {
            return Err(Error::SignatureHighS);
        }
        Ok(Self(Signature::new(r, s, y_parity)))
    }

    /// `r`.
    pub fn r(&self) -> U256 {
        self.0.r()
    }

    /// `s` (always ≤ n/2).
    pub fn s(&self) -> U256 {
        self.0.s()
    }

    /// `v` as the contract expects it: 27 or 28.
    pub fn v(&self) -> u8 {
        27 + u8::from(self.0.v())
    }

    /// The 65 bytes r‖s‖v with `v` 27 or 28.
    pub fn as_bytes(&self) -> [u8; Self::LEN] {
        self.0.as_bytes()
    }

    /// `0x` + 130 lowercase hex digits, `v` 27 or 28.
    pub fn to_hex(&self) -> String {
        alloy_primitives::hex::encode_prefixed(self.as_bytes())
    }

    /// The address whose key made this signature over `digest`: ECDSA public-key recovery as
    /// `ecrecover` does it (see the `recovery` module: libsecp256k1 natively, k256 on wasm32).
    pub fn recover_signer(&self, digest: &B256) -> Result<Address> {
        let mut r_s = [0u8; 64];
        r_s[..32].copy_from_slice(&self.r().to_be_bytes::<32>());
        r_s[32..].copy_from_slice(&self.s().to_be_bytes::<32>());
        let xy = recover_public_key(&r_s, self.0.v(), &digest.0)
            .map_err(|reason| Error::SignatureRecovery { reason: reason.into() })?;
        Ok(Address::from_slice(&keccak256(xy)[12..]))
    }

    /// The signature as alloy's general [`Signature`] type.
    pub const fn as_alloy(&self) -> &Signature {
        &self.0
    }
}

impl TryFrom<Signature> for ProofSignature {
    type Error = Error;

    fn try_from(signature: Signature) -> Result<Self> {
        Self::from_parts(signature.r(), signature.s(), signature.v())
    }
}

impl TryFrom<&[u8]> for ProofSignature {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes)
    }
}

impl From<ProofSignature> for Signature {
    fn from(signature: ProofSignature) -> Self {
        signature.0
    }
}

impl FromStr for ProofSignature {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        Self::from_hex(input)
    }
}

impl fmt::Display for ProofSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ProofSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "ProofSignature({}…{})", &hex[..10], &hex[hex.len() - 8..])
    }
}

impl serde::Serialize for ProofSignature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for ProofSignature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&hex).map_err(serde::de::Error::custom)
    }
}

/// The address whose key signed `digest` (an EIP-712 signing hash) with `signature`.
pub fn recover_signer(digest: &B256, signature: &ProofSignature) -> Result<Address> {
    signature.recover_signer(digest)
}

/// The address that signed `proof` under `domain`: valid when it is the sender or the
/// channel's delegated signer.
pub fn recover_balance_proof_signer(
    domain: &Eip712Domain,
    proof: &BalanceProof,
    signature: &ProofSignature,
) -> Result<Address> {
    signature.recover_signer(&eip712_signing_hash(domain, proof))
}

/// The address that signed `proof` under `domain`: valid when it is the receiver.
pub fn recover_closing_proof_signer(
    domain: &Eip712Domain,
    proof: &ClosingProof,
    signature: &ProofSignature,
) -> Result<Address> {
    signature.recover_signer(&eip712_signing_hash(domain, proof))
}

/// The address that signed `request` under `domain`: valid when it is the sender or the
/// channel's delegated signer (and the deadline is fresh, see `SignedCloseRequest::verify`).
pub fn recover_close_request_signer(
    domain: &Eip712Domain,
    request: &CloseRequest,
    signature: &ProofSignature,
) -> Result<Address> {
    signature.recover_signer(&eip712_signing_hash(domain, request))
}

/// The address that signed `request` under `domain`: valid when it is the sender or the
/// channel's delegated signer (and the deadline is fresh, see `SignedStatusRequest::verify`).
pub fn recover_status_request_signer(
    domain: &Eip712Domain,
    request: &StatusRequest,
    signature: &ProofSignature,
) -> Result<Address> {
    signature.recover_signer(&eip712_signing_hash(domain, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{b256, hex};

    /// An arbitrary digest.
    const DIGEST: B256 = b256!("0x4b3c1f5ec94c7e6a0b3d6a1b0b69f5d2fd4b5f0a31e0cbb4b9b0f1d4b1e4c5a7");

    fn bytes_with(r: U256, s: U256, v: u8) -> [u8; 65] {
        let mut bytes = [0u8; 65];
        bytes[..32].copy_from_slice(&r.to_be_bytes::<32>());
        bytes[32..64].copy_from_slice(&s.to_be_bytes::<32>());
        bytes[64] = v;
        bytes
    }

    fn sample_r() -> U256 {
        U256::from(0x1234_5678_u64) << 100
    }

    fn sample_s() -> U256 {
        U256::from(0x9abc_def0_u64) << 90
    }

    #[test]
    fn v_27_28_and_0_1_are_accepted_and_normalised() {
        for (v, expected) in [(0u8, 27u8), (1, 28), (27, 27), (28, 28)] {
            let sig = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), v)).unwrap();
            assert_eq!(sig.v(), expected, "v = {v}");
            assert_eq!(sig.as_bytes()[64], expected);
            assert!(sig.to_hex().ends_with(&format!("{expected:02x}")));
        }
    }

    #[test]
    fn every_other_v_is_rejected() {
        for v in (2u8..=26).chain(29..=u8::MAX) {
            let err = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), v)).unwrap_err();
            assert_eq!(err, Error::SignatureV { v });
        }
        // EIP-155 style values (chain id 1: 37/38) are named in the message.
        let err = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), 37)).unwrap_err();
        assert!(err.to_string().contains("got 37"), "{err}");
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        for len in [0, 1, 64, 66, 130] {
            assert_eq!(ProofSignature::from_bytes(&vec![1u8; len]), Err(Error::SignatureLength { got: len }));
        }
    }

    #[test]
    fn zero_scalars_are_rejected() {
        assert_eq!(
            ProofSignature::from_bytes(&bytes_with(U256::ZERO, sample_s(), 27)),
            Err(Error::SignatureZero { component: "r" })
        );
        assert_eq!(
            ProofSignature::from_bytes(&bytes_with(sample_r(), U256::ZERO, 27)),
            Err(Error::SignatureZero { component: "s" })
        );
    }

    #[test]
    fn scalars_at_or_above_the_order_are_rejected() {
        assert_eq!(
            ProofSignature::from_bytes(&bytes_with(SECP256K1_N, sample_s(), 27)),
            Err(Error::SignatureROutOfRange)
        );
        assert_eq!(
            ProofSignature::from_bytes(&bytes_with(U256::MAX, sample_s(), 27)),
            Err(Error::SignatureROutOfRange)
        );
        for s in [SECP256K1_N, SECP256K1_N + U256::from(1), U256::MAX] {
            assert_eq!(
                ProofSignature::from_bytes(&bytes_with(sample_r(), s, 27)),
                Err(Error::SignatureHighS)
            );
        }
        // r = n - 1 is fine as far as the encoding goes.
        assert!(ProofSignature::from_bytes(&bytes_with(SECP256K1_N - U256::from(1), sample_s(), 27)).is_ok());
    }

    #[test]
    fn high_s_is_rejected_exactly_above_half_the_order() {
        let at_half = ProofSignature::from_bytes(&bytes_with(sample_r(), SECP256K1_HALF_N, 28));
        assert!(at_half.is_ok(), "s = n/2 is what OpenZeppelin still accepts");
        assert_eq!(
            ProofSignature::from_bytes(&bytes_with(sample_r(), SECP256K1_HALF_N + U256::from(1), 28)),
            Err(Error::SignatureHighS)
        );
        assert_eq!(SECP256K1_HALF_N, SECP256K1_N >> 1);
    }

    #[test]
    fn the_high_s_twin_of_a_valid_signature_is_rejected() {
        let low = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), 27)).unwrap();
        // (r, n - s, !v) is the same signature's malleable twin.
        let twin = bytes_with(low.r(), SECP256K1_N - low.s(), 28);
        assert_eq!(ProofSignature::from_bytes(&twin), Err(Error::SignatureHighS));
    }

    #[test]
    fn hex_parsing_is_strict() {
        let good = hex::encode_prefixed(bytes_with(sample_r(), sample_s(), 28));
        assert_eq!(good.parse::<ProofSignature>().unwrap().to_hex(), good);
        assert_eq!(
            ProofSignature::from_hex(&good.to_uppercase().replacen("0X", "0x", 1)).unwrap().to_hex(),
            good,
            "upper-case hex digits are fine"
        );
        assert!(matches!(ProofSignature::from_hex(&good[2..]), Err(Error::SignatureHex { .. })));
        assert!(matches!(ProofSignature::from_hex(&good[..good.len() - 2]), Err(Error::SignatureHex { .. })));
        assert!(matches!(ProofSignature::from_hex(&format!("{good}00")), Err(Error::SignatureHex { .. })));
        let not_hex = format!("{}zz", &good[..good.len() - 2]);
        let err = ProofSignature::from_hex(&not_hex).unwrap_err();
        assert!(matches!(err, Error::SignatureHex { .. }));
        assert!(!err.to_string().contains(&good[2..40]), "the message must not echo the input: {err}");
        let v29 = format!("{}1d", &good[..good.len() - 2]);
        assert_eq!(ProofSignature::from_hex(&v29), Err(Error::SignatureV { v: 29 }));
    }

    #[test]
    fn alloy_signatures_are_checked_too() {
        let high = Signature::new(sample_r(), SECP256K1_N - sample_s(), false);
        assert_eq!(ProofSignature::try_from(high), Err(Error::SignatureHighS));
        let low = ProofSignature::try_from(high.normalized_s()).unwrap();
        assert_eq!(low.s(), sample_s());
        assert_eq!(Signature::from(low), high.normalized_s());
    }

    #[test]
    fn serde_round_trips_through_hex() {
        let sig = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), 1)).unwrap();
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(json, format!("\"{}\"", sig.to_hex()));
        assert_eq!(serde_json::from_str::<ProofSignature>(&json).unwrap(), sig);
        let high =
            format!("\"{}\"", hex::encode_prefixed(bytes_with(sample_r(), SECP256K1_N - sample_s(), 27)));
        assert!(serde_json::from_str::<ProofSignature>(&high).unwrap_err().to_string().contains("high-s"));
    }

    #[test]
    fn debug_abbreviates() {
        let sig = ProofSignature::from_bytes(&bytes_with(sample_r(), sample_s(), 27)).unwrap();
        let debug = format!("{sig:?}");
        assert!(debug.len() < 40, "{debug}");
        assert!(!debug.contains(&sig.to_hex()));
    }

    #[test]
    fn recovery_from_an_r_that_is_no_curve_point_is_an_error() {
        // x = 5: 5³ + 7 is not a square mod p, so no secp256k1 point has x = 5.
        for v in [27, 28] {
            let sig = ProofSignature::from_bytes(&bytes_with(U256::from(5), sample_s(), v)).unwrap();
            assert!(matches!(recover_signer(&DIGEST, &sig), Err(Error::SignatureRecovery { .. })));
        }
        // x = 1 is a point: recovery yields some (meaningless) address, no error.
        let sig = ProofSignature::from_bytes(&bytes_with(U256::from(1), sample_s(), 27)).unwrap();
        assert!(recover_signer(&DIGEST, &sig).is_ok());
    }
}
