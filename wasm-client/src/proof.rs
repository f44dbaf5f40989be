//! Stateless proof helpers: the `eth_signTypedData_v4` JSON of a balance proof and signer
//! recovery, for pages that manage channels themselves.

use uraiden_protocol::{
    balance_proof_typed_data, channel_manager_domain, parse_address, parse_amount,
    recover_balance_proof_signer, ChannelId, ProofSignature,
};
use wasm_bindgen::prelude::*;

/// The fields that name a balance proof, as JS passes them (`0x` strings, decimal balance).
struct ProofFields<'a> {
    chain_id: u64,
    contract: &'a str,
    sender: &'a str,
    receiver: &'a str,
    open_block_number: u32,
    balance: &'a str,
}

impl ProofFields<'_> {
    fn parse(&self) -> Result<(uraiden_protocol::Eip712Domain, uraiden_protocol::BalanceProof), String> {
        let contract = parse_address(self.contract).map_err(|e| format!("contract: {e}"))?;
        let sender = parse_address(self.sender).map_err(|e| format!("sender: {e}"))?;
        let receiver = parse_address(self.receiver).map_err(|e| format!("receiver: {e}"))?;
        let balance = parse_amount(self.balance).map_err(|e| format!("balance: {e}"))?;
        let domain = channel_manager_domain(self.chain_id, contract);
        Ok((domain, ChannelId::new(sender, receiver, self.open_block_number).balance_proof(balance)))
    }

    fn typed_data_json(&self) -> Result<String, String> {
        let (domain, proof) = self.parse()?;
        Ok(balance_proof_typed_data(&domain, &proof).to_string())
    }

    fn recover_signer(&self, signature: &str) -> Result<String, String> {
        let (domain, proof) = self.parse()?;
        let signature = ProofSignature::from_hex(signature).map_err(|e| format!("signature: {e}"))?;
        let signer = recover_balance_proof_signer(&domain, &proof, &signature).map_err(|e| e.to_string())?;
        Ok(signer.to_checksum(None))
    }
}

/// The JSON string to pass to `eth_signTypedData_v4` for a balance proof.
#[wasm_bindgen(js_name = balanceProofTypedData)]
pub fn balance_proof_typed_data_json(
    #[wasm_bindgen(js_name = chainId)] chain_id: u64,
    contract: &str,
    sender: &str,
    receiver: &str,
    #[wasm_bindgen(js_name = openBlockNumber)] open_block_number: u32,
    #[wasm_bindgen(param_description = "the cumulative balance in decimal")] balance: &str,
) -> Result<String, JsError> {
    ProofFields { chain_id, contract, sender, receiver, open_block_number, balance }
        .typed_data_json()
        .map_err(|message| JsError::new(&message))
}

/// The checksummed address that signed a balance proof; throws for a signature the
/// contract would reject.
#[wasm_bindgen(js_name = recoverBalanceProofSigner)]
pub fn recover_balance_proof_signer_js(
    #[wasm_bindgen(js_name = chainId)] chain_id: u64,
    contract: &str,
    sender: &str,
    receiver: &str,
    #[wasm_bindgen(js_name = openBlockNumber)] open_block_number: u32,
    #[wasm_bindgen(param_description = "the cumulative balance in decimal")] balance: &str,
    signature: &str,
) -> Result<String, JsError> {
    ProofFields { chain_id, contract, sender, receiver, open_block_number, balance }
        .recover_signer(signature)
        .map_err(|message| JsError::new(&message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uraiden_protocol::{LocalSigningKey, B256};

    fn fields(balance: &str) -> ProofFields<'_> {
        ProofFields {
            chain_id: 31337,
            contract: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            sender: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
            receiver: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            open_block_number: 7,
            balance,
        }
    }

    #[test]
    fn typed_data_is_what_the_protocol_crate_hashes() {
        let json: serde_json::Value =
            serde_json::from_str(&fields("1000").typed_data_json().unwrap()).unwrap();
        assert_eq!(json["primaryType"], "BalanceProof");
        assert_eq!(json["message"]["balance"], "1000");
        assert_eq!(json["domain"]["chainId"], 31337);
    }

    #[test]
    fn recovers_the_signing_key_and_names_bad_fields() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(9)).unwrap();
        let (domain, proof) = fields("5").parse().unwrap();
        let signature = key.sign_balance_proof(&domain, &proof).unwrap().to_hex();
        assert_eq!(fields("5").recover_signer(&signature).unwrap(), key.address().to_checksum(None));
        // The same signature over another balance names another signer.
        assert_ne!(fields("6").recover_signer(&signature).unwrap(), key.address().to_checksum(None));
        assert!(fields("-1").recover_signer(&signature).unwrap_err().starts_with("balance:"));
        assert!(fields("5").recover_signer("0x1234").unwrap_err().starts_with("signature:"));
    }
}
