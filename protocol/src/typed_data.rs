//! The JSON a wallet is asked to sign with `eth_signTypedData_v4`.
//!
//! Built from the same `sol!` definitions as the hashes, in the shape wallets and viem use:
//! lowercase `0x` addresses, `chainId` and `openBlockNumber` as JSON numbers, and `balance`
//! as a decimal string (a `uint192` does not fit a JavaScript number). Hashing this JSON with
//! any EIP-712 implementation gives [`SolStruct::eip712_signing_hash`]; the known-answer
//! vectors check that.

use alloy_primitives::{aliases::U192, Address};
use alloy_sol_types::{Eip712Domain, SolStruct};

use crate::{
    eip712::{BalanceProof, CloseRequest, ClosingProof, StatusRequest},
    json::Json,
};

/// The `eth_signTypedData_v4` JSON for a sender's balance proof.
pub fn balance_proof_typed_data(domain: &Eip712Domain, proof: &BalanceProof) -> Json {
    proof_typed_data::<BalanceProof>(
        domain,
        proof.sender,
        proof.receiver,
        proof.openBlockNumber,
        proof.balance,
    )
}

/// The `eth_signTypedData_v4` JSON for a receiver's closing proof.
pub fn closing_proof_typed_data(domain: &Eip712Domain, proof: &ClosingProof) -> Json {
    proof_typed_data::<ClosingProof>(
        domain,
        proof.sender,
        proof.receiver,
        proof.openBlockNumber,
        proof.balance,
    )
}

/// The `eth_signTypedData_v4` JSON for a sender's close request (`deadline` a decimal string,
/// like every integer that may not fit a JavaScript number).
pub fn close_request_typed_data(domain: &Eip712Domain, request: &CloseRequest) -> Json {
    typed_data_json::<CloseRequest>(
        domain,
        Json::object([
            ("sender", lower_hex(&request.sender)),
            ("receiver", lower_hex(&request.receiver)),
            ("openBlockNumber", Json::number(request.openBlockNumber.into())),
            ("balance", Json::string(request.balance.to_string())),
            ("deadline", Json::string(request.deadline.to_string())),
        ]),
    )
}

/// The `eth_signTypedData_v4` JSON for a sender's status request.
pub fn status_request_typed_data(domain: &Eip712Domain, request: &StatusRequest) -> Json {
    typed_data_json::<StatusRequest>(
        domain,
        Json::object([
            ("sender", lower_hex(&request.sender)),
            ("receiver", lower_hex(&request.receiver)),
            ("openBlockNumber", Json::number(request.openBlockNumber.into())),
            ("deadline", Json::string(request.deadline.to_string())),
        ]),
    )
}

/// Both proofs have the same fields; only the primary type's name differs.
fn proof_typed_data<T: SolStruct>(
    domain: &Eip712Domain,
    sender: Address,
    receiver: Address,
    open_block_number: u32,
    balance: U192,
) -> Json {
    typed_data_json::<T>(
        domain,
        Json::object([
            ("sender", lower_hex(&sender)),
            ("receiver", lower_hex(&receiver)),
            ("openBlockNumber", Json::number(open_block_number.into())),
            ("balance", Json::string(balance.to_string())),
        ]),
    )
}

/// The `eth_signTypedData_v4` JSON for a message of the single-struct `sol!` type `T` in
/// `domain`: the types come from `T`'s own definition, the message as the caller wrote it
/// (addresses lowercase `0x`, big integers as decimal strings).
pub fn typed_data_json<T: SolStruct>(domain: &Eip712Domain, message: Json) -> Json {
    struct_typed_data_json(domain, T::NAME, &T::eip712_root_type(), message)
}

/// [`typed_data_json`] of the struct `name` whose EIP-712 root type is `root_type`: not generic,
/// so the browser library holds one copy for all its structs.
fn struct_typed_data_json(domain: &Eip712Domain, name: &str, root_type: &str, message: Json) -> Json {
    // The field list comes from the `sol!` definition itself: `Name(type name,type name,…)`.
    let fields = root_type
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('('))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_default()
        .split(',')
        .filter_map(|field| field.split_once(' '))
        .map(|(ty, name)| field_type(name, ty))
        .collect();
    Json::object([
        ("types", Json::object([("EIP712Domain", domain_fields(domain)), (name, Json::Array(fields))])),
        ("primaryType", Json::string(name)),
        ("domain", domain_json(domain)),
        ("message", message),
    ])
}

/// `{ "name": name, "type": ty }`.
fn field_type(name: &str, ty: &str) -> Json {
    Json::object([("name", Json::string(name)), ("type", Json::string(ty))])
}

