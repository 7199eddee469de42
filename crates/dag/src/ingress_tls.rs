//! Ingress `spec.tls` → secure virtual hosts, computed before any route so that the set of
//! secure hosts is known when routes are placed (as upstream).
//!
//! Ingress has no status conditions: problems are logged and the host is skipped.

use k8s_openapi::api::networking::v1::Ingress;
use tracing::warn;

use crate::builder::DagBuilder;
use crate::cache::Cache;
use crate::model::TlsVersion;
use crate::tls::{self, SecretError, secret_ref};

pub const TLS_CERT_NAMESPACE_ANNOTATION: &str = "projectcontour.io/tls-cert-namespace";
pub const TLS_MIN_VERSION_ANNOTATION: &str = "projectcontour.io/tls-minimum-protocol-version";
pub const TLS_MAX_VERSION_ANNOTATION: &str = "projectcontour.io/tls-maximum-protocol-version";
pub const FORCE_SSL_REDIRECT_ANNOTATION: &str = "ingress.kubernetes.io/force-ssl-redirect";

pub fn annotation<'a>(ing: &'a Ingress, key: &str) -> Option<&'a str> {
    ing.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// `ingress.kubernetes.io/force-ssl-redirect: "true"`: plain-HTTP routes answer 301.
pub fn tls_required(ing: &Ingress) -> bool {
    annotation(ing, FORCE_SSL_REDIRECT_ANNOTATION) == Some("true")
}

/// Creates a secure virtual host for each `spec.tls[].hosts[]` entry whose Secret resolves.
pub fn secure_vhosts(cache: &Cache, ing: &Ingress, builder: &mut DagBuilder) {
    let ns = ing.metadata.namespace.as_deref().unwrap_or_default();
    let name = ing.metadata.name.as_deref().unwrap_or_default();
    let Some(spec) = &ing.spec else { return };
    // A secret name without a namespace lives in the annotation's namespace, else the
    // Ingress's own.
    let default_ns = annotation(ing, TLS_CERT_NAMESPACE_ANNOTATION)
        .filter(|n| !n.is_empty())
        .unwrap_or(ns);
    let min = TlsVersion::parse_or(
        annotation(ing, TLS_MIN_VERSION_ANNOTATION),
        TlsVersion::V1_2,
    );
    let max = TlsVersion::parse_or(
        annotation(ing, TLS_MAX_VERSION_ANNOTATION),
        TlsVersion::V1_3,
    );
    if max < min {
        warn!(
            kind = "Ingress",
            namespace = ns,
            name,
            min = min.as_str(),
            max = max.as_str(),
            "ignoring Ingress TLS: the minimum protocol version is greater than the maximum protocol version"
        );
        return;
    }
    for entry in spec.tls.iter().flatten() {
        let Some(reference) = entry.secret_name.as_deref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let (secret_ns, secret_name) = secret_ref(reference, default_ns);
        let secret = match tls::tls_secret(cache, &secret_ns, &secret_name, ns) {
            Ok(s) => s,
            Err(e @ SecretError::NotDelegated) => {
                warn!(kind = "Ingress", namespace = ns, name, secret = %format!("{secret_ns}/{secret_name}"),
                      error = %e, "ignoring Ingress TLS: certificate delegation not permitted");
                continue;
            }
            Err(e) => {
                warn!(kind = "Ingress", namespace = ns, name, secret = %format!("{secret_ns}/{secret_name}"),
                      error = %e, "ignoring Ingress TLS: unresolved secret reference");
                continue;
            }
        };
        for host in entry.hosts.iter().flatten().filter(|h| !h.is_empty()) {
            let svh = builder.secure_vhost(host);
            svh.secret = Some(secret.clone());
            svh.min_tls_version = min;
            svh.max_tls_version = max;
        }
    }
}
