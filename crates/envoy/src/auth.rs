//! TLS contexts: downstream (what `ingress_https` presents and how it checks clients) and
//! upstream (how Envoy talks TLS to a backend). Certificates go by SDS name; CA bundles and
//! CRLs are inlined, as upstream.

use contour_dag::{ClientValidation, Cluster, Secret, TlsVersion, UpstreamValidation};
use envoy_types::pb::envoy::config::core::v3::{
    DataSource, TransportSocket, data_source, transport_socket,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, CommonTlsContext, DownstreamTlsContext, SdsSecretConfig,
    SubjectAltNameMatcher, TlsParameters, UpstreamTlsContext, certificate_validation_context,
    common_tls_context, subject_alt_name_matcher, tls_parameters::TlsProtocol,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};

use crate::config::{HttpVersion, TlsParams};
use crate::names::secret_name;
use crate::pb::{boolv, contour_config_source, to_any};

/// Name of the TLS transport socket.
pub const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";

/// `"1.2"`/`"1.3"` → Envoy's enum; anything else is AUTO (Envoy's default).
pub fn tls_protocol(version: &str) -> TlsProtocol {
    match version {
        "1.2" => TlsProtocol::TlSv12,
        "1.3" => TlsProtocol::TlSv13,
        _ => TlsProtocol::TlsAuto,
    }
}

fn dag_version(v: TlsVersion) -> TlsProtocol {
    tls_protocol(v.as_str())
}

/// The ALPN list for `default-http-versions`: both (or none given) → `h2`, `http/1.1`.
pub fn alpn_protocols(versions: &[HttpVersion]) -> Vec<String> {
    let h2 = versions.is_empty() || versions.contains(&HttpVersion::Http2);
    let h1 = versions.is_empty() || versions.contains(&HttpVersion::Http1);
    let mut out = Vec::new();
    if h2 {
        out.push("h2".to_string());
    }
    if h1 {
        out.push("http/1.1".to_string());
    }
    out
}

/// An SDS reference to a certificate served by contour.
pub fn sds_secret_config(secret: &Secret) -> SdsSecretConfig {
    SdsSecretConfig {
        name: secret_name(secret),
        sds_config: Some(contour_config_source()),
    }
}

fn inline_bytes(data: &[u8]) -> DataSource {
    DataSource {
        specifier: Some(data_source::Specifier::InlineBytes(data.to_vec())),
        ..Default::default()
    }
}

/// Downstream TLS: certificate by SDS, versions, ciphers, curves, ALPN and client validation.
/// The listener's (global) versions bound the virtual host's: min = max(global, vhost),
/// max = min(global, vhost).
pub fn downstream_tls_context(
    secret: &Secret,
    vhost_versions: Option<(TlsVersion, TlsVersion)>,
    global: &TlsParams,
    validation: Option<&ClientValidation>,
    alpn: Vec<String>,
) -> DownstreamTlsContext {
    let global_min = tls_protocol(&global.minimum_protocol_version);
    let global_max = tls_protocol(&global.maximum_protocol_version);
    let (min, max) = match vhost_versions {
        Some((min, max)) => {
            let min = global_min.max(dag_version(min));
            let mut max = global_max.min(dag_version(max));
            if max == TlsProtocol::TlsAuto {
                max = global_max;
            }
            (min, max)
        }
        None => (global_min, global_max),
    };
    let common = CommonTlsContext {
        tls_params: Some(TlsParameters {
            tls_minimum_protocol_version: min as i32,
            tls_maximum_protocol_version: max as i32,
            cipher_suites: global.cipher_suites.clone(),
            ecdh_curves: global.ecdh_curves.clone(),
            ..Default::default()
        }),
        tls_certificate_sds_secret_configs: vec![sds_secret_config(secret)],
        alpn_protocols: alpn,
        validation_context_type: validation.map(client_validation_context),
        ..Default::default()
    };
    DownstreamTlsContext {
        common_tls_context: Some(common),
        require_client_certificate: validation.map(|v| boolv(!v.optional)),
        ..Default::default()
    }
}

fn client_validation_context(v: &ClientValidation) -> common_tls_context::ValidationContextType {
    use certificate_validation_context::TrustChainVerification;
    let verification = if v.skip_verification {
        TrustChainVerification::AcceptUntrusted
    } else {
        TrustChainVerification::VerifyTrustChain
    };
    common_tls_context::ValidationContextType::ValidationContext(CertificateValidationContext {
        trust_chain_verification: verification as i32,
        trusted_ca: v.ca.as_deref().map(inline_bytes),
        crl: v.crl.as_deref().map(inline_bytes),
        only_verify_leaf_cert_crl: v.crl.is_some() && v.crl_only_leaf,
        ..Default::default()
    })
}

/// Upstream TLS of a cluster: SNI, the Envoy client certificate by SDS, the backend CA and
/// accepted SANs inlined, and the configured TLS parameters.
pub fn upstream_tls_context(
    c: &Cluster,
    params: Option<&TlsParams>,
    alpn: &[&str],
) -> UpstreamTlsContext {
    let peer = UpstreamPeer {
        sni: &c.sni,
        validation: c.upstream_validation.as_deref(),
        client_certificate: c.client_certificate.as_deref(),
    };
    upstream_tls_context_for(&peer, params, alpn)
}

/// What an upstream TLS context says about the backend and Envoy's own certificate.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamPeer<'a> {
    pub sni: &'a str,
    pub validation: Option<&'a UpstreamValidation>,
    pub client_certificate: Option<&'a Secret>,
}

/// [`upstream_tls_context`] from its parts (route clusters and extension clusters).
pub fn upstream_tls_context_for(
    peer: &UpstreamPeer<'_>,
    params: Option<&TlsParams>,
    alpn: &[&str],
) -> UpstreamTlsContext {
    let validation = peer.validation.map(|uv| {
        common_tls_context::ValidationContextType::ValidationContext(CertificateValidationContext {
            trusted_ca: Some(inline_bytes(&uv.ca)),
            match_typed_subject_alt_names: uv.subject_names.iter().map(|s| dns_san(s)).collect(),
            ..Default::default()
        })
    });
    let tls_params = params.map(|p| TlsParameters {
        tls_minimum_protocol_version: tls_protocol(&p.minimum_protocol_version) as i32,
        tls_maximum_protocol_version: tls_protocol(&p.maximum_protocol_version) as i32,
        cipher_suites: p.cipher_suites.clone(),
        ecdh_curves: p.ecdh_curves.clone(),
        ..Default::default()
    });
    UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            alpn_protocols: alpn.iter().map(|s| s.to_string()).collect(),
            tls_certificate_sds_secret_configs: peer
                .client_certificate
                .iter()
                .map(|s| sds_secret_config(s))
                .collect(),
            validation_context_type: validation,
            tls_params,
            ..Default::default()
        }),
        sni: peer.sni.to_string(),
        ..Default::default()
    }
}

fn dns_san(name: &str) -> SubjectAltNameMatcher {
    SubjectAltNameMatcher {
        san_type: subject_alt_name_matcher::SanType::Dns as i32,
        matcher: Some(StringMatcher {
            match_pattern: Some(string_matcher::MatchPattern::Exact(name.to_string())),
            ignore_case: false,
        }),
        ..Default::default()
    }
}

/// A TLS transport socket around either context.
pub fn tls_transport_socket<T: prost::Message + prost::Name>(context: &T) -> TransportSocket {
    TransportSocket {
        name: TLS_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(to_any(context))),
    }
}
