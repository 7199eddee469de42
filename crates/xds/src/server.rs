//! The xDS gRPC server.
//!
//! Settings follow upstream Contour: HTTP/2 keepalive every 60 s with a 20 s timeout, a very
//! large number of concurrent streams, and a decode limit far above gRPC's 4 MiB default (an EDS
//! request can name thousands of clusters).
//!
//! Connections are served by hyper's HTTP/2 server directly (gRPC is HTTP/2 only), each with
//! the [`Router`] as its service; see `service` for why there is no gRPC framework in between.
//!
//! With `ServerConfig::tls` set, every connection is mTLS ([`crate::tls`]): TLS 1.3, client
//! certificates required, certificate/key/CA re-read on every handshake.

use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};

use crate::XdsError;
use crate::service::{Limits, Router, XdsService};
use crate::store::SnapshotStore;

/// gRPC server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request accepted, in bytes.
    pub max_decoding_message_size: usize,
    /// Largest response sent, in bytes.
    pub max_encoding_message_size: usize,
    /// HTTP/2 keepalive ping interval.
    pub keepalive_time: Duration,
    /// How long to wait for a keepalive ping's answer before closing the connection.
    pub keepalive_timeout: Duration,
    /// HTTP/2 concurrent streams per connection.
    pub max_concurrent_streams: u32,
    /// After shutdown is requested and streams are closed, how long to wait for connections to
    /// drain before returning anyway.
    pub shutdown_grace: Duration,
    /// mTLS identity; `None` serves plaintext gRPC (`--insecure`).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Upstream's `grpc_server_*` counters ([`crate::metrics`]), if wanted.
    pub metrics: Option<crate::metrics::GrpcMetrics>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_decoding_message_size: 256 * 1024 * 1024,
            max_encoding_message_size: usize::MAX,
            keepalive_time: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_concurrent_streams: 1 << 20,
            shutdown_grace: Duration::from_secs(5),
            tls: None,
            metrics: None,
        }
    }
}

/// Serves xDS on `listener` with default settings until `shutdown` completes.
pub async fn serve(
    store: SnapshotStore,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), XdsError> {
    serve_with_config(store, listener, ServerConfig::default(), shutdown).await
}

/// Serves xDS on `listener` until `shutdown` completes. On shutdown every stream is ended
/// (xDS streams never end by themselves), then connections get `shutdown_grace` to drain.
pub async fn serve_with_config(
    store: SnapshotStore,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), XdsError> {
    let addr = listener.local_addr()?;
    let service = XdsService::new(store);
    let limits = Limits {
        max_decoding_message_size: config.max_decoding_message_size,
        max_encoding_message_size: config.max_encoding_message_size,
    };
    let server = Server {
        router: Router::new(service.clone(), limits, config.metrics.clone()),
        http2: builder(&config),
    };
    tracing::info!(%addr, tls = config.tls.is_some(), "xDS server listening");
    let shutdown = async move {
        shutdown.await;
        tracing::info!("xDS server shutting down");
        service.close_streams();
    };
    match config.tls.clone() {
        Some(files) => {
            let incoming = crate::tls::accept_tls(listener, files);
            server.run(incoming, shutdown, config.shutdown_grace).await
        }
        None => {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
                conn.inspect(|stream| {
                    // Small responses (ACK round trips) must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                })
            });
            server.run(incoming, shutdown, config.shutdown_grace).await
        }
    }
}

/// hyper's HTTP/2 server with upstream's settings (hyper's defaults otherwise, as tonic's).
fn builder(config: &ServerConfig) -> http2::Builder<TokioExecutor> {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(config.keepalive_time))
        .keep_alive_timeout(config.keepalive_timeout)
        .max_concurrent_streams(config.max_concurrent_streams);
    builder
}

struct Server {
    router: Router,
    http2: http2::Builder<TokioExecutor>,
}

impl Server {
    /// Serves the connections of `incoming` until `shutdown` completes; then stops accepting,
    /// lets each connection finish its streams (already told to end) and returns when all are
    /// closed, or after `grace`.
    async fn run<IO>(
        self,
        incoming: impl Stream<Item = std::io::Result<IO>>,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> Result<(), XdsError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (stop, stopping) = watch::channel(false);
        let mut connections = JoinSet::new();
        {
            let mut incoming = std::pin::pin!(incoming);
            let mut shutdown = std::pin::pin!(shutdown);
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    conn = incoming.next() => match conn {
                        Some(Ok(io)) => {
                            connections.spawn(self.connection(io, stopping.clone()));
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "xDS accept failed");
                        }
                        None => break,
                    },
                }
            }
        }
        stop.send_replace(true);
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!("xDS connections did not drain in time, stopping anyway");
        }
        Ok(())
    }

    /// Serves one connection; on shutdown, ends it gracefully (GOAWAY, then the open streams,
    /// which are ending, are let finish).
    fn connection<IO>(
        &self,
        io: IO,
        stopping: watch::Receiver<bool>,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self
            .http2
            .serve_connection(TokioIo::new(io), self.router.clone());
        async move {
            let mut conn = std::pin::pin!(conn);
            let stopped = async move {
                let mut stopping = stopping;
                // An error means the server is gone: stop as well.
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = stopped => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "xDS connection ended with an error");
            }
        }
    }
}
