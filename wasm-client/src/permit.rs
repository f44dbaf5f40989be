//! EIP-2612 permits for `openChannel({ method: "permit" })`: the typed data the wallet signs
//! with `eth_signTypedData_v4`, and the check that the signature is the owner's before a
//! transaction is spent on it (the contract ignores a failing permit and then reverts on the
//! missing allowance, which says less).
//!
//! The digest comes from the protocol crate's generic EIP-712 hashing; the tests check that
//! the JSON handed to the wallet hashes to the same digest.

use std::borrow::Cow;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, Eip712Domain};
use uraiden_protocol::{eip712_signing_hash, recover_signer, typed_data_json, Json, ProofSignature};

use crate::{
    abi::TokenDomain,
    error::{ErrorKind, Result, UraidenError},
};

sol! {
    /// EIP-2612 `Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)`.
    #[derive(Debug)]
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

/// ERC-5267 field bits: name, version, chainId, verifyingContract (no salt, no extensions).
const NAME_VERSION_CHAIN_CONTRACT: u8 = 0x0f;

/// A permit of `value` tokens from `owner` to `spender`.
#[derive(Clone, Debug)]
pub struct PermitRequest {
    pub domain: TokenDomain,
    pub owner: Address,
    pub spender: Address,
    pub value: U256,
    pub nonce: U256,
    pub deadline: U256,
}

impl PermitRequest {
    /// Refuses a token domain this client cannot sign for, or one of another chain or token.
    pub fn check_domain(&self, chain_id: u64, token: Address) -> Result<()> {
        let domain = &self.domain;
        if domain.fields != NAME_VERSION_CHAIN_CONTRACT {
            return Err(UraidenError::invalid_argument(
                "method",
                format!(
                    "\"permit\" supports tokens whose EIP-712 domain is (name, version, chainId, \
                     verifyingContract); this token's uses fields {:#04x}: open with method \"approve\"",
                    domain.fields
                ),
            ));
        }
        if domain.chain_id != U256::from(chain_id) || domain.verifying_contract != token {
            return Err(UraidenError::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the token's EIP-712 domain names chain {} and contract {}, not chain {chain_id} and the token {token}",
                    domain.chain_id, domain.verifying_contract
                ),
            ));
        }
        Ok(())
    }

    fn eip712_domain(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some(Cow::Owned(self.domain.name.clone())),
            Some(Cow::Owned(self.domain.version.clone())),
            Some(self.domain.chain_id),
            Some(self.domain.verifying_contract),
            None,
        )
    }

    fn permit(&self) -> Permit {
        Permit {
            owner: self.owner,
            spender: self.spender,
            value: self.value,
            nonce: self.nonce,
            deadline: self.deadline,
        }
    }

    /// The JSON string to pass to `eth_signTypedData_v4`.
    pub fn typed_data_json(&self) -> String {
        typed_data_json::<Permit>(
            &self.eip712_domain(),
            Json::object([
                ("owner", Json::string(format!("{:#x}", self.owner))),
                ("spender", Json::string(format!("{:#x}", self.spender))),
                ("value", Json::string(self.value.to_string())),
                ("nonce", Json::string(self.nonce.to_string())),
                ("deadline", Json::string(self.deadline.to_string())),
            ]),
        )
        .to_string()
    }

    /// Checks that `signature` is the owner's permit.
    pub fn verify(&self, signature: &ProofSignature) -> Result<()> {
        let digest = eip712_signing_hash(&self.eip712_domain(), &self.permit());
        let signer = recover_signer(&digest, signature)?;
        if signer != self.owner {
            return Err(UraidenError::new(
                ErrorKind::InvalidSignature,
                format!("the wallet signed the permit as {signer}, not as the sender {}", self.owner),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_dyn_abi::TypedData;
    use alloy_primitives::{address, B256};
    use uraiden_protocol::LocalSigningKey;

    const TOKEN: Address = address!("5fbdb2315678afecb367f032d93f642f64180aa3");
    const MANAGER: Address = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");

    fn request(owner: Address) -> PermitRequest {
        PermitRequest {
            domain: TokenDomain {
                fields: 0x0f,
                name: "Custom Token".into(),
                version: "1".into(),
                chain_id: U256::from(31337),
                verifying_contract: TOKEN,
            },
            owner,
            spender: MANAGER,
            value: U256::from(10).pow(U256::from(20)),
            nonce: U256::from(2),
            deadline: U256::from(1_900_000_000u64),
        }
    }

    #[test]
    fn the_wallets_json_hashes_to_the_digest_we_verify() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(3)).unwrap();
        let request = request(key.address());
        let typed: TypedData = serde_json::from_str(&request.typed_data_json()).unwrap();
        let digest = eip712_signing_hash(&request.eip712_domain(), &request.permit());
        assert_eq!(typed.eip712_signing_hash().unwrap(), digest);
        let signature = key.sign_digest(&digest).unwrap();
        request.verify(&signature).unwrap();
        let mut other = request.clone();
        other.nonce = U256::from(3);
        assert_eq!(other.verify(&signature).unwrap_err().kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn domains_it_cannot_sign_for_are_refused_by_name() {
        let ok = request(Address::ZERO);
        ok.check_domain(31337, TOKEN).unwrap();
        let mut salted = ok.clone();
        salted.domain.fields = 0x1f;
        let err = salted.check_domain(31337, TOKEN).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("0x1f: open with method \"approve\""), "{}", err.message());
        assert_eq!(ok.check_domain(1, TOKEN).unwrap_err().kind(), ErrorKind::InvalidResponse);
        assert_eq!(ok.check_domain(31337, MANAGER).unwrap_err().kind(), ErrorKind::InvalidResponse);
    }
}
