//! mTLS for the xDS server, as upstream: TLS 1.3 only, ALPN `h2`, a client certificate signed
//! by the configured CA is required, and the certificate, key and CA files are read again on
//! every handshake so rotated files take effect without a restart.
//!
//! Handshakes run in their own tasks: a slow or hostile client never holds up the others.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{Acceptor, WebPkiClientVerifier};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

/// The three files of the xDS server's TLS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA bundle that client (Envoy) certificates must chain to.
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Why the TLS configuration cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, reason: impl ToString) -> TlsConfigError {
    TlsConfigError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let data = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(path, e))?;
    if certs.is_empty() {
        return Err(invalid(path, "no certificate found"));
    }
    Ok(certs)
}

/// Reads the files and builds the server configuration. Called at startup (to fail fast) and
/// for every handshake.
pub fn load_server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, TlsConfigError> {
    server_config_from_files(
        &files.cert_file,
        &files.key_file,
        Some(&files.ca_file),
        b"h2",
    )
}

/// A TLS 1.3 server configuration from PEM files as they are now: the certificate chain and key,
/// and, when `client_ca` is given, client certificates required and verified against it.
pub fn server_config_from_files(
    cert_file: &Path,
    key_file: &Path,
    client_ca: Option<&Path>,
    alpn: &[u8],
) -> Result<rustls::ServerConfig, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The CA is read first, so a missing set of files is reported by its CA (as before).
    let verifier = match client_ca {
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certs(ca_file)? {
                roots.add(ca).map_err(|e| invalid(ca_file, e))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| invalid(ca_file, e))?;
            Some(verifier)
        }
        None => None,
    };
    let chain = certs(cert_file)?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?).map_err(|e| invalid(key_file, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

/// A TLS connection tonic can serve.
pub struct TlsConn(TlsStream<TcpStream>);

impl tonic::transport::server::Connected for TlsConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for TlsConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// Accepts TCP connections and completes TLS handshakes concurrently; established
/// connections come out of the returned channel.
pub fn accept_tls(
    listener: TcpListener,
    files: TlsFiles,
) -> impl tokio_stream::Stream<Item = std::io::Result<TlsConn>> {
    let conns = accept_with(listener, "xDS", move || load_server_config(&files));
    tokio_stream::StreamExt::map(ReceiverStream::new(conns), |(stream, _)| {
        Ok(TlsConn(stream))
    })
}

/// Accepts TCP connections on `listener` and completes TLS handshakes concurrently, each with
/// the configuration `load` builds at that moment (rotated files need no restart); a slow or
/// hostile client never holds up the others. `what` names the server in logs.
pub fn accept_with<F>(
    listener: TcpListener,
    what: &'static str,
    load: F,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>
where
    F: Fn() -> Result<rustls::ServerConfig, TlsConfigError> + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    let load = Arc::new(load);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "{what} accept failed");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (tx, load) = (tx.clone(), load.clone());
            tokio::spawn(async move {
                match handshake(tcp, load.as_ref()).await {
                    Ok(stream) => {
                        let _ = tx.send((stream, peer)).await;
                    }
                    Err(e) => tracing::warn!(%peer, error = %e, "{what} TLS handshake failed"),
                }
            });
        }
    });
    rx
}

async fn handshake(
    tcp: TcpStream,
    load: &(dyn Fn() -> Result<rustls::ServerConfig, TlsConfigError> + Send + Sync),
) -> Result<TlsStream<TcpStream>, Box<dyn std::error::Error + Send + Sync>> {
    let start = LazyConfigAcceptor::new(Acceptor::default(), tcp).await?;
    // The files are read now, for this handshake: rotation needs no restart.
    let config = load()?;
    Ok(start.into_stream(Arc::new(config)).await?)
}
