//! A local secp256k1 key that signs proofs: a sender's session key, the M2M client's key,
//! or the receiver's key for closing proofs.
//!
//! Signing is RFC 6979 deterministic and low-s normalised, so it needs no randomness and the
//! same key and message always give the same [`ProofSignature`]. Only
//! [`LocalSigningKey::generate`] (cargo feature `rand`) uses the OS/browser RNG.

use core::{fmt, str::FromStr};

use alloy_primitives::{Address, Signature, B256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use k256::ecdsa::SigningKey;

use crate::{
    eip712::{eip712_signing_hash, BalanceProof, CloseRequest, ClosingProof, StatusRequest},
    error::{Error, Result},
    signature::ProofSignature,
};

/// A secp256k1 private key held in memory (zeroed on drop by `k256`).
///
/// Its [`Debug`](fmt::Debug) shows only the address.
#[derive(Clone)]
pub struct LocalSigningKey {
    key: SigningKey,
    address: Address,
}

/// Why getrandom failed, in words for the two browser failures and by code otherwise: its
/// `Display` would link every platform's message (iOS, Windows, VxWorks…) into the wasm.
#[cfg(feature = "rand")]
fn randomness_failure(err: getrandom::Error) -> Error {
    let reason = if err == getrandom::Error::WEB_CRYPTO {
        "the Web Crypto API is unavailable".to_owned()
    } else if err == getrandom::Error::WEB_GET_RANDOM_VALUES {
        "crypto.getRandomValues failed".to_owned()
    } else {
        format!("getrandom error {}", err.code())
    };
    Error::Randomness { reason }
}

impl LocalSigningKey {
    /// The key with these 32 big-endian bytes; fails for zero or a value ≥ the group order.
    pub fn from_bytes(bytes: &B256) -> Result<Self> {
        let key = SigningKey::from_slice(bytes.as_slice()).map_err(|_| Error::PrivateKey {
            problem: "not a secp256k1 secret scalar (zero or not below the group order)",
        })?;
        Ok(Self::from_signing_key(key))
    }

    /// The key from 64 hex digits, with or without `0x` (surrounding whitespace ignored, so a
    /// key file's trailing newline is fine).
    pub fn from_hex(input: &str) -> Result<Self> {
        let input = input.trim();
        let digits = input.strip_prefix("0x").unwrap_or(input);
        if digits.len() != 64 {
            return Err(Error::PrivateKey {
                problem: "expected 32 bytes as 64 hex digits, with or without 0x",
            });
        }
        let mut bytes = B256::ZERO;
        alloy_primitives::hex::decode_to_slice(digits, bytes.as_mut_slice()).map_err(|_| {
            Error::PrivateKey { problem: "expected 32 bytes as 64 hex digits, found a non-hex character" }
        })?;
        let key = Self::from_bytes(&bytes);
        bytes.0.fill(0);
        key
    }

    /// Wraps a `k256` key.
    pub fn from_signing_key(key: SigningKey) -> Self {
        let address = Address::from_private_key(&key);
        Self { key, address }
    }

    /// A fresh random key from the OS (or, in the browser, `crypto.getRandomValues`).
    #[cfg(feature = "rand")]
    pub fn generate() -> Result<Self> {
        let mut bytes = B256::ZERO;
        // A uniformly random 32-byte value is a valid scalar except with probability ~2^-128;
        // retry rather than bias it.
        loop {
            getrandom::getrandom(bytes.as_mut_slice()).map_err(randomness_failure)?;
            let key = Self::from_bytes(&bytes);
            if key.is_ok() {
                bytes.0.fill(0);
                return key;
            }
        }
    }

    /// The Ethereum address of this key.
    pub const fn address(&self) -> Address {
        self.address
    }

    /// The 32 secret bytes, e.g. to persist a browser session key. Handle with care.
    pub fn to_secret_bytes(&self) -> B256 {
        B256::from_slice(&self.key.to_bytes())
    }

    /// The underlying `k256` key.
    pub const fn as_signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs a 32-byte digest (RFC 6979, low-s, `v` 27/28).
    pub fn sign_digest(&self, digest: &B256) -> Result<ProofSignature> {
        let (signature, recovery_id) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            // k256's error says only "signature error" (plus, through a boxed source, text that
            // would link the ASN.1 error messages into the wasm): the fixed reason says as much.
            .map_err(|_| Error::Signing {
                reason: "k256 found no valid signature for the digest".to_owned(),
            })?;
        // k256 already returns low-s; normalising again is free and keeps the invariant local.
        let signature = Signature::from_signature_and_parity(signature, recovery_id.is_y_odd());
        ProofSignature::try_from(signature.normalized_s())
    }

    /// Signs any EIP-712 struct under `domain`, as `eth_signTypedData_v4` would.
    pub fn sign_typed_data<T: SolStruct>(
        &self,
        domain: &Eip712Domain,
        message: &T,
    ) -> Result<ProofSignature> {
        self.sign_digest(&eip712_signing_hash(domain, message))
    }

    /// Signs a sender's [`BalanceProof`] under the channel manager's `domain`.
    pub fn sign_balance_proof(&self, domain: &Eip712Domain, proof: &BalanceProof) -> Result<ProofSignature> {
        self.sign_typed_data(domain, proof)
    }

    /// Signs a receiver's [`ClosingProof`] under the channel manager's `domain`.
    pub fn sign_closing_proof(&self, domain: &Eip712Domain, proof: &ClosingProof) -> Result<ProofSignature> {
        self.sign_typed_data(domain, proof)
    }

    /// Signs a sender's [`CloseRequest`] under the channel manager's `domain`.
    pub fn sign_close_request(
        &self,
        domain: &Eip712Domain,
        request: &CloseRequest,
    ) -> Result<ProofSignature> {
        self.sign_typed_data(domain, request)
    }

    /// Signs a sender's [`StatusRequest`] under the channel manager's `domain`.
    pub fn sign_status_request(
        &self,
        domain: &Eip712Domain,
        request: &StatusRequest,
    ) -> Result<ProofSignature> {
        self.sign_typed_data(domain, request)
    }
}

impl FromStr for LocalSigningKey {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        Self::from_hex(input)
    }
}

