//! [`Channel`]: one payment channel from this sender — signing transfers (cumulative
//! balance proofs), topping up, closing (uncooperatively or with the receiver's closing
//! signature) and settling.

use alloy::{
    contract::Error as ContractError, primitives::Bytes, providers::PendingTransactionBuilder,
    rpc::types::TransactionReceipt,
};
use uraiden_protocol::{
    recover_closing_proof_signer, request_deadline, ChannelId, PaymentHeaders, ProofSignature, SenderChannel,
    SignedCloseRequest, SignedStatusRequest, U192,
};

use crate::{
    client::Client,
    error::{Error, Result},
    store::{ChannelRecord, ChannelState},
};

/// A handle to a channel the [`Client`] knows. Reads come from the client's store, so two
/// handles to one channel always agree.
#[derive(Clone, Debug)]
pub struct Channel {
    client: Client,
    id: ChannelId,
}

impl Channel {
    pub(crate) const fn new(client: Client, id: ChannelId) -> Self {
        Self { client, id }
    }

    /// Sender, receiver and open block.
    pub const fn id(&self) -> ChannelId {
        self.id
    }

    /// What the client remembers about the channel right now.
    pub fn snapshot(&self) -> ChannelRecord {
        // A handle is only made for a stored channel and records are never removed.
        self.client.record(&self.id).unwrap_or_else(|| ChannelRecord::new(self.id, U192::ZERO))
    }

    /// The cumulative balance of the last proof.
    pub fn balance(&self) -> U192 {
        self.snapshot().balance
    }

    /// The deposit.
    pub fn deposit(&self) -> U192 {
        self.snapshot().deposit
    }

    /// Open, settling or closed.
    pub fn state(&self) -> ChannelState {
        self.snapshot().state
    }

    /// The signature of the last proof, if any.
    pub fn balance_signature(&self) -> Option<ProofSignature> {
        self.snapshot().balance_signature
    }

    /// The headers that present the last proof to the receiver.
    pub fn payment_headers(&self, payment: Option<U192>) -> Option<PaymentHeaders> {
        let record = self.snapshot();
        Some(PaymentHeaders {
            contract: self.client.channel_manager(),
            receiver: self.id.receiver,
            sender: self.id.sender,
            open_block_number: self.id.open_block_number,
            balance: record.balance,
            balance_signature: record.balance_signature?,
            payment,
        })
    }

    /// A status request signed now: a 402 answering it carries the receiver's last accepted
    /// proof, to resync from.
    pub fn status_request(&self) -> Result<SignedStatusRequest> {
        Ok(SignedStatusRequest::sign(
            self.client.key(),
            self.client.domain(),
            self.id,
            request_deadline(unix_now()),
        )?)
    }

    /// A close request at the last balance signed now: what the receiver's API takes to co-sign
    /// the close.
    pub fn close_request(&self) -> Result<SignedCloseRequest> {
        let balance = self.snapshot().balance;
        let deadline = request_deadline(unix_now());
        Ok(SignedCloseRequest::sign(self.client.key(), self.client.domain(), self.id, balance, deadline)?)
    }

    /// The sender's rules for this channel as `record` knows it. This client signs with the
    /// sender's own key: it delegates to no other signer.
    fn rules(&self, record: &ChannelRecord) -> SenderChannel {
        SenderChannel { id: self.id, deposit: record.deposit, signer: self.id.sender }
    }

    fn require_open(&self, record: &ChannelRecord, operation: &'static str) -> Result<()> {
        if record.state == ChannelState::Open {
            Ok(())
        } else {
            Err(Error::WrongState { channel: self.id, state: record.state.as_str(), operation })
        }
    }

    /// Signs a proof for the balance plus `value` and stores it before returning it, so a
    /// crash never forgets a signature that may have reached the receiver. Refuses to go
    /// beyond the deposit.
    pub fn create_transfer(&self, value: U192) -> Result<ProofSignature> {
        if value.is_zero() {
            return Err(Error::ZeroAmount { what: "a transfer" });
        }
        let mut store = self.client.store();
        let mut record =
            store.get(&self.id).cloned().unwrap_or_else(|| ChannelRecord::new(self.id, U192::ZERO));
        self.require_open(&record, "take payments")?;
        let balance = self.rules(&record).balance_after(record.balance, value).map_err(|_| {
            Error::InsufficientDeposit {
                channel: self.id,
                balance: record.balance,
                value,
                deposit: record.deposit,
            }
        })?;
        let signature =
            self.client.key().sign_balance_proof(self.client.domain(), &self.id.balance_proof(balance))?;
        record.balance = balance;
        record.balance_signature = Some(signature);
        store.update(record)?;
        Ok(signature)
    }

