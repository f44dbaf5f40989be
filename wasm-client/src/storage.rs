//! The `localStorage` records of an account's channels with a receiver: one entry per channel,
//! keyed by its open block, so opening another channel never overwrites one (nor its session
//! key), and one entry per channel being opened, written before its transaction is sent, so a
//! reload or a closed tab never loses the session key it registers.
//!
//! ```text
//! uraiden:v2:{chain}:{contract}:{account}:{receiver}:{openBlock}        a channel
//! uraiden:v2:{chain}:{contract}:{account}:{receiver}:pending:{signer}   an opening
//! uraiden:v1:{chain}:{contract}:{account}:{receiver}                    earlier versions' one
//!                                                                        channel, moved to v2 on read
//! ```
//!
//! The session key is stored in the clear: any script on the page's origin can read it, and
//! it can spend at most the channel's deposit. That is the trade for signing without prompts.

use alloy_primitives::{Address, B256};
use uraiden_protocol::{parse_amount, ChannelId, Json, LocalSigningKey, ProofSignature, U192};

use crate::{
    channel::{newest_first, sort_small_by_key, ChannelState},
    error::{ErrorKind, Result, UraidenError},
};

/// Where the records of the channels from `account` to `receiver` live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStore {
    sender: Address,
    receiver: Address,
    /// `uraiden:v2:{chain}:{contract}:{account}:{receiver}:`
    prefix: String,
    /// The single record earlier versions kept.
    v1_key: String,
}

impl ChannelStore {
    /// The records of the channels from `sender` to `receiver` through `contract` on `chain_id`.
    pub fn new(chain_id: u64, contract: Address, sender: Address, receiver: Address) -> Self {
        let scope = format!("{chain_id}:{contract:#x}:{sender:#x}:{receiver:#x}");
        Self {
            sender,
            receiver,
            prefix: format!("uraiden:v2:{scope}:"),
            v1_key: format!("uraiden:v1:{scope}"),
        }
    }

    /// The key of the channel opened in `open_block_number`.
    pub fn channel_key(&self, open_block_number: u32) -> String {
        format!("{}{open_block_number}", self.prefix)
    }

    /// The key of the opening whose session key is `signer`.
    pub fn pending_key(&self, signer: Address) -> String {
        format!("{}pending:{signer:#x}", self.prefix)
    }

    /// Stores `channel` under its open block.
    pub fn save(&self, channel: &ChannelState) -> Result<()> {
        save(&self.channel_key(channel.id.open_block_number), &to_json(channel))
    }

    /// Forgets the channel opened in `open_block_number`.
    pub fn remove(&self, open_block_number: u32) -> Result<()> {
        remove(&self.channel_key(open_block_number))
    }

    /// The stored channel opened in `open_block_number`, if any.
    pub fn load(&self, open_block_number: u32) -> Result<Option<ChannelState>> {
        self.migrate_v1()?;
        let key = self.channel_key(open_block_number);
        load(&key)?.map(|json| self.read_channel(&key, &json)).transpose()
    }

    /// Every stored channel, newest first.
    pub fn channels(&self) -> Result<Vec<ChannelState>> {
        self.migrate_v1()?;
        let blocks = keys_with_prefix(&self.prefix)?
            .iter()
            .filter_map(|key| key[self.prefix.len()..].parse::<u32>().ok())
            .map(u64::from)
            .collect();
        let mut channels = Vec::new();
        for block in newest_first(blocks)? {
            let key = self.channel_key(block);
            if let Some(json) = load(&key)? {
                channels.push(self.read_channel(&key, &json)?);
            }
        }
        Ok(channels)
    }

    /// Stores `pending` before its opening transaction is sent.
    pub fn save_pending(&self, pending: &PendingChannel) -> Result<()> {
        save(&self.pending_key(pending.signer()), &pending.to_json())
    }

    /// Forgets the opening whose session key is `signer` (mined and stored as a channel, or never sent).
    pub fn remove_pending(&self, signer: Address) -> Result<()> {
        remove(&self.pending_key(signer))
    }