impl fmt::Debug for LocalSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigningKey").field("address", &self.address).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        eip712::channel_manager_domain,
        signature::{recover_balance_proof_signer, recover_closing_proof_signer, recover_signer},
    };
    use alloy_primitives::{address, aliases::U192, b256, keccak256};

    // anvil's account 0: a published development key.
    const KEY_HEX: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ADDRESS: Address = address!("f39fd6e51aad88f6f4ce6ab8827279cfffb92266");

    fn key() -> LocalSigningKey {
        LocalSigningKey::from_hex(KEY_HEX).expect("anvil key 0")
    }

    #[test]
    fn hex_keys_parse_with_or_without_prefix() {
        assert_eq!(key().address(), ADDRESS);
        assert_eq!(LocalSigningKey::from_hex(&format!("0x{KEY_HEX}\n")).unwrap().address(), ADDRESS);
        assert_eq!(KEY_HEX.to_uppercase().parse::<LocalSigningKey>().unwrap().address(), ADDRESS);
        assert_eq!(key().to_secret_bytes(), KEY_HEX.parse::<B256>().unwrap());
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let zero = "0".repeat(64);
        let order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
        let not_hex = format!("{}zz", &KEY_HEX[..62]);
        for bad in [&KEY_HEX[..62], &format!("{KEY_HEX}00"), &zero, order, &not_hex, "", "0x"] {
            let err = LocalSigningKey::from_hex(bad).unwrap_err();
            assert!(matches!(err, Error::PrivateKey { .. }), "{bad}: {err:?}");
            let message = err.to_string();
            if bad.len() >= 8 {
                assert!(!message.contains(&bad[..8]), "{message}");
            }
            assert!(!message.contains(&KEY_HEX[..16]), "{message}");
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = key();
        let debug = format!("{key:?} {key:#?}");
        assert!(debug.contains("LocalSigningKey"));
        assert!(debug.to_lowercase().contains(&format!("{ADDRESS:x}")[2..]), "{debug}");
        let secret = key.to_secret_bytes();
        for needle in [KEY_HEX.to_string(), KEY_HEX[..12].to_string(), format!("{:?}", secret.0)] {
            assert!(!debug.to_lowercase().contains(&needle), "{debug}");
        }
        // Not even as decimal bytes (the default Debug of an array).
        assert!(!debug.contains(&format!("{}, {}, {}", secret[0], secret[1], secret[2])), "{debug}");
    }

    #[test]
    fn signing_is_deterministic_low_s_and_recoverable() {
        let key = key();
        let digest = keccak256("uraiden");
        let first = key.sign_digest(&digest).unwrap();
        assert_eq!(first, key.sign_digest(&digest).unwrap());
        assert!(first.v() == 27 || first.v() == 28);
        assert_eq!(recover_signer(&digest, &first).unwrap(), ADDRESS);
        assert_ne!(key.sign_digest(&keccak256("uraiden2")).unwrap(), first);
    }

    #[test]
    fn proofs_are_signed_under_the_domain_and_recover_to_the_signer() {
        let key = key();
        let domain = channel_manager_domain(31337, address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512"));
        let balance = BalanceProof {
            sender: ADDRESS,
            receiver: address!("70997970c51812dc3a010c7d01b50e0d17dc79c8"),
            openBlockNumber: 12,
            balance: U192::from(99),
        };
        let sig = key.sign_balance_proof(&domain, &balance).unwrap();
        assert_eq!(recover_balance_proof_signer(&domain, &balance, &sig).unwrap(), ADDRESS);
        // The same signature does not verify another balance or another domain.
        let more = BalanceProof { balance: U192::from(100), ..balance.clone() };
        assert_ne!(recover_balance_proof_signer(&domain, &more, &sig).unwrap(), ADDRESS);
        let other = channel_manager_domain(1, address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512"));
        assert_ne!(recover_balance_proof_signer(&other, &balance, &sig).unwrap(), ADDRESS);

        let closing = ClosingProof {
            sender: balance.sender,
            receiver: balance.receiver,
            openBlockNumber: balance.openBlockNumber,
            balance: balance.balance,
        };
        let closing_sig = key.sign_closing_proof(&domain, &closing).unwrap();
        assert_eq!(key.sign_typed_data(&domain, &closing).unwrap(), closing_sig);
        assert_ne!(closing_sig, sig, "closing and balance proofs are different messages");
        assert_eq!(recover_closing_proof_signer(&domain, &closing, &closing_sig).unwrap(), ADDRESS);
    }

    #[test]
    fn known_rfc6979_signature() {
        // keccak256("") signed by anvil key 0, as produced by viem's `sign({ hash, privateKey })`.
        let digest = b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        let sig = key().sign_digest(&digest).unwrap();
        assert_eq!(recover_signer(&digest, &sig).unwrap(), ADDRESS);
        assert_eq!(sig.to_hex(), EXPECTED_EMPTY_HASH_SIGNATURE);
    }

    const EXPECTED_EMPTY_HASH_SIGNATURE: &str = "0xf9a45c11d904141226963b371ccbc2128a29d146ce3c0d43326414711e3e153d536804917f10c70c5d0cd7b730b559d95eb812d1d783f6dd534e5854f01b3e551b";

    #[cfg(feature = "rand")]
    #[test]
    fn generated_keys_differ_and_sign() {
        let a = LocalSigningKey::generate().unwrap();
        let b = LocalSigningKey::generate().unwrap();
        assert_ne!(a.address(), b.address());
        let digest = keccak256("session");
        assert_eq!(recover_signer(&digest, &a.sign_digest(&digest).unwrap()).unwrap(), a.address());
    }
}
