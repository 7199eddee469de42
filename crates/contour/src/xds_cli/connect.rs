//! The gRPC channel to contour: plaintext HTTP/2, or mutual TLS with the CLI's certificate
//! (server name `contour`, as in the certificates `contour certgen` writes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

/// The name contour's serving certificate carries.
const SERVER_NAME: &str = "contour";

/// The CLI's TLS files: all three or none.
pub struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    pub fn from_flags(
        ca: &Option<PathBuf>,
        cert: &Option<PathBuf>,
        key: &Option<PathBuf>,
    ) -> anyhow::Result<Option<TlsFiles>> {
        match (ca, cert, key) {
            (None, None, None) => Ok(None),
            (Some(ca), Some(cert), Some(key)) => Ok(Some(TlsFiles {
                ca: ca.clone(),
                cert: cert.clone(),
                key: key.clone(),
            })),
            _ => anyhow::bail!(
                "you must supply all three TLS parameters - --cafile, --cert-file, --key-file - or none of them"
            ),
        }
    }

    fn client_config(&self) -> anyhow::Result<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(&self.ca)? {
            roots
                .add(cert)
                .with_context(|| format!("{}: not a CA certificate", self.ca.display()))?;
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("{}: no private key", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs(&self.cert)?, key)
            .with_context(|| format!("{}: certificate and key", self.cert.display()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }
}

fn certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: invalid PEM", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{}: no certificate", path.display());
    Ok(certs)
}

/// Connects to `address` (`host:port`).
pub async fn channel(address: &str, tls: Option<&TlsFiles>) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .with_context(|| format!("invalid --contour address {address:?}"))?;
    let Some(tls) = tls else {
        return endpoint
            .connect()
            .await
            .with_context(|| format!("connecting to {address}"));
    };
    let connector = TlsConnector::from(Arc::new(tls.client_config()?));
    let target = address.to_string();
    let connect = tower::service_fn(move |_: Uri| {
        let connector = connector.clone();
        let target = target.clone();
        async move {
            let tcp = TcpStream::connect(&target).await?;
            let name = ServerName::try_from(SERVER_NAME).expect("a valid DNS name");
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    endpoint
        .connect_with_connector(connect)
        .await
        .with_context(|| format!("connecting to {address} over TLS"))
}