/// The `EIP712Domain` type: exactly the fields the domain sets, in the EIP's order.
fn domain_fields(domain: &Eip712Domain) -> Json {
    let present = [
        (domain.name.is_some(), "name", "string"),
        (domain.version.is_some(), "version", "string"),
        (domain.chain_id.is_some(), "chainId", "uint256"),
        (domain.verifying_contract.is_some(), "verifyingContract", "address"),
        (domain.salt.is_some(), "salt", "bytes32"),
    ];
    Json::Array(
        present.into_iter().filter(|(set, ..)| *set).map(|(_, name, ty)| field_type(name, ty)).collect(),
    )
}

fn domain_json(domain: &Eip712Domain) -> Json {
    let mut members = Vec::new();
    if let Some(name) = &domain.name {
        members.push(("name", Json::string(name.as_ref())));
    }
    if let Some(version) = &domain.version {
        members.push(("version", Json::string(version.as_ref())));
    }
    if let Some(chain_id) = domain.chain_id {
        // Every real chain id fits a JSON number; keep a decimal string otherwise.
        let value = u64::try_from(chain_id).map_or_else(|_| Json::string(chain_id.to_string()), Json::number);
        members.push(("chainId", value));
    }
    if let Some(contract) = &domain.verifying_contract {
        members.push(("verifyingContract", lower_hex(contract)));
    }
    if let Some(salt) = &domain.salt {
        members.push(("salt", Json::string(format!("{salt:#x}"))));
    }
    Json::object(members)
}

fn lower_hex(address: &Address) -> Json {
    Json::string(format!("{address:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eip712::channel_manager_domain;
    use alloy_primitives::{address, U256};
    use serde_json::{json, Value};

    /// Our JSON as serde_json reads it (what a wallet receives is the text).
    fn value(json: Json) -> Value {
        serde_json::from_str(&json.to_string()).expect("valid JSON")
    }

    #[test]
    fn balance_proof_json_has_the_wallet_shape() {
        let domain = channel_manager_domain(31337, address!("E7f1725E7734CE288F8367e1Bb143E90bb3F0512"));
        let proof = BalanceProof {
            sender: address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
            receiver: address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            openBlockNumber: 4_294_967_295,
            balance: U192::MAX,
        };
        let expected = json!({
            "types": {
                "EIP712Domain": [
                    { "name": "name", "type": "string" },
                    { "name": "version", "type": "string" },
                    { "name": "chainId", "type": "uint256" },
                    { "name": "verifyingContract", "type": "address" },
                ],
                "BalanceProof": [
                    { "name": "sender", "type": "address" },
                    { "name": "receiver", "type": "address" },
                    { "name": "openBlockNumber", "type": "uint32" },
                    { "name": "balance", "type": "uint192" },
                ],
            },
            "primaryType": "BalanceProof",
            "domain": {
                "name": "MicroTransferChannels",
                "version": "1",
                "chainId": 31337,
                "verifyingContract": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            },
            "message": {
                "sender": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
                "receiver": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "openBlockNumber": 4_294_967_295u32,
                "balance": "6277101735386680763835789423207666416102355444464034512895",
            },
        });
        assert_eq!(value(balance_proof_typed_data(&domain, &proof)), expected);
    }

    #[test]
    fn closing_proof_json_names_its_type() {
        let domain = channel_manager_domain(1, Address::repeat_byte(0xab));
        let proof = ClosingProof {
            sender: Address::repeat_byte(1),
            receiver: Address::repeat_byte(2),
            openBlockNumber: 0,
            balance: U192::ZERO,
        };
        let json = value(closing_proof_typed_data(&domain, &proof));
        assert_eq!(json["primaryType"], "ClosingProof");
        assert!(json["types"]["ClosingProof"].is_array());
        assert!(json["types"].get("BalanceProof").is_none());
        assert_eq!(json["message"]["balance"], "0");
        assert_eq!(json["message"]["openBlockNumber"], 0);
        assert_eq!(json["domain"]["chainId"], 1);
    }

    #[test]
    fn domain_lists_only_present_fields() {
        let domain = Eip712Domain::new(Some("x".into()), None, Some(U256::MAX), None, None);
        let proof = BalanceProof::default();
        let json = value(balance_proof_typed_data(&domain, &proof));
        assert_eq!(
            json["types"]["EIP712Domain"],
            json!([{ "name": "name", "type": "string" }, { "name": "chainId", "type": "uint256" }])
        );
        assert_eq!(json["domain"], json!({ "name": "x", "chainId": U256::MAX.to_string() }));
    }
}
