//! Deploying the token and the channel manager, as the seed's `deploy_testnet` did.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};

use crate::{
    contracts::{CustomToken, RaidenMicroTransferChannels},
    Error, Result,
};

/// What to deploy. The defaults are the seed's `deploy_testnet` defaults.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// Blocks a sender waits after an uncooperative close (the contract demands ≥ 500).
    pub challenge_period: u32,
    /// Whole tokens minted to the deployer (multiplied by 10^decimals on chain).
    pub supply: U256,
    pub token_name: String,
    pub token_symbol: String,
    pub token_decimals: u8,
    /// Use this already deployed ERC20 instead of deploying a `CustomToken`.
    pub token_address: Option<Address>,
    /// Contracts allowed to call the `*Delegate` functions.
    pub trusted_contracts: Vec<Address>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            challenge_period: 500,
            supply: U256::from(10_000_000u64),
            token_name: "CustomToken".into(),
            token_symbol: "TKN".into(),
            token_decimals: 18,
            token_address: None,
            trusted_contracts: Vec::new(),
        }
    }
}

/// Where the contracts ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub chain_id: u64,
    pub token: Address,
    pub channel_manager: Address,
    /// The block that mined the channel manager: a receiver syncs events from here.
    pub deploy_block: u64,
}

/// Deploys (the token and) the channel manager from the provider's default account, which
/// becomes the owner of both.
pub async fn deploy<P: Provider>(provider: &P, options: &DeployOptions) -> Result<Deployment> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| Error::Transaction { action: "reading the chain id", reason: e.to_string() })?;
    let token = match options.token_address {
        Some(token) => token,
        None => *CustomToken::deploy(
            provider,
            options.supply,
            options.token_decimals,
            options.token_name.clone(),
            options.token_symbol.clone(),
        )
        .await
        .map_err(|source| Error::Contract { action: "deploying CustomToken", source: Box::new(source) })?
        .address(),
    };
    let builder = RaidenMicroTransferChannels::deploy_builder(
        provider,
        token,
        options.challenge_period,
        options.trusted_contracts.clone(),
    );
    let receipt = builder
        .send()
        .await
        .map_err(|source| Error::Contract {
            action: "deploying RaidenMicroTransferChannels",
            source: Box::new(source),
        })?
        .get_receipt()
        .await
        .map_err(|e| Error::Transaction {
            action: "deploying RaidenMicroTransferChannels",
            reason: e.to_string(),
        })?;
    let channel_manager =
        receipt.contract_address.filter(|_| receipt.status()).ok_or(Error::Transaction {
            action: "deploying RaidenMicroTransferChannels",
            reason: "the deployment transaction reverted (is the token address an ERC20 contract?)".into(),
        })?;
    let deploy_block = receipt.block_number.unwrap_or_default();
    Ok(Deployment { chain_id, token, channel_manager, deploy_block })
}
