//! Content codings for the paywall's files: which one a request accepts (`Accept-Encoding`),
//! and compressing with it. Static files are compressed once at the highest levels; the 402
//! page, made per request, at fast ones.

use std::io::Write;

use axum::http::{header, HeaderMap, HeaderValue};

/// A content coding the receiver can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// How hard to compress: once per file, or once per response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    /// Static files, compressed once and kept: brotli 11, gzip 9.
    Once,
    /// A page made for one response: brotli 5, gzip 6 (fractions of a millisecond for the page).
    PerResponse,
}

impl Encoding {
    /// The best coding the request's `Accept-Encoding` allows: the highest `q`, ties going to
    /// brotli, then gzip; `*` stands for the codings not named. No header, or nothing
    /// acceptable: identity (always allowed here).
    pub fn negotiate(headers: &HeaderMap) -> Self {
        let (mut brotli, mut gzip, mut any) = (None, None, None);
        let accepted = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok());
        for item in accepted.flat_map(|value| value.split(',')) {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match name.as_str() {
                "br" => brotli = Some(q),
                "gzip" | "x-gzip" => gzip = Some(q),
                "*" => any = Some(q),
                _ => {}
            }
        }
        let brotli = brotli.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if brotli > 0.0 && brotli >= gzip {
            Self::Brotli
        } else if gzip > 0.0 {
            Self::Gzip
        } else {
            Self::Identity
        }
    }

    /// The `Content-Encoding` value, or `None` for identity.
    pub fn header_value(self) -> Option<HeaderValue> {
        match self {
            Self::Brotli => Some(HeaderValue::from_static("br")),
            Self::Gzip => Some(HeaderValue::from_static("gzip")),
            Self::Identity => None,
        }
    }

    /// `bytes` in this coding. Compressing into memory cannot fail short of running out of it;
    /// should the encoder fail anyway, `None` (the caller then sends identity).
    pub fn compress(self, bytes: &[u8], effort: Effort) -> Option<Vec<u8>> {
        match self {
            Self::Identity => Some(bytes.to_vec()),
            Self::Brotli => {
                // A window of 4 MiB for the wasm; 64 KiB (less memory per call) for a page.
                let (quality, lgwin) = if effort == Effort::Once { (11, 22) } else { (5, 16) };
                let params = brotli::enc::BrotliEncoderParams {
                    quality,
                    lgwin,
                    size_hint: bytes.len(),
                    ..Default::default()
                };
                let mut out = Vec::with_capacity(bytes.len() / 3);
                brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).ok()?;
                Some(out)
            }
            Self::Gzip => {
                let level = if effort == Effort::Once { 9 } else { 6 };
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(bytes.len() / 3),
                    flate2::Compression::new(level),
                );
                encoder.write_all(bytes).ok()?;
                encoder.finish().ok()
            }
        }
    }
}

/// Whether a file of this name is worth compressing (text and wasm; images and fonts are
/// compressed already).
pub fn is_compressible(relative: &str) -> bool {
    let extension = relative.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    matches!(
        extension.as_deref(),
        Some("html" | "js" | "mjs" | "css" | "wasm" | "json" | "map" | "svg" | "ts" | "txt")
    )
}

/// The 402 page for one response: compressed when the request accepts it (the page is small,
/// so a fast level), with its `Content-Encoding`. Its info is the receiver's terms and the
/// sender's own last proof, nothing a third party's request can put there, so the compressed
/// length tells an eavesdropper nothing it could probe for (as in BREACH).
pub fn encode_page(page: Vec<u8>, encoding: Encoding) -> (Vec<u8>, Option<HeaderValue>) {
    match encoding.compress(&page, Effort::PerResponse) {
        Some(compressed) if encoding != Encoding::Identity && compressed.len() < page.len() => {
            (compressed, encoding.header_value())
        }
        _ => (page, None),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn accepting(value: &str) -> Encoding {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        Encoding::negotiate(&headers)
    }

    #[test]
    fn negotiation_prefers_brotli_and_honours_q_values() {
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
        assert_eq!(accepting("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(accepting("gzip, deflate"), Encoding::Gzip);
        assert_eq!(accepting("GZIP"), Encoding::Gzip);
        assert_eq!(accepting("br;q=0.5, gzip"), Encoding::Gzip);
        assert_eq!(accepting("br;q=0, gzip;q=0"), Encoding::Identity);
        assert_eq!(accepting("*"), Encoding::Brotli);
        assert_eq!(accepting("*, br;q=0"), Encoding::Gzip, "br refused by name, gzip by *");
        assert_eq!(accepting("identity"), Encoding::Identity);
        assert_eq!(accepting("deflate, zstd"), Encoding::Identity);
    }

    #[test]
    fn both_codings_round_trip() {
        let text = "export const price = 5n;\n".repeat(200);
        for effort in [Effort::Once, Effort::PerResponse] {
            let br = Encoding::Brotli.compress(text.as_bytes(), effort).unwrap();
            let mut decoded = Vec::new();
            brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, text.as_bytes());
            assert!(br.len() < text.len() / 10);

            let gz = Encoding::Gzip.compress(text.as_bytes(), effort).unwrap();
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, text.as_bytes());
        }
    }

    #[test]
    fn only_text_and_wasm_are_compressed() {
        for yes in
            ["index.html", "js/paywall.js", "js/a.MJS", "js/x.css", "js/u/uraiden_wasm_bg.wasm", "js/p.json"]
        {
            assert!(is_compressible(yes), "{yes}");
        }
        for no in ["js/logo.png", "js/font.woff2", "js/LICENSE"] {
            assert!(!is_compressible(no), "{no}");
        }
    }
}
