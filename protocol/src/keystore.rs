//! Web3 Secret Storage (V3) keystores: the JSON files Geth, Parity, MetaMask and ethers keep
//! an account key in, encrypted with AES-128-CTR under a key derived from a password by
//! scrypt or PBKDF2-HMAC-SHA256.
//!
//! A keystore is untrusted input (an operator may be handed one), and it chooses the cost of
//! its own key derivation. So [`Keystore::parse`] checks everything before any derivation:
//! the shape, the lengths (a 16-byte IV, a 32-byte key and MAC), the cipher, the KDF's name
//! against its parameters, and the cost: scrypt's memory `128·r·(n + p + 1)` at most
//! [`MAX_SCRYPT_MEMORY`] and work `n·r·p` at most [`MAX_SCRYPT_WORK`] (8 times Geth's
//! standard n = 2^18, r = 8, p = 1), PBKDF2's rounds at most [`MAX_PBKDF2_ROUNDS`]. Only
//! then does [`Keystore::decrypt`] derive, check the MAC and decrypt.

use aes::Aes128;
use alloy_primitives::{hex, Keccak256};
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::Hmac;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The most memory scrypt may need: 1 GiB. The `scrypt` crate allocates `128·r` bytes for
/// each of the `n` blocks V, each of the `p` blocks B and one scratch block.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// The most scrypt work, `n·r·p`: 2^24, 8 times Geth's standard parameters.
pub const MAX_SCRYPT_WORK: u64 = 1 << 24;
/// The most PBKDF2 rounds: 10 million (Geth writes 262144).
pub const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// Why a keystore was refused. Messages never contain key material or the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// Not a V3 keystore this code reads; the message names the field.
    #[error("not a usable V3 keystore: {0}")]
    Invalid(String),
    /// Well formed, but its key derivation would cost more than any wallet asks for.
    #[error(
        "the keystore's key derivation is too costly ({0}); re-encrypt the key with standard \
         parameters (for example `cast wallet import`)"
    )]
    TooCostly(String),
    /// The MAC does not match: a wrong password, or a damaged file.
    #[error("wrong password or damaged keystore (its MAC does not match)")]
    WrongPassword,
}

/// How the file says to derive the key, checked against the bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kdf {
    /// scrypt with `n = 2^log_n`.
    Scrypt {
        /// log2 of the CPU/memory cost `n`.
        log_n: u8,
        /// The block size.
        r: u32,
        /// The parallelisation.
        p: u32,
    },
    /// PBKDF2-HMAC-SHA256 with `rounds` iterations.
    Pbkdf2 {
        /// The iteration count `c`.
        rounds: u32,
    },
}

/// A parsed and checked keystore; [`decrypt`](Self::decrypt) it with the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keystore {
    /// The key derivation.
    pub kdf: Kdf,
    /// The KDF's salt.
    pub salt: Vec<u8>,
    /// AES-128-CTR's initial counter block.
    pub iv: [u8; 16],
    /// The encrypted private key.
    pub ciphertext: [u8; 32],
    /// `keccak256(derived[16..32] ‖ ciphertext)`.
    pub mac: [u8; 32],
}

#[derive(Deserialize)]
struct KeystoreFields {
    version: u64,
    #[serde(alias = "Crypto")]
    crypto: CryptoFields,
}

#[derive(Deserialize)]
struct CryptoFields {
    cipher: String,
    cipherparams: CipherFields,
    ciphertext: String,
    kdf: String,
    kdfparams: Value,
    mac: String,
}

