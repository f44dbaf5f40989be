//! Harness for the end-to-end tests: starts a real anvil, deploys the real contracts from
//! the committed artifacts, and hands out funded accounts.
//!
//! anvil comes from the npm package `@foundry-rs/anvil` (installed by `scripts/setup.sh`).
//! [`postgres::TestPostgres`] is a throwaway PostgreSQL cluster for the several-instances tests.

pub mod postgres;

use std::path::{Path, PathBuf};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use uraiden_chain::{
    contracts::{CustomToken, RaidenMicroTransferChannels},
    DeployOptions, Deployment,
};
use uraiden_protocol::{
    channel_manager_domain, ChannelId, Eip712Domain, LocalSigningKey, PaymentHeaders, ProofSignature, U192,
};

/// The token as account `index` sees it.
pub type TokenInstance = CustomToken::CustomTokenInstance<DynProvider>;
/// The channel manager as account `index` sees it.
pub type ChannelManagerInstance =
    RaidenMicroTransferChannels::RaidenMicroTransferChannelsInstance<DynProvider>;

/// The repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// Where the anvil binary is: `$ANVIL_BIN`, else the one `scripts/setup.sh` linked, else the
/// npm package's platform binary, else `anvil` on PATH. The npm wrapper script is avoided:
/// killing it would orphan the real anvil.
pub fn anvil_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ANVIL_BIN") {
        return path.into();
    }
    let root = repo_root();
    [".tools/bin/anvil", "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"]
        .iter()
        .map(|relative| root.join(relative))
        .find(|path| path.exists())
        .unwrap_or_else(|| "anvil".into())
}

/// A running anvil with the contracts deployed by its first account.
#[derive(Debug)]
pub struct TestChain {
    pub anvil: AnvilInstance,
    pub deployment: Deployment,
}

impl TestChain {
    /// Starts anvil on a free port and deploys token (nonce 0) and channel manager (nonce 1)
    /// from account 0, so addresses are the same on every run.
    pub async fn start() -> anyhow::Result<Self> {
        // No `--silent`: alloy waits for anvil's "Listening on" line.
        let anvil = Anvil::at(anvil_binary())
            .try_spawn()
            .context("cannot start anvil; run scripts/setup.sh first")?;
        let deployer = Self::provider_for(&anvil, Self::key_of(&anvil, 0));
        let deployment = uraiden_chain::deploy(&deployer, &DeployOptions::default()).await?;
        Ok(Self { anvil, deployment })
    }

    /// anvil's development key `index` (0..10).
    pub fn key(&self, index: usize) -> PrivateKeySigner {
        Self::key_of(&self.anvil, index)
    }

    /// The address of development account `index`.
    pub fn address(&self, index: usize) -> Address {
        self.anvil.addresses()[index]
    }

    /// A provider that signs with `key`.
    pub fn provider(&self, key: PrivateKeySigner) -> DynProvider {
        Self::provider_for(&self.anvil, key)
    }

    fn key_of(anvil: &AnvilInstance, index: usize) -> PrivateKeySigner {
        anvil.keys()[index].clone().into()
    }

    fn provider_for(anvil: &AnvilInstance, key: PrivateKeySigner) -> DynProvider {
        ProviderBuilder::new().wallet(EthereumWallet::from(key)).connect_http(anvil.endpoint_url()).erased()
    }
}

/// Setup steps every end-to-end test needs; each panics with a clear message on failure,
/// since a failed setup is the test's failure.
impl TestChain {
    /// anvil's development key `index` as the protocol crate's signer.
    pub fn signing_key(&self, index: usize) -> LocalSigningKey {
        LocalSigningKey::from_bytes(&self.key(index).to_bytes()).expect("anvil keys are valid")
    }

    /// The EIP-712 domain of the deployed channel manager.
    pub fn domain(&self) -> Eip712Domain {
        channel_manager_domain(self.deployment.chain_id, self.deployment.channel_manager)
    }

    /// The token, sending as account `index`.
    pub fn token(&self, index: usize) -> TokenInstance {
        CustomToken::new(self.deployment.token, self.provider(self.key(index)))
    }

    /// The channel manager, sending as account `index`.
    pub fn channel_manager(&self, index: usize) -> ChannelManagerInstance {
        RaidenMicroTransferChannels::new(self.deployment.channel_manager, self.provider(self.key(index)))
    }

    /// The chain's latest block number.
    pub async fn head(&self) -> u64 {
        self.provider(self.key(0)).get_block_number().await.expect("block number")
    }

