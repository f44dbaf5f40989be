//! Errors of the chain crate.

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while loading keys or talking to the contracts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    KeyFileUnreadable { path: PathBuf, source: std::io::Error },
    /// The key file is readable by other users; a leaked key loses the receiver's money.
    #[error(
        "key file {path} has mode {mode:o}; it must be readable by its owner only (run `chmod 600 {path}`)"
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    /// A password or API-token file is readable by other users.
    #[error(
        "{path} has mode {mode:o}; it holds a secret and must be readable by its owner only (run `chmod 600 {path}`)"
    )]
    SecretFileTooOpen { path: PathBuf, mode: u32 },
    /// A key, password or API-token file is larger than any such secret.
    #[error("{path} is larger than {max} bytes; it cannot be a key, keystore, password or token file")]
    SecretFileTooLarge { path: PathBuf, max: u64 },
    /// A secret given as a pipe or FIFO that nobody writes, or whose writer sends nothing.
    #[error(
        "{path} is a pipe or FIFO that gave no secret (no writer opened it, or it sent nothing); \
         put the secret in a plain file with mode 0600, or start its writer first"
    )]
    SecretFileNoWriter { path: PathBuf },
    /// A password or API-token file is not UTF-8 text.
    #[error("{path} is not UTF-8 text; put the secret in it as plain text")]
    SecretFileNotText { path: PathBuf },
    /// The key file is neither a JSON keystore nor 32 bytes of hex.
    #[error("key file {path} is neither a JSON keystore nor a 64-digit hex private key")]
    KeyFileFormat { path: PathBuf },
    /// The keystore's password is wrong or the keystore is damaged.
    #[error("cannot decrypt keystore {path}: wrong password or damaged file")]
    KeystoreDecrypt { path: PathBuf },
    /// The keystore file is malformed, of an unsupported kind, or asks for an absurd key
    /// derivation cost; nothing was derived.
    #[error("keystore {path}: {reason}")]
    KeystoreInvalid { path: PathBuf, reason: String },
    /// A keystore needs a password and none was given.
    #[error("keystore {path} needs a password: pass --private-key-password-file")]
    PasswordMissing { path: PathBuf },
    /// The RPC URL does not parse.
    #[error("invalid RPC URL {url:?}: {reason}")]
    RpcUrl { url: String, reason: String },
    /// A contract call or transaction failed.
    #[error("{action} failed: {source}")]
    Contract { action: &'static str, source: Box<alloy::contract::Error> },
    /// A transaction was mined but reverted, or its receipt could not be fetched.
    #[error("{action}: {reason}")]
    Transaction { action: &'static str, reason: String },
}
