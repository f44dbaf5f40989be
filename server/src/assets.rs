//! The paywall page and its scripts: built into the binary from `paywall-web/`, or read from
//! the `--paywall-info DIR` given on the command line (the seed's option, which had no
//! effect there).
//!
//! `DIR/index.html` is the page a browser gets with a 402; `DIR/js/<path>` is served at
//! `/js/<path>`. The directory is read on each request, so an operator can edit the page
//! without a restart.

use std::{
    borrow::Cow,
    path::{Component, Path, PathBuf},
};

use axum::{
    extract::{Path as UrlPath, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use rust_embed::RustEmbed;

use crate::app::AppState;

#[derive(RustEmbed)]
#[folder = "../paywall-web/"]
struct EmbeddedPaywall;

/// Where the paywall's files come from.
#[derive(Clone, Debug, Default)]
pub enum PaywallAssets {
    /// The copy built into the binary.
    #[default]
    Embedded,
    /// `--paywall-info DIR`.
    Directory(PathBuf),
}

impl PaywallAssets {
    /// From the optional `--paywall-info` directory.
    pub fn new(dir: Option<PathBuf>) -> Self {
        dir.map_or(Self::Embedded, Self::Directory)
    }

    /// The paywall page's HTML, or `None` when the directory has no readable `index.html`.
    pub async fn index_html(&self) -> Option<Cow<'static, [u8]>> {
        self.read("index.html").await
    }

    /// A file by its path relative to the paywall directory; only plain relative paths
    /// (no `..`, no root, no drive) are looked up, so nothing outside it can be read.
    async fn read(&self, relative: &str) -> Option<Cow<'static, [u8]>> {
        if !is_plain_relative(relative) {
            return None;
        }
        match self {
            Self::Embedded => EmbeddedPaywall::get(relative).map(|file| file.data),
            Self::Directory(dir) => {
                let path = dir.join(relative);
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Some(Cow::Owned(bytes)),
                    Err(error) => {
                        tracing::debug!(path = %path.display(), %error, "paywall asset not readable");
                        None
                    }
                }
            }
        }
    }
}

fn is_plain_relative(relative: &str) -> bool {
    let path = Path::new(relative);
    !relative.is_empty()
        && !relative.contains('\\')
        && path.components().all(|component| matches!(component, Component::Normal(_)))
}

