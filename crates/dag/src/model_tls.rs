//! The TLS part of the configuration graph: secure virtual hosts (one per SNI name on
//! `ingress_https`), the certificate material they carry, client validation, TCP proxying and
//! upstream TLS settings of clusters.
//!
//! Only Secrets a valid object references (and is allowed to reference) ever get here, so the
//! translator can only hand Envoy material the configuration asked for.

use bytes::Bytes;

use crate::model::{VirtualHost, WeightedCluster};

/// A validated `kubernetes.io/tls` (or Opaque) Secret: PEM certificate chain and private key,
/// shared (`Bytes`) by every copy of the secret (hosts, the translator's memo).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret {
    pub namespace: String,
    pub name: String,
    /// `tls.crt`, PEM, as stored in the Secret.
    pub cert_chain: Bytes,
    /// `tls.key`, PEM, as stored in the Secret.
    pub private_key: Bytes,
    /// The certificate as served (the SDS resource), when the cache encoded it on the way in:
    /// `cert_chain` and `private_key` are then slices of these bytes, held once.
    pub served: Option<Bytes>,
}

/// A TLS protocol version a virtual host accepts. Ordered: `V1_2 < V1_3`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// Upstream's parsing: `"1.2"` and `"1.3"` are versions; anything else gives `default`.
    pub fn parse_or(value: Option<&str>, default: TlsVersion) -> TlsVersion {
        match value {
            Some("1.2") => TlsVersion::V1_2,
            Some("1.3") => TlsVersion::V1_3,
            _ => default,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
}

/// What a virtual host does with client certificates (`tls.clientValidation`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientValidation {
    /// PEM CA bundle (`ca.crt` of the CA Secret). `None` only with `skip_verification`.
    pub ca: Option<Vec<u8>>,
    /// PEM CRLs (`crl.pem` of the CRL Secret).
    pub crl: Option<Vec<u8>>,
    /// Check only the leaf certificate against the CRL.
    pub crl_only_leaf: bool,
    /// Accept clients that present no certificate.
    pub optional: bool,
    /// Accept any presented certificate (`skipClientCertValidation`).
    pub skip_verification: bool,
    /// Which parts of the client certificate go upstream in `x-forwarded-client-cert`.
    pub forward: Option<ForwardClientCertificate>,
}

/// `forwardClientCertificate`: the XFCC fields to set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardClientCertificate {
    pub subject: bool,
    pub cert: bool,
    pub chain: bool,
    pub dns: bool,
    pub uri: bool,
}

/// A TCP proxy on a secure virtual host: the decrypted (or, with passthrough, still encrypted)
/// stream goes to these clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpProxy {
    pub clusters: Vec<WeightedCluster>,
}

/// One SNI name on the HTTPS listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecureVirtualHost {
    /// The name and the routes (served on route configuration `https/<fqdn>`).
    pub virtual_host: VirtualHost,
    /// The serving certificate. `None` for TLS passthrough.
    pub secret: Option<Secret>,
    pub min_tls_version: TlsVersion,
    pub max_tls_version: TlsVersion,
    /// Set when the proxy enables the fallback certificate: clients without SNI (or with an
    /// unknown one) get this certificate and this host's routes.
    pub fallback_certificate: Option<Secret>,
    pub client_validation: Option<ClientValidation>,
    pub tcp_proxy: Option<TcpProxy>,
}

impl SecureVirtualHost {
    pub fn new(fqdn: &str) -> Self {
        SecureVirtualHost {
            virtual_host: VirtualHost {
                fqdn: fqdn.to_string(),
                ..Default::default()
            },
            max_tls_version: TlsVersion::V1_3,
            ..Default::default()
        }
    }

    pub fn fqdn(&self) -> &str {
        &self.virtual_host.fqdn
    }

    /// Upstream's rule: serves when it has a certificate and routes, or a TCP proxy.
    pub fn is_valid(&self) -> bool {
        (self.secret.is_some() && !self.virtual_host.routes.is_empty()) || self.tcp_proxy.is_some()
    }
}

/// Upstream TLS towards a backend (`protocol: tls|h2`, `validation`, the Envoy client
/// certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UpstreamValidation {
    /// Name of the CA Secret (part of the cluster name hash, as upstream).
    pub ca_secret_name: String,
    /// PEM CA bundle.
    pub ca: Vec<u8>,
    /// Accepted DNS SANs of the backend certificate (at least one).
    pub subject_names: Vec<String>,
}
