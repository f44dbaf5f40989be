//! The receiver's REST API as the sender uses it: asking for the closing signature of the
//! last balance (`DELETE {gateway}/channels/<sender>/<open_block>` with a close request signed
//! just now), then closing on chain.

use reqwest::StatusCode;
use uraiden_protocol::{CloseRequestBody, ClosingSignatureBody, LastProofBody, ProofSignature};

use crate::{
    channel::Channel,
    error::{Error, Result},
};

/// Asks the receiver at `gateway_url` (its origin + `RDN-Gateway-Path`) to sign the closing
/// proof for the channel's last balance, with a close request signed now. When the receiver
/// holds another last balance it says so with its last proof: once that proof is verified as
/// ours, the channel adopts it and asks again, once.
pub async fn request_closing_signature(
    http: &reqwest::Client,
    gateway_url: &str,
    channel: &Channel,
) -> Result<ProofSignature> {
    let id = channel.id();
    let url =
        format!("{}/channels/{}/{}", gateway_url.trim_end_matches('/'), id.sender, id.open_block_number);
    for attempt in 0..2 {
        let request = channel.close_request()?;
        let response = http
            .delete(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(CloseRequestBody::from(&request).to_json())
            .send()
            .await
            .map_err(|source| Error::Http { url: url.clone(), source })?;
        let status = response.status();
        let text = response.text().await.map_err(|source| Error::Http { url: url.clone(), source })?;
        if status == StatusCode::CONFLICT && attempt == 0 {
            // A 409's last accepted proof: the receiver holds another balance than ours.
            if let Ok(other) = LastProofBody::from_json(&text) {
                if adopt_receivers_balance(channel, &other)? {
                    continue;
                }
            }
        }
        if !status.is_success() {
            return Err(Error::Receiver {
                url,
                reason: format!("refused to sign the close ({status}): {text}"),
            });
        }
        let parsed = ClosingSignatureBody::from_json(&text).map_err(|e| Error::Receiver {
            url: url.clone(),
            reason: format!("unexpected close answer: {e}"),
        })?;
        return Ok(parsed.close_signature);
    }
    Err(Error::Receiver { url, reason: "the receiver's last balance kept changing while closing".into() })
}

/// Adopts the last proof of a 409 when it is ours; whether the balance changed.
fn adopt_receivers_balance(channel: &Channel, other: &LastProofBody) -> Result<bool> {
    let balance = other.balance;
    match other.balance_signature {
        Some(signature) => channel.adopt_receiver_proof(balance, signature),
        // Nothing accepted yet: a close at zero needs no proof of ours.
        None if balance.is_zero() => channel.adopt_unpaid(),
        None => Ok(false),
    }
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
