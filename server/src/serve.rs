//! Serving a router over plain HTTP or TLS (rustls), until a shutdown signal; in-flight
//! requests (and so payments being stored) finish before `serve` returns.

use std::{future::Future, io, net::SocketAddr, path::Path, time::Duration};

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

/// How long in-flight TLS connections get after the signal; plain HTTP waits for all
/// requests, as axum does.
const TLS_DRAIN: Duration = Duration::from_secs(30);

/// Loads `--ssl-cert` and `--ssl-key` (PEM).
pub async fn load_tls(cert: &Path, key: &Path) -> anyhow::Result<RustlsConfig> {
    // Several crates in the tree enable rustls providers; pick one explicitly so rustls
    // does not refuse to guess. An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    RustlsConfig::from_pem_file(cert, key).await.map_err(|error| {
        anyhow::anyhow!(
            "cannot load the TLS certificate {} and key {} (PEM files expected): {error}",
            cert.display(),
            key.display()
        )
    })
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum::serve(listener, service).with_graceful_shutdown(shutdown).await,
        Some(config) => {
            let handle = axum_server::Handle::new();
            let signal_handle = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                signal_handle.graceful_shutdown(Some(TLS_DRAIN));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, config)?.handle(handle).serve(service).await
        }
    }
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