    /// Takes back a transfer the receiver answered without charging it (SPEC §7: a payment
    /// counts only once accepted): while the last proof is still the one for `sent`, the
    /// balance and its signature go back to `before`. Signing `sent` again gives the same
    /// proof (RFC 6979), so even a receiver that kept the refused proof never holds more than
    /// the next payment would give it. Returns whether anything changed.
    pub(crate) fn undo_transfer(&self, sent: U192, before: (U192, Option<ProofSignature>)) -> Result<bool> {
        let mut store = self.client.store();
        let Some(mut record) = store.get(&self.id).cloned() else { return Ok(false) };
        if record.balance != sent || before.0 >= sent {
            // Another payment of the channel moved on since: leave it to the resync rules.
            return Ok(false);
        }
        tracing::info!(channel = %self.id, from = %sent, to = %before.0, "payment not charged; balance taken back");
        record.balance = before.0;
        record.balance_signature = before.1;
        store.update(record)?;
        Ok(true)
    }

    /// Replaces the local balance with the receiver's last accepted proof, after checking
    /// that this sender signed it for this channel: the receiver can only return what we
    /// signed, so nothing unverified is ever trusted. Returns whether anything changed.
    pub fn adopt_receiver_proof(&self, balance: U192, signature: ProofSignature) -> Result<bool> {
        let mut store = self.client.store();
        let Some(mut record) = store.get(&self.id).cloned() else { return Ok(false) };
        self.rules(&record)
            .receiver_proof(self.client.domain(), balance, Some(&signature))
            .map_err(|refused| Error::BadSignature(format!("channel {}: {refused}", self.id)))?;
        if record.balance == balance && record.balance_signature == Some(signature) {
            return Ok(false);
        }
        tracing::info!(channel = %self.id, from = %record.balance, to = %balance, "balance resynced from the receiver");
        record.balance = balance;
        record.balance_signature = Some(signature);
        store.update(record)?;
        Ok(true)
    }

    /// The receiver accepted no payment in this channel: back to balance zero (the proofs
    /// signed here never arrived). Returns whether anything changed.
    pub(crate) fn adopt_unpaid(&self) -> Result<bool> {
        let mut store = self.client.store();
        let Some(mut record) = store.get(&self.id).cloned() else { return Ok(false) };
        if record.balance.is_zero() && record.balance_signature.is_none() {
            return Ok(false);
        }
        tracing::info!(channel = %self.id, from = %record.balance, "the receiver accepted nothing: balance 0");
        record.balance = U192::ZERO;
        record.balance_signature = None;
        store.update(record)?;
        Ok(true)
    }

    /// Remembers the receiver's REST API for a later cooperative close.
    pub(crate) fn set_gateway_url(&self, url: &str) -> Result<()> {
        let mut store = self.client.store();
        let Some(mut record) = store.get(&self.id).cloned() else { return Ok(()) };
        if record.gateway_url.as_deref() != Some(url) {
            record.gateway_url = Some(url.to_owned());
            store.update(record)?;
        }
        Ok(())
    }

    pub(crate) fn set_state(&self, state: ChannelState, settle_block: Option<u64>) -> Result<()> {
        let mut store = self.client.store();
        let Some(mut record) = store.get(&self.id).cloned() else { return Ok(()) };
        record.state = state;
        record.settle_block = settle_block.or(record.settle_block);
        store.update(record)
    }

    /// Adds `amount` to the deposit (approve, then `topUp`).
    pub async fn topup(&self, amount: U192) -> Result<()> {
        if amount.is_zero() {
            return Err(Error::ZeroAmount { what: "a top-up" });
        }
        self.require_open(&self.snapshot(), "be topped up")?;
        let have = self.client.token_balance().await?;
        if have < alloy::primitives::U256::from(amount) {
            return Err(Error::NotEnoughTokens {
                account: self.client.address(),
                have: have.to_string(),
                need: amount,
            });
        }
        self.client.approve(amount).await?;
        let id = self.id;
        mined("topUp", self.client.contract().topUp(id.receiver, id.open_block_number, amount).send().await)
            .await?;
        let mut store = self.client.store();
        if let Some(mut record) = store.get(&id).cloned() {
            record.deposit = record.deposit.saturating_add(amount);
            tracing::info!(channel = %id, %amount, deposit = %record.deposit, "topped up");
            store.update(record)?;
        }
        Ok(())
    }

