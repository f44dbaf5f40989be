//! The paywall page and its scripts: built into the binary from `paywall-web/`, or read from
//! the `--paywall-info DIR` given on the command line (the seed's option, which had no
//! effect there).
//!
//! `DIR/index.html` is the page a browser gets with a 402; `DIR/js/<path>` is served at
//! `/js/<path>`. The directory is read on each request, so an operator can edit the page
//! without a restart.
//!
//! Every paywalled view loads these files, the wasm library among them, so they go out
//! compressed (brotli or gzip, as the browser accepts: see [`encoding`]) and with a strong
//! `ETag`, their content's SHA-256: `Cache-Control: no-cache` makes a browser revalidate each
//! time (the page's module imports are relative, so the URLs cannot carry the hash), and an
//! unchanged file costs a 304 without a body. Each version of a file is compressed once, when
//! first asked for in that coding, and kept: the embedded files for the process's life, a
//! directory's file until its content changes. Brotli's top level takes seconds on the wasm (and
//! saves a fifth on gzip): until it is made, the wasm goes out as gzip.

mod encoding;

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt::Write as _,
    path::{Component, Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
};

use axum::{
    extract::{Path as UrlPath, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

pub use self::encoding::{encode_page, Encoding};
use self::encoding::{is_compressible, Effort};

#[derive(RustEmbed)]
#[folder = "../paywall-web/"]
struct EmbeddedPaywall;

/// Files smaller than this go out as they are: compressing saves less than its framing.
const MIN_COMPRESSED_SIZE: usize = 256;

/// Files larger than this get their brotli made in the background, and gzip until then.
const BROTLI_IN_BACKGROUND_ABOVE: usize = 64 * 1024;

/// Where the paywall's files come from, and the compressed copies made of them so far.
/// A cheap clone: the copies are shared.
#[derive(Clone, Default)]
pub struct PaywallAssets {
    source: Source,
    /// The last version seen of each file, by its path relative to the paywall directory.
    versions: Arc<Mutex<HashMap<String, Arc<Asset>>>>,
}

#[derive(Clone, Debug, Default)]
enum Source {
    /// The copy built into the binary.
    #[default]
    Embedded,
    /// `--paywall-info DIR`.
    Directory(PathBuf),
}

impl std::fmt::Debug for PaywallAssets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaywallAssets").field("source", &self.source).finish_non_exhaustive()
    }
}

/// One version of one file: its bytes, its content hash and its encodings made so far.
struct Asset {
    /// Hex of the first 128 bits of the content's SHA-256: the ETag's core.
    hash: String,
    content_type: HeaderValue,
    identity: Bytes,
    compressible: bool,
    brotli: OnceCell<Option<Bytes>>,
    /// Whether a background task makes `brotli` (see [`Asset::body`]).
    brotli_started: AtomicBool,
    gzip: OnceCell<Option<Bytes>>,
}

impl Asset {
    fn new(relative: &str, identity: Bytes, hash: String) -> Self {
        Self {
            hash,
            content_type: content_type(relative),
            compressible: is_compressible(relative) && identity.len() >= MIN_COMPRESSED_SIZE,
            identity,
            brotli: OnceCell::new(),
            brotli_started: AtomicBool::new(false),
            gzip: OnceCell::new(),
        }
    }

    /// The coding this file goes out in for a request that accepts `accepted`.
    fn coding_for(&self, accepted: Encoding) -> Encoding {
        if self.compressible {
            accepted
        } else {
            Encoding::Identity
        }
    }

    /// The file's bytes in `coding`, or in gzip while a large file's brotli is being made:
    /// brotli's top level takes seconds on the wasm, gzip a fraction of that, so the first
    /// visitor after a start is not kept waiting. Identity when compressing failed.
    async fn body(self: &Arc<Self>, coding: Encoding) -> (Bytes, Encoding) {
        if coding == Encoding::Brotli
            && self.brotli.get().is_none()
            && self.identity.len() > BROTLI_IN_BACKGROUND_ABOVE
        {
            if !self.brotli_started.swap(true, Ordering::Relaxed) {
                let asset = Arc::clone(self);
                tokio::spawn(async move { asset.compressed(Encoding::Brotli).await });
            }
            return self.compressed(Encoding::Gzip).await;
        }
        self.compressed(coding).await
    }

