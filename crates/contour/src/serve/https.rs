//! Contour's metrics (and health, when they share the address) over HTTPS: `metrics.contour`
//! `server-certificate-path` / `server-key-path` and optionally `ca-certificate-path` (client
//! certificates then required), as upstream's `httpsvc`. As upstream, the files are read once
//! at startup to fail fast, then again for every handshake (rotation needs no restart), and
//! TLS 1.3 is the minimum.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use crate::settings::MetricsTls as ServerTls;

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading metrics TLS {what} {}", path.display()))
}

/// Builds the TLS configuration from the files as they are now.
pub fn server_config(tls: &ServerTls) -> anyhow::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_slice_iter(&read(&tls.cert_file, "certificate")?)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", tls.cert_file.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "no certificate in {}",
        tls.cert_file.display()
    );
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key_file, "key")?)
        .with_context(|| format!("parsing {}", tls.key_file.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = match &tls.ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&read(ca, "CA")?) {
                roots
                    .add(c.with_context(|| format!("parsing {}", ca.display()))?)
                    .with_context(|| format!("adding the CA of {}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .with_context(|| format!("client verifier from {}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("metrics TLS certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
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

fn accept(
    listener: TcpListener,
    tls: ServerTls,
    what: &'static str,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)> {
    let (tx, rx) = mpsc::channel(64);
    let tls = Arc::new(tls);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                continue;
            };
            let (tx, tls) = (tx.clone(), tls.clone());
            tokio::spawn(async move {
                let config = match server_config(&tls) {
                    Ok(c) => Arc::new(c),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "{what}: cannot load TLS files");
                        return;
                    }
                };
                match tokio_rustls::TlsAcceptor::from(config).accept(tcp).await {
                    Ok(stream) => {
                        let _ = tx.send((stream, peer)).await;
                    }
                    Err(e) => tracing::debug!(%peer, error = %e, "{what}: TLS handshake failed"),
                }
            });
        }
    });
    rx
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
    let rx = accept(listener, tls, what);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(TlsListener { rx, local }, router).await {
            tracing::error!(error = %e, "{what} server stopped");
        }
    });
    Ok(())
}
