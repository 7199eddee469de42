//! Real TLS for tests (rustls): an HTTPS client that controls SNI, ALPN and the client
//! certificate and reports what the server presented and negotiated, and the server side of
//! TLS echo backends.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::certs::Leaf;
use crate::echo::{ECHO_HEADER, Shared, handle};
use crate::http::Response;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// DER certificates of a PEM chain.
///
/// # Errors
/// When the PEM holds no certificate.
pub fn pem_certs(pem: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>()?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in PEM");
    Ok(certs)
}

fn pem_key(pem: &str) -> anyhow::Result<PrivateKeyDer<'static>> {
    Ok(PrivateKeyDer::from_pem_slice(pem.as_bytes())?)
}

/// One HTTPS request: where to connect and what to say in the handshake.
#[derive(Debug, Clone)]
pub struct TlsRequest {
    /// Server name sent in the ClientHello; `None` sends no SNI.
    pub sni: Option<String>,
    /// `Host` (HTTP/1.1) or `:authority` (HTTP/2).
    pub host: String,
    pub path: String,
    /// ALPN protocols offered, e.g. `["h2", "http/1.1"]`.
    pub alpn: Vec<String>,
    pub client_cert: Option<Leaf>,
    /// Only TLS 1.2 (to check minimum versions); default both 1.2 and 1.3.
    pub tls12_only: bool,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
}

impl TlsRequest {
    /// GET `path` with SNI and Host both `host`, offering HTTP/1.1 only.
    pub fn new(host: &str, path: &str) -> Self {
        TlsRequest {
            sni: Some(host.to_string()),
            host: host.to_string(),
            path: path.to_string(),
            alpn: vec!["http/1.1".to_string()],
            client_cert: None,
            tls12_only: false,
            headers: Vec::new(),
        }
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    #[must_use]
    pub fn sni(mut self, sni: Option<&str>) -> Self {
        self.sni = sni.map(str::to_string);
        self
    }

    #[must_use]
    pub fn alpn(mut self, protos: &[&str]) -> Self {
        self.alpn = protos.iter().map(|s| s.to_string()).collect();
        self
    }

    #[must_use]
    pub fn client_cert(mut self, leaf: &Leaf) -> Self {
        self.client_cert = Some(leaf.clone());
        self
    }

    #[must_use]
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }

    /// Sends the request on a new TLS connection to 127.0.0.1:`port` (10 s limit).
    ///
    /// # Errors
    /// When the connection, the handshake or the request fails.
    pub async fn send(&self, port: u16) -> anyhow::Result<TlsResponse> {
        tokio::time::timeout(Duration::from_secs(10), self.send_inner(port))
            .await
            .map_err(|_| anyhow!("TLS request to port {port} timed out"))?
    }

    fn client_config(&self) -> anyhow::Result<rustls::ClientConfig> {
        let versions: &[&rustls::SupportedProtocolVersion] = if self.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS12, &rustls::version::TLS13]
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny));
        let mut config = match &self.client_cert {
            Some(leaf) => builder
                .with_client_auth_cert(pem_certs(&leaf.cert_pem)?, pem_key(&leaf.key_pem)?)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        config.enable_sni = self.sni.is_some();
        Ok(config)
    }

    async fn send_inner(&self, port: u16) -> anyhow::Result<TlsResponse> {
        let connector = TlsConnector::from(Arc::new(self.client_config()?));
        // Without SNI, rustls still needs a name; an IP address is never sent as SNI.
        let name = match &self.sni {
            Some(s) => ServerName::try_from(s.clone())?,
            None => ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()),
        };
        let tcp = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let tls = connector
            .connect(name, tcp)
            .await
            .context("TLS handshake")?;
        let (_, conn) = tls.get_ref();
        let alpn = conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let peer_leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec());
        let version = conn.protocol_version().map(|v| format!("{v:?}"));
        let response = if alpn.as_deref() == Some("h2") {
            self.http2(tls).await?
        } else {
            self.http1(tls).await?
        };
        Ok(TlsResponse {
            response,
            alpn,
            peer_leaf,
            version,
        })
    }

    fn request(&self, uri: &str) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
        let mut builder = hyper::Request::builder()
            .uri(uri)
            .header(hyper::header::HOST, &self.host);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        Ok(builder.body(Full::new(Bytes::new()))?)
    }

    async fn http1(
        &self,
        tls: tokio_rustls::client::TlsStream<TcpStream>,
    ) -> anyhow::Result<Response> {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        let conn = tokio::spawn(conn);
        let resp = sender.send_request(self.request(&self.path)?).await;
        let out = collect(resp?).await;
        conn.abort();
        out
    }

    async fn http2(
        &self,
        tls: tokio_rustls::client::TlsStream<TcpStream>,
    ) -> anyhow::Result<Response> {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)).await?;
        let conn = tokio::spawn(conn);
        let uri = format!("https://{}{}", self.host, self.path);
        let mut req = self.request(&uri)?;
        req.headers_mut().remove(hyper::header::HOST);
        let out = collect(sender.send_request(req).await?).await;
        conn.abort();
        out
    }
}

async fn collect(resp: hyper::Response<hyper::body::Incoming>) -> anyhow::Result<Response> {
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// What came back, plus what the handshake settled.
#[derive(Debug, Clone)]
pub struct TlsResponse {
    pub response: Response,
    /// The negotiated ALPN protocol.
    pub alpn: Option<String>,
    /// DER of the certificate the server presented.
    pub peer_leaf: Option<Vec<u8>>,
    /// `TLSv1_2` / `TLSv1_3`.
    pub version: Option<String>,
}

impl TlsResponse {
    pub fn status(&self) -> u16 {
        self.response.status
    }

    pub fn backend(&self) -> Option<&str> {
        self.response.header(ECHO_HEADER)
    }

    /// Whether the server presented `leaf`.
    pub fn presented(&self, leaf: &Leaf) -> bool {
        let want = pem_certs(&leaf.cert_pem)
            .ok()
            .and_then(|c| c.first().map(|c| c.to_vec()));
        want.is_some() && self.peer_leaf == want
    }
}

/// Tests check which certificate was presented instead of trusting a CA.
#[derive(Debug)]
struct AcceptAny;

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS acceptor presenting `cert`, requiring client certificates from `client_ca` if given,
/// offering `h2` and `http/1.1`.
pub(crate) fn server_acceptor(cert: &Leaf, client_ca: Option<&str>) -> anyhow::Result<TlsAcceptor> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in pem_certs(ca)? {
                roots.add(c)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config =
        builder.with_single_cert(pem_certs(&cert.cert_pem)?, pem_key(&cert.key_pem)?)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

pub(crate) async fn accept_loop_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
