//! The paywall's files on the wire: compressed as the request accepts (brotli, else gzip; gzip
//! while a large file's brotli is being made), with
//! a strong ETag that a revalidation answers with a 304, and an operator's edit under
//! `--paywall-info` served at once under a new ETag. The 402 page is compressed too, and stays
//! uncached.

mod http_support;

use std::io::Read;

use axum::{http::StatusCode, Router};
use http_support::*;
use uraiden_server::{app, HttpOptions};

const WASM: &str = "/js/uraiden-wasm/uraiden_wasm_bg.wasm";

fn embedded() -> Router {
    app(state_with(FakeBackend::healthy(), default_options()))
}

fn from_dir(dir: &std::path::Path) -> Router {
    let options = HttpOptions { paywall_dir: Some(dir.to_owned()), ..default_options() };
    app(state_with(FakeBackend::healthy(), options))
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).expect("valid brotli");
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}

#[tokio::test]
async fn the_wasm_goes_out_as_brotli_with_a_strong_etag_and_revalidates_to_a_304() {
    let app = embedded();
    let (plain, raw) = send(&app, get(WASM)).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "content-encoding"), None, "no Accept-Encoding: identity");
    assert_eq!(&raw[..4], b"\0asm");

    let chromium = || get(WASM).header("accept-encoding", "gzip, deflate, br, zstd");
    // The first request starts brotli 11 in the background and is not kept waiting: gzip.
    let (response, body) = send(&app, chromium()).await;
    assert_eq!(header(&response, "content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&body), raw);
    // Then brotli, once made (bounded: a few seconds in a debug build).
    let mut tries = 0;
    let (response, body) = loop {
        let (response, body) = send(&app, chromium()).await;
        if header(&response, "content-encoding") == Some("br") || tries == 600 {
            break (response, body);
        }
        tries += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("application/wasm"));
    assert_eq!(header(&response, "content-encoding"), Some("br"));
    assert_eq!(header(&response, "vary"), Some("Accept-Encoding"));
    assert_eq!(header(&response, "cache-control"), Some("no-cache"));
    assert!(body.len() < raw.len() / 2, "{} of {} bytes", body.len(), raw.len());
    assert_eq!(unbrotli(&body), raw);
    let etag = header(&response, "etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");
    assert_ne!(Some(etag.as_str()), header(&plain, "etag"), "each coding is its own representation");

    let (again, body) =
        send(&app, get(WASM).header("accept-encoding", "br").header("if-none-match", &etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&again, "etag"), Some(etag.as_str()));
    assert_eq!(header(&again, "cache-control"), Some("no-cache"));

    let (gzipped, body) = send(&app, get(WASM).header("accept-encoding", "gzip")).await;
    assert_eq!(header(&gzipped, "content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&body), raw);
}

#[tokio::test]
async fn the_402_page_is_compressed_and_still_not_stored() {
    let app = embedded();
    let request = get("/echofix/x").header("accept", "text/html").header("accept-encoding", "gzip");
    let (response, body) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(header(&response, "content-encoding"), Some("gzip"));
    assert!(header(&response, "vary").unwrap().contains("Accept-Encoding"));
    assert!(header(&response, "cache-control").unwrap().contains("no-store"));
    assert_eq!(header(&response, "etag"), None);
    let page = String::from_utf8(gunzip(&body)).unwrap();
    assert!(page.contains("rdn-paywall-info"), "{page}");
}

#[tokio::test]
async fn an_edited_or_added_file_is_served_fresh_under_a_new_etag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("js")).unwrap();
    let file = dir.path().join("js/app.js");
    let version = |n: u32| format!("export const version = {n};\n").repeat(40);
    std::fs::write(&file, version(1)).unwrap();
    let app = from_dir(dir.path());
    let br = |path: &str| get(path).header("accept-encoding", "br");

    let (first, body) = send(&app, br("/js/app.js")).await;
    assert_eq!(header(&first, "content-encoding"), Some("br"));
    assert_eq!(unbrotli(&body), version(1).as_bytes());
    let etag = header(&first, "etag").unwrap().to_owned();

    std::fs::write(&file, version(2)).unwrap();
    let (edited, body) = send(&app, br("/js/app.js").header("if-none-match", &etag)).await;
    assert_eq!(edited.status(), StatusCode::OK, "the old ETag no longer matches");
    assert_eq!(unbrotli(&body), version(2).as_bytes());
    assert_ne!(header(&edited, "etag"), Some(etag.as_str()));

    std::fs::write(dir.path().join("js/new-module.js"), version(3)).unwrap();
    let (added, body) = send(&app, br("/js/new-module.js")).await;
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(unbrotli(&body), version(3).as_bytes());

    std::fs::remove_file(&file).unwrap();
    let (gone, _) = send(&app, br("/js/app.js")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tiny_and_binary_files_go_out_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("js")).unwrap();
    std::fs::write(dir.path().join("js/tiny.js"), "export {};").unwrap();
    std::fs::write(dir.path().join("js/logo.png"), vec![0x89; 4096]).unwrap();
    let app = from_dir(dir.path());
    for path in ["/js/tiny.js", "/js/logo.png"] {
        let (response, _) = send(&app, get(path).header("accept-encoding", "br, gzip")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-encoding"), None, "{path}");
        assert!(header(&response, "etag").is_some(), "{path}");
    }
}