    /// Requests an uncooperative close at the last balance: the channel is settling, and
    /// [`settle`](Self::settle) pays out after the challenge period.
    pub async fn close(&self) -> Result<()> {
        let record = self.snapshot();
        self.require_open(&record, "be closed")?;
        let id = self.id;
        let contract = self.client.contract();
        let call = contract.uncooperativeClose(id.receiver, id.open_block_number, record.balance);
        mined("uncooperativeClose", call.send().await).await?;
        let settle_block = self.client.read_channel(&id).await?.map(|info| info.settle_block);
        self.set_state(ChannelState::Settling, settle_block)?;
        tracing::info!(channel = %id, ?settle_block, "close requested");
        Ok(())
    }

    /// Closes and settles at once with the receiver's `closing_signature` over the last
    /// balance, after checking that the receiver really signed that balance (a bad signature
    /// would only waste gas on a revert).
    pub async fn close_cooperatively(&self, closing_signature: ProofSignature) -> Result<()> {
        let record = self.snapshot();
        if record.state == ChannelState::Closed {
            return Err(Error::WrongState { channel: self.id, state: "closed", operation: "be closed" });
        }
        let id = self.id;
        let closing = id.closing_proof(record.balance);
        let signer = recover_closing_proof_signer(self.client.domain(), &closing, &closing_signature).ok();
        if signer != Some(id.receiver) {
            return Err(Error::BadSignature(format!(
                "the closing signature for channel {id} at balance {} is not the receiver's",
                record.balance
            )));
        }
        // A channel nobody paid through has no proof yet: a proof of 0 is as good.
        let balance_signature = match record.balance_signature {
            Some(signature) => signature,
            None => self
                .client
                .key()
                .sign_balance_proof(self.client.domain(), &id.balance_proof(record.balance))?,
        };
        let contract = self.client.contract();
        let call = contract.cooperativeClose(
            id.sender,
            id.receiver,
            id.open_block_number,
            record.balance,
            Bytes::copy_from_slice(&balance_signature.as_bytes()),
            Bytes::copy_from_slice(&closing_signature.as_bytes()),
        );
        mined("cooperativeClose", call.send().await).await?;
        self.set_state(ChannelState::Closed, None)?;
        tracing::info!(channel = %id, balance = %record.balance, "closed cooperatively");
        Ok(())
    }

    /// Pays out a settling channel once its challenge period is over; before that, says how
    /// many blocks remain.
    pub async fn settle(&self) -> Result<()> {
        let id = self.id;
        let record = self.snapshot();
        if record.state != ChannelState::Settling {
            return Err(Error::WrongState {
                channel: id,
                state: record.state.as_str(),
                operation: "be settled",
            });
        }
        let Some(info) = self.client.read_channel(&id).await? else {
            // Settled already (by the receiver's cooperative close during the period).
            return self.set_state(ChannelState::Closed, None);
        };
        let current = self.client.block_number().await?;
        // The contract settles strictly after the settle block; the transaction lands in the
        // next block, so the current block must have reached it.
        if current < info.settle_block {
            return Err(Error::ChallengePeriodNotOver {
                channel: id,
                settle_block: info.settle_block,
                remaining_blocks: info.settle_block - current,
            });
        }
        mined("settle", self.client.contract().settle(id.receiver, id.open_block_number).send().await)
            .await?;
        self.set_state(ChannelState::Closed, None)?;
        tracing::info!(channel = %id, "settled");
        Ok(())
    }
}

/// Unix seconds by this machine's clock (the receiver allows a few minutes of difference).
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Waits for a sent transaction's receipt and checks that it succeeded.
pub(crate) async fn mined(
    action: &'static str,
    sent: Result<PendingTransactionBuilder<alloy::network::Ethereum>, ContractError>,
) -> Result<TransactionReceipt> {
    let pending = sent.map_err(|e| Error::Reverted { action, reason: e.to_string() })?;
    let receipt = pending.get_receipt().await.map_err(|e| Error::chain(action, e))?;
    if !receipt.status() {
        return Err(Error::Reverted { action, reason: format!("transaction {}", receipt.transaction_hash) });
    }
    Ok(receipt)
}