    /// Every channel being opened, oldest first.
    pub fn pending(&self) -> Result<Vec<PendingChannel>> {
        let mut pending = Vec::new();
        for key in keys_with_prefix(&format!("{}pending:", self.prefix))? {
            if let Some(json) = load(&key)? {
                pending
                    .push(PendingChannel::from_json(&json, self.receiver).map_err(|e| unreadable(&key, &e))?);
            }
        }
        sort_small_by_key(&mut pending, |p| p.since_ms);
        Ok(pending)
    }

    fn read_channel(&self, key: &str, json: &str) -> Result<ChannelState> {
        from_json(json, self.sender, self.receiver).map_err(|problem| unreadable(key, &problem))
    }

    /// Moves an earlier version's record to its v2 key, keeping the v2 one when both exist
    /// and the v2 one is at least as far (so a restored backup never lowers a balance).
    fn migrate_v1(&self) -> Result<()> {
        let Some(json) = load(&self.v1_key)? else { return Ok(()) };
        let old = self.read_channel(&self.v1_key, &json)?;
        let key = self.channel_key(old.id.open_block_number);
        let newer = load(&key)?
            .and_then(|json| from_json(&json, self.sender, self.receiver).ok())
            .is_some_and(|current| current.balance >= old.balance);
        if !newer {
            save(&key, &to_json(&old))?;
        }
        remove(&self.v1_key)
    }
}

fn unreadable(key: &str, problem: &str) -> UraidenError {
    UraidenError::new(
        ErrorKind::Storage,
        format!("the stored channel {key} is unreadable ({problem}); localStorage.removeItem(\"{key}\") removes it"),
    )
}

/// The JSON stored for `channel` (read back by [`from_json`]): amounts as decimal strings (JSON
/// numbers lose precision above 2^53); `balanceSignature`, the signature over `balance`, when
/// known; `sessionKey` when this browser holds it; `signer`, the on-chain signer, when it is a
/// session key this browser does not hold (storage was cleared): the wallet signs, and that
/// key's proofs stay credible. Earlier versions wrote `signer` as `lostSigner`.
pub fn to_json(channel: &ChannelState) -> String {
    let mut fields = vec![
        ("openBlockNumber", Json::number(channel.id.open_block_number.into())),
        ("deposit", Json::string(channel.deposit.to_string())),
        ("balance", Json::string(channel.balance.to_string())),
    ];
    if let Some(signature) = &channel.last_signature {
        fields.push(("balanceSignature", Json::string(signature.to_hex())));
    }
    if let Some(key) = &channel.session_key {
        fields.push(("sessionKey", Json::string(format!("{:#x}", key.to_secret_bytes()))));
    }
    if channel.signer_key_lost() {
        fields.push(("signer", Json::string(format!("{:#x}", channel.signer()))));
    }
    Json::object(fields).to_string()
}

/// The channel stored as `json` for `sender` → `receiver`; the error says what is wrong.
pub fn from_json(
    json: &str,
    sender: Address,
    receiver: Address,
) -> core::result::Result<ChannelState, String> {
    let mut fields = Fields::parse(json)?;
    let open_block_number = fields.integer("openBlockNumber")?;
    let open_block_number =
        u32::try_from(open_block_number).map_err(|_| "openBlockNumber: above uint32".to_owned())?;
    let deposit = parse_amount(fields.string("deposit")?).map_err(|e| format!("deposit: {e}"))?;
    let balance = parse_amount(fields.string("balance")?).map_err(|e| format!("balance: {e}"))?;
    let session_key = fields
        .optional_b256("sessionKey")?
        .map(|bytes| LocalSigningKey::from_bytes(&bytes))
        .transpose()
        .map_err(|e| format!("sessionKey: {e}"))?;
    let last_signature = fields
        .optional_string("balanceSignature")?
        .map(ProofSignature::from_hex)
        .transpose()
        .map_err(|e| format!("balanceSignature: {e}"))?;
    let signer = match (fields.optional_address("signer")?, fields.optional_address("lostSigner")?) {
        (Some(_), Some(_)) => return Err("both signer and lostSigner".to_owned()),
        (signer, lost) => signer.or(lost),
    };
    fields.no_others()?;
    let id = ChannelId::new(sender, receiver, open_block_number);
    let channel = match (session_key, signer) {
        (None, Some(signer)) if signer != sender => ChannelState::signed_by_lost_key(id, deposit, signer),
        (session_key, _) => ChannelState::new(id, deposit, session_key),
    };
    Ok(channel.with_balance(balance, last_signature))
}

