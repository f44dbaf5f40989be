//! Issue 9, third outside review: hostile keystores and secret files.
//!
//! A keystore chooses the cost of its own key derivation, and the receiver's operator may be
//! handed one; a secret file's path may name something that is not a plain file.

// The tests panic as their failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    fs,
    io::Write,
    os::unix::fs::{symlink, PermissionsExt},
    path::{Path, PathBuf},
    process::Command,
    sync::mpsc,
    time::Duration,
};

use uraiden_chain::{
    keys::{load_private_key, read_secret_file, MAX_SECRET_FILE_BYTES},
    Error,
};
use uraiden_protocol::keystore::{Keystore, KeystoreError, MAX_SCRYPT_MEMORY};

/// A keystore of anvil's first key whose scrypt parameters are `n`, `r`, `p` (the MAC is
/// irrelevant: these tests are about what is refused before any derivation).
fn scrypt_keystore(n: u64, r: u64, p: u64) -> String {
    format!(
        r#"{{"version":3,"crypto":{{"cipher":"aes-128-ctr","cipherparams":{{"iv":"0123456789abcdef0123456789abcdef"}},
        "ciphertext":"3269540dc7e2d61d5c51520e1da6efd59678c43e1cff1daa5e6dcf433e8bf617","kdf":"scrypt",
        "kdfparams":{{"n":{n},"r":{r},"p":{p},"dklen":32,"salt":"5a175a17"}},
        "mac":"5afb28f8c171eefabafd40d517c6a3bb70e349aed83afe71f9698a3379f2a044"}}}}"#
    )
}

/// What scrypt (the `scrypt` crate the keystore uses) allocates for `n`, `r`, `p`: the
/// `p` blocks B of `128·r` bytes, the `n` blocks V, and one scratch block: `128·r·(n + p + 1)`.
fn scrypt_allocation(n: u64, r: u64, p: u64) -> u64 {
    128 * r * (n + p + 1)
}

/// The bound is on `128·r·n` only, but scrypt also allocates `128·r·p` for its B blocks. With
/// n = 2, r = 2^22, p = 2 the checks pass (128·r·n = 1 GiB, n·r·p = 2^24) while scrypt
/// allocates 2.5 GiB: a keystore handed to the operator takes 2.5 times the memory the
/// documented bound promises (enough to have the receiver killed on a small machine).
#[test]
fn a_scrypt_keystore_needing_more_memory_than_the_bound_is_refused() {
    let (n, r, p) = (2, 1 << 22, 2);
    let allocation = scrypt_allocation(n, r, p);
    assert!(allocation > MAX_SCRYPT_MEMORY, "the attack's premise: {allocation} bytes");
    let parsed = Keystore::parse(&scrypt_keystore(n, r, p));
    assert!(
        matches!(parsed, Err(KeystoreError::TooCostly(_))),
        "a keystore whose scrypt allocates {allocation} bytes (bound {MAX_SCRYPT_MEMORY}) was accepted for \
         derivation: {parsed:?}"
    );
}

/// Degenerate scrypt parameters and a document of nothing but nesting are refused with a
/// reason, before any derivation and without a stack overflow.
#[test]
fn degenerate_parameters_and_deep_nesting_are_refused_without_deriving() {
    for (n, r, p) in
        [(0, 8, 1), (1, 8, 1), (3, 8, 1), ((1 << 18) + 1, 8, 1), (1 << 18, 0, 1), (1 << 18, 8, 0)]
    {
        let parsed = Keystore::parse(&scrypt_keystore(n, r, p));
        assert!(matches!(parsed, Err(KeystoreError::Invalid(_))), "n = {n}, r = {r}, p = {p}: {parsed:?}");
    }
    for dklen in ["0", "16", "64", "-1", "1e2", "\"32\""] {
        let text = scrypt_keystore(2, 1, 1).replace("\"dklen\":32", &format!("\"dklen\":{dklen}"));
        assert!(Keystore::parse(&text).is_err(), "dklen {dklen} accepted");
    }
    // The whole secret-file budget spent on nesting, as arrays and as objects.
    let size = usize::try_from(MAX_SECRET_FILE_BYTES).unwrap();
    for open in ["[", "{\"a\":"] {
        let nested = open.repeat(size / open.len());
        assert!(matches!(Keystore::parse(&nested), Err(KeystoreError::Invalid(_))));
    }
    let nested_params = scrypt_keystore(2, 1, 1).replace("\"salt\":\"5a175a17\"", &"[".repeat(60_000));
    assert!(Keystore::parse(&nested_params).is_err());
}

