//! Serving a router over plain HTTP or TLS (rustls) until a shutdown signal, with the limits
//! of [`HttpLimits`]: a cap on connections, a deadline for each request head (which is also
//! the keep-alive idle timeout) and for the TLS handshake, so that slow or silent clients
//! cannot pile up sockets. In-flight requests (and so payments being stored) finish before
//! [`serve_within`] returns.
//!
//! Connections are also capped per client address ([`HttpLimits::connections_per_client`],
//! keyed as the rate limits key it: [`client_key`]), from accept to close, so a TLS
//! handshake counts. A connection over its address's cap is closed as soon as it is
//! accepted (counted in `uraiden_connections_refused_total`): the accept loop keeps
//! draining the kernel's queue, so one address reopening silent connections holds at most
//! its share of the slots and cannot queue ahead of everyone else. At the global cap, a
//! connection under its address's cap waits (in the kernel's queue) for a slot rather than
//! being closed: a burst of honest clients is served late rather than refused, and a
//! refused client would have to race, for each freed slot, an attacker reconnecting in a
//! loop.
//!
//! Requests are also bounded: [`body_deadline`] limits how long a request's body may take to
//! arrive, [`request_deadline`] how long a paywalled request may take until its answer,
//! except that a request whose payment is being committed ([`payment_committing`]) is always
//! answered.
//!
//! HTTP/1.1 only: hyper bounds an HTTP/1 request head with a timer, not an HTTP/2
//! connection's preface or its streams; browsers fall back to HTTP/1.1 through ALPN.

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    path::Path,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_rustls::TlsAcceptor;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_service::Service;

use super::{config::HttpLimits, metrics::Metrics, rate_limit::client_key};
use crate::error::{TlsError, TlsProblem};

/// Pause after an accept error (out of descriptors, say) before accepting again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Open files kept for the process's own use beyond the connection cap: the state file, the
/// node and upstream connections, logs.
const RESERVED_FILES: u64 = 128;

/// Raises the soft open-file limit to the hard one (the process may use what the system
/// allows it), and warns when `max_connections` would still leave fewer than
/// [`RESERVED_FILES`] descriptors for the receiver's own work.
pub fn raise_open_file_limit(max_connections: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum) {
        if soft < hard {
            let raised = rustix::process::Rlimit { current: Some(hard), maximum: Some(hard) };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(%error, soft, hard, "cannot raise the open-file limit");
            }
        }
    }
    if let Some(soft) = getrlimit(Resource::Nofile).current {
        let wanted = u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(RESERVED_FILES);
        if wanted > soft {
            tracing::warn!(
                max_connections,
                open_file_limit = soft,
                "--max-connections leaves fewer than {RESERVED_FILES} descriptors for the state file and \
                 the node: lower it or raise the limit (ulimit -n)"
            );
        }
    }
}

/// Loads `--ssl-cert` and `--ssl-key` (PEM).
pub async fn load_tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    // Several crates in the tree enable rustls providers; pick one explicitly so rustls
    // does not refuse to guess. An error only means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let unusable = |problem: TlsProblem| TlsError { cert: cert.to_owned(), key: key.to_owned(), problem };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| unusable(error.into()))?;
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|error| unusable(error.into()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|error| unusable(error.into()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets open connections finish their requests (for up to
/// [`HttpLimits::shutdown_drain`]) and returns. Connections refused for their address's cap
/// are counted in `metrics`.
pub async fn serve_within(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: HttpLimits,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = OpenPerClient::new(limits.connections_per_client());
    let connections = TaskTracker::new();
    let finish = CancellationToken::new();
    let cut = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Some(client_slot) = per_client.open(peer.ip()) else {
            // Closed at once, without waiting for a slot, so that the loop goes on draining
            // the queue for other addresses.
            tracing::debug!(%peer, "closing a connection over --max-connections-per-client");
            metrics.connection_refused();
            drop(stream);
            continue;
        };
        // At the cap, stop accepting: new connections wait in the kernel's queue and take no
        // descriptor of ours until a connection ends (the header timeout ends silent ones).
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let connection = Connection {
            router: router.clone(),
            peer,
            limits: limits.clone(),
            finish: finish.clone(),
            cut: cut.clone(),
        };
        let tls = tls.clone();
        connections.spawn(async move {
            connection.serve(stream, tls).await;
            drop(slot);
            drop(client_slot);
        });
    }
    drop(listener);
    connections.close();
    finish.cancel();
    if tokio::time::timeout(limits.shutdown_drain, connections.wait()).await.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open {:?} after shutdown; closing them",
            limits.shutdown_drain
        );
        cut.cancel();
        connections.wait().await;
    }
    Ok(())
}

/// The connections open per client address ([`client_key`]), each at most `cap`.
struct OpenPerClient {
    /// Only addresses with a connection open: at most `--max-connections` (and one waiting
    /// for a slot) entries.
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    cap: usize,
}

impl OpenPerClient {
    fn new(cap: usize) -> Self {
        Self { open: Arc::default(), cap }
    }

    /// Counts a connection from `peer` until the returned guard drops; `None` when its
    /// address holds `cap` connections already.
    fn open(&self, peer: IpAddr) -> Option<ClientConnection> {
        let key = client_key(peer);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_default();
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(ClientConnection { open: self.open.clone(), key })
    }
}

