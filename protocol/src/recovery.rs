//! ECDSA public-key recovery as `ecrecover` does it, Q = r⁻¹·(s·R − z·G), `R` the curve point
//! with x = r and the y parity of `v`, the digest reduced mod n. Two implementations of the one
//! rule:
//!
//! - natively, libsecp256k1 (the C library Bitcoin Core maintains, bundled in the `secp256k1`
//!   crate and built with `cc`): several times faster than pure Rust, and a receiver recovers
//!   one signature per paid request;
//! - on `wasm32`, k256 (pure Rust: no C toolchain for the browser build, which signs and
//!   recovers a few signatures, never at volume).
//!
//! Both get signatures that [`ProofSignature`](crate::ProofSignature) already checked (0 < r < n,
//! 0 < s ≤ n/2, v 27/28) and return the uncompressed public key x‖y; they are compared with
//! each other and with alloy's recovery on random and hostile inputs in the tests below.

/// Why no public key came out of a signature and digest.
pub(crate) type Failure = &'static str;

/// The public key x‖y (64 bytes) whose key signed `digest` with `r‖s` (64 bytes) and y parity
/// `odd_y`.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn recover_public_key(
    r_s: &[u8; 64],
    odd_y: bool,
    digest: &[u8; 32],
) -> Result<[u8; 64], Failure> {
    libsecp256k1::recover(r_s, odd_y, digest)
}

/// The public key x‖y (64 bytes) whose key signed `digest` with `r‖s` (64 bytes) and y parity
/// `odd_y`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn recover_public_key(
    r_s: &[u8; 64],
    odd_y: bool,
    digest: &[u8; 32],
) -> Result<[u8; 64], Failure> {
    pure_rust::recover(r_s, odd_y, digest)
}

#[cfg(not(target_arch = "wasm32"))]
mod libsecp256k1 {
    use std::sync::LazyLock;

    use secp256k1::{
        ecdsa::{RecoverableSignature, RecoveryId},
        Message, Secp256k1, VerifyOnly,
    };

    use super::Failure;

    /// A verification context: built once (it precomputes tables), shared by every thread.
    static CONTEXT: LazyLock<Secp256k1<VerifyOnly>> = LazyLock::new(Secp256k1::verification_only);

    pub(super) fn recover(r_s: &[u8; 64], odd_y: bool, digest: &[u8; 32]) -> Result<[u8; 64], Failure> {
        let id = if odd_y { RecoveryId::One } else { RecoveryId::Zero };
        let signature = RecoverableSignature::from_compact(r_s, id)
            .map_err(|_| "r or s is zero or not below the group order")?;
        let key = CONTEXT.recover_ecdsa(Message::from_digest(*digest), &signature).map_err(|_| {
            "r is not the x coordinate of a secp256k1 point, or the key is the point at infinity"
        })?;
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&key.serialize_uncompressed()[1..]);
        Ok(xy)
    }
}

/// The pure-Rust recovery: the browser's, and natively the tests' second opinion.
#[cfg(any(target_arch = "wasm32", test))]
mod pure_rust {
    use k256::{
        elliptic_curve::{
            group::Group,
            ops::{Invert, LinearCombination, Reduce},
            point::DecompressPoint,
            sec1::ToEncodedPoint,
            subtle::Choice,
            PrimeField,
        },
        AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256 as K256Uint,
    };

    use super::Failure;

