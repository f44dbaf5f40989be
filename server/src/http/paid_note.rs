//! A short note on a page the paywall page paid for ("Paid 0.05 TKN · 0.95 TKN left ·
//! manage"), so a reader sees what the view cost and how to reach the channel again without a
//! wallet or a hand-typed `#manage`.
//!
//! Only on answers to a navigation paid with the paywall's cookies (programs paying with
//! headers get the resource's bytes untouched), only on complete HTML bodies that are not
//! encoded and at most [`MAX_NOTED_BODY`] long, and not when the operator turns it off
//! (`--no-paid-note`). The note is plain HTML with inline styles; the token's symbol, read
//! from the token contract, is escaped.

use axum::{
    body::Body,
    http::{header, HeaderMap},
    response::Response,
};
use http_body::Body as _;
use uraiden_protocol::U192;

use super::config::TokenUnits;

/// The largest body a note is added to; bigger ones pass untouched.
pub const MAX_NOTED_BODY: u64 = 2 * 1024 * 1024;

/// What a paid view cost and what is left of the deposit, in base units.
#[derive(Clone, Debug)]
pub struct PaidNote {
    pub price: U192,
    pub remaining: U192,
}

impl PaidNote {
    /// The note's HTML.
    pub fn html(&self, units: Option<&TokenUnits>) -> String {
        format!(
            "<aside id=\"uraiden-paid-note\" role=\"note\" style=\"position:fixed;right:8px;bottom:8px;\
             z-index:2147483647;margin:0;padding:4px 10px;font:13px/1.4 system-ui,sans-serif;\
             color:#222;background:#fff;border:1px solid #ccc;border-radius:6px;\
             box-shadow:0 1px 4px rgba(0,0,0,.15)\">Paid {} · {} left · <a href=\"#manage\" \
             onclick=\"location.hash='manage';location.reload();return false\">manage</a></aside>",
            format_amount(self.price, units),
            format_amount(self.remaining, units)
        )
    }

    /// `response` with the note before its `</body>` (or at its end), when it is an HTML body
    /// the note may go into; otherwise `response` as it was.
    pub async fn add_to(&self, response: Response, units: Option<&TokenUnits>) -> Response {
        if !notable(response.headers()) {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let Some(length) = body.size_hint().exact().filter(|length| *length <= MAX_NOTED_BODY) else {
            return Response::from_parts(parts, body);
        };
        let bytes = match axum::body::to_bytes(body, usize::try_from(length).unwrap_or(usize::MAX)).await {
            Ok(bytes) => bytes,
            Err(error) => {
                // The payment is stored; what the handler produced failed midway, note or not.
                tracing::warn!(%error, "the paid response's body failed while adding the paid note");
                return Response::from_parts(parts, Body::empty());
            }
        };
        let noted = insert_before_body_end(&bytes, self.html(units).as_bytes());
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::ETAG);
        Response::from_parts(parts, Body::from(noted))
    }
}

/// Whether a response with `headers` is HTML the note can go into: `text/html` and no
/// `Content-Encoding` (other than `identity`).
fn notable(headers: &HeaderMap) -> bool {
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let encoded = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|value| !value.as_bytes().eq_ignore_ascii_case(b"identity"));
    html && !encoded
}

/// `page` with `note` inserted before its last `</body` (any case), or appended.
fn insert_before_body_end(page: &[u8], note: &[u8]) -> Vec<u8> {
    let at = page.windows(6).rposition(|window| window.eq_ignore_ascii_case(b"</body")).unwrap_or(page.len());
    let mut noted = Vec::with_capacity(page.len() + note.len());
    noted.extend_from_slice(&page[..at]);
    noted.extend_from_slice(note);
    noted.extend_from_slice(&page[at..]);
    noted
}

/// Digits after the decimal point shown at most; smaller amounts are shown in base units.
const FRACTION_DIGITS: usize = 6;

