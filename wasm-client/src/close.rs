//! Cooperative close through the receiver's API (SPEC §4):
//! `DELETE {api}/channels/{sender}/{openBlock}` with `{"balance": "<decimal>", "balance_signature":
//! "0x…"}`, the channel's last accepted proof, answers `{"close_signature": "0x…"}`.
//!
//! URL building and answer reading are pure and tested natively; [`request`] is the `fetch`.

use uraiden_protocol::{
    recover_closing_proof_signer, ChannelId, Eip712Domain, ProofSignature, DEFAULT_GATEWAY_PATH, U192,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit};

use crate::{
    error::{ErrorKind, Result, UraidenError},
    paying_fetch,
};

/// The close URL of `channel` under `receiver_url`: the receiver's origin (`https://shop.example`,
/// the API then being at `/api/1`) or its API base (`https://shop.example/api/1`, `/api/1`).
pub fn close_url(receiver_url: &str, channel: &ChannelId) -> Result<String> {
    let url = receiver_url.trim();
    let bad =
        |problem: &str| UraidenError::invalid_argument("receiverUrl", format!("{problem}, got {url:?}"));
    if url.is_empty() {
        return Err(bad(
            "expected the receiver's origin (https://host) or API base URL (https://host/api/1)",
        ));
    }
    if url.contains(['?', '#']) {
        return Err(bad("expected a URL without query or fragment"));
    }
    let path_start = match url.find("://") {
        Some(scheme_end) => url[scheme_end + 3..].find('/').map(|at| scheme_end + 3 + at),
        None => Some(0),
    };
    let (origin, path) = path_start.map_or((url, ""), |at| url.split_at(at));
    let path = path.trim_end_matches('/');
    let api = if path.is_empty() { DEFAULT_GATEWAY_PATH } else { path };
    Ok(format!("{origin}{api}/channels/{:#x}/{}", channel.sender, channel.open_block_number))
}

/// The JSON body: the channel's last accepted proof.
pub fn close_body(balance: U192, balance_signature: &ProofSignature) -> String {
    serde_json::json!({ "balance": balance.to_string(), "balance_signature": balance_signature.to_hex() })
        .to_string()
}

