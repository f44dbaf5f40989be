//! The settings the HTTP side runs with, once resolved from the command line and the node.

use std::{fmt, path::PathBuf, time::Duration};

use serde::Serialize;
use subtle::ConstantTimeEq;
use uraiden_protocol::{Address, PaywallInfo, DEFAULT_GATEWAY_PATH, U192};
use zeroize::Zeroizing;

use crate::error::PublicChainError;

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
    /// How a wallet that does not know the chain adds it, when the operator says.
    pub public_chain: Option<PublicChain>,
    /// The token's symbol and decimals, when its contract answered `symbol()` and
    /// `decimals()`: amounts shown to people are in whole tokens then.
    pub token_units: Option<TokenUnits>,
}

/// How a token's amounts are shown: `decimals` digits after the point, then the symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenUnits {
    pub symbol: String,
    pub decimals: u8,
}

impl Gateway {
    /// A gateway on the default path.
    pub fn new(receiver: Address, contract: Address, token: Address, chain_id: u64) -> Self {
        Self {
            gateway_path: DEFAULT_GATEWAY_PATH.to_owned(),
            receiver,
            contract,
            token,
            chain_id,
            public_chain: None,
            token_units: None,
        }
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

/// The chain as a wallet adds it (EIP-3085 `wallet_addEthereumChain`, less the chain id, which
/// the page has): published in the paywall info so that a wallet that does not know the chain
/// (4902) can add it. Only public values: the receiver's own `--rpc-provider` may be private.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicChain {
    /// Shown in the wallet, e.g. "Sepolia".
    pub name: String,
    /// A JSON-RPC URL anyone may use.
    pub rpc_urls: Vec<String>,
    pub native_currency: NativeCurrency,
}

/// The chain's currency (what gas is paid in).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NativeCurrency {
    pub name: String,
    pub symbol: String,
    pub decimals: u8,
}

impl PublicChain {
    /// A chain reached at `rpc_url` (http or https) whose currency is `symbol` with 18 decimals.
    pub fn new(name: &str, rpc_url: &str, symbol: &str) -> Result<Self, PublicChainError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(PublicChainError::EmptyName);
        }
        if !(rpc_url.starts_with("https://") || rpc_url.starts_with("http://")) {
            return Err(PublicChainError::NotHttpUrl(rpc_url.to_owned()));
        }
        let symbol = symbol.trim();
        if symbol.is_empty() || symbol.len() > 6 {
            return Err(PublicChainError::Symbol(symbol.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            rpc_urls: vec![rpc_url.to_owned()],
            native_currency: NativeCurrency {
                name: symbol.to_owned(),
                symbol: symbol.to_owned(),
                decimals: 18,
            },
        })
    }
}

/// The operator's bearer token for the channel listings.
#[derive(Clone)]
pub struct ApiToken(Zeroizing<String>);

impl ApiToken {
    /// A token; `None` when it is empty after trimming (an empty token would let anyone in).
    pub fn new(token: &str) -> Option<Self> {
        let token = token.trim();
        (!token.is_empty()).then(|| Self(Zeroizing::new(token.to_owned())))
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
    /// `--no-paid-note`: leave paid HTML pages untouched (see `paid_note`).
    pub no_paid_note: bool,
    /// `--no-x402`: offer and read only the `RDN-*` format.
    pub no_x402: bool,
}

/// What one client may hold of the server, so that slow or silent clients (slowloris) and
/// piles of idle sockets cannot take it down or keep it from its duties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once (`--max-connections`). Beyond it, new connections wait in
    /// the kernel's accept queue until one ends (unless their address is over its own cap,
    /// below). Keep it well below the process's open-file
    /// limit (`ulimit -n`): the state file and the node connections need descriptors too.
    pub max_connections: usize,
    /// Connections one client address (an IPv4 address, an IPv6 /64) may hold at once,
    /// counted from accept (a TLS handshake included) to close
    /// (`--max-connections-per-client`); `None` for a quarter of `max_connections` (at
    /// least 1), see [`connections_per_client`](Self::connections_per_client). A connection
    /// over it is closed as soon as it is accepted, so one address reopening silent
    /// connections cannot hold every slot, nor fill the accept queue ahead of others.
    pub max_connections_per_client: Option<usize>,
    /// Time a client has to send a complete request head, from when the connection is
    /// accepted or its previous response was sent; it is also the keep-alive idle timeout
    /// (`--header-timeout-ms`).
    pub header_timeout: Duration,
    /// Time a client has to send a request's whole body (`--body-timeout-ms`).
    pub body_timeout: Duration,
    /// Time a request for a paywalled resource may take until its answer, unless a payment
    /// is being committed for it: a paid request is always served (`--request-timeout-ms`).
    /// The receiver's own API is not cut: its operator actions send transactions.
    pub request_timeout: Duration,
    /// Time a client has to complete the TLS handshake (`--tls-handshake-timeout-ms`).
    pub tls_handshake_timeout: Duration,
    /// Time a write to a client may wait for it to read (`--write-timeout-ms`): a client that
    /// stops reading its answers cannot hold its connection, and so a slot, for ever.
    pub write_timeout: Duration,
    /// How long connections still open at shutdown get to finish their requests.
    pub shutdown_drain: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_connections_per_client: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            shutdown_drain: Duration::from_secs(30),
        }
    }
}

impl HttpLimits {
    /// The cap of connections per client address: the one set, else a quarter of
    /// `max_connections`. A browser opens 6 to 8 connections to a host, a few more with
    /// several tabs, and a NAT puts several such users behind one address; a quarter (128
    /// of the default 512) leaves them room, while one address can never hold more than a
    /// quarter of the slots.
    pub fn connections_per_client(&self) -> usize {
        self.max_connections_per_client.unwrap_or(self.max_connections / 4).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_chain_takes_a_name_an_http_url_and_a_short_symbol() {
        let chain = PublicChain::new(" Sepolia ", "https://rpc.example", "ETH").unwrap();
        assert_eq!(chain.name, "Sepolia");
        assert_eq!(chain.rpc_urls, ["https://rpc.example"]);
        let json = serde_json::to_value(&chain).unwrap();
        assert_eq!(
            json["nativeCurrency"],
            serde_json::json!({ "name": "ETH", "symbol": "ETH", "decimals": 18 })
        );
        assert!(PublicChain::new("", "https://rpc.example", "ETH").is_err());
        assert!(PublicChain::new("Sepolia", "ws://rpc.example", "ETH").is_err());
        assert!(PublicChain::new("Sepolia", "https://rpc.example", "TOOLONG").is_err());
    }

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

    #[test]
    fn connections_per_client_default_to_a_quarter_of_the_cap() {
        let limits = |max_connections, max_connections_per_client| HttpLimits {
            max_connections,
            max_connections_per_client,
            ..HttpLimits::default()
        };
        assert_eq!(HttpLimits::default().connections_per_client(), 128);
        assert_eq!(limits(8, None).connections_per_client(), 2);
        assert_eq!(limits(2, None).connections_per_client(), 1);
        assert_eq!(limits(8, Some(6)).connections_per_client(), 6);
        assert_eq!(limits(8, Some(0)).connections_per_client(), 1);
    }
}
