//! V3 keystore files, which an operator may be handed by anyone: parsing and checking never
//! panics, and refuses every key derivation beyond the bounds before deriving (the file
//! chooses its cost); a keystore that decrypts (the seeds: tiny scrypt and PBKDF2 costs,
//! password "fuzz") is refused once its ciphertext or MAC changes, or with another password.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uraiden_protocol::keystore::{
    Kdf, Keystore, KeystoreError, MAX_PBKDF2_ROUNDS, MAX_SCRYPT_MEMORY, MAX_SCRYPT_WORK,
};

/// Inputs whose derivation costs at most this (n·r·p, or PBKDF2 rounds) are decrypted.
const CHEAP: u64 = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(keystore) = Keystore::parse(text) else { return };
    let cost = match keystore.kdf {
        Kdf::Scrypt { log_n, r, p } => {
            let (n, r, p) = (1u64 << log_n, u64::from(r), u64::from(p));
            assert!(n >= 2 && r >= 1 && p >= 1, "{:?}", keystore.kdf);
            // What the scrypt crate allocates: n blocks V, p blocks B and a scratch block.
            assert!(128 * r * (n + p + 1) <= MAX_SCRYPT_MEMORY, "{:?}", keystore.kdf);
            assert!(n * r * p <= MAX_SCRYPT_WORK, "{:?}", keystore.kdf);
            n * r * p
        }
        Kdf::Pbkdf2 { rounds } => {
            assert!((1..=MAX_PBKDF2_ROUNDS).contains(&rounds), "{:?}", keystore.kdf);
            u64::from(rounds)
        }
    };
    if cost > CHEAP {
        return;
    }
    let Ok(key) = keystore.decrypt(b"fuzz") else { return };
    assert_eq!(keystore.decrypt(b"fuzz"), Ok(key.clone()), "decryption is deterministic");
    assert_eq!(keystore.decrypt(b"fuzZ"), Err(KeystoreError::WrongPassword));
    for byte in 0..32 {
        let mut damaged = keystore.clone();
        damaged.ciphertext[byte] ^= 1;
        assert_eq!(damaged.decrypt(b"fuzz"), Err(KeystoreError::WrongPassword), "ciphertext byte {byte}");
        let mut damaged = keystore.clone();
        damaged.mac[byte] ^= 0x80;
        assert_eq!(damaged.decrypt(b"fuzz"), Err(KeystoreError::WrongPassword), "mac byte {byte}");
    }
});
