//! Loading an account key from disk: a Geth/Parity JSON keystore (with a password file) or
//! a file holding 64 hex digits. Either must be mode 0600, as the seed's receiver demanded:
//! whoever reads the key can take every channel's earnings. So must the files of other
//! secrets (the keystore's password, the operator's API token): [`read_secret_file`].
//!
//! Secrets are read straight into buffers that are wiped when dropped ([`Zeroizing`]), never
//! into a plain `String` first.

use std::{
    fs::File,
    io::Read,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use alloy::signers::local::PrivateKeySigner;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Reads the key at `key_path`. A keystore needs `password`; a hex key ignores it.
pub fn load_private_key(key_path: &Path, password: Option<&str>) -> Result<PrivateKeySigner> {
    let contents =
        read_owner_only(key_path, |path, mode| Error::KeyFileTooOpen { path, mode }).map_err(|error| {
            match error {
                Error::SecretFileNotText { path } => Error::KeyFileFormat { path },
                error => error,
            }
        })?;
    let text = contents.trim();
    if text.starts_with('{') {
        let password = password.ok_or_else(|| Error::PasswordMissing { path: key_path.to_owned() })?;
        return PrivateKeySigner::decrypt_keystore(key_path, password)
            .map_err(|_| Error::KeystoreDecrypt { path: key_path.to_owned() });
    }
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::KeyFileFormat { path: key_path.to_owned() });
    }
    digits.parse::<PrivateKeySigner>().map_err(|_| Error::KeyFileFormat { path: key_path.to_owned() })
}

/// Reads a password file (mode 0600), dropping one trailing newline (editors add it,
/// keystores don't).
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>> {
    let mut text = read_secret_file(path)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Reads a file holding a secret (a password, an API token), refusing it unless only its
/// owner may read it (mode 0600), straight into a buffer wiped on drop.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    read_owner_only(path, |path, mode| Error::SecretFileTooOpen { path, mode })
}

/// Reads `path` as text after checking, on the opened file, that neither group nor others
/// may access it (`too_open` makes the refusal). The buffer is allocated once at the file's
/// size, so no copy of the secret is left behind by a reallocation.
fn read_owner_only(path: &Path, too_open: impl FnOnce(PathBuf, u32) -> Error) -> Result<Zeroizing<String>> {
    let unreadable = |source| Error::KeyFileUnreadable { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(unreadable)?;
    let metadata = file.metadata().map_err(unreadable)?;
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(too_open(path.to_owned(), mode & 0o777));
    }
    // One byte more than the file, so that reading to its end needs no growth.
    let capacity = usize::try_from(metadata.len()).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut bytes).map_err(unreadable)?;
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            error.into_bytes().zeroize();
            Err(Error::SecretFileNotText { path: path.to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    // anvil's first development key: public knowledge, never holds real money.
    const ANVIL_KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn write(dir: &Path, name: &str, contents: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn hex_key_with_or_without_prefix_loads() {
        let dir = tempfile::tempdir().unwrap();
        let expected: PrivateKeySigner = ANVIL_KEY_0.parse().unwrap();
        for (name, text) in [("plain", format!("{ANVIL_KEY_0}\n")), ("prefixed", format!("0x{ANVIL_KEY_0}"))]
        {
            let path = write(dir.path(), name, &text, 0o600);
            assert_eq!(load_private_key(&path, None).unwrap().address(), expected.address());
        }
    }

    #[test]
    fn key_readable_by_others_is_refused_without_revealing_it() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604] {
            let path = write(dir.path(), "key", ANVIL_KEY_0, mode);
            let err = load_private_key(&path, None).unwrap_err();
            assert!(matches!(err, Error::KeyFileTooOpen { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains("chmod 600"), "{message}");
            assert!(!message.contains(&ANVIL_KEY_0[..16]), "message leaks the key: {message}");
        }
    }

    #[test]
    fn malformed_key_says_what_is_expected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "key", &ANVIL_KEY_0[..62], 0o600);
        let err = load_private_key(&path, None).unwrap_err();
        assert!(err.to_string().contains("64-digit hex"), "{err}");
    }

    #[test]
    fn keystore_round_trip_and_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let key = hex_bytes(ANVIL_KEY_0);
        let mut rng = rand::thread_rng();
        let (signer, _uuid) =
            PrivateKeySigner::encrypt_keystore(dir.path(), &mut rng, key, "correct horse", Some("ks.json"))
                .unwrap();
        let path = dir.path().join("ks.json");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

        assert_eq!(load_private_key(&path, Some("correct horse")).unwrap().address(), signer.address());
        assert!(matches!(load_private_key(&path, Some("wrong")), Err(Error::KeystoreDecrypt { .. })));
        assert!(matches!(load_private_key(&path, None), Err(Error::PasswordMissing { .. })));
    }

    #[test]
    fn password_file_drops_one_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "pw", "secret \n", 0o600);
        assert_eq!(read_password_file(&path).unwrap().as_str(), "secret ");
        let path = write(dir.path(), "pw-crlf", "secret\r\n\n", 0o600);
        assert_eq!(read_password_file(&path).unwrap().as_str(), "secret\r\n");
        let path = write(dir.path(), "pw-crlf", "secret\r\n", 0o600);
        assert_eq!(read_password_file(&path).unwrap().as_str(), "secret");
    }

    #[test]
    fn secret_files_readable_by_others_are_refused_without_revealing_them() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = write(dir.path(), "secret", "correct horse battery", mode);
            for result in [read_password_file(&path), read_secret_file(&path)] {
                let err = result.unwrap_err();
                assert!(matches!(err, Error::SecretFileTooOpen { .. }), "{err}");
                let message = err.to_string();
                assert!(message.contains(&format!("chmod 600 {}", path.display())), "{message}");
                assert!(message.contains(&format!("{:o}", mode)), "{message}");
                assert!(!message.contains("horse"), "message leaks the secret: {message}");
            }
        }
        let path = write(dir.path(), "secret", "correct horse battery", 0o600);
        assert_eq!(read_secret_file(&path).unwrap().as_str(), "correct horse battery");
        let path = write(dir.path(), "binary", "", 0o600);
        fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(read_secret_file(&path), Err(Error::SecretFileNotText { .. })));
    }

    fn hex_bytes(hex: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            out[i] = u8::from_str_radix(std::str::from_utf8(chunk).unwrap(), 16).unwrap();
        }
        out
    }
}
