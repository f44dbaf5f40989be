//! Harness for the end-to-end tests: starts a real anvil, deploys the real contracts from
//! the committed artifacts, and hands out funded accounts.
//!
//! anvil comes from the npm package `@foundry-rs/anvil` (installed by `scripts/setup.sh`).

use std::path::{Path, PathBuf};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use anyhow::Context;
use uraiden_chain::{DeployOptions, Deployment};

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
