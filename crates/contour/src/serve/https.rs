//! Contour's metrics (and health, when they share the address) over HTTPS: `metrics.contour`
//! `server-certificate-path` / `server-key-path` and optionally `ca-certificate-path` (client
//! certificates then required), as upstream's `httpsvc`. As upstream, the files are read once
//! at startup to fail fast, then again for every handshake (rotation needs no restart), and
//! TLS 1.3 is the minimum.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use crate::settings::MetricsTls as ServerTls;

/// Builds the TLS configuration from the files as they are now.
pub fn server_config(tls: &ServerTls) -> Result<rustls::ServerConfig, contour_xds::TlsConfigError> {
    contour_xds::server_config_from_files(
        &tls.cert_file,
        &tls.key_file,
        tls.ca_file.as_deref(),
        b"http/1.1",
    )
}

/// TLS connections for axum, handshaken with the configuration read at that moment.
struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The acceptor never stops while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Binds `addr` and serves `router` over TLS in the background.
pub async fn spawn(
    addr: SocketAddr,
    router: Router,
    tls: ServerTls,
    what: &'static str,
) -> anyhow::Result<()> {
    server_config(&tls).with_context(|| format!("{what} server TLS"))?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} server on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %addr, tls = true, "started {what} server");
    let rx = contour_xds::accept_with(listener, what, move || server_config(&tls));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(TlsListener { rx, local }, router).await {
            tracing::error!(error = %e, "{what} server stopped");
        }
    });
    Ok(())
}
