//! Cooperative close through the receiver's API (SPEC §4):
//! `DELETE {api}/channels/{sender}/{openBlock}` with `{"balance": "<decimal>", "deadline": <unix
//! seconds>, "signature": "0x…"}`, a close request the sender or the channel's signer signed just
//! now (`uraiden_protocol::SignedCloseRequest`), answers `{"close_signature": "0x…"}`. For an
//! authentic request of another balance it answers 409 with its last accepted proof
//! (`balance`, `balance_signature`), to close at that one.
//!
//! URL building and answer reading are pure and tested natively; [`request`] is the `fetch`.

use uraiden_protocol::{
    recover_closing_proof_signer, ChannelId, CloseRequestBody, ClosingSignatureBody, Eip712Domain, Json,
    LastProofBody, ProofSignature, SignedCloseRequest, DEFAULT_GATEWAY_PATH, U192,
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
    // A byte search: `str::find` with a `&str` pattern links core's two-way searcher.
    let path_start = match url.as_bytes().windows(3).position(|window| window == b"://") {
        Some(scheme_end) => url[scheme_end + 3..].find('/').map(|at| scheme_end + 3 + at),
        None => Some(0),
    };
    let (origin, path) = path_start.map_or((url, ""), |at| url.split_at(at));
    let path = path.trim_end_matches('/');
    let api = if path.is_empty() { DEFAULT_GATEWAY_PATH } else { path };
    Ok(format!("{origin}{api}/channels/{:#x}/{}", channel.sender, channel.open_block_number))
}

/// The JSON body: the close request.
pub fn close_body(request: &SignedCloseRequest) -> String {
    CloseRequestBody::from(request).to_json()
}

/// What the receiver answered a close request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseAnswer {
    /// Its closing signature (not verified yet).
    Signed(ProofSignature),
    /// It holds another last balance: this one, with its proof (none before any payment).
    OtherBalance { balance: U192, signature: Option<ProofSignature> },
}

/// The receiver's answer, or why it refused.
pub fn read_answer(status: u16, body: &str) -> Result<CloseAnswer> {
    let json = Json::parse(body).ok();
    let text = |key: &str| json.as_ref().and_then(|j| j.get(key)).and_then(Json::as_str).map(str::to_owned);
    if status == 409 && json.as_ref().is_some_and(|j| j.get("balance").is_some()) {
        let last = LastProofBody::from_json(body).map_err(|e| {
            UraidenError::new(ErrorKind::InvalidResponse, format!("the receiver's last accepted proof: {e}"))
        })?;
        return Ok(CloseAnswer::OtherBalance { balance: last.balance, signature: last.balance_signature });
    }
    if status == 200 {
        return ClosingSignatureBody::from_json(body)
            .map(|answer| CloseAnswer::Signed(answer.close_signature))
            .map_err(|e| {
                UraidenError::new(
                    ErrorKind::InvalidResponse,
                    format!(
                        "the receiver's answer to the close request: {e}; is receiverUrl a µRaiden receiver?"
                    ),
                )
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
            "; the close request was not accepted: is the clock of this computer right, and is this \
             the channel's sender or its session key?"
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

/// Sends `request` to the receiver at `receiver_url`.
pub async fn request(receiver_url: &str, request: &SignedCloseRequest) -> Result<CloseAnswer> {
    let url = close_url(receiver_url, &request.channel)?;
    let headers = web_sys::Headers::new().map_err(|_| UraidenError::new(ErrorKind::Network, "no Headers"))?;
    // A fresh Headers object accepts Content-Type.
    let _ = headers.set("Content-Type", "application/json");
    let init = RequestInit::new();
    init.set_method("DELETE");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&close_body(request)));
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
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let request = SignedCloseRequest::sign(
            &key,
            &domain,
            channel(Address::repeat_byte(1)),
            U192::MAX,
            1_700_000_300,
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(&close_body(&request)).unwrap();
        assert_eq!(body["balance"], U192::MAX.to_string());
        assert_eq!(body["deadline"], 1_700_000_300u64);
        assert_eq!(body["signature"], request.signature.to_hex());
        assert_eq!(body.as_object().unwrap().len(), 3);
    }

    #[test]
    fn answers_become_a_signature_or_a_named_refusal() {
        let key = LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap();
        let domain = channel_manager_domain(31337, Address::repeat_byte(0xcc));
        let id = channel(key.address());
        let closing = key.sign_closing_proof(&domain, &id.closing_proof(U192::from(9))).unwrap();
        let answer = format!(r#"{{"close_signature":"{}"}}"#, closing.to_hex());
        let CloseAnswer::Signed(signature) = read_answer(200, &answer).unwrap() else { panic!("signed") };
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
        let err = read_answer(403, r#"{"error":"forbidden","message":"the request expired"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CloseRefused);
        assert!(err.message().starts_with("the receiver refused to co-sign the close (HTTP 403): the request expired; the close request was not accepted"), "{}", err.message());
        let other = format!(
            r#"{{"error":"conflict","message":"…","balance":"7","balance_signature":"{}"}}"#,
            closing.to_hex()
        );
        assert_eq!(
            read_answer(409, &other).unwrap(),
            CloseAnswer::OtherBalance { balance: U192::from(7), signature: Some(closing) }
        );
        assert_eq!(
            read_answer(409, r#"{"balance":"0","balance_signature":null}"#).unwrap(),
            CloseAnswer::OtherBalance { balance: U192::ZERO, signature: None }
        );
        let err =
            read_answer(409, r#"{"error":"conflict","message":"the channel is not open"}"#).unwrap_err();
        assert!(err.message().contains("settleChannel()"), "{}", err.message());
        let err = read_answer(502, "").unwrap_err();
        assert_eq!(err.message(), "the receiver refused to co-sign the close (HTTP 502): no reason given");
        let err = read_answer(500, &"x".repeat(500)).unwrap_err();
        assert_eq!(err.message().len(), "the receiver refused to co-sign the close (HTTP 500): ".len() + 200);
    }
}