    /// The file's bytes in `coding`, compressed on first use (off the async threads) and kept.
    /// Identity when compressing failed.
    async fn compressed(&self, coding: Encoding) -> (Bytes, Encoding) {
        let cell = match coding {
            Encoding::Brotli => &self.brotli,
            Encoding::Gzip => &self.gzip,
            Encoding::Identity => return (self.identity.clone(), Encoding::Identity),
        };
        let compressed = cell
            .get_or_init(|| async {
                let identity = self.identity.clone();
                tokio::task::spawn_blocking(move || coding.compress(&identity, Effort::Once).map(Bytes::from))
                    .await
                    .ok()
                    .flatten()
            })
            .await;
        match compressed {
            Some(bytes) => (bytes.clone(), coding),
            None => (self.identity.clone(), Encoding::Identity),
        }
    }

    /// The strong ETag of this file in `coding`: each coding is its own representation.
    fn etag(&self, coding: Encoding) -> HeaderValue {
        let suffix = match coding {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
            Encoding::Identity => "",
        };
        HeaderValue::from_str(&format!("\"{}{suffix}\"", self.hash))
            .unwrap_or(HeaderValue::from_static("\"unknown\""))
    }

    /// Whether `If-None-Match` names this version (in any coding: the client accepted the one
    /// it holds). Weak comparison, as RFC 9110 asks for this header.
    fn matches(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim())
            .any(|tag| {
                let opaque = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
                tag == "*" || opaque.split('.').next() == Some(self.hash.as_str())
            })
    }
}

impl PaywallAssets {
    /// From the optional `--paywall-info` directory.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { source: dir.map_or(Source::Embedded, Source::Directory), versions: Arc::default() }
    }

    /// The paywall page's HTML, or `None` when the directory has no readable `index.html`.
    pub async fn index_html(&self) -> Option<Cow<'static, [u8]>> {
        self.read("index.html").await.map(|(bytes, _)| bytes)
    }

    /// A file by its path relative to the paywall directory, with its SHA-256 when the source
    /// knows it already; only plain relative paths (no `..`, no root, no drive) are looked up,
    /// so nothing outside it can be read.
    async fn read(&self, relative: &str) -> Option<(Cow<'static, [u8]>, Option<[u8; 32]>)> {
        if !is_plain_relative(relative) {
            return None;
        }
        match &self.source {
            Source::Embedded => {
                EmbeddedPaywall::get(relative).map(|file| (file.data, Some(file.metadata.sha256_hash())))
            }
            Source::Directory(dir) => {
                let path = dir.join(relative);
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Some((Cow::Owned(bytes), None)),
                    Err(error) => {
                        tracing::debug!(path = %path.display(), %error, "paywall asset not readable");
                        None
                    }
                }
            }
        }
    }

    /// The current version of a file: the kept one while its content is unchanged, else a
    /// new one (which replaces it, so an edited file's old encodings are dropped).
    async fn asset(&self, relative: &str) -> Option<Arc<Asset>> {
        let Some((bytes, sha256)) = self.read(relative).await else {
            self.lock().remove(relative);
            return None;
        };
        let hash = short_hash(&sha256.unwrap_or_else(|| Sha256::digest(&bytes).into()));
        // One lock for the look-up and the insert: concurrent first requests share one version
        // (and so compress it once).
        let mut versions = self.lock();
        if let Some(kept) = versions.get(relative).filter(|kept| kept.hash == hash) {
            return Some(Arc::clone(kept));
        }
        let identity = match bytes {
            Cow::Borrowed(bytes) => Bytes::from_static(bytes),
            Cow::Owned(bytes) => Bytes::from(bytes),
        };
        let asset = Arc::new(Asset::new(relative, identity, hash));
        versions.insert(relative.to_owned(), Arc::clone(&asset));
        Some(asset)
    }

    /// The kept versions; never held across an `.await`. A panic while holding it cannot
    /// leave the map half-changed, so a poisoned lock is used as it is.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Asset>>> {
        self.versions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Hex of a SHA-256's first 128 bits: plenty to tell a file's versions apart.
