//! The settings the HTTP side runs with, once resolved from the command line and the node.

use std::{fmt, path::PathBuf};

use subtle::ConstantTimeEq;
use uraiden_protocol::{Address, PaywallInfo, DEFAULT_GATEWAY_PATH, U192};

/// Who gets paid, where: the values every paywalled response announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// The REST API's path, `/api/1`.
    pub gateway_path: String,
    pub receiver: Address,
    /// The channel manager contract.
    pub contract: Address,
    pub token: Address,
    pub chain_id: u64,
}

impl Gateway {
    /// A gateway on the default path.
    pub fn new(receiver: Address, contract: Address, token: Address, chain_id: u64) -> Self {
        Self { gateway_path: DEFAULT_GATEWAY_PATH.to_owned(), receiver, contract, token, chain_id }
    }

    /// The paywall headers for a resource costing `price`, without a channel.
    pub fn paywall_info(&self, price: U192) -> PaywallInfo {
        PaywallInfo {
            gateway_path: self.gateway_path.clone(),
            receiver: self.receiver,
            contract: self.contract,
            token: self.token,
            price,
            chain_id: self.chain_id,
            sender: None,
            sender_balance: None,
            balance_signature: None,
        }
    }
}

/// The operator's bearer token for the channel listings.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token; `None` when it is empty after trimming (an empty token would let anyone in).
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(token.to_owned()))
    }

    /// Compares in constant time, so response timing does not reveal the token bit by bit.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

/// HTTP options beyond the gateway.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Served over TLS: cookies get `Secure`.
    pub tls: bool,
    /// `--paywall-info DIR`: serve the paywall page and `/js/*` from here instead of the
    /// copy built into the binary.
    pub paywall_dir: Option<PathBuf>,
    /// Enables the operator's channel listings.
    pub api_token: Option<ApiToken>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_token_rejects_empty_and_compares_exactly() {
        assert!(ApiToken::new("  \n").is_none());
        let token = ApiToken::new(" s3cret\n").unwrap();
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches("s3cret "));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "ApiToken(..)");
    }
}
