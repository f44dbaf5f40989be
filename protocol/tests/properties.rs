//! Property tests: encodings round-trip and signatures recover, for arbitrary values.

use proptest::prelude::*;
use uraiden_protocol::{
    channel_manager_domain, parse_address, parse_amount, recover_balance_proof_signer, recover_signer,
    Address, ChannelId, Error, LocalSigningKey, PaymentHeaders, PaywallInfo, ProofSignature,
    TokenFallbackData, B256, U192,
};

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

fn amount() -> impl Strategy<Value = U192> {
    prop_oneof![
        Just(U192::ZERO),
        Just(U192::MAX),
        any::<u64>().prop_map(U192::from),
        any::<[u64; 3]>().prop_map(U192::from_limbs),
    ]
}

fn key() -> impl Strategy<Value = LocalSigningKey> {
    // Almost every 32-byte string is a valid secret; filter the rest.
    any::<[u8; 32]>().prop_filter_map("not a secp256k1 scalar", |bytes| {
        LocalSigningKey::from_bytes(&B256::from(bytes)).ok()
    })
}

fn lookup_in<'a>(pairs: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
    move |name| pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn recovery_agrees_with_alloys(key in key(), digest in any::<[u8; 32]>()) {
        let digest = B256::from(digest);
        let signature = key.sign_digest(&digest).unwrap();
        let alloy = signature.as_alloy().recover_address_from_prehash(&digest).unwrap();
        prop_assert_eq!(recover_signer(&digest, &signature).unwrap(), alloy);
        prop_assert_eq!(alloy, key.address());
    }

    #[test]
    fn recovery_of_arbitrary_scalars_agrees_with_alloys(
        r in any::<[u8; 32]>(),
        s in any::<[u8; 32]>(),
        v in 27u8..=28,
        digest in any::<[u8; 32]>(),
    ) {
        // Arbitrary (r, s) that pass the encoding checks, signed by nobody: both recoveries
        // must fail together (no point with x = r) or give the same address.
        let mut raw = [0u8; 65];
        raw[..32].copy_from_slice(&r);
        raw[32..64].copy_from_slice(&s);
        raw[32] &= 0x7f; // mostly below n/2
        raw[64] = v;
        let Ok(signature) = ProofSignature::from_bytes(&raw) else { return Ok(()) };
        let digest = B256::from(digest);
        let ours = recover_signer(&digest, &signature).ok();
        let alloy = signature.as_alloy().recover_address_from_prehash(&digest).ok();
        prop_assert_eq!(ours, alloy);
    }

    #[test]
    fn signatures_recover_to_the_key_and_round_trip(key in key(), digest in any::<[u8; 32]>()) {
        let digest = B256::from(digest);
        let signature = key.sign_digest(&digest).unwrap();
        prop_assert_eq!(recover_signer(&digest, &signature).unwrap(), key.address());
        prop_assert!(signature.v() == 27 || signature.v() == 28);
        let reparsed: ProofSignature = signature.to_hex().parse().unwrap();
        prop_assert_eq!(reparsed, signature);
        prop_assert_eq!(ProofSignature::from_bytes(&signature.as_bytes()).unwrap(), signature);
        // The same signature with v as 0/1 is the same signature.
        let mut raw = signature.as_bytes();
        raw[64] -= 27;
        prop_assert_eq!(ProofSignature::from_bytes(&raw).unwrap(), signature);
    }

    #[test]
    fn balance_proofs_recover_to_the_signer(
        key in key(),
        receiver in address(),
        contract in address(),
        chain_id in any::<u64>(),
        open_block in any::<u32>(),
        balance in amount(),
    ) {
        let domain = channel_manager_domain(chain_id, contract);
        let proof = ChannelId::new(key.address(), receiver, open_block).balance_proof(balance);
        let signature = key.sign_balance_proof(&domain, &proof).unwrap();
        prop_assert_eq!(recover_balance_proof_signer(&domain, &proof, &signature).unwrap(), key.address());
    }

    #[test]
    fn parsing_arbitrary_signature_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 63..=67)) {
        match ProofSignature::from_bytes(&bytes) {
            Ok(signature) => {
                prop_assert_eq!(bytes.len(), 65);
                prop_assert!([0, 1, 27, 28].contains(&bytes[64]));
                prop_assert_eq!(&signature.as_bytes()[..64], &bytes[..64]);
                let _ = recover_signer(&B256::ZERO, &signature);
            }
            Err(Error::SignatureLength { got }) => prop_assert_ne!(got, 65),
            Err(_) => prop_assert_eq!(bytes.len(), 65),
        }
    }

    #[test]
    fn payment_headers_round_trip(
        key in key(),
        contract in address(),
        receiver in address(),
        open_block_number in any::<u32>(),
        balance in amount(),
        payment in proptest::option::of(amount()),
    ) {
        let channel = ChannelId::new(key.address(), receiver, open_block_number);
        let domain = channel_manager_domain(1, contract);
        let balance_signature = key.sign_balance_proof(&domain, &channel.balance_proof(balance)).unwrap();
        let headers = PaymentHeaders {
            contract,
            receiver,
            sender: key.address(),
            open_block_number,
            balance,
            balance_signature,
            payment,
        };
        let pairs = headers.to_header_pairs();
        prop_assert_eq!(PaymentHeaders::parse(lookup_in(&pairs)).unwrap(), Some(headers));
    }

    #[test]
    fn paywall_info_round_trips(
        receiver in address(),
        contract in address(),
        token in address(),
        price in amount(),
        chain_id in any::<u64>(),
        sender in proptest::option::of(address()),
        sender_balance in proptest::option::of(amount()),
        path in "/[a-z0-9/._-]{0,20}",
    ) {
        let info = PaywallInfo {
            gateway_path: path,
            receiver,
            contract,
            token,
            price,
            chain_id,
            sender,
            sender_balance,
            balance_signature: None,
        };
        let pairs = info.to_header_pairs();
        prop_assert_eq!(PaywallInfo::parse(lookup_in(&pairs)).unwrap(), info);
    }

    #[test]
    fn amounts_round_trip_through_decimal(value in amount()) {
        prop_assert_eq!(parse_amount(&value.to_string()).unwrap(), value);
    }

    #[test]
    fn non_canonical_amounts_are_refused(digits in "[0-9]{1,20}") {
        let padded = format!("0{digits}");
        let refused = matches!(parse_amount(&padded), Err(Error::InvalidAmount { .. }));
        prop_assert!(refused, "{} was accepted", padded);
    }

    #[test]
    fn addresses_parse_lowercase_checksummed_and_uppercase(address in address()) {
        let checksummed = address.to_checksum(None);
        prop_assert_eq!(parse_address(&checksummed).unwrap(), address);
        prop_assert_eq!(parse_address(&format!("{address:#x}")).unwrap(), address);
        prop_assert_eq!(parse_address(&format!("0x{}", &checksummed[2..].to_uppercase())).unwrap(), address);
    }

    #[test]
    fn a_flipped_letter_breaks_the_checksum(address in address(), at in 0usize..40) {
        let checksummed = address.to_checksum(None);
        let mut chars: Vec<char> = checksummed.chars().collect();
        let c = chars[2 + at];
        prop_assume!(c.is_ascii_alphabetic());
        chars[2 + at] = if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() };
        let flipped: String = chars.into_iter().collect();
        // Still mixed case unless it became all-lower/all-upper, which is valid unchecksummed.
        let digits = &flipped[2..];
        let mixed = digits.chars().any(|c| c.is_ascii_uppercase()) && digits.chars().any(|c| c.is_ascii_lowercase());
        prop_assert_eq!(parse_address(&flipped).is_err(), mixed);
    }

    #[test]
    fn erc223_data_round_trips(
        sender in address(),
        receiver in address(),
        signer in address(),
        open_block in any::<u32>(),
        which in 0u8..3,
    ) {
        let data = match which {
            0 => TokenFallbackData::CreateChannel { sender, receiver },
            1 => TokenFallbackData::CreateChannelWithSigner { sender, receiver, signer },
            _ => TokenFallbackData::TopUp { channel: ChannelId::new(sender, receiver, open_block) },
        };
        prop_assert_eq!(TokenFallbackData::decode(&data.encode()).unwrap(), data);
    }
}