/// One connection counted in [`OpenPerClient`], until dropped.
struct ClientConnection {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// One accepted connection and what it needs to be served.
struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: HttpLimits,
    /// Cancelled at shutdown: finish the request in progress, then close.
    finish: CancellationToken,
    /// Cancelled when the shutdown drain is over: close now.
    cut: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        // Below TLS, so that every byte written, handshake included, is under the deadline.
        let stream = WriteDeadline::new(stream, self.limits.write_timeout);
        let Some(acceptor) = tls else {
            return self.serve_http(stream).await;
        };
        let handshake = tokio::select! {
            () = self.finish.cancelled() => return,
            handshake = tokio::time::timeout(self.limits.tls_handshake_timeout, acceptor.accept(stream)) => handshake,
        };
        match handshake {
            Ok(Ok(stream)) => self.serve_http(stream).await,
            Ok(Err(error)) => tracing::debug!(peer = %self.peer, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve_http(self, stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) {
        let Self { router, peer, limits, finish, cut } = self;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(request).await }
        });
        let mut builder = http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let finished = tokio::select! {
            result = connection.as_mut() => Some(result),
            () = finish.cancelled() => None,
        };
        let result = match finished {
            Some(result) => result,
            None => {
                // Shutdown: answer the request in progress, then close.
                connection.as_mut().graceful_shutdown();
                tokio::select! {
                    result = connection.as_mut() => result,
                    () = cut.cancelled() => Ok(()),
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(%peer, %error, "connection ended");
        }
    }
}

tokio::task_local! {
    /// Set while a request runs under [`request_deadline`]: whether a payment is being
    /// committed for it, after which no deadline may drop its answer.
    static PAYMENT_COMMITTING: Arc<AtomicBool>;
}

/// Called before a payment is committed: from here on the request is answered however long
/// it takes, since the sender has paid for the answer. Outside [`request_deadline`], a no-op.
pub fn payment_committing() {
    let _ = PAYMENT_COMMITTING.try_with(|committing| committing.store(true, Ordering::SeqCst));
}

/// Middleware (`from_fn_with_state(limit, body_deadline)`): the request's body must
/// arrive within `limit` ([`HttpLimits::body_timeout`]).
pub async fn body_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let request = if request.body().is_end_stream() {
        request
    } else {
        request.map(|body| Body::new(DeadlineBody::new(body, limit)))
    };
    next.run(request).await
}

/// Middleware (`from_fn_with_state(limit, request_deadline)`) for the paywalled resources:
/// a request not answered within `limit` ([`HttpLimits::request_timeout`]) gets a 503,
/// unless [`payment_committing`] was called for it.
pub async fn request_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let committing = Arc::new(AtomicBool::new(false));
    let response = PAYMENT_COMMITTING.scope(committing.clone(), next.run(request));
    tokio::pin!(response);
    let in_time = tokio::time::timeout(limit, &mut response).await;
    match in_time {
        Ok(response) => response,
        // Only this task polls `response`, so the flag cannot change while we decide.
        Err(_) if committing.load(Ordering::SeqCst) => response.await,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The request took too long and was stopped; nothing was charged. Retry it.",
        )
            .into_response(),
    }
}

/// A request body that fails once its deadline passes, so a client trickling an upload
/// cannot hold a handler forever.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
}

impl DeadlineBody {
    fn new(inner: Body, limit: Duration) -> Self {
        Self { inner, deadline: Box::pin(tokio::time::sleep(limit)), limit }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let limit = self.limit;
            return Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the request body did not arrive within {limit:?}"),
            )))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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

/// A connection whose writes fail once one has waited `limit` for the client to read: hyper
/// has no write timeout, and a client that pipelines requests and never reads the answers
/// would otherwise hold its connection (one of `--max-connections`) for ever.
struct WriteDeadline<S> {
    stream: S,
    limit: Duration,
    /// Set while a write waits for room in the socket.
    waiting: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(stream: S, limit: Duration) -> Self {
        Self { stream, limit, waiting: None }
    }

    /// `pending` from the stream: an error once the wait is over `limit`, else still pending.
    fn wait<T>(&mut self, cx: &mut Context<'_>, pending: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if pending.is_ready() {
            self.waiting = None;
            return pending;
        }
        let limit = self.limit;
        let waiting = self.waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if waiting.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {limit:?}"),
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wait(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        self.wait(cx, flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.wait(cx, shut)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wait(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_client_key_until_closed() {
        let per_client = OpenPerClient::new(2);
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let first = per_client.open(ip("192.0.2.1")).unwrap();
        // An IPv4 address mapped into IPv6 is the same client.
        let second = per_client.open(ip("::ffff:192.0.2.1")).unwrap();
        assert!(per_client.open(ip("192.0.2.1")).is_none());
        assert!(per_client.open(ip("192.0.2.2")).is_some(), "another address has its own cap");
        drop(first);
        let third = per_client.open(ip("192.0.2.1")).unwrap();
        // One IPv6 /64 is one client, another /64 another.
        let in_64 =
            [per_client.open(ip("2001:db8::1")).unwrap(), per_client.open(ip("2001:db8::2")).unwrap()];
        assert!(per_client.open(ip("2001:db8::ffff:1")).is_none());
        assert!(per_client.open(ip("2001:db8:0:1::1")).is_some());
        drop((second, third, in_64));
        assert!(per_client.open.lock().unwrap().is_empty(), "closed connections leave no entry");
    }
}