#[derive(Deserialize)]
struct CipherFields {
    iv: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScryptFields {
    dklen: u64,
    n: u64,
    r: u64,
    p: u64,
    salt: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pbkdf2Fields {
    dklen: u64,
    c: u64,
    prf: String,
    salt: String,
}

fn invalid(problem: impl Into<String>) -> KeystoreError {
    KeystoreError::Invalid(problem.into())
}

/// Hex (with or without `0x`) of exactly `N` bytes.
fn hex_array<const N: usize>(field: &str, text: &str) -> Result<[u8; N], KeystoreError> {
    let bytes = hex::decode(text).map_err(|_| invalid(format!("{field} is not hex")))?;
    bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| invalid(format!("{field} has {} bytes, expected {N}", bytes.len())))
}

impl Keystore {
    /// Parses and checks a keystore file's text; nothing is derived yet.
    pub fn parse(json: &str) -> Result<Self, KeystoreError> {
        let fields: KeystoreFields =
            serde_json::from_str(json).map_err(|error| invalid(error.to_string()))?;
        if fields.version != 3 {
            return Err(invalid(format!("version {}, expected 3", fields.version)));
        }
        let crypto = fields.crypto;
        if crypto.cipher != "aes-128-ctr" {
            return Err(invalid(format!(
                "cipher {:?}, expected \"aes-128-ctr\"",
                crypto.cipher.chars().take(24).collect::<String>()
            )));
        }
        let (kdf, salt) = match crypto.kdf.as_str() {
            "scrypt" => scrypt_kdf(crypto.kdfparams)?,
            "pbkdf2" => pbkdf2_kdf(crypto.kdfparams)?,
            other => {
                return Err(invalid(format!(
                    "kdf {:?}, expected \"scrypt\" or \"pbkdf2\"",
                    other.chars().take(24).collect::<String>()
                )))
            }
        };
        Ok(Self {
            kdf,
            salt,
            iv: hex_array("iv", &crypto.cipherparams.iv)?,
            ciphertext: hex_array("ciphertext", &crypto.ciphertext)?,
            mac: hex_array("mac", &crypto.mac)?,
        })
    }

