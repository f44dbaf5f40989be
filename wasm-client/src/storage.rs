//! The `localStorage` record of a channel: one entry per (chain, contract, account, receiver),
//! so a reload resumes the channel and its session key without a wallet prompt.
//!
//! The session key is stored in the clear: any script on the page's origin can read it, and
//! it can spend at most the channel's deposit. That is the trade for signing without prompts.

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use uraiden_protocol::{parse_amount, ChannelId, LocalSigningKey, ProofSignature};

use crate::{
    channel::ChannelState,
    error::{ErrorKind, Result, UraidenError},
};

/// The `localStorage` key of the channel from `account` to `receiver`.
pub fn storage_key(chain_id: u64, contract: Address, account: Address, receiver: Address) -> String {
    format!("uraiden:v1:{chain_id}:{contract:#x}:{account:#x}:{receiver:#x}")
}

/// The stored JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredChannel {
    open_block_number: u32,
    /// Decimal strings: JSON numbers lose precision above 2^53.
    deposit: String,
    balance: String,
    /// `0x` hex of the signature over `balance`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    balance_signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_key: Option<B256>,
    /// Written by earlier versions for a channel loaded from the chain whose signer's key this
    /// browser did not hold; such a record is refused now (see `recovered_channel`).
    #[serde(default, skip_serializing)]
    lost_signer: Option<Address>,
}

/// The JSON stored for `channel`.
pub fn to_json(channel: &ChannelState) -> String {
    let stored = StoredChannel {
        open_block_number: channel.id.open_block_number,
        deposit: channel.deposit.to_string(),
        balance: channel.balance.to_string(),
        balance_signature: channel.last_signature.as_ref().map(ProofSignature::to_hex),
        session_key: channel.session_key.as_ref().map(LocalSigningKey::to_secret_bytes),
        lost_signer: None,
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

/// The channel stored as `json` for `sender` → `receiver`.
pub fn from_json(json: &str, sender: Address, receiver: Address) -> Result<ChannelState> {
    let unreadable = |problem: String| {
        UraidenError::new(
            ErrorKind::Storage,
            format!("the stored channel is unreadable ({problem}); forgetStoredChannel() removes it"),
        )
    };
    let stored: StoredChannel = serde_json::from_str(json).map_err(|e| unreadable(e.to_string()))?;
    if let Some(signer) = stored.lost_signer {
        return Err(UraidenError::new(
            ErrorKind::NoChannel,
            format!(
                "the stored channel opened in block {} is signed for by {signer}, a key this browser does \
                 not hold, so it is not used (whoever holds that key can spend its deposit); \
                 forgetStoredChannel() removes it",
                stored.open_block_number
            ),
        ));
    }
    let deposit = parse_amount(&stored.deposit).map_err(|e| unreadable(e.to_string()))?;
    let balance = parse_amount(&stored.balance).map_err(|e| unreadable(e.to_string()))?;
    let session_key = stored
        .session_key
        .map(|bytes| LocalSigningKey::from_bytes(&bytes))
        .transpose()
        .map_err(|e| unreadable(e.to_string()))?;
    let last_signature = stored
        .balance_signature
        .map(|hex| ProofSignature::from_hex(&hex))
        .transpose()
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(ChannelState {
        id: ChannelId::new(sender, receiver, stored.open_block_number),
        deposit,
        balance,
        last_signature,
        session_key,
    })
}

/// The page's `localStorage`.
fn local_storage() -> Result<web_sys::Storage> {
    use wasm_bindgen::JsCast;
    let unavailable =
        || UraidenError::new(ErrorKind::Storage, "localStorage is not available in this context");
    let window: web_sys::Window = js_sys::global().dyn_into().map_err(|_| unavailable())?;
    window.local_storage().ok().flatten().ok_or_else(unavailable)
}

/// Reads the entry under `key`.
pub fn load(key: &str) -> Result<Option<String>> {
    local_storage()?
        .get_item(key)
        .map_err(|_| UraidenError::new(ErrorKind::Storage, "reading localStorage failed"))
}

/// Writes the entry under `key`.
pub fn save(key: &str, json: &str) -> Result<()> {
    local_storage()?.set_item(key, json).map_err(|_| {
        UraidenError::new(
            ErrorKind::Storage,
            "writing localStorage failed (quota exceeded or storage disabled)",
        )
    })
}

/// Removes the entry under `key`.
pub fn remove(key: &str) -> Result<()> {
    local_storage()?
        .remove_item(key)
        .map_err(|_| UraidenError::new(ErrorKind::Storage, "removing from localStorage failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;
    use uraiden_protocol::U192;

    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");

    #[test]
    fn keys_are_lowercase_and_name_every_part() {
        let contract = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");
        assert_eq!(
            storage_key(31337, contract, SENDER, RECEIVER),
            "uraiden:v1:31337:0xe7f1725e7734ce288f8367e1bb143e90bb3f0512:\
             0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc:0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
        assert_ne!(
            storage_key(1, contract, SENDER, RECEIVER),
            storage_key(31337, contract, SENDER, RECEIVER)
        );
        assert_ne!(storage_key(1, contract, SENDER, RECEIVER), storage_key(1, contract, RECEIVER, SENDER));
    }

    #[test]
    fn channels_round_trip_with_and_without_session_key() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(4)).unwrap();
        let id = ChannelId::new(SENDER, RECEIVER, 12);
        let domain = uraiden_protocol::channel_manager_domain(1, RECEIVER);
        let signature = key.sign_balance_proof(&domain, &id.balance_proof(U192::from(35))).unwrap();
        for channel in [ChannelState::new(id, U192::MAX, None), ChannelState::new(id, U192::MAX, Some(key))] {
            for last_signature in [None, Some(signature)] {
                let channel = channel.clone().with_balance(U192::from(35), last_signature);
                let loaded = from_json(&to_json(&channel), SENDER, RECEIVER).unwrap();
                assert_eq!(
                    (loaded.id, loaded.deposit, loaded.balance, loaded.last_signature),
                    (channel.id, channel.deposit, channel.balance, channel.last_signature)
                );
                assert_eq!(loaded.signer(), channel.signer());
            }
        }
        // Records written before balanceSignature existed still load.
        let json = to_json(&ChannelState::new(id, U192::from(10), None));
        assert_eq!(json, r#"{"openBlockNumber":12,"deposit":"10","balance":"0"}"#);
    }

    #[test]
    fn records_of_channels_whose_signer_key_is_not_held_are_refused() {
        // An earlier version stored a channel loaded from the chain with a signer it did not hold.
        let json = r#"{"openBlockNumber":12,"deposit":"10","balance":"0","lostSigner":"0xadadadadadadadadadadadadadadadadadadadad"}"#;
        let err = from_json(json, SENDER, RECEIVER).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoChannel);
        assert!(
            err.message().to_lowercase().contains("block 12 is signed for by 0xadadadad"),
            "{}",
            err.message()
        );
        assert!(err.message().ends_with("forgetStoredChannel() removes it"));
    }

    #[test]
    fn damaged_entries_say_how_to_recover() {
        for bad in ["", "{}", r#"{"openBlockNumber":1,"deposit":"-1","balance":"0"}"#, "[1]"] {
            let err = from_json(bad, SENDER, RECEIVER).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Storage);
            assert!(err.message().ends_with("forgetStoredChannel() removes it"), "{bad}");
        }
    }
}
