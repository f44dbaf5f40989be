//! Rows as the databases hand them out (amounts as canonical decimal text, addresses as
//! checksummed text, signatures as bytes) and how they parse into the model: one definition
//! of how a stored channel reads back, whichever database stored it.

use uraiden_protocol::{Address, ChannelId, ChannelKey, ProofSignature, U192};

use super::{
    error::{Result, StoreError},
    model::{unix_now, ChannelRecord, ChannelState, CloseRequest},
};

/// Where rows come from: the receiver every channel of the store is to (part of the store's
/// identity, not of each row), and how to report a value that does not parse.
pub(super) trait RowSource {
    fn receiver(&self) -> Address;
    fn corrupt(&self, what: &'static str, value: String) -> StoreError;
}

/// A `channel_undo` row's chain fields before parsing: a channel's chain fields as they were
/// before a block.
#[derive(Debug, Clone)]
pub(super) struct UndoFields {
    pub(super) deposit: String,
    pub(super) signer: String,
    pub(super) withdrawn: String,
    pub(super) state: String,
    pub(super) settle_block: Option<i64>,
    pub(super) closing_balance: Option<String>,
    pub(super) settled_balance: Option<String>,
}

impl UndoFields {
    /// `current` with these chain fields, its proof kept (see [`ChannelState::after_rollback`]).
    pub(super) fn restore(self, current: ChannelRecord, source: &impl RowSource) -> Result<ChannelRecord> {
        let chain = RawChannel {
            sender: address_text(current.id.sender),
            open_block: current.id.open_block_number,
            deposit: self.deposit,
            signer: self.signer,
            withdrawn: self.withdrawn,
            state: self.state,
            settle_block: self.settle_block,
            closing_balance: self.closing_balance,
            settled_balance: self.settled_balance,
            balance: current.balance.to_string(),
            balance_signature: None,
            created_at: to_i64(current.created_at),
            updated_at: to_i64(unix_now()),
        }
        .into_record(source)?;
        Ok(ChannelRecord {
            state: ChannelState::after_rollback(chain.state, current.state),
            balance_signature: current.balance_signature,
            ..chain
        })
    }
}

/// A `channels` row before parsing.
pub(super) struct RawChannel {
    pub(super) sender: String,
    pub(super) open_block: u32,
    pub(super) deposit: String,
    pub(super) signer: String,
    pub(super) withdrawn: String,
    pub(super) state: String,
    pub(super) settle_block: Option<i64>,
    pub(super) closing_balance: Option<String>,
    pub(super) settled_balance: Option<String>,
    pub(super) balance: String,
    pub(super) balance_signature: Option<Vec<u8>>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl RawChannel {
    pub(super) fn into_record(self, source: &impl RowSource) -> Result<ChannelRecord> {
        let corrupt = |what, value: String| source.corrupt(what, value);
        let address = |what, text: String| text.parse::<Address>().map_err(|_| corrupt(what, text));
        let amount = |what, text: String| text.parse::<U192>().map_err(|_| corrupt(what, text));
        let close_request = match (self.settle_block, self.closing_balance) {
            (Some(settle_block), Some(balance)) => Some(CloseRequest {
                settle_block: to_u64(settle_block),
                balance: amount("channels.closing_balance", balance)?,
            }),
            _ => None,
        };
        let balance_signature = self
            .balance_signature
            .map(|bytes| {
                ProofSignature::from_bytes(&bytes)
                    .map_err(|_| corrupt("channels.balance_signature", format!("{} bytes", bytes.len())))
            })
            .transpose()?;
        Ok(ChannelRecord {
            id: ChannelId::new(address("channels.sender", self.sender)?, source.receiver(), self.open_block),
            deposit: amount("channels.deposit", self.deposit)?,
            signer: address("channels.signer", self.signer)?,
            withdrawn: amount("channels.withdrawn", self.withdrawn)?,
            state: ChannelState::parse(&self.state)
                .ok_or_else(|| corrupt("channels.state", self.state.clone()))?,
            close_request,
            settled_balance: self
                .settled_balance
                .map(|text| amount("channels.settled_balance", text))
                .transpose()?,
            balance: amount("channels.balance", self.balance)?,
            balance_signature,
            created_at: to_u64(self.created_at),
            updated_at: to_u64(self.updated_at),
        })
    }
}

pub(super) fn key_text(key: ChannelKey) -> String {
    key.0.to_string()
}

pub(super) fn address_text(address: Address) -> String {
    address.to_checksum(None)
}

/// Database integers are i64; block numbers and timestamps fit with room to spare.
pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Everything a store holds, for moving it to another database (`uraiden-server migrate`).
/// Amounts stay canonical decimal text where the model has no type for the row.
#[derive(Debug, Default)]
pub(super) struct StoredState {
    pub sync_head: Option<super::model::BlockRef>,
    /// The block history, newest first.
    pub block_hashes: Vec<super::model::BlockRef>,
    /// Every channel, with whether it is on chain.
    pub channels: Vec<(ChannelRecord, bool)>,
    /// `channel_undo` rows: block, channel key, the chain fields before that block (`None`:
    /// the channel was not on chain).
    pub undo: Vec<(u64, String, Option<UndoFields>)>,
    /// `deposit_proofs` rows: channel key, deposit, balance, signature.
    pub deposit_proofs: Vec<(String, String, String, Vec<u8>)>,
}