    /// k256's `recover_from_prehash` (what alloy calls) verifies the signature against Q once
    /// more, which doubles the cost and cannot fail for a Q obtained this way; it is skipped
    /// here. Everything is public data, so the variable-time inversion is fine.
    pub(super) fn recover(r_s: &[u8; 64], odd_y: bool, digest: &[u8; 32]) -> Result<[u8; 64], Failure> {
        let r_bytes = FieldBytes::clone_from_slice(&r_s[..32]);
        let r = Option::<Scalar>::from(Scalar::from_repr(r_bytes))
            .filter(|r| !bool::from(r.is_zero()))
            .ok_or("r is zero or not below the group order")?;
        let s = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::clone_from_slice(&r_s[32..])))
            .filter(|s| !bool::from(s.is_zero()))
            .ok_or("s is zero or not below the group order")?;
        // A 32-byte digest is reduced mod n, as ecrecover (and k256's bits2field) do.
        let z = <Scalar as Reduce<K256Uint>>::reduce_bytes(&FieldBytes::from(*digest));
        // r < n < p, so r is a field element; the point may still not exist.
        let big_r =
            Option::<AffinePoint>::from(AffinePoint::decompress(&r_bytes, Choice::from(u8::from(odd_y))))
                .ok_or("r is not the x coordinate of a secp256k1 point")?;
        let r_inv = Option::<Scalar>::from(r.invert_vartime()).ok_or("r is not invertible")?;
        let u1 = -(r_inv * z);
        let u2 = r_inv * s;
        let q =
            ProjectivePoint::lincomb(&ProjectivePoint::GENERATOR, &u1, &ProjectivePoint::from(big_r), &u2);
        if bool::from(q.is_identity()) {
            return Err("the recovered public key is the point at infinity");
        }
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&q.to_affine().to_encoded_point(false).as_bytes()[1..]);
        Ok(xy)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use alloy_primitives::{keccak256, Address, Signature, B256, U256};
    use k256::ecdsa::SigningKey;

    use super::*;
    use crate::ProofSignature;

    /// secp256k1's group order n.
    const N: U256 =
        alloy_primitives::uint!(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141_U256);

    /// How many random inputs the differential test checks (the issue asks for 100,000).
    const INPUTS: u64 = 100_000;

    /// A small deterministic generator (SplitMix64): the same inputs on every run.
    struct Inputs(u64);

    impl Inputs {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn bytes32(&mut self) -> [u8; 32] {
            let mut out = [0u8; 32];
            for chunk in out.chunks_mut(8) {
                chunk.copy_from_slice(&self.next().to_be_bytes());
            }
            out
        }

        /// A scalar near an edge: 0, 1, n − 1, n, n + 1, 2²⁵⁶ − 1, n/2, n/2 + 1, or random.
        fn scalar(&mut self) -> U256 {
            match self.next() % 10 {
                0 => U256::ZERO,
                1 => U256::from(1),
                2 => N - U256::from(1),
                3 => N,
                4 => N + U256::from(1),
                5 => U256::MAX,
                6 => N >> 1,
                7 => (N >> 1) + U256::from(1),
                _ => U256::from_be_bytes(self.bytes32()),
            }
        }
    }

    /// What the contract and alloy say: the signer, or `None` for a signature the contract's
    /// rules refuse (65 bytes, v 27/28 or 0/1, 0 < r < n, 0 < s ≤ n/2) or that recovers nothing.
    fn reference(bytes: &[u8; 65], digest: &B256) -> Option<Address> {
        let r = U256::from_be_slice(&bytes[..32]);
        let s = U256::from_be_slice(&bytes[32..64]);
        let odd_y = match bytes[64] {
            0 | 27 => false,
            1 | 28 => true,
            _ => return None,
        };
        if r.is_zero() || r >= N || s.is_zero() || s > N >> 1 {
            return None;
        }
        Signature::new(r, s, odd_y).recover_address_from_prehash(digest).ok()
    }

    fn address_of(xy: &[u8; 64]) -> Address {
        Address::from_slice(&keccak256(xy)[12..])
    }

    /// One input four ways: the crate's recovery (libsecp256k1 natively), the pure-Rust one the
    /// browser uses, alloy's, and the contract's rules; all must agree.
    fn check(bytes: &[u8; 65], digest: &B256) -> Option<Address> {
        let expected = reference(bytes, digest);
        let ours = ProofSignature::from_bytes(bytes)
            .ok()
            .and_then(|signature| signature.recover_signer(digest).ok());
        assert_eq!(ours, expected, "libsecp256k1 vs alloy: signature {bytes:02x?} digest {digest}");
        if let Ok(signature) = ProofSignature::from_bytes(bytes) {
            let r_s: [u8; 64] = signature.as_bytes()[..64].try_into().expect("64 bytes");
            let odd_y = signature.v() == 28;
            let native = recover_public_key(&r_s, odd_y, &digest.0).ok().map(|xy| address_of(&xy));
            let pure = pure_rust::recover(&r_s, odd_y, &digest.0).ok().map(|xy| address_of(&xy));
            assert_eq!(native, pure, "libsecp256k1 vs k256: signature {bytes:02x?} digest {digest}");
        }
        expected
    }

    fn signature_bytes(r: U256, s: U256, v: u8) -> [u8; 65] {
        let mut bytes = [0u8; 65];
        bytes[..32].copy_from_slice(&r.to_be_bytes::<32>());
        bytes[32..64].copy_from_slice(&s.to_be_bytes::<32>());
        bytes[64] = v;
        bytes
    }

    /// libsecp256k1 against k256 and alloy on [`INPUTS`] inputs: valid signatures by random
    /// keys (recovering their signer), the same with a tampered digest (another signer), their
    /// high-s twins and every `v` (refused), and r, s at and around 0, n/2 and n.
    #[test]
    fn libsecp256k1_agrees_with_k256_and_alloy_on_random_and_hostile_inputs() {
        let mut inputs = Inputs(0x7572_6169_6465_6e21);
        let (mut recovered, mut refused) = (0u64, 0u64);
        for round in 0..INPUTS {
            let digest = B256::from(inputs.bytes32());
            let bytes = match round % 5 {
                // A valid signature by a random key: recovers exactly that key's address.
                0 | 1 => {
                    let Ok(key) = SigningKey::from_slice(&inputs.bytes32()) else { continue };
                    let (signature, id) = key.sign_prehash_recoverable(digest.as_slice()).expect("signs");
                    let signature =
                        Signature::from_signature_and_parity(signature, id.is_y_odd()).normalized_s();
                    let bytes = signature_bytes(signature.r(), signature.s(), 27 + u8::from(signature.v()));
                    let signer = Address::from_public_key(key.verifying_key());
                    if round % 5 == 0 {
                        assert_eq!(check(&bytes, &digest), Some(signer), "the signer is recovered");
                        continue;
                    }
                    // The same signature over a tampered digest: some other address, or none.
                    let mut tampered = digest;
                    tampered.0[usize::try_from(inputs.next() % 32).expect("small")] ^= 1;
                    assert_ne!(
                        check(&bytes, &tampered),
                        Some(signer),
                        "a tampered digest is not the signer's"
                    );
                    continue;
                }
                // Its high-s twin, and any v byte.
                2 => {
                    let key = SigningKey::from_slice(&[7u8; 32]).expect("a key");
                    let (signature, _) = key.sign_prehash_recoverable(digest.as_slice()).expect("signs");
                    let signature = Signature::from_signature_and_parity(signature, false).normalized_s();
                    let v = u8::try_from(inputs.next() % 256).expect("a byte");
                    signature_bytes(signature.r(), N - signature.s(), v)
                }
                // Scalars at and around the edges, with any v.
                _ => {
                    let v = [0, 1, 27, 28, 29, 35, 255][usize::try_from(inputs.next() % 7).expect("small")];
                    signature_bytes(inputs.scalar(), inputs.scalar(), v)
                }
            };
            match check(&bytes, &digest) {
                Some(_) => recovered += 1,
                None => refused += 1,
            }
        }
        // The hostile inputs are mostly refused, but not all: random r and s in range recover
        // some (meaningless) address, and both implementations must find the same one.
        assert!(recovered > 1_000 && refused > 10_000, "recovered {recovered}, refused {refused}");
    }

    /// Recoveries per second on one thread, side by side in one run: libsecp256k1 (this crate,
    /// natively), the pure-Rust recovery (the browser's, and natively the crate's before
    /// libsecp256k1) and alloy's (k256's `recover_from_prehash`, which verifies once more):
    /// `cargo test --release -p uraiden-protocol --lib recovery_rate -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn recovery_rate() {
        use std::time::Instant;
        const ROUNDS: u32 = 20_000;
        let key = SigningKey::from_slice(&[7u8; 32]).expect("a key");
        let signatures: Vec<(B256, ProofSignature)> = (0..64u8)
            .map(|i| {
                let digest = keccak256([i]);
                let (signature, id) = key.sign_prehash_recoverable(digest.as_slice()).expect("signs");
                let signature = Signature::from_signature_and_parity(signature, id.is_y_odd()).normalized_s();
                (digest, ProofSignature::try_from(signature).expect("low-s"))
            })
            .collect();
        let rate = |recover: &dyn Fn(&B256, &ProofSignature) -> Address| {
            let start = Instant::now();
            for i in 0..ROUNDS {
                let (digest, signature) = &signatures[i as usize % signatures.len()];
                std::hint::black_box(recover(digest, signature));
            }
            f64::from(ROUNDS) / start.elapsed().as_secs_f64()
        };
        let pure = |digest: &B256, signature: &ProofSignature| {
            let r_s: [u8; 64] = signature.as_bytes()[..64].try_into().expect("64 bytes");
            address_of(&pure_rust::recover(&r_s, signature.v() == 28, &digest.0).expect("recovers"))
        };
        for _ in 0..3 {
            let native = rate(&|d, s| s.recover_signer(d).expect("recovers"));
            let k256 = rate(&pure);
            let alloy = rate(&|d, s| s.as_alloy().recover_address_from_prehash(d).expect("recovers"));
            println!(
                "recoveries/s on one thread: libsecp256k1 {native:.0}, k256 {k256:.0} ({:.2}x), alloy/k256 {alloy:.0} ({:.2}x)",
                native / k256,
                native / alloy
            );
        }
    }
}
