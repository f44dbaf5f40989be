//! The receiver's REST API as the sender uses it: asking for the closing signature of the
//! last proof (`DELETE {gateway}/channels/<sender>/<open_block>`), then closing on chain.

use serde::Deserialize;
use uraiden_protocol::ProofSignature;

use crate::{
    channel::Channel,
    error::{Error, Result},
};

#[derive(Debug, Deserialize)]
struct CloseResponse {
    close_signature: String,
}

/// Asks the receiver at `gateway_url` (its origin + `RDN-Gateway-Path`) to sign the closing
/// proof for the channel's last balance. The receiver agrees only when that is the last
/// proof it accepted.
pub async fn request_closing_signature(
    http: &reqwest::Client,
    gateway_url: &str,
    channel: &Channel,
) -> Result<ProofSignature> {
    let id = channel.id();
    let record = channel.snapshot();
    let signature = record.balance_signature.ok_or_else(|| Error::Receiver {
        url: gateway_url.to_owned(),
        reason: "nothing was paid in this channel, so there is no proof to close with".into(),
    })?;
    let url =
        format!("{}/channels/{}/{}", gateway_url.trim_end_matches('/'), id.sender, id.open_block_number);
    let body =
        serde_json::json!({ "balance": record.balance.to_string(), "balance_signature": signature.to_hex() });
    let response = http
        .delete(&url)
        .json(&body)
        .send()
        .await
        .map_err(|source| Error::Http { url: url.clone(), source })?;
    let status = response.status();
    let text = response.text().await.map_err(|source| Error::Http { url: url.clone(), source })?;
    if !status.is_success() {
        return Err(Error::Receiver { url, reason: format!("refused to sign the close ({status}): {text}") });
    }
    let parsed: CloseResponse = serde_json::from_str(&text)
        .map_err(|e| Error::Receiver { url: url.clone(), reason: format!("unexpected close answer: {e}") })?;
    Ok(ProofSignature::from_hex(&parsed.close_signature)?)
}

/// Closes the channel cooperatively through its receiver's API (learned from the 402s that
/// paid into it), verifying the receiver's signature before sending the transaction.
pub async fn close_via_receiver(http: &reqwest::Client, channel: &Channel) -> Result<()> {
    let gateway_url = channel.snapshot().gateway_url.ok_or_else(|| Error::Receiver {
        url: String::new(),
        reason: format!(
            "the receiver's address of channel {} is unknown (never paid through a 402)",
            channel.id()
        ),
    })?;
    let signature = request_closing_signature(http, &gateway_url, channel).await?;
    channel.close_cooperatively(signature).await
}