fn short_hash(sha256: &[u8; 32]) -> String {
    sha256[..16].iter().fold(String::with_capacity(32), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

fn is_plain_relative(relative: &str) -> bool {
    let path = Path::new(relative);
    !relative.is_empty()
        && !relative.contains('\\')
        && path.components().all(|component| matches!(component, Component::Normal(_)))
}

/// `GET /js/{*path}`: the paywall's scripts, styles and images, compressed as the request
/// accepts, with a strong `ETag`; `If-None-Match` with the current version's tag gets a 304.
pub async fn serve_js(
    State(assets): State<PaywallAssets>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let relative = format!("js/{path}");
    let Some(asset) = assets.asset(&relative).await else {
        return (StatusCode::NOT_FOUND, "no such paywall asset").into_response();
    };
    let coding = asset.coding_for(Encoding::negotiate(&headers));
    // The page changes with releases (or live under --paywall-info): revalidate, by ETag.
    let validators = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::VARY, HeaderValue::from_static("Accept-Encoding")),
    ];
    if asset.matches(&headers) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, asset.etag(coding))], validators).into_response();
    }
    let (body, coding) = asset.body(coding).await;
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type.clone()),
            (header::ETAG, asset.etag(coding)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        validators,
        body,
    )
        .into_response();
    if let Some(value) = coding.header_value() {
        response.headers_mut().insert(header::CONTENT_ENCODING, value);
    }
    response
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
        let assets = PaywallAssets::default();
        let html = assets.index_html().await.unwrap();
        assert!(String::from_utf8_lossy(&html).contains("/js/paywall.bundle.js"));
        assert!(assets.asset("js/paywall.bundle.js").await.is_some());
        assert!(assets.asset("js/paywall.css").await.is_some());
        assert!(assets.asset("js/../index.html").await.is_none());
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
        assert_eq!(&assets.asset("js/app.js").await.unwrap().identity[..], b"// mine");
        assert!(assets.asset("js/../secret.txt").await.is_none());
        assert!(assets.asset("js/paywall.js").await.is_none(), "no fallback to the embedded copy");
    }

    #[tokio::test]
    async fn a_version_is_compressed_once_and_replaced_when_its_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("js")).unwrap();
        let file = dir.path().join("js/app.js");
        std::fs::write(&file, "export const a = 1;\n".repeat(100)).unwrap();
        let assets = PaywallAssets::new(Some(dir.path().to_owned()));

        let first = assets.asset("js/app.js").await.unwrap();
        let (brotli, coding) = first.body(Encoding::Brotli).await;
        assert_eq!(coding, Encoding::Brotli);
        let again = assets.asset("js/app.js").await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "an unchanged file keeps its version");
        assert_eq!(again.body(Encoding::Brotli).await.0.as_ptr(), brotli.as_ptr(), "compressed once");

        std::fs::write(&file, "export const a = 2;\n".repeat(100)).unwrap();
        let edited = assets.asset("js/app.js").await.unwrap();
        assert_ne!(edited.hash, first.hash);
        assert_eq!(&edited.identity[..], "export const a = 2;\n".repeat(100).as_bytes());

        std::fs::remove_file(&file).unwrap();
        assert!(assets.asset("js/app.js").await.is_none());
        assert!(assets.lock().is_empty(), "a deleted file's versions are dropped");
    }

    #[tokio::test]
    async fn a_large_file_goes_out_as_gzip_until_its_brotli_is_made() {
        let assets = PaywallAssets::default();
        let wasm = assets.asset("js/uraiden-wasm/uraiden_wasm_bg.wasm").await.unwrap();
        assert!(wasm.identity.len() > BROTLI_IN_BACKGROUND_ABOVE);
        let (_, first) = wasm.body(Encoding::Brotli).await;
        assert_eq!(first, Encoding::Gzip, "not kept waiting for brotli");
        // The background task fills the cell; awaiting it here is what a later request sees.
        let (brotli, coding) = wasm.compressed(Encoding::Brotli).await;
        assert_eq!(coding, Encoding::Brotli);
        assert_eq!(wasm.body(Encoding::Brotli).await.0.as_ptr(), brotli.as_ptr(), "made once");
    }

    #[tokio::test]
    async fn the_embedded_hash_is_the_content_hash() {
        let assets = PaywallAssets::default();
        let css = assets.asset("js/paywall.css").await.unwrap();
        assert_eq!(css.hash, short_hash(&Sha256::digest(&css.identity).into()));
        assert_eq!(css.hash.len(), 32);
    }

    #[test]
    fn if_none_match_names_a_version_in_any_coding() {
        let asset = Asset::new("js/a.js", Bytes::from_static(b"x"), "00ff".repeat(8));
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
            asset.matches(&headers)
        };
        let tag = |coding| asset.etag(coding).to_str().unwrap().to_owned();
        for coding in [Encoding::Brotli, Encoding::Gzip, Encoding::Identity] {
            assert!(with(&tag(coding)), "{coding:?}");
            assert!(with(&format!("W/{}", tag(coding))), "{coding:?}, weak");
        }
        assert_eq!(tag(Encoding::Brotli), format!("\"{}.br\"", "00ff".repeat(8)));
        assert!(with("\"other\", \"00ff00ff00ff00ff00ff00ff00ff00ff\""));
        assert!(with("*"));
        assert!(!with("\"00ff00ff00ff00ff00ff00ff00ff00fe.br\""));
        assert!(!asset.matches(&HeaderMap::new()));
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
