//! Checks the close and status requests against the known-answer vectors in
//! `tests/vectors/eip712-requests.json` (made independently with viem by
//! `tests/vectors/generate.mjs`), and their sign/verify round trip on arbitrary values.

use alloy_dyn_abi::TypedData;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use uraiden_protocol::{
    channel_manager_domain, close_request_typed_data, eip712_signing_hash, header, parse_amount,
    recover_close_request_signer, recover_signer, recover_status_request_signer, status_request_typed_data,
    Address, ChannelId, CloseRequest, Error, LocalSigningKey, ProofSignature, SignedCloseRequest,
    SignedStatusRequest, SolStruct, StatusRequest, B256, U192,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Vectors {
    #[allow(dead_code)]
    description: String,
    domain: Domain,
    domain_separator: B256,
    type_hashes: TypeHashes,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Domain {
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    version: String,
    chain_id: u64,
    verifying_contract: Address,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeHashes {
    #[serde(rename = "CloseRequest")]
    close_request: B256,
    #[serde(rename = "StatusRequest")]
    status_request: B256,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    name: String,
    primary_type: String,
    private_key: String,
    signer: Address,
    message: Message,
    typed_data: Value,
    struct_hash: B256,
    digest: B256,
    signature: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Message {
    sender: Address,
    receiver: Address,
    open_block_number: u32,
    balance: Option<String>,
    deadline: String,
}

fn vectors() -> Vectors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/eip712-requests.json");
    let text = std::fs::read_to_string(path)
        .expect("tests/vectors/eip712-requests.json exists (node tests/vectors/generate.mjs)");
    serde_json::from_str(&text).expect("eip712-requests.json has the documented shape")
}

/// What the crate computes for a case: struct hash, digest, signature, recovered signer, JSON.
fn compute(case: &Case, key: &LocalSigningKey) -> (B256, B256, ProofSignature, Address, Value) {
    let vectors = vectors();
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    let m = &case.message;
    let channel = ChannelId::new(m.sender, m.receiver, m.open_block_number);
    let deadline: u64 = m.deadline.parse().expect("decimal deadline");
    match case.primary_type.as_str() {
        "CloseRequest" => {
            let balance = parse_amount(m.balance.as_deref().expect("a close request has a balance"))
                .expect("canonical balance");
            let request: CloseRequest = channel.close_request(balance, deadline);
            let signed = SignedCloseRequest::sign(key, &domain, channel, balance, deadline).expect("signs");
            assert_eq!(signed.message(), request);
            assert_eq!(key.sign_close_request(&domain, &request).expect("signs"), signed.signature);
            (
                request.eip712_hash_struct(),
                eip712_signing_hash(&domain, &request),
                signed.signature,
                recover_close_request_signer(&domain, &request, &signed.signature).expect("recovers"),
                serde_json::from_str(&close_request_typed_data(&domain, &request).to_string())
                    .expect("valid JSON"),
            )
        }
        "StatusRequest" => {
            assert!(m.balance.is_none(), "{}: a status request has no balance", case.name);
            let request: StatusRequest = channel.status_request(deadline);
            let signed = SignedStatusRequest::sign(key, &domain, channel, deadline).expect("signs");
            assert_eq!(key.sign_status_request(&domain, &request).expect("signs"), signed.signature);
            (
                request.eip712_hash_struct(),
                eip712_signing_hash(&domain, &request),
                signed.signature,
                recover_status_request_signer(&domain, &request, &signed.signature).expect("recovers"),
                serde_json::from_str(&status_request_typed_data(&domain, &request).to_string())
                    .expect("valid JSON"),
            )
        }
        other => panic!("{}: unknown primaryType {other}", case.name),
    }
}

#[test]
fn type_hashes_and_domain_match() {
    let vectors = vectors();
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    assert_eq!(domain.separator(), vectors.domain_separator);
    assert_eq!(CloseRequest::default().eip712_type_hash(), vectors.type_hashes.close_request);
    assert_eq!(StatusRequest::default().eip712_type_hash(), vectors.type_hashes.status_request);
    let kinds: Vec<_> = vectors.cases.iter().map(|c| c.primary_type.as_str()).collect();
    assert!(kinds.contains(&"CloseRequest") && kinds.contains(&"StatusRequest"));
    assert!(vectors.cases.iter().any(|c| c.signer != c.message.sender), "a delegated signer case");
    assert!(vectors.cases.iter().any(|c| c.message.deadline == u64::MAX.to_string()));
}

#[test]
fn every_case_hashes_signs_recovers_and_renders_like_the_vector() {
    for case in vectors().cases {
        let name = &case.name;
        let key = LocalSigningKey::from_hex(&case.private_key).expect("vector key");
        assert_eq!(key.address(), case.signer, "{name}");
        let (struct_hash, digest, signature, recovered, typed_data) = compute(&case, &key);
        assert_eq!(struct_hash, case.struct_hash, "{name}: struct hash");
        assert_eq!(digest, case.digest, "{name}: digest");
        assert_eq!(signature.to_hex(), case.signature, "{name}: RFC 6979 signature");
        assert_eq!(recovered, case.signer, "{name}: recovered signer");
        assert_eq!(typed_data, case.typed_data, "{name}: eth_signTypedData_v4 JSON");
        let vector_signature: ProofSignature = case.signature.parse().expect("strict signature");
        assert_eq!(recover_signer(&case.digest, &vector_signature).expect("recovers"), case.signer, "{name}");

        // What a wallet is shown hashes to the same digest in a dynamic EIP-712 implementation.
        let typed: TypedData = serde_json::from_value(case.typed_data.clone()).expect("wallet JSON parses");
        assert_eq!(typed.eip712_signing_hash().expect("hashes"), case.digest, "{name}: dynamic digest");
    }
}

#[test]
fn vector_requests_verify_at_their_deadline_and_expire_after_it() {
    let vectors = vectors();
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    let case = vectors.cases.iter().find(|c| c.name == "close-request-delegated-signer").expect("case");
    let m = &case.message;
    let request = SignedCloseRequest {
        channel: ChannelId::new(m.sender, m.receiver, m.open_block_number),
        balance: parse_amount(m.balance.as_deref().expect("balance")).expect("balance"),
        deadline: m.deadline.parse().expect("deadline"),
        signature: case.signature.parse().expect("signature"),
    };
    let deadline = request.deadline;
    assert_eq!(request.verify(&domain, case.signer, deadline), Ok(case.signer));
    assert_eq!(request.verify(&domain, case.signer, deadline - 600), Ok(case.signer));
    assert!(matches!(request.verify(&domain, case.signer, deadline + 1), Err(Error::RequestExpired { .. })));
    assert!(matches!(
        request.verify(&domain, case.signer, deadline - 601),
        Err(Error::RequestDeadlineTooFar { .. })
    ));
    // The delegate is only accepted when it is the channel's signer.
    assert!(matches!(request.verify(&domain, m.sender, deadline), Err(Error::RequestSigner { .. })));
}

#[test]
fn status_request_headers_round_trip_and_name_what_is_wrong() {
    let key = LocalSigningKey::from_bytes(&B256::repeat_byte(5)).expect("key");
    let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
    let receiver = Address::repeat_byte(0x11);
    let channel = ChannelId::new(key.address(), receiver, 42);
    let status = SignedStatusRequest::sign(&key, &domain, channel, 1_700_000_300).expect("signs");
    let pairs = status.to_header_pairs();
    let lookup = |pairs: &[(&'static str, String)], name: &str| {
        pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    let parse = |pairs: &[(&'static str, String)]| {
        let owned: Vec<(&'static str, String)> = pairs.to_vec();
        SignedStatusRequest::parse_headers(receiver, |name| {
            owned.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        })
    };
    assert_eq!(parse(&pairs), Ok(Some(status)));
    assert_eq!(parse(&[]), Ok(None));
    assert_eq!(lookup(&pairs, header::STATUS_DEADLINE).as_deref(), Some("1700000300"));
    // A probe only asks; with a balance proof it is a payment that also asks.
    let probe = |pairs: &[(&'static str, String)]| {
        SignedStatusRequest::is_status_probe(|name| {
            pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        })
    };
    assert!(probe(&pairs));
    let mut paying = pairs.clone();
    paying.push((header::BALANCE_SIGNATURE, status.signature.to_hex()));
    assert!(!probe(&paying));
    assert!(!probe(&[(header::SENDER_ADDRESS, format!("{:#x}", key.address()))]));
    // Each missing or malformed header is named.
    for missing in SignedStatusRequest::HEADER_NAMES {
        let without: Vec<_> = pairs.iter().filter(|(n, _)| *n != missing).cloned().collect();
        let err = parse(&without).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{missing}: missing")), "{err}");
    }
    for (name, bad) in [
        (header::STATUS_DEADLINE, "-1"),
        (header::STATUS_DEADLINE, "1e9"),
        (header::STATUS_SIGNATURE, "0x12"),
    ] {
        let changed: Vec<_> =
            pairs.iter().map(|(n, v)| (*n, if *n == name { bad.to_owned() } else { v.clone() })).collect();
        let err = parse(&changed).unwrap_err();
        assert!(err.to_string().starts_with(name), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn requests_sign_and_verify_for_any_values(
        // 0xffff…ff is above the group order: not a key.
        key_byte in 1u8..=254,
        open_block in any::<u32>(),
        balance in any::<[u64; 3]>(),
        now in 0u64..u64::MAX / 2,
        ahead in 0u64..=600,
    ) {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(key_byte)).expect("key");
        let domain = channel_manager_domain(1, Address::repeat_byte(0xab));
        let channel = ChannelId::new(key.address(), Address::repeat_byte(2), open_block);
        let balance = U192::from_limbs(balance);
        let deadline = now + ahead;
        let close = SignedCloseRequest::sign(&key, &domain, channel, balance, deadline).expect("signs");
        prop_assert_eq!(close.verify(&domain, key.address(), now), Ok(key.address()));
        prop_assert_eq!(
            recover_close_request_signer(&domain, &close.message(), &close.signature),
            Ok(key.address())
        );
        let status = SignedStatusRequest::sign(&key, &domain, channel, deadline).expect("signs");
        prop_assert_eq!(status.verify(&domain, key.address(), now), Ok(key.address()));
        // The two types never share a digest for the same channel and deadline.
        prop_assert_ne!(
            eip712_signing_hash(&domain, &close.message()),
            eip712_signing_hash(&domain, &status.message())
        );
        prop_assert!(close.verify(&domain, key.address(), deadline + 1).is_err());
    }
}
