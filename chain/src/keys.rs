//! Loading an account key from disk: a Geth/Parity JSON keystore (with a password file) or
//! a file holding 64 hex digits. Either must be mode 0600, as the seed's receiver demanded:
//! whoever reads the key can take every channel's earnings. So must the files of other
//! secrets (the keystore's password, the operator's API token): [`read_secret_file`].
//!
//! A keystore is parsed and checked by `uraiden_protocol::keystore` before anything is
//! derived: the file chooses its key derivation's cost, so an absurd one is refused, not run.
//!
//! Secrets are read straight into buffers that are wiped when dropped ([`Zeroizing`]), never
//! into a plain `String` first.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::signers::local::PrivateKeySigner;
use uraiden_protocol::keystore::{Keystore, KeystoreError};
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
        // Checked (shape, lengths, KDF cost) before the password is even needed.
        let keystore = Keystore::parse(text).map_err(|error| match error {
            KeystoreError::WrongPassword => Error::KeystoreDecrypt { path: key_path.to_owned() },
            error => Error::KeystoreInvalid { path: key_path.to_owned(), reason: error.to_string() },
        })?;
        let password = password.ok_or_else(|| Error::PasswordMissing { path: key_path.to_owned() })?;
        let key = keystore
            .decrypt(password.as_bytes())
            .map_err(|_| Error::KeystoreDecrypt { path: key_path.to_owned() })?;
        return PrivateKeySigner::from_slice(key.as_slice())
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

/// The largest key, keystore, password or token file read: a keystore is under 1 KiB, and a
/// larger file (or one that never ends, a FIFO) would otherwise be read whole into memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// How long a FIFO may go without a writer before it is refused: `mkfifo` then a writer
/// started just after the receiver still works, and a FIFO nobody writes fails fast.
const NO_WRITER_WAIT: Duration = Duration::from_secs(3);
/// How long a writer that has the pipe open may take to send the secret
/// (`--private-key-password-file <(pass show …)` may wait for a passphrase prompt).
const SILENT_WRITER_WAIT: Duration = Duration::from_secs(60);

/// Reads `path` as text after checking, on the opened file, that neither group nor others
/// may access it (`too_open` makes the refusal) and that it is at most
/// [`MAX_SECRET_FILE_BYTES`]. The buffer is allocated once (at the file's size, or at the
/// bound for a pipe), so no copy of the secret is left behind by a reallocation.
///
/// Opened without blocking: opening a FIFO that nobody writes would otherwise wait for ever,
/// silently. A pipe or FIFO is read until its writer closes it; one without a writer for
/// [`NO_WRITER_WAIT`], or whose writer sends nothing for [`SILENT_WRITER_WAIT`], is refused.
fn read_owner_only(path: &Path, too_open: impl FnOnce(PathBuf, u32) -> Error) -> Result<Zeroizing<String>> {
    let unreadable = |source| Error::KeyFileUnreadable { path: path.to_owned(), source };
    let mut file =
        OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(unreadable)?;
    let metadata = file.metadata().map_err(unreadable)?;
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(too_open(path.to_owned(), mode & 0o777));
    }
    let too_large = || Error::SecretFileTooLarge { path: path.to_owned(), max: MAX_SECRET_FILE_BYTES };
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    let regular = metadata.is_file();
    // One byte more than the contents, so that reading to the end needs no growth; the read
    // stops one byte past the bound whatever the file claimed.
    let expected = if regular { metadata.len() } else { MAX_SECRET_FILE_BYTES };
    let capacity = usize::try_from(expected).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    let complete = read_bounded(&mut file, regular, &mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(too_large());
    }
    if !complete {
        return Err(Error::SecretFileNoWriter { path: path.to_owned() });
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            error.into_bytes().zeroize();
            Err(Error::SecretFileNotText { path: path.to_owned() })
        }
    }
}

