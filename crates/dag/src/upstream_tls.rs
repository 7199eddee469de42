//! Upstream protocol and TLS of a cluster: `services[].protocol`, the Service port's
//! `appProtocol`, the `projectcontour.io/upstream-protocol.*` annotations, `validation`, and
//! the Envoy client certificate from the configuration file.

use crate::cache::CachedService;
use contour_api::v1::UpstreamValidation as ApiValidation;

use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::model::{Cluster, Secret, UpstreamValidation};
use crate::status::error_type;
use crate::tls::{self, SecretError};

/// Annotation prefix naming the ports (by name or number) that speak a protocol.
const UPSTREAM_PROTOCOL_ANNOTATION: &str = "projectcontour.io/upstream-protocol.";

/// Contour's protocol for a Service port: its `appProtocol` when set, otherwise the
/// `projectcontour.io/upstream-protocol.{h2,h2c,tls}` annotations. "" is HTTP/1.1.
pub fn service_port_protocol(svc: Option<&CachedService>, port: u16) -> String {
    let Some(svc) = svc else {
        return String::new();
    };
    let ports = svc.spec.iter().flat_map(|s| s.ports.iter().flatten());
    let Some(sp) = ports.into_iter().find(|p| p.port == i32::from(port)) else {
        return String::new();
    };
    if let Some(app) = &sp.app_protocol {
        return match app.as_str() {
            "kubernetes.io/h2c" => "h2c",
            "https" => "tls",
            _ => "",
        }
        .to_string();
    }
    let annotations = svc.metadata.annotations.iter().flatten();
    let port_name = sp.name.as_deref().unwrap_or_default();
    let mut by_name = None;
    let mut by_number = None;
    for (key, value) in annotations {
        let Some(proto) = key.strip_prefix(UPSTREAM_PROTOCOL_ANNOTATION) else {
            continue;
        };
        if !matches!(proto, "h2" | "h2c" | "tls") {
            continue;
        }
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if !port_name.is_empty() && entry == port_name {
                by_name = Some(proto);
            } else if entry == port.to_string() {
                by_number = Some(proto);
            }
        }
    }
    by_name.or(by_number).unwrap_or_default().to_string()
}

/// A status error: `(type, reason, message)`.
pub type TlsProblem = (&'static str, &'static str, String);

/// The Envoy client certificate named by the configuration file, if any. The operator chose
/// it, so no delegation is needed.
pub fn envoy_client_certificate(
    cache: &Cache,
    cfg: &BuildConfig,
) -> Result<Option<Secret>, TlsProblem> {
    let Some((ns, name)) = &cfg.envoy_client_certificate else {
        return Ok(None);
    };
    tls::tls_secret_insecure(cache, ns, name)
        .map(Some)
        .map_err(|e| {
            (
                error_type::TLS,
                "SecretNotValid",
                format!("tls.envoy-client-certificate Secret \"{ns}/{name}\" is invalid: {e}"),
            )
        })
}

/// Sets the protocol, validation and client certificate of an HTTPProxy service's cluster.
/// `explicit` is `services[].protocol`; otherwise the Service decides.
pub fn apply_to_proxy_service(
    cache: &Cache,
    cfg: &BuildConfig,
    namespace: &str,
    svc: &contour_api::v1::Service,
    cluster: &mut Cluster,
) -> Result<(), TlsProblem> {
    let protocol = match svc.protocol.as_deref() {
        Some(p @ ("h2" | "h2c" | "tls")) => p.to_string(),
        Some(other) => {
            return Err((
                error_type::SERVICE,
                "UnsupportedProtocol",
                format!("unsupported protocol: {other}"),
            ));
        }
        None => service_port_protocol(cache.service(namespace, &svc.name), cluster.service.port),
    };
    cluster.protocol = protocol;
    if cluster.is_tls()
        && let Some(v) = &svc.validation
    {
        cluster.upstream_validation = Some(Box::new(validation(cache, namespace, svc, v)?));
    }
    cluster.client_certificate = envoy_client_certificate(cache, cfg)?.map(Box::new);
    Ok(())
}

fn validation(
    cache: &Cache,
    namespace: &str,
    svc: &contour_api::v1::Service,
    v: &ApiValidation,
) -> Result<UpstreamValidation, TlsProblem> {
    lookup_validation(cache, v, namespace).map_err(|e| match e {
        ValidationError::NotDelegated { .. } => e.not_delegated_problem(),
        ValidationError::Policy(msg) => (
            error_type::SERVICE,
            "TLSUpstreamValidation",
            format!(
                "Service [{}:{}] TLS upstream validation policy error: {msg}",
                svc.name, svc.port
            ),
        ),
    })
}

/// Why an upstream `validation` block cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationError {
    /// The CA Secret is in another namespace and not delegated to the referring one.
    NotDelegated { namespace: String, name: String },
    /// Upstream's policy error text (missing Secret, bad CA, subject names).
    Policy(String),
}

impl ValidationError {
    /// Upstream's `CACertificateNotDelegated` error (same text for HTTPProxy and
    /// ExtensionService).
    pub fn not_delegated_problem(&self) -> TlsProblem {
        let (ns, name) = match self {
            ValidationError::NotDelegated { namespace, name } => {
                (namespace.as_str(), name.as_str())
            }
            ValidationError::Policy(_) => ("", ""),
        };
        (
            error_type::TLS,
            "CACertificateNotDelegated",
            format!(
                "service.UpstreamValidation.CACertificate Secret \"{ns}/{name}\" is not configured for certificate delegation"
            ),
        )
    }
}

/// Upstream's `LookupUpstreamValidation`: the CA bundle of `caSecret` (`name` in
/// `namespace`, or `ns/name` when delegated to `namespace`) and the accepted subject names.
pub fn lookup_validation(
    cache: &Cache,
    v: &ApiValidation,
    namespace: &str,
) -> Result<UpstreamValidation, ValidationError> {
    let (ca_ns, ca_name) = tls::secret_ref(&v.ca_secret, namespace);
    let ca = match tls::ca_bundle(cache, &ca_ns, &ca_name, namespace) {
        Ok(ca) => ca,
        Err(SecretError::NotDelegated) => {
            return Err(ValidationError::NotDelegated {
                namespace: ca_ns,
                name: ca_name,
            });
        }
        Err(e) => {
            return Err(ValidationError::Policy(format!(
                "invalid CA Secret \"{ca_ns}/{ca_name}\": {e}"
            )));
        }
    };
    if v.subject_name.is_empty() {
        return Err(ValidationError::Policy(
            "missing subject alternative name".to_string(),
        ));
    }
    let subject_names = match v.subject_names.first() {
        None => vec![v.subject_name.clone()],
        Some(first) if *first != v.subject_name => {
            return Err(ValidationError::Policy(format!(
                "first entry of SubjectNames ({first}) does not match SubjectName ({})",
                v.subject_name
            )));
        }
        Some(_) => v.subject_names.clone(),
    };
    Ok(UpstreamValidation {
        ca_secret_name: ca_name,
        ca,
        subject_names,
    })
}