/// The receiver's closing signature from its answer, or why there is none.
pub fn read_answer(status: u16, body: &str) -> Result<ProofSignature> {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let text = |key: &str| json.as_ref().and_then(|j| j.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
    if status == 200 {
        let signature = text("close_signature").ok_or_else(|| {
            UraidenError::new(
                ErrorKind::InvalidResponse,
                "the receiver answered 200 without a close_signature; is receiverUrl a µRaiden receiver?",
            )
        })?;
        return ProofSignature::from_hex(&signature).map_err(|e| {
            UraidenError::new(ErrorKind::InvalidResponse, format!("the receiver's close_signature: {e}"))
        });
    }
    let reason = text("message").unwrap_or_else(|| {
        let body = body.trim();
        if body.is_empty() {
            "no reason given".to_owned()
        } else {
            body.chars().take(200).collect()
        }
    });
    let hint = match status {
        403 => {
            "; the receiver holds another last proof: pay it once more (its RDN-Sender-Balance and \
             RDN-Balance-Signature resync this channel) or close uncooperatively"
        }
        404 => "; the receiver does not know this channel (not confirmed yet, or another receiver)",
        409 => "; it is closing or closed already: settleChannel() after the challenge period",
        _ => "",
    };
    Err(UraidenError::new(
        ErrorKind::CloseRefused,
        format!("the receiver refused to co-sign the close (HTTP {status}): {reason}{hint}"),
    ))
}

/// Checks that `closing_signature` is the receiver's over `balance`.
pub fn verify_closing_signature(
    domain: &Eip712Domain,
    channel: &ChannelId,
    balance: U192,
    closing_signature: &ProofSignature,
) -> Result<()> {
    let signer = recover_closing_proof_signer(domain, &channel.closing_proof(balance), closing_signature)?;
    if signer != channel.receiver {
        return Err(UraidenError::new(
            ErrorKind::InvalidSignature,
            format!(
                "the closing signature over balance {balance} is by {signer}, not the receiver {}",
                channel.receiver
            ),
        ));
    }
    Ok(())
}

/// Asks the receiver at `receiver_url` for its closing signature over the last proof.
pub async fn request(
    receiver_url: &str,
    channel: &ChannelId,
    balance: U192,
    balance_signature: &ProofSignature,
) -> Result<ProofSignature> {
    let url = close_url(receiver_url, channel)?;
    let headers = web_sys::Headers::new().map_err(|_| UraidenError::new(ErrorKind::Network, "no Headers"))?;
    // A fresh Headers object accepts Content-Type.
    let _ = headers.set("Content-Type", "application/json");
    let init = RequestInit::new();
    init.set_method("DELETE");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&close_body(balance, balance_signature)));
    let request = Request::new_with_str_and_init(&url, &init)
        .map_err(|_| UraidenError::invalid_argument("receiverUrl", format!("not a valid URL: {url}")))?;
    let response = paying_fetch::fetch(&request).await.map_err(|e| {
        UraidenError::new(ErrorKind::CloseRefused, format!("the receiver is unreachable: {}", e.message()))
    })?;
    let body = match response.text() {
        Ok(text) => {
            JsFuture::from(text).await.ok().and_then(|t| t.dyn_ref::<js_sys::JsString>().map(String::from))
        }
        Err(_) => None,
    };
    read_answer(response.status(), &body.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, Address, B256};
    use uraiden_protocol::{channel_manager_domain, LocalSigningKey};

    const SENDER: Address = address!("3c44cdddb6a900fa2b585dd299e03d12fa4293bc");

    fn channel(receiver: Address) -> ChannelId {
        ChannelId::new(SENDER, receiver, 42)
    }

    #[test]
    fn close_urls_accept_an_origin_or_the_api_base() {
        let id = channel(Address::repeat_byte(1));
        let tail = "/channels/0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc/42";
        for (given, expected) in [
            ("https://shop.example", format!("https://shop.example/api/1{tail}")),
            ("https://shop.example/", format!("https://shop.example/api/1{tail}")),
            ("http://127.0.0.1:5000/api/1/", format!("http://127.0.0.1:5000/api/1{tail}")),
            ("https://shop.example/pay/api/2", format!("https://shop.example/pay/api/2{tail}")),
            ("/api/1", format!("/api/1{tail}")),
            ("/", format!("/api/1{tail}")),
        ] {
            assert_eq!(close_url(given, &id).unwrap(), expected, "{given}");
        }
        for bad in ["", "  ", "https://shop.example/?x=1", "https://shop.example/#top"] {
            let err = close_url(bad, &id).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
            assert!(err.message().starts_with("receiverUrl: "), "{}", err.message());
        }
    }

    #[test]
    fn the_body_is_the_servers_close_request() {
        let signature =
            ProofSignature::from_bytes(&[[1u8; 32].as_slice(), &[2u8; 32], &[28]].concat()).unwrap();
        let body: serde_json::Value = serde_json::from_str(&close_body(U192::MAX, &signature)).unwrap();
        assert_eq!(body["balance"], U192::MAX.to_string());
        assert_eq!(body["balance_signature"], signature.to_hex());
        assert_eq!(body.as_object().unwrap().len(), 2);
    }

    #[test]
    fn answers_become_a_signature_or_a_named_refusal() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let id = channel(key.address());
        let closing = key.sign_closing_proof(&domain, &id.closing_proof(U192::from(9))).unwrap();
        let answer = format!(r#"{{"close_signature":"{}"}}"#, closing.to_hex());
        let signature = read_answer(200, &answer).unwrap();
        assert_eq!(signature, closing);
        verify_closing_signature(&domain, &id, U192::from(9), &signature).unwrap();
        let err = verify_closing_signature(&domain, &id, U192::from(10), &signature).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        assert_eq!(
            verify_closing_signature(&domain, &channel(SENDER), U192::from(9), &signature)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidSignature
        );

        assert_eq!(read_answer(200, "{}").unwrap_err().kind(), ErrorKind::InvalidResponse);
        assert_eq!(read_answer(200, "<html>").unwrap_err().kind(), ErrorKind::InvalidResponse);
        let err = read_answer(403, r#"{"error":"forbidden","message":"not the last proof"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CloseRefused);
        assert!(err.message().starts_with("the receiver refused to co-sign the close (HTTP 403): not the last proof; the receiver holds another last proof"), "{}", err.message());
        let err =
            read_answer(409, r#"{"error":"conflict","message":"the channel is not open"}"#).unwrap_err();
        assert!(err.message().contains("settleChannel()"), "{}", err.message());
        let err = read_answer(502, "").unwrap_err();
        assert_eq!(err.message(), "the receiver refused to co-sign the close (HTTP 502): no reason given");
        let err = read_answer(500, &"x".repeat(500)).unwrap_err();
        assert_eq!(err.message().len(), "the receiver refused to co-sign the close (HTTP 500): ".len() + 200);
    }
}