fn write_secret(dir: &Path, name: &str, contents: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A symlink (itself `lrwxrwxrwx`) to a private file is read as the file; one to a file
/// others may read is refused: the mode is checked on what was opened.
#[test]
fn a_symlink_is_judged_by_the_file_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let private = write_secret(dir.path(), "private", "hunter2", 0o600);
    let public = write_secret(dir.path(), "public", "hunter2", 0o644);
    let (to_private, to_public) = (dir.path().join("to-private"), dir.path().join("to-public"));
    symlink(&private, &to_private).unwrap();
    symlink(&public, &to_public).unwrap();
    assert_eq!(read_secret_file(&to_private).unwrap().as_str(), "hunter2");
    assert!(matches!(read_secret_file(&to_public), Err(Error::SecretFileTooOpen { mode: 0o644, .. })));
    // A key file through a symlink to a world-readable key: refused, the key not echoed.
    let key = write_secret(
        dir.path(),
        "key",
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        0o644,
    );
    let to_key = dir.path().join("to-key");
    symlink(&key, &to_key).unwrap();
    let error = load_private_key(&to_key, None).unwrap_err();
    assert!(matches!(error, Error::KeyFileTooOpen { .. }), "{error}");
    assert!(!error.to_string().contains("ac0974bec39a"), "{error}");
}

fn mkfifo(path: &Path, mode: u32) {
    let made = Command::new("mkfifo").arg("-m").arg(format!("{mode:o}")).arg(path).status().unwrap();
    assert!(made.success(), "mkfifo");
}

/// A FIFO (mode 0600) whose writer never stops is read only up to the bound and refused as too
/// large: the receiver does not read a never-ending secret into memory.
#[test]
fn a_fifo_that_never_ends_is_refused_at_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless");
    mkfifo(&fifo, 0o600);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut writer = fs::OpenOptions::new().write(true).open(writer_path).unwrap();
        let chunk = [b'a'; 4096];
        // Ends when the reader closes its end (EPIPE); bounded in case it never does.
        for _ in 0..10_000 {
            if writer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let result = read_secret_file(&fifo);
    assert!(matches!(result, Err(Error::SecretFileTooLarge { .. })), "{:?}", result.map(|_| "read"));
    writer.join().unwrap();
}

/// A FIFO (mode 0600) that nobody writes: opening it for reading blocks until a writer comes,
/// so a receiver started with `--private-key-password-file` (or `--api-token-file`, or
/// `--private-key`) naming one hangs at startup, silently, forever. It should be refused (or
/// read without blocking) with a message naming the file.
#[test]
fn a_fifo_without_a_writer_does_not_hang_the_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("silent");
    mkfifo(&fifo, 0o600);
    let (done, finished) = mpsc::channel();
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let result = read_secret_file(&reader_path).map(|_| ());
        let _ = done.send(result.is_err());
    });
    let answered = finished.recv_timeout(Duration::from_secs(5));
    if answered.is_err() {
        // Release the blocked reader (a writer that writes nothing) so the test ends.
        drop(fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    }
    reader.join().unwrap();
    assert!(
        answered.is_ok(),
        "reading a secret file that is a FIFO without a writer was still blocked after 5 s"
    );
}
