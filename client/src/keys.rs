//! Where the sender's key comes from: a hex string, or a key file (JSON keystore or hex,
//! mode 0600) with a password file or an interactive prompt. Errors never quote the key.

use std::path::PathBuf;

use uraiden_protocol::LocalSigningKey;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A source of the sender's private key.
#[derive(Clone)]
pub enum KeySource {
    /// 64 hex digits, `0x` optional.
    Hex(Zeroizing<String>),
    /// A key file; a keystore is decrypted with the password file, else a prompt.
    File { path: PathBuf, password_file: Option<PathBuf> },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hex(_) => f.write_str("KeySource::Hex(<redacted>)"),
            Self::File { path, password_file } => f
                .debug_struct("KeySource::File")
                .field("path", path)
                .field("password_file", password_file)
                .finish(),
        }
    }
}

impl KeySource {
    /// Loads the key.
    pub fn load(&self) -> Result<LocalSigningKey> {
        match self {
            Self::Hex(hex) => LocalSigningKey::from_hex(hex.trim()).map_err(|_| {
                Error::Key("the private key is not 64 hex digits of a valid secp256k1 key".into())
            }),
            Self::File { path, password_file } => {
                let is_keystore = std::fs::read_to_string(path)
                    .map(|text| Zeroizing::new(text).trim_start().starts_with('{'))
                    .unwrap_or(false);
                let password = match (is_keystore, password_file) {
                    (false, _) => None,
                    (true, Some(file)) => Some(
                        uraiden_chain::keys::read_password_file(file)
                            .map_err(|e| Error::Key(e.to_string()))?,
                    ),
                    (true, None) => Some(Zeroizing::new(
                        rpassword::prompt_password(format!("Password for {}: ", path.display()))
                            .map_err(|e| Error::Key(format!("cannot read the password: {e}")))?,
                    )),
                };
                let signer =
                    uraiden_chain::keys::load_private_key(path, password.as_ref().map(|p| p.as_str()))
                        .map_err(|e| Error::Key(e.to_string()))?;
                LocalSigningKey::from_bytes(&signer.to_bytes())
                    .map_err(|_| Error::Key("the key file holds an invalid secp256k1 key".into()))
            }
        }
    }
}