/// Reads `file` (opened without blocking) to its end or one byte past
/// [`MAX_SECRET_FILE_BYTES`]. A pipe is waited for: a writer that has not opened it yet (an
/// empty end of file) up to [`NO_WRITER_WAIT`], one that sends nothing up to
/// [`SILENT_WRITER_WAIT`]; `false` when it gave no complete secret within those.
fn read_bounded(file: &mut File, regular: bool, bytes: &mut Vec<u8>) -> io::Result<bool> {
    let started = Instant::now();
    let mut bounded = file.take(MAX_SECRET_FILE_BYTES + 1);
    loop {
        // On an error, what was read so far stays in `bytes` and counts against the bound.
        let waited_too_long = match bounded.read_to_end(bytes) {
            Ok(_) if regular || !bytes.is_empty() => return Ok(true),
            Ok(_) => started.elapsed() >= NO_WRITER_WAIT,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => false,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                started.elapsed() >= SILENT_WRITER_WAIT
            }
            Err(error) => return Err(error),
        };
        if waited_too_long {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
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

    /// A V3 keystore with these `kdf` and `kdfparams`, the other fields well formed (an
    /// arbitrary ciphertext and MAC: every file here fails on its parameters, or on its MAC).
    fn keystore_json(kdf: &str, kdfparams: &str) -> String {
        format!(
            r#"{{"version": 3, "id": "6c4485f3-3cc0-4081-848e-8bf489f2c262", "crypto": {{
                "cipher": "aes-128-ctr", "cipherparams": {{"iv": "76f07196b3c94f25b8f34d869493f640"}},
                "ciphertext": "{0}", "kdf": "{kdf}", "kdfparams": {kdfparams}, "mac": "{0}"}}}}"#,
            "11".repeat(32)
        )
    }

    /// Loads `keystore` on another thread; `Err` when that panicked or is still deriving after
    /// a minute (a file that chooses a KDF cost of hours is a hang, not an answer).
    fn load_keystore_within_a_minute(keystore: String) -> Result<Result<PrivateKeySigner>, &'static str> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "ks.json", &keystore, 0o600);
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _dir = dir;
            let _ = sent.send(load_private_key(&path, Some("pw")));
        });
        received.recv_timeout(std::time::Duration::from_secs(60)).map_err(|error| match error {
            std::sync::mpsc::RecvTimeoutError::Timeout => "still deriving after a minute",
            std::sync::mpsc::RecvTimeoutError::Disconnected => "the loader panicked",
        })
    }

    #[test]
    fn a_keystore_asking_for_hours_of_key_derivation_is_refused_before_deriving() {
        // A hostile (or absurd) file chooses the KDF's cost: 4096 scrypt passes of 64 MiB each,
        // or 4 billion PBKDF2 rounds. The loader must refuse it, not spend hours on it.
        for (kdf, params) in [
            ("scrypt", r#"{"dklen": 32, "n": 65536, "r": 8, "p": 4096, "salt": "00"}"#),
            ("pbkdf2", r#"{"dklen": 32, "c": 4294967295, "prf": "hmac-sha256", "salt": "00"}"#),
        ] {
            let loaded = load_keystore_within_a_minute(keystore_json(kdf, params));
            let message =
                loaded.unwrap_or_else(|problem| panic!("{kdf} {params}: {problem}")).unwrap_err().to_string();
            assert!(message.contains("too costly"), "{kdf}: {message}");
        }
    }

    #[test]
    fn a_keystore_with_malformed_parameters_is_refused_without_a_panic() {
        // A derived key shorter than the MAC's half of it, a short IV, a cipher that is not
        // AES-128-CTR, a KDF that is not the one named: each refused with what is wrong.
        let short_dklen =
            keystore_json("pbkdf2", r#"{"dklen": 16, "c": 1, "prf": "hmac-sha256", "salt": "00"}"#);
        let short_iv =
            keystore_json("pbkdf2", r#"{"dklen": 32, "c": 1, "prf": "hmac-sha256", "salt": "00"}"#)
                .replace("76f07196b3c94f25b8f34d869493f640", "76f07196");
        let cbc = keystore_json("pbkdf2", r#"{"dklen": 32, "c": 1, "prf": "hmac-sha256", "salt": "00"}"#)
            .replace("aes-128-ctr", "aes-128-cbc");
        let mixed = keystore_json("scrypt", r#"{"dklen": 32, "c": 1, "prf": "hmac-sha256", "salt": "00"}"#);
        for (what, keystore) in
            [("dklen", short_dklen), ("iv", short_iv), ("cipher", cbc), ("kdfparams", mixed)]
        {
            let loaded = load_keystore_within_a_minute(keystore);
            let error = loaded.unwrap_or_else(|problem| panic!("{what}: {problem}")).unwrap_err();
            assert!(error.to_string().contains(what), "{what}: {error}");
        }
    }

    #[test]
    fn a_secret_file_larger_than_any_secret_is_refused_before_reading_it() {
        // A multi-gigabyte "key file" (or a FIFO that never ends) would be read whole into
        // memory; no key, keystore, password or token is near 64 KiB.
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "huge", &"7".repeat(64 * 1024 + 1), 0o600);
        for error in [load_private_key(&path, Some("pw")).unwrap_err(), read_secret_file(&path).unwrap_err()]
        {
            assert!(error.to_string().contains("larger than 65536 bytes"), "{error}");
        }
        let path = write(dir.path(), "fits", &"7".repeat(64 * 1024), 0o600);
        assert_eq!(read_secret_file(&path).unwrap().len(), 64 * 1024);
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
