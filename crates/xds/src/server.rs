//! The xDS gRPC server.
//!
//! Settings follow upstream Contour: HTTP/2 keepalive every 60 s with a 20 s timeout, a very
//! large number of concurrent streams, and a decode limit far above gRPC's 4 MiB default (an EDS
//! request can name thousands of clusters).
//!
//! With `ServerConfig::tls` set, every connection is mTLS ([`crate::tls`]): TLS 1.3, client
//! certificates required, certificate/key/CA re-read on every handshake.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic::transport::server::Router;

use tower_layer::{Identity, Stack};

use crate::XdsError;
use crate::metrics::GrpcMetricsLayer;
use crate::service::{Ads, Cds, Eds, GrpcService, Lds, Limits, Rds, Rtds, Sds, XdsService};
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

/// A tonic router with every xDS service registered over `service`.
pub fn router(
    service: XdsService,
    config: &ServerConfig,
) -> Router<Stack<GrpcMetricsLayer, Identity>> {
    let limits = Limits {
        max_decoding_message_size: config.max_decoding_message_size,
        max_encoding_message_size: config.max_encoding_message_size,
    };
    macro_rules! svc {
        ($kind:ident) => {
            GrpcService::<$kind>::new(service.clone(), limits)
        };
    }
    Server::builder()
        .http2_keepalive_interval(Some(config.keepalive_time))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_concurrent_streams(config.max_concurrent_streams)
        .layer(GrpcMetricsLayer::new(config.metrics.clone()))
        .add_service(svc!(Ads))
        .add_service(svc!(Lds))
        .add_service(svc!(Rds))
        .add_service(svc!(Cds))
        .add_service(svc!(Eds))
        .add_service(svc!(Sds))
        .add_service(svc!(Rtds))
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
    let closer = service.clone();
    let (stopping_tx, stopping_rx) = oneshot::channel();
    let signal = async move {
        shutdown.await;
        tracing::info!("xDS server shutting down");
        closer.close_streams();
        let _ = stopping_tx.send(());
    };
    tracing::info!(%addr, tls = config.tls.is_some(), "xDS server listening");
    let grace = async {
        if stopping_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(config.shutdown_grace).await;
    };
    let router = router(service, &config);
    match config.tls.clone() {
        Some(files) => {
            let incoming = crate::tls::accept_tls(listener, files);
            drive(router.serve_with_incoming_shutdown(incoming, signal), grace).await
        }
        None => {
            let incoming = TcpListenerStream::new(listener).map(|conn| {
                conn.inspect(|stream| {
                    // Small responses (ACK round trips) must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                })
            });
            drive(router.serve_with_incoming_shutdown(incoming, signal), grace).await
        }
    }
}

/// Runs the server until it ends, or until the drain grace after shutdown runs out.
async fn drive(
    serving: impl Future<Output = Result<(), tonic::transport::Error>>,
    grace: impl Future<Output = ()>,
) -> Result<(), XdsError> {
    tokio::select! {
        res = serving => Ok(res?),
        _ = grace => {
            tracing::warn!("xDS connections did not drain in time, stopping anyway");
            Ok(())
        }
    }
}
