//! The one definition of the messages a channel's parties sign (EIP-712 v4), and their domain.
//!
//! The sender (or its delegated signer) signs a [`BalanceProof`]; the receiver countersigns
//! a [`ClosingProof`] for a cooperative close. Two more messages never reach the chain: a
//! [`CloseRequest`] and a [`StatusRequest`], signed *now* by the sender or its signer to ask the
//! receiver for a closing signature or for its last accepted proof (see `requests`). All four
//! are hashed under the channel manager's domain ([`channel_manager_domain`]); [`SolStruct::eip712_signing_hash`] gives the digest
//! that is signed and recovered. The contract, the wasm client and the server are all checked
//! against the same known-answer vectors (`tests/vectors/eip712.json`).

use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{sol, Eip712Domain, SolStruct};

/// The EIP-712 domain name of `RaidenMicroTransferChannels`.
pub const DOMAIN_NAME: &str = "MicroTransferChannels";

/// The EIP-712 domain version of `RaidenMicroTransferChannels`.
pub const DOMAIN_VERSION: &str = "1";

sol! {
    /// A sender's signed promise: the receiver may take `balance` tokens, cumulative over the
    /// channel's life, from the channel `(sender, receiver, openBlockNumber)`.
    ///
    /// EIP-712: `BalanceProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)`.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct BalanceProof {
        address sender;
        address receiver;
        uint32 openBlockNumber;
        uint192 balance;
    }

    /// The receiver's agreement to close the channel at `balance`, needed for
    /// `cooperativeClose` together with the sender's [`BalanceProof`].
    ///
    /// EIP-712: `ClosingProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)`.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct ClosingProof {
        address sender;
        address receiver;
        uint32 openBlockNumber;
        uint192 balance;
    }

    /// The sender's (or its signer's) request, valid until `deadline` (unix seconds), that the
    /// receiver co-sign closing the channel at `balance`, its last accepted balance. The
    /// receiver's `DELETE /api/1/channels/…` takes this, not a balance proof: proofs travel in
    /// headers and cookies and leak, a close request is made for one close.
    ///
    /// EIP-712: `CloseRequest(address sender,address receiver,uint32 openBlockNumber,uint192 balance,uint64 deadline)`.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct CloseRequest {
        address sender;
        address receiver;
        uint32 openBlockNumber;
        uint192 balance;
        uint64 deadline;
    }

    /// The sender's (or its signer's) request, valid until `deadline` (unix seconds), for the
    /// receiver's last accepted proof of the channel. It has no balance: the client that asks
    /// has lost track of it. A type of its own, so a status request, which travels with paying
    /// requests, can never authorise a close.
    ///
    /// EIP-712: `StatusRequest(address sender,address receiver,uint32 openBlockNumber,uint64 deadline)`.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct StatusRequest {
        address sender;
        address receiver;
        uint32 openBlockNumber;
        uint64 deadline;
    }
}

/// The EIP-712 domain of a `RaidenMicroTransferChannels` deployment:
/// `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)` with
/// [`DOMAIN_NAME`] and [`DOMAIN_VERSION`].
pub fn channel_manager_domain(chain_id: u64, verifying_contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(verifying_contract),
        None,
    )
}

/// The digest a wallet signs for `message` under `domain`
/// (`keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`).
///
/// The same as [`SolStruct::eip712_signing_hash`], as a function whose generic part is only the
/// struct's own hash (the browser library signs several structs: one copy of the rest).
pub fn eip712_signing_hash<T: SolStruct>(domain: &Eip712Domain, message: &T) -> B256 {
    signing_digest(domain, &message.eip712_hash_struct())
}

/// `keccak256(0x1901 ‖ domainSeparator ‖ struct_hash)`.
fn signing_digest(domain: &Eip712Domain, struct_hash: &B256) -> B256 {
    let mut input = [0u8; 2 + 32 + 32];
    input[..2].copy_from_slice(&[0x19, 0x01]);
    input[2..34].copy_from_slice(domain.separator().as_slice());
    input[34..].copy_from_slice(struct_hash.as_slice());
    keccak256(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, aliases::U192, keccak256};

    #[test]
    fn encode_types_are_the_spec_strings() {
        let spec = "(address sender,address receiver,uint32 openBlockNumber,uint192 balance)";
        assert_eq!(BalanceProof::eip712_encode_type(), format!("BalanceProof{spec}"));
        assert_eq!(ClosingProof::eip712_encode_type(), format!("ClosingProof{spec}"));
        assert_eq!(
            BalanceProof::eip712_type_hash(&BalanceProof::default()),
            keccak256(format!("BalanceProof{spec}"))
        );
        assert_eq!(
            CloseRequest::eip712_encode_type(),
            "CloseRequest(address sender,address receiver,uint32 openBlockNumber,uint192 balance,uint64 deadline)"
        );
        assert_eq!(
            StatusRequest::eip712_encode_type(),
            "StatusRequest(address sender,address receiver,uint32 openBlockNumber,uint64 deadline)"
        );
    }

    #[test]
    fn domain_has_all_four_fields_and_nothing_else() {
        let contract = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");
        let domain = channel_manager_domain(31337, contract);
        assert_eq!(domain.name.as_deref(), Some("MicroTransferChannels"));
        assert_eq!(domain.version.as_deref(), Some("1"));
        assert_eq!(domain.chain_id, Some(U256::from(31337)));
        assert_eq!(domain.verifying_contract, Some(contract));
        assert_eq!(domain.salt, None);
        assert_eq!(
            domain.encode_type(),
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
        );
    }

    #[test]
    fn balance_and_closing_proofs_of_the_same_values_have_different_digests() {
        let domain = channel_manager_domain(1, Address::repeat_byte(0x11));
        let balance = BalanceProof {
            sender: Address::repeat_byte(1),
            receiver: Address::repeat_byte(2),
            openBlockNumber: 7,
            balance: U192::from(5),
        };
        let closing = ClosingProof {
            sender: balance.sender,
            receiver: balance.receiver,
            openBlockNumber: balance.openBlockNumber,
            balance: balance.balance,
        };
        assert_eq!(eip712_signing_hash(&domain, &balance), balance.eip712_signing_hash(&domain));
        assert_eq!(eip712_signing_hash(&domain, &closing), closing.eip712_signing_hash(&domain));
        assert_ne!(eip712_signing_hash(&domain, &balance), eip712_signing_hash(&domain, &closing));
        // The domain binds the chain and the contract.
        let other_chain = channel_manager_domain(2, Address::repeat_byte(0x11));
        let other_contract = channel_manager_domain(1, Address::repeat_byte(0x12));
        assert_ne!(eip712_signing_hash(&domain, &balance), eip712_signing_hash(&other_chain, &balance));
        assert_ne!(eip712_signing_hash(&domain, &balance), eip712_signing_hash(&other_contract, &balance));
    }
}