/// A channel being opened: its session key, stored before the opening transaction is sent and
/// matched to the `ChannelCreated` event whose signer is that key once it is mined.
#[derive(Clone, Debug)]
pub struct PendingChannel {
    pub receiver: Address,
    pub session_key: LocalSigningKey,
    pub deposit: U192,
    /// When it was stored (Unix milliseconds, this browser's clock).
    pub since_ms: u64,
    /// The chain's head before the transaction was sent: its event is in a later block.
    pub from_block: u64,
    /// The opening transaction, once the wallet named it.
    pub transaction_hash: Option<B256>,
}

impl PendingChannel {
    /// The signer the opening registers: the session key's address.
    pub fn signer(&self) -> Address {
        self.session_key.address()
    }

    /// The stored JSON of an opening (read back by `PendingChannel::from_json`).
    fn to_json(&self) -> String {
        let mut fields = vec![
            ("sessionKey", Json::string(format!("{:#x}", self.session_key.to_secret_bytes()))),
            ("deposit", Json::string(self.deposit.to_string())),
            ("sinceMs", Json::number(self.since_ms)),
            ("fromBlock", Json::number(self.from_block)),
        ];
        if let Some(hash) = &self.transaction_hash {
            fields.push(("transactionHash", Json::string(format!("{hash:#x}"))));
        }
        Json::object(fields).to_string()
    }

    fn from_json(json: &str, receiver: Address) -> core::result::Result<Self, String> {
        let mut fields = Fields::parse(json)?;
        let session_key = fields.optional_b256("sessionKey")?.ok_or("missing field `sessionKey`")?;
        let pending = Self {
            receiver,
            session_key: LocalSigningKey::from_bytes(&session_key).map_err(|e| format!("sessionKey: {e}"))?,
            deposit: parse_amount(fields.string("deposit")?).map_err(|e| format!("deposit: {e}"))?,
            since_ms: fields.integer("sinceMs")?,
            from_block: fields.integer("fromBlock")?,
            transaction_hash: fields.optional_b256("transactionHash")?,
        };
        fields.no_others()?;
        Ok(pending)
    }

    /// The channel it opened in `open_block_number`, with its session key.
    pub fn opened(&self, sender: Address, open_block_number: u32, deposit: U192) -> ChannelState {
        ChannelState::new(
            ChannelId::new(sender, self.receiver, open_block_number),
            deposit,
            Some(self.session_key.clone()),
        )
    }
}

/// A stored record's fields, read one by one from a parsed JSON object (the protocol crate's
/// small reader: serde_json and typed deserialisation would add tens of KB to the wasm).
struct Fields {
    object: Json,
    /// Every field read so far, so `no_others` can refuse the rest.
    known: Vec<&'static str>,
}

impl Fields {
    fn parse(json: &str) -> core::result::Result<Self, String> {
        match Json::parse(json).map_err(|e| e.to_string())? {
            object @ Json::Object(_) => Ok(Self { object, known: Vec::new() }),
            _ => Err("expected a JSON object".to_owned()),
        }
    }

    /// The field `name`, `None` when it is missing or null.
    fn get(&mut self, name: &'static str) -> Option<&Json> {
        self.known.push(name);
        self.object.get(name).filter(|value| !value.is_null())
    }

    fn optional_string(&mut self, name: &'static str) -> core::result::Result<Option<&str>, String> {
        self.get(name)
            .map(|value| value.as_str().ok_or_else(|| format!("{name}: expected a string")))
            .transpose()
    }

    fn string(&mut self, name: &'static str) -> core::result::Result<&str, String> {
        self.optional_string(name)?.ok_or_else(|| format!("missing field `{name}`"))
    }

    /// A non-negative integer number.
    fn integer(&mut self, name: &'static str) -> core::result::Result<u64, String> {
        let value = self.get(name).ok_or_else(|| format!("missing field `{name}`"))?;
        value.as_u64().ok_or_else(|| format!("{name}: expected a non-negative integer"))
    }