    /// Mines `blocks` empty blocks (`anvil_mine`).
    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self
            .provider(self.key(0))
            .raw_request("anvil_mine".into(), [U256::from(blocks)])
            .await
            .expect("anvil_mine");
    }

    /// The token balance of `who`.
    pub async fn token_balance(&self, who: Address) -> U256 {
        self.token(0).balanceOf(who).call().await.expect("balanceOf")
    }

    /// Account 0, which holds the supply, gives `to` some tokens.
    pub async fn transfer_tokens(&self, to: Address, amount: u64) {
        let receipt = self.token(0).transfer_0(to, U256::from(amount)).send().await.expect("sent");
        mined(receipt.get_receipt().await.expect("mined"), "token transfer");
    }

    /// Account `sender` lets the channel manager take `amount` of its tokens.
    pub async fn approve(&self, sender: usize, amount: u64) {
        let pending = self
            .token(sender)
            .approve(self.deployment.channel_manager, U256::from(amount))
            .send()
            .await
            .expect("sent");
        mined(pending.get_receipt().await.expect("mined"), "approve");
    }

    /// Account `sender` approves and opens a channel of `deposit` to `receiver` (with a
    /// delegated `signer`, if any); the open block is the creation's block.
    pub async fn open_channel(
        &self,
        sender: usize,
        receiver: Address,
        deposit: u64,
        signer: Option<Address>,
    ) -> ChannelId {
        self.approve(sender, deposit).await;
        let contract = self.channel_manager(sender);
        let pending = match signer {
            Some(signer) => {
                contract.createChannelWithSigner(receiver, U192::from(deposit), signer).send().await
            }
            None => contract.createChannel(receiver, U192::from(deposit)).send().await,
        };
        let receipt = mined(pending.expect("sent").get_receipt().await.expect("mined"), "createChannel");
        let block = u32::try_from(receipt.block_number.expect("mined")).expect("small block number");
        ChannelId::new(self.address(sender), receiver, block)
    }

    /// The channel's sender approves and tops it up by `added`.
    pub async fn top_up(&self, sender: usize, channel: ChannelId, added: u64) {
        self.approve(sender, added).await;
        let pending = self
            .channel_manager(sender)
            .topUp(channel.receiver, channel.open_block_number, U192::from(added))
            .send()
            .await
            .expect("sent");
        mined(pending.get_receipt().await.expect("mined"), "topUp");
    }

    /// Account `caller` (the channel's sender) requests an uncooperative close at `balance`;
    /// returns the block it was mined in (the challenge period starts there).
    pub async fn uncooperative_close(&self, caller: usize, channel: ChannelId, balance: u64) -> u64 {
        let pending = self
            .channel_manager(caller)
            .uncooperativeClose(channel.receiver, channel.open_block_number, U192::from(balance))
            .send()
            .await
            .expect("sent");
        let receipt = mined(pending.get_receipt().await.expect("mined"), "uncooperativeClose");
        receipt.block_number.expect("a mined receipt has a block")
    }

    /// Account `caller` closes `channel` at `balance` with both signatures (the balance proof and
    /// the receiver's closing proof); panics if the transaction reverts.
    pub async fn cooperative_close(
        &self,
        caller: usize,
        channel: ChannelId,
        balance: u64,
        balance_signature: &ProofSignature,
        closing_signature: &ProofSignature,
    ) {
        let pending = self
            .channel_manager(caller)
            .cooperativeClose(
                channel.sender,
                channel.receiver,
                channel.open_block_number,
                U192::from(balance),
                Bytes::copy_from_slice(&balance_signature.as_bytes()),
                Bytes::copy_from_slice(&closing_signature.as_bytes()),
            )
            .send()
            .await
            .expect("sent");
        mined(pending.get_receipt().await.expect("mined"), "cooperativeClose");
    }

    /// The headers of a request paying `balance` (cumulative) in `channel`, signed by `signer`.
    pub fn payment(&self, signer: &LocalSigningKey, channel: ChannelId, balance: u64) -> PaymentHeaders {
        let proof = channel.balance_proof(U192::from(balance));
        PaymentHeaders {
            contract: self.deployment.channel_manager,
            receiver: channel.receiver,
            sender: channel.sender,
            open_block_number: channel.open_block_number,
            balance: U192::from(balance),
            balance_signature: signer.sign_balance_proof(&self.domain(), &proof).expect("signing works"),
            payment: None,
        }
    }
}

fn mined(receipt: TransactionReceipt, what: &str) -> TransactionReceipt {
    assert!(receipt.status(), "{what} reverted");
    receipt
}