    /// Derives the key from `password`, checks the MAC and decrypts the private key.
    pub fn decrypt(&self, password: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        let mut derived = Zeroizing::new([0u8; 32]);
        match self.kdf {
            Kdf::Scrypt { log_n, r, p } => {
                let params = scrypt_params(log_n, r, p)?;
                scrypt::scrypt(password, &self.salt, &params, derived.as_mut())
                    .map_err(|_| invalid("scrypt refused the output length"))?;
            }
            Kdf::Pbkdf2 { rounds } => {
                pbkdf2::pbkdf2::<Hmac<Sha256>>(password, &self.salt, rounds, derived.as_mut());
            }
        }
        let mut mac = Keccak256::new();
        mac.update(&derived[16..]);
        mac.update(self.ciphertext);
        if mac.finalize() != self.mac {
            return Err(KeystoreError::WrongPassword);
        }
        let mut key = Zeroizing::new(self.ciphertext);
        let mut cipher = ctr::Ctr128BE::<Aes128>::new((&derived[..16]).into(), (&self.iv).into());
        cipher.apply_keystream(key.as_mut());
        Ok(key)
    }
}

/// The derived key is 32 bytes: the first half the AES key, the second the MAC key.
fn check_dklen(dklen: u64) -> Result<(), KeystoreError> {
    if dklen == 32 {
        Ok(())
    } else {
        Err(invalid(format!("dklen {dklen}, expected 32")))
    }
}

fn salt_of(text: &str) -> Result<Vec<u8>, KeystoreError> {
    hex::decode(text).map_err(|_| invalid("salt is not hex"))
}

fn scrypt_kdf(params: Value) -> Result<(Kdf, Vec<u8>), KeystoreError> {
    let fields: ScryptFields =
        serde_json::from_value(params).map_err(|error| invalid(format!("scrypt kdfparams: {error}")))?;
    check_dklen(fields.dklen)?;
    if fields.n < 2 || !fields.n.is_power_of_two() {
        return Err(invalid(format!("scrypt n {}, expected a power of two from 2", fields.n)));
    }
    if fields.r == 0 || fields.p == 0 {
        return Err(invalid("scrypt r and p must be at least 1"));
    }
    let (n, r, p) = (fields.n, fields.r, fields.p);
    let memory = n.saturating_add(p).saturating_add(1).saturating_mul(r).saturating_mul(128);
    if memory > MAX_SCRYPT_MEMORY {
        return Err(KeystoreError::TooCostly(format!(
            "scrypt n = {n}, r = {r}, p = {p} needs {memory} bytes, more than {MAX_SCRYPT_MEMORY}"
        )));
    }
    let work = n.saturating_mul(r).saturating_mul(p);
    if work > MAX_SCRYPT_WORK {
        return Err(KeystoreError::TooCostly(format!(
            "scrypt n·r·p = {n}·{r}·{p} is more than {MAX_SCRYPT_WORK}"
        )));
    }
    // Within the bounds every value fits: n ≤ 2^23, r ≤ 2^23, p ≤ 2^23.
    let (log_n, r, p) = (n.trailing_zeros() as u8, r as u32, p as u32);
    scrypt_params(log_n, r, p)?;
    Ok((Kdf::Scrypt { log_n, r, p }, salt_of(&fields.salt)?))
}

fn scrypt_params(log_n: u8, r: u32, p: u32) -> Result<scrypt::Params, KeystoreError> {
    scrypt::Params::new(log_n, r, p)
        .map_err(|_| invalid(format!("scrypt n = 2^{log_n}, r = {r}, p = {p} are not valid together")))
}

fn pbkdf2_kdf(params: Value) -> Result<(Kdf, Vec<u8>), KeystoreError> {
    let fields: Pbkdf2Fields =
        serde_json::from_value(params).map_err(|error| invalid(format!("pbkdf2 kdfparams: {error}")))?;
    check_dklen(fields.dklen)?;
    if fields.prf != "hmac-sha256" {
        return Err(invalid(format!(
            "pbkdf2 prf {:?}, expected \"hmac-sha256\"",
            fields.prf.chars().take(24).collect::<String>()
        )));
    }
    let rounds = match u32::try_from(fields.c) {
        Ok(0) => return Err(invalid("pbkdf2 c must be at least 1")),
        Ok(rounds) if rounds <= MAX_PBKDF2_ROUNDS => rounds,
        _ => {
            return Err(KeystoreError::TooCostly(format!(
                "pbkdf2 c = {} rounds, more than {MAX_PBKDF2_ROUNDS}",
                fields.c
            )))
        }
    };
    Ok((Kdf::Pbkdf2 { rounds }, salt_of(&fields.salt)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PBKDF2 test vector of the Web3 Secret Storage definition (password "testpassword").
    const SPEC_PBKDF2: &str = r#"{
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
            "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
            "kdf": "pbkdf2",
            "kdfparams": {
                "c": 262144, "dklen": 32, "prf": "hmac-sha256",
                "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
            },
            "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
        },
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version": 3
    }"#;
    const SPEC_KEY: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

    #[test]
    fn the_specs_pbkdf2_vector_decrypts_and_a_wrong_password_is_refused() {
        let keystore = Keystore::parse(SPEC_PBKDF2).unwrap();
        assert_eq!(keystore.kdf, Kdf::Pbkdf2 { rounds: 262144 });
        assert_eq!(hex::encode(*keystore.decrypt(b"testpassword").unwrap()), SPEC_KEY);
        assert_eq!(keystore.decrypt(b"testpassworD"), Err(KeystoreError::WrongPassword));
    }

    #[test]
    fn a_scrypt_keystore_written_by_another_implementation_decrypts() {
        // Node's scrypt and AES-128-CTR with viem's keccak256 (protocol/fuzz/make-seeds.mjs),
        // anvil's first development key under the password "fuzz".
        const NODE_SCRYPT: &str = r#"{"version":3,"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"0123456789abcdef0123456789abcdef"},"ciphertext":"3269540dc7e2d61d5c51520e1da6efd59678c43e1cff1daa5e6dcf433e8bf617","kdf":"scrypt","kdfparams":{"n":2,"r":1,"p":1,"dklen":32,"salt":"5a175a175a175a175a175a175a175a175a175a175a175a175a175a175a175a17"},"mac":"5afb28f8c171eefabafd40d517c6a3bb70e349aed83afe71f9698a3379f2a044"}}"#;
        let keystore = Keystore::parse(NODE_SCRYPT).unwrap();
        assert_eq!(keystore.kdf, Kdf::Scrypt { log_n: 1, r: 1, p: 1 });
        let key = keystore.decrypt(b"fuzz").unwrap();
        assert_eq!(hex::encode(*key), "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    }

    #[test]
    fn costs_beyond_the_bounds_are_refused_before_deriving() {
        let with = |kdf: &str, params: &str| {
            Keystore::parse(&SPEC_PBKDF2.replace("\"pbkdf2\"", &format!("{kdf:?}")).replace(
                r#"{
                "c": 262144, "dklen": 32, "prf": "hmac-sha256",
                "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
            }"#,
                params,
            ))
        };
        let costly =
            |result: Result<Keystore, KeystoreError>| matches!(result, Err(KeystoreError::TooCostly(_)));
        let scrypt = |n: u64, r: u64, p: u64| {
            with("scrypt", &format!(r#"{{"dklen": 32, "n": {n}, "r": {r}, "p": {p}, "salt": "00"}}"#))
        };
        assert!(scrypt(1 << 18, 8, 1).is_ok(), "Geth's standard");
        assert!(scrypt(1 << 12, 8, 6).is_ok(), "Geth's light");
        assert!(costly(scrypt(1 << 21, 8, 1)), "2 GiB");
        assert!(costly(scrypt(1 << 18, 8, 9)), "9 times the standard work");
        assert!(costly(scrypt(1 << 40, 8, 1)));
        assert!(costly(scrypt(2, u64::MAX, 1)));
        assert!(costly(scrypt(2, 1, u64::MAX)));
        let pbkdf2 = |c: u64| {
            with("pbkdf2", &format!(r#"{{"dklen": 32, "c": {c}, "prf": "hmac-sha256", "salt": "00"}}"#))
        };
        assert!(pbkdf2(MAX_PBKDF2_ROUNDS.into()).is_ok());
        assert!(costly(pbkdf2(u64::from(MAX_PBKDF2_ROUNDS) + 1)));
        assert!(costly(pbkdf2(u64::MAX)));
        assert!(matches!(pbkdf2(0), Err(KeystoreError::Invalid(_))));
        assert!(matches!(scrypt(3, 8, 1), Err(KeystoreError::Invalid(_))));
        assert!(matches!(scrypt(1 << 16, 1, 1), Err(KeystoreError::Invalid(_))), "n ≥ 2^(16·r)");
        // Parameters of one KDF under the other's name.
        assert!(matches!(
            with("scrypt", r#"{"dklen": 32, "c": 1, "prf": "hmac-sha256", "salt": "00"}"#),
            Err(KeystoreError::Invalid(_))
        ));
    }

    #[test]
    fn malformed_fields_are_named() {
        for (from, to, field) in [
            ("\"aes-128-ctr\"", "\"aes-128-cbc\"", "cipher"),
            ("6087dab2f9fdbbfaddc31a909735c1e6", "6087dab2", "iv"),
            ("\"dklen\": 32", "\"dklen\": 16", "dklen"),
            ("hmac-sha256", "hmac-sha512", "prf"),
            ("\"version\": 3", "\"version\": 4", "version"),
            ("517ead92", "zz", "mac"),
            ("5318b4d5", "", "ciphertext"),
        ] {
            let error = Keystore::parse(&SPEC_PBKDF2.replace(from, to)).unwrap_err();
            assert!(
                matches!(error, KeystoreError::Invalid(_)) && error.to_string().contains(field),
                "{error}"
            );
        }
    }
}