/// `amount` in whole tokens (at most six decimals, `≈` when cut) with the escaped symbol, or
/// in base units when the token's units are unknown or the amount is too small to show.
fn format_amount(amount: U192, units: Option<&TokenUnits>) -> String {
    let base_units = || format!("{amount} base units");
    let Some(units) = units else { return base_units() };
    let decimals = usize::from(units.decimals);
    let digits = amount.to_string();
    let (whole, fraction) = if digits.len() > decimals {
        digits.split_at(digits.len() - decimals)
    } else {
        ("0", digits.as_str())
    };
    let fraction = format!("{fraction:0>decimals$}");
    let shown = fraction.get(..FRACTION_DIGITS.min(decimals)).unwrap_or_default().trim_end_matches('0');
    let cut =
        fraction.len() > FRACTION_DIGITS && fraction[FRACTION_DIGITS..].bytes().any(|digit| digit != b'0');
    if !amount.is_zero() && whole == "0" && shown.is_empty() {
        return base_units();
    }
    let symbol = escape_html(&units.symbol);
    let approx = if cut { "≈" } else { "" };
    if shown.is_empty() {
        format!("{approx}{whole} {symbol}")
    } else {
        format!("{approx}{whole}.{shown} {symbol}")
    }
}

fn escape_html(text: &str) -> String {
    text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use axum::{http::HeaderValue, response::IntoResponse};

    use super::*;

    fn units(symbol: &str, decimals: u8) -> TokenUnits {
        TokenUnits { symbol: symbol.to_owned(), decimals }
    }

    #[test]
    fn amounts_in_token_units_with_at_most_six_decimals() {
        let tkn = units("TKN", 18);
        let e = |digits: u32| U192::from(10).pow(U192::from(digits));
        assert_eq!(format_amount(e(16) * U192::from(5), Some(&tkn)), "0.05 TKN");
        assert_eq!(format_amount(e(18) * U192::from(12), Some(&tkn)), "12 TKN");
        assert_eq!(format_amount(e(18) + U192::from(1), Some(&tkn)), "≈1 TKN");
        assert_eq!(format_amount(e(12) * U192::from(1_234_567), Some(&tkn)), "1.234567 TKN");
        assert_eq!(format_amount(e(11) * U192::from(12_345_678), Some(&tkn)), "≈1.234567 TKN");
        assert_eq!(format_amount(U192::from(5), Some(&tkn)), "5 base units", "too small for six decimals");
        assert_eq!(format_amount(U192::ZERO, Some(&tkn)), "0 TKN");
        assert_eq!(format_amount(U192::from(250), Some(&units("USD", 2))), "2.5 USD");
        assert_eq!(format_amount(U192::from(7), Some(&units("X", 0))), "7 X");
        assert_eq!(format_amount(U192::from(7), None), "7 base units");
    }

    #[test]
    fn a_symbol_from_the_token_contract_cannot_inject_markup() {
        let evil = units("<img src=x onerror=alert(1)>", 0);
        let html = PaidNote { price: U192::from(1), remaining: U192::from(2) }.html(Some(&evil));
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
    }

    #[test]
    fn the_note_goes_before_the_last_body_end_tag_in_any_case_or_at_the_end() {
        assert_eq!(insert_before_body_end(b"<p>a</p></BODY></html>", b"N"), b"<p>a</p>N</BODY></html>");
        assert_eq!(insert_before_body_end(b"x</body>y</body>", b"N"), b"x</body>yN</body>");
        assert_eq!(insert_before_body_end(b"plain", b"N"), b"plainN");
    }

    async fn noted(response: Response) -> (Response, String) {
        let note = PaidNote { price: U192::from(5), remaining: U192::from(95) };
        let response = note.add_to(response, None).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("a body");
        (Response::from_parts(parts, Body::empty()), String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn html_gets_the_note_and_loses_its_stale_length_and_etag() {
        let mut response =
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<body>hi</body>").into_response();
        response.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"abc\""));
        let (response, body) = noted(response).await;
        assert!(body.starts_with("<body>hi<aside id=\"uraiden-paid-note\""), "{body}");
        assert!(body.contains("Paid 5 base units · 95 base units left"), "{body}");
        assert!(body.ends_with("</aside></body>"), "{body}");
        assert!(response.headers().get(header::ETAG).is_none());
    }

    #[tokio::test]
    async fn other_types_and_encoded_html_pass_untouched() {
        let json = ([(header::CONTENT_TYPE, "application/json")], "{\"a\":1}").into_response();
        assert_eq!(noted(json).await.1, "{\"a\":1}");
        let gzip = (
            [(header::CONTENT_TYPE, "text/html"), (header::CONTENT_ENCODING, "gzip")],
            "not really gzip</body>",
        )
            .into_response();
        assert_eq!(noted(gzip).await.1, "not really gzip</body>");
        let streamed = Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from_stream(futures_util::stream::iter([Ok::<_, std::io::Error>("<body>s</body>")])))
            .expect("a response");
        assert_eq!(noted(streamed).await.1, "<body>s</body>", "a body of unknown length is not buffered");
    }
}