/// `GET /js/{*path}`: the paywall's scripts, styles and images.
pub async fn serve_js(State(state): State<AppState>, UrlPath(path): UrlPath<String>) -> Response {
    let relative = format!("js/{path}");
    match state.assets().read(&relative).await {
        Some(bytes) => {
            // The page changes with releases (or live under --paywall-info): revalidate.
            (
                [
                    (header::CONTENT_TYPE, content_type(&relative)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                ],
                bytes,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such paywall asset").into_response(),
    }
}

/// The `Content-Type` of a paywall asset. Module scripts must come as JavaScript and the
/// wasm library as `application/wasm` (what `WebAssembly.instantiateStreaming` insists on),
/// whatever the MIME database says; other files by their extension.
fn content_type(relative: &str) -> HeaderValue {
    let extension = Path::new(relative).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let known = match extension.as_deref() {
        Some("js" | "mjs") => Some("text/javascript; charset=utf-8"),
        Some("wasm") => Some("application/wasm"),
        Some("css") => Some("text/css; charset=utf-8"),
        Some("json" | "map") => Some("application/json"),
        Some("html") => Some("text/html; charset=utf-8"),
        Some("svg") => Some("image/svg+xml"),
        // TypeScript declarations (`.d.ts`), not MPEG transport streams.
        Some("ts") => Some("text/plain; charset=utf-8"),
        _ => None,
    };
    known.map_or_else(
        || {
            let mime = mime_guess::from_path(relative).first_or_octet_stream();
            HeaderValue::from_str(mime.as_ref())
                .unwrap_or(HeaderValue::from_static("application/octet-stream"))
        },
        HeaderValue::from_static,
    )
}

/// The paywall page with `info_json` (the 402's JSON body) embedded as
/// `<script id="rdn-paywall-info" type="application/json">`, so the page's script learns the
/// refusal reason and the channel's last proof, which a navigation cannot read from headers.
pub fn page_with_info(html: &[u8], info_json: &str) -> Vec<u8> {
    // `<` escaped so no value can close the script element.
    let script = format!(
        "<script id=\"rdn-paywall-info\" type=\"application/json\">{}</script>\n",
        info_json.replace('<', "\\u003c")
    );
    let html = String::from_utf8_lossy(html);
    let lower = html.to_ascii_lowercase();
    let at = lower.find("</head>").or_else(|| lower.find("<body")).unwrap_or(0);
    let mut page = String::with_capacity(html.len() + script.len());
    page.push_str(&html[..at]);
    page.push_str(&script);
    page.push_str(&html[at..]);
    page.into_bytes()
}

/// Shown when `--paywall-info DIR` has no `index.html`: still a usable 402 page.
pub const FALLBACK_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Payment required\
</title></head><body><h1>Payment required</h1><p>This resource is paid with µRaiden micropayments; the \
payment details are in the RDN-* headers and cookies.</p></body></html>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_looked_up() {
        for ok in ["index.html", "js/paywall.js", "js/a/b.css"] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in ["", "../secret", "js/../../etc/passwd", "/etc/passwd", "js\\..\\x", "./x", "js//../x"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn scripts_and_wasm_get_the_types_browsers_insist_on() {
        for (path, expected) in [
            ("js/paywall.js", "text/javascript; charset=utf-8"),
            ("js/uraiden-wasm/uraiden_wasm.js", "text/javascript; charset=utf-8"),
            ("js/lib.MJS", "text/javascript; charset=utf-8"),
            ("js/uraiden-wasm/uraiden_wasm_bg.wasm", "application/wasm"),
            ("js/paywall.css", "text/css; charset=utf-8"),
            ("js/uraiden-wasm/uraiden_wasm.d.ts", "text/plain; charset=utf-8"),
            ("js/uraiden-wasm/package.json", "application/json"),
            ("js/logo.png", "image/png"),
            ("js/LICENSE", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }

    #[tokio::test]
    async fn embedded_page_and_script_are_present() {
        let assets = PaywallAssets::Embedded;
        let html = assets.index_html().await.unwrap();
        assert!(String::from_utf8_lossy(&html).contains("/js/paywall.js"));
        assert!(assets.read("js/paywall.js").await.is_some());
        assert!(assets.read("js/paywall.css").await.is_some());
        assert!(assets.read("js/../index.html").await.is_none());
    }

    #[tokio::test]
    async fn directory_assets_are_read_from_disk_and_confined() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("js")).unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>mine</html>").unwrap();
        std::fs::write(dir.path().join("js/app.js"), "// mine").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "no").unwrap();
        let assets = PaywallAssets::new(Some(dir.path().to_owned()));
        assert_eq!(&*assets.index_html().await.unwrap(), b"<html>mine</html>");
        assert_eq!(&*assets.read("js/app.js").await.unwrap(), b"// mine");
        assert!(assets.read("js/../secret.txt").await.is_none());
        assert!(assets.read("js/paywall.js").await.is_none(), "no fallback to the embedded copy");
    }

    #[test]
    fn info_goes_into_the_head_and_cannot_break_out() {
        let page = page_with_info(
            b"<html><head><title>t</title></head><body></body></html>",
            r#"{"m":"</script>"}"#,
        );
        let page = String::from_utf8(page).unwrap();
        let script_at = page.find("<script id=\"rdn-paywall-info\"").unwrap();
        assert!(script_at < page.find("</head>").unwrap());
        assert!(page.contains(r#"{"m":"\u003c/script>"}"#), "{page}");
        // A page without a head still gets it.
        let bare = String::from_utf8(page_with_info(b"<p>x</p>", "{}")).unwrap();
        assert!(bare.starts_with("<script id=\"rdn-paywall-info\""));
    }
}
