//! Differential: the crate's own signature rules and ECDSA recovery against alloy's
//! (k256's verifying) recovery and the contract's rules (OpenZeppelin ECDSA: 65 bytes,
//! v 27/28 with 0/1 normalised, 0 < r < n, 0 < s ≤ n/2). Both must accept the same
//! signatures and recover the same address.
#![no_main]

use alloy_primitives::{Signature, B256, U256};
use libfuzzer_sys::fuzz_target;
use uraiden_protocol::ProofSignature;

/// secp256k1's group order n, and n / 2 (the largest `s` the contract accepts).
const N: U256 = U256::from_be_bytes([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba,
    0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

fn reference(signature: &[u8; 65], digest: &B256) -> Option<alloy_primitives::Address> {
    let r = U256::from_be_slice(&signature[..32]);
    let s = U256::from_be_slice(&signature[32..64]);
    let parity = match signature[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => return None,
    };
    if r.is_zero() || r >= N || s.is_zero() || s > N >> 1 {
        return None;
    }
    Signature::new(r, s, parity).recover_address_from_prehash(digest).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((signature, rest)) = data.split_first_chunk::<65>() else { return };
    let Some((digest, _)) = rest.split_first_chunk::<32>() else { return };
    let digest = B256::from(*digest);
    let ours = ProofSignature::from_bytes(signature).and_then(|parsed| {
        // What is accepted is written back canonically (v 27/28) and reads the same.
        let bytes = parsed.as_bytes();
        assert_eq!(&bytes[..64], &signature[..64]);
        assert!(bytes[64] == 27 || bytes[64] == 28);
        assert_eq!(ProofSignature::from_bytes(&bytes).ok(), Some(parsed));
        parsed.recover_signer(&digest)
    });
    assert_eq!(ours.ok(), reference(signature, &digest), "signature {signature:02x?} digest {digest}");
});
