//! Checks the crate against the known-answer vectors in `tests/vectors/eip712.json`, which
//! `tests/vectors/generate.mjs` produced independently with viem.

use alloy_dyn_abi::TypedData;
use serde::Deserialize;
use serde_json::Value;
use uraiden_protocol::{
    balance_proof_typed_data, channel_manager_domain, closing_proof_typed_data, eip712_signing_hash,
    recover_balance_proof_signer, recover_closing_proof_signer, recover_signer, Address, BalanceProof,
    ChannelId, ClosingProof, LocalSigningKey, ProofSignature, SolStruct, B256, U192,
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
    name: String,
    version: String,
    chain_id: u64,
    verifying_contract: Address,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeHashes {
    #[serde(rename = "BalanceProof")]
    balance_proof: B256,
    #[serde(rename = "ClosingProof")]
    closing_proof: B256,
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
    balance: String,
}

fn vectors() -> Vectors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/eip712.json");
    let text = std::fs::read_to_string(path)
        .expect("tests/vectors/eip712.json exists (node tests/vectors/generate.mjs)");
    serde_json::from_str(&text).expect("eip712.json has the documented shape")
}

/// The parts of a case that do not depend on the primary type.
struct Computed {
    type_hash: B256,
    struct_hash: B256,
    digest: B256,
    signature: ProofSignature,
    recovered: Address,
    typed_data: Value,
}

fn compute(case: &Case, domain: &uraiden_protocol::Eip712Domain, key: &LocalSigningKey) -> Computed {
    let balance = uraiden_protocol::parse_amount(&case.message.balance).expect("canonical decimal balance");
    let channel = ChannelId::new(case.message.sender, case.message.receiver, case.message.open_block_number);
    match case.primary_type.as_str() {
        "BalanceProof" => {
            let proof: BalanceProof = channel.balance_proof(balance);
            let signature = key.sign_balance_proof(domain, &proof).expect("signs");
            Computed {
                type_hash: proof.eip712_type_hash(),
                struct_hash: proof.eip712_hash_struct(),
                digest: eip712_signing_hash(domain, &proof),
                recovered: recover_balance_proof_signer(domain, &proof, &signature).expect("recovers"),
                typed_data: serde_json::from_str(&balance_proof_typed_data(domain, &proof).to_string())
                    .expect("valid JSON"),
                signature,
            }
        }
        "ClosingProof" => {
            let proof: ClosingProof = channel.closing_proof(balance);
            let signature = key.sign_closing_proof(domain, &proof).expect("signs");
            Computed {
                type_hash: proof.eip712_type_hash(),
                struct_hash: proof.eip712_hash_struct(),
                digest: eip712_signing_hash(domain, &proof),
                recovered: recover_closing_proof_signer(domain, &proof, &signature).expect("recovers"),
                typed_data: serde_json::from_str(&closing_proof_typed_data(domain, &proof).to_string())
                    .expect("valid JSON"),
                signature,
            }
        }
        other => panic!("{}: unknown primaryType {other}", case.name),
    }
}

#[test]
fn the_vectors_cover_what_they_promise() {
    let vectors = vectors();
    assert!((8..=12).contains(&vectors.cases.len()));
    let balances: Vec<_> = vectors.cases.iter().map(|c| c.message.balance.as_str()).collect();
    let blocks: Vec<_> = vectors.cases.iter().map(|c| c.message.open_block_number).collect();
    assert!(balances.contains(&"0") && balances.contains(&"1"));
    assert!(balances.contains(&U192::MAX.to_string().as_str()));
    assert!(blocks.contains(&0) && blocks.contains(&u32::MAX));
    assert!(vectors.cases.iter().any(|c| c.primary_type == "BalanceProof" && c.signer != c.message.sender));
    assert!(vectors.cases.iter().any(|c| c.primary_type == "ClosingProof" && c.signer == c.message.receiver));
}

#[test]
fn domain_matches() {
    let vectors = vectors();
    assert_eq!(vectors.domain.name, uraiden_protocol::DOMAIN_NAME);
    assert_eq!(vectors.domain.version, uraiden_protocol::DOMAIN_VERSION);
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    assert_eq!(domain.separator(), vectors.domain_separator);
    assert_eq!(domain.hash_struct(), vectors.domain_separator);
    assert_eq!(BalanceProof::default().eip712_type_hash(), vectors.type_hashes.balance_proof);
    assert_eq!(ClosingProof::default().eip712_type_hash(), vectors.type_hashes.closing_proof);
}

#[test]
fn every_case_hashes_signs_recovers_and_renders_like_the_vector() {
    let vectors = vectors();
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    for case in &vectors.cases {
        let name = &case.name;
        let key = LocalSigningKey::from_hex(&case.private_key).expect("vector key");
        assert_eq!(key.address(), case.signer, "{name}: key's address");

        let computed = compute(case, &domain, &key);
        let expected_type_hash = match case.primary_type.as_str() {
            "BalanceProof" => vectors.type_hashes.balance_proof,
            _ => vectors.type_hashes.closing_proof,
        };
        assert_eq!(computed.type_hash, expected_type_hash, "{name}: type hash");
        assert_eq!(computed.struct_hash, case.struct_hash, "{name}: struct hash");
        assert_eq!(computed.digest, case.digest, "{name}: digest");
        assert_eq!(computed.signature.to_hex(), case.signature, "{name}: RFC 6979 signature");
        assert_eq!(computed.recovered, case.signer, "{name}: recovered signer");
        assert_eq!(computed.typed_data, case.typed_data, "{name}: eth_signTypedData_v4 JSON");

        // The vector's signature parses strictly and recovers from the vector's digest alone.
        let vector_signature: ProofSignature = case.signature.parse().expect("vector signature is strict");
        assert_eq!(recover_signer(&case.digest, &vector_signature).expect("recovers"), case.signer, "{name}");
        assert_eq!(vector_signature.to_hex(), case.signature, "{name}: hex round trip");
    }
}

#[test]
fn the_typed_data_json_hashes_to_the_static_digest_with_a_dynamic_eip712_implementation() {
    let vectors = vectors();
    let domain = channel_manager_domain(vectors.domain.chain_id, vectors.domain.verifying_contract);
    for case in &vectors.cases {
        let key = LocalSigningKey::from_hex(&case.private_key).expect("vector key");
        let ours = compute(case, &domain, &key).typed_data;
        for (which, json) in [("vector", &case.typed_data), ("crate", &ours)] {
            let typed: TypedData =
                serde_json::from_value(json.clone()).expect("wallet JSON parses as TypedData");
            assert_eq!(typed.primary_type, case.primary_type);
            assert_eq!(typed.domain().separator(), vectors.domain_separator, "{}: {which} domain", case.name);
            assert_eq!(
                typed.eip712_signing_hash().expect("hashes"),
                case.digest,
                "{}: {which} typed data hashes to the sol! digest",
                case.name
            );
        }
    }
}

#[test]
fn typed_data_hex_and_addresses_are_lowercase() {
    for case in vectors().cases {
        let text = case.typed_data.to_string();
        for address in [case.message.sender, case.message.receiver] {
            assert!(text.contains(&format!("{address:#x}")), "{}: lowercase address", case.name);
        }
        assert_eq!(case.signature, case.signature.to_lowercase());
        assert_eq!(case.private_key, case.private_key.to_lowercase());
    }
}