    /// `0x` and 64 hex digits.
    fn optional_b256(&mut self, name: &'static str) -> core::result::Result<Option<B256>, String> {
        self.optional_string(name)?
            .map(|hex| hex.parse::<B256>().map_err(|e| format!("{name}: {e}")))
            .transpose()
    }

    /// `0x` and 40 hex digits.
    fn optional_address(&mut self, name: &'static str) -> core::result::Result<Option<Address>, String> {
        self.optional_string(name)?
            .map(|hex| hex.parse::<Address>().map_err(|e| format!("{name}: {e}")))
            .transpose()
    }

    /// Refuses a field none of the reads named (a record of a newer version, or a damaged one).
    fn no_others(&self) -> core::result::Result<(), String> {
        let Json::Object(members) = &self.object else { return Ok(()) };
        match members.iter().find(|(key, _)| !self.known.contains(&key.as_str())) {
            Some((key, _)) => Err(format!("unknown field `{key}`")),
            None => Ok(()),
        }
    }
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
fn load(key: &str) -> Result<Option<String>> {
    local_storage()?
        .get_item(key)
        .map_err(|_| UraidenError::new(ErrorKind::Storage, "reading localStorage failed"))
}

/// Writes the entry under `key`.
fn save(key: &str, json: &str) -> Result<()> {
    local_storage()?.set_item(key, json).map_err(|_| {
        UraidenError::new(
            ErrorKind::Storage,
            "writing localStorage failed (quota exceeded or storage disabled)",
        )
    })
}

/// Removes the entry under `key`.
fn remove(key: &str) -> Result<()> {
    local_storage()?
        .remove_item(key)
        .map_err(|_| UraidenError::new(ErrorKind::Storage, "removing from localStorage failed"))
}

/// The keys that start with `prefix`.
fn keys_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let storage = local_storage()?;
    let failed = || UraidenError::new(ErrorKind::Storage, "reading localStorage failed");
    let length = storage.length().map_err(|_| failed())?;
    let mut keys = Vec::new();
    for index in 0..length {
        if let Some(key) = storage.key(index).map_err(|_| failed())? {
            if key.starts_with(prefix) {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
    const RECEIVER: Address = address!("70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const CONTRACT: Address = address!("e7f1725e7734ce288f8367e1bb143e90bb3f0512");

    #[test]
    fn keys_are_lowercase_name_every_part_and_each_channel_has_its_own() {
        let store = ChannelStore::new(31337, CONTRACT, SENDER, RECEIVER);
        let scope = "31337:0xe7f1725e7734ce288f8367e1bb143e90bb3f0512:\
                     0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc:0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
        assert_eq!(store.channel_key(12), format!("uraiden:v2:{scope}:12"));
        assert_ne!(store.channel_key(12), store.channel_key(13));
        let signer = Address::repeat_byte(0xab);
        assert_eq!(store.pending_key(signer), format!("uraiden:v2:{scope}:pending:{signer:#x}"));
        assert_eq!(store.v1_key, format!("uraiden:v1:{scope}"));
        let other_chain = ChannelStore::new(1, CONTRACT, SENDER, RECEIVER);
        assert_ne!(other_chain.channel_key(12), store.channel_key(12));
        let reversed = ChannelStore::new(31337, CONTRACT, RECEIVER, SENDER);
        assert_ne!(reversed.channel_key(12), store.channel_key(12));
        // No channel key is a prefix of another account's or receiver's keys.
        assert!(!store.channel_key(1).starts_with(&reversed.prefix));
    }

    #[test]
    fn channels_round_trip_with_and_without_session_key() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(4)).unwrap();
        let id = ChannelId::new(SENDER, RECEIVER, 12);
        let domain = uraiden_protocol::channel_manager_domain(1, RECEIVER);
        let signature = key.sign_balance_proof(&domain, &id.balance_proof(U192::from(35))).unwrap();
        let lost = ChannelState::signed_by_lost_key(id, U192::MAX, key.address());
        for channel in
            [ChannelState::new(id, U192::MAX, None), ChannelState::new(id, U192::MAX, Some(key)), lost]
        {
            for last_signature in [None, Some(signature)] {
                let channel = channel.clone().with_balance(U192::from(35), last_signature);
                let loaded = from_json(&to_json(&channel), SENDER, RECEIVER).unwrap();
                assert_eq!(
                    (loaded.id, loaded.deposit, loaded.balance, loaded.last_signature),
                    (channel.id, channel.deposit, channel.balance, channel.last_signature)
                );
                assert_eq!(loaded.signer(), channel.signer());
                assert_eq!(loaded.session_key.is_some(), channel.session_key.is_some());
            }
        }
        // Records written before balanceSignature existed still load.
        let json = to_json(&ChannelState::new(id, U192::from(10), None));
        assert_eq!(json, r#"{"openBlockNumber":12,"deposit":"10","balance":"0"}"#);
    }

    #[test]
    fn earlier_records_of_a_lost_session_key_load_wallet_signed() {
        // Earlier versions stored a channel whose signer key they did not hold as `lostSigner`
        // and refused it; it is the sender's channel and loads with the wallet signing.
        let json = r#"{"openBlockNumber":12,"deposit":"10","balance":"5","lostSigner":"0xadadadadadadadadadadadadadadadadadadadad"}"#;
        let channel = from_json(json, SENDER, RECEIVER).unwrap();
        assert!(channel.session_key.is_none());
        assert_eq!((channel.signer(), channel.balance), (Address::repeat_byte(0xad), U192::from(5)));
        assert!(to_json(&channel).contains(r#""signer":"0xadadadadadadadadadadadadadadadadadadadad""#));
    }

    #[test]
    fn pending_openings_round_trip() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(4)).unwrap();
        let pending = PendingChannel {
            receiver: RECEIVER,
            session_key: key.clone(),
            deposit: U192::from(100),
            since_ms: 1_700_000_000_000,
            from_block: 41,
            transaction_hash: Some(B256::repeat_byte(1)),
        };
        let loaded = PendingChannel::from_json(&pending.to_json(), RECEIVER).unwrap();
        assert_eq!(loaded.signer(), key.address());
        assert_eq!(
            (loaded.deposit, loaded.since_ms, loaded.from_block, loaded.transaction_hash),
            (pending.deposit, pending.since_ms, pending.from_block, pending.transaction_hash)
        );
        let channel = loaded.opened(SENDER, 42, U192::from(100));
        assert_eq!((channel.id.open_block_number, channel.signer()), (42, key.address()));
        assert!(channel.session_key.is_some());
    }

    #[test]
    fn damaged_entries_say_what_is_wrong() {
        for bad in [
            "",
            "{}",
            "[1]",
            r#"{"openBlockNumber":1,"deposit":"-1","balance":"0"}"#,
            r#"{"openBlockNumber":1.5,"deposit":"1","balance":"0"}"#,
            r#"{"openBlockNumber":4294967296,"deposit":"1","balance":"0"}"#,
            r#"{"openBlockNumber":1,"deposit":1,"balance":"0"}"#,
            r#"{"openBlockNumber":1,"deposit":"1","balance":"0","later":true}"#,
            r#"{"openBlockNumber":1,"deposit":"1","balance":"0","sessionKey":"0x12"}"#,
        ] {
            assert!(from_json(bad, SENDER, RECEIVER).is_err(), "{bad}");
        }
        let key = "0x0404040404040404040404040404040404040404040404040404040404040404";
        let pending = format!(r#"{{"sessionKey":"{key}","deposit":"1","sinceMs":1,"fromBlock":2}}"#);
        assert!(PendingChannel::from_json(&pending, RECEIVER).is_ok());
        for bad in [r#"{"deposit":"1","sinceMs":1,"fromBlock":2}"#, &pending.replace("}", r#","x":0}"#)] {
            assert!(PendingChannel::from_json(bad, RECEIVER).is_err(), "{bad}");
        }
        let err = unreadable("uraiden:v2:x:1", "bad");
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(err.message().ends_with(r#"localStorage.removeItem("uraiden:v2:x:1") removes it"#));
    }
}
