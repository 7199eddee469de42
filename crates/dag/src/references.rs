//! What an Ingress, HTTPProxy or ExtensionService references (Services, Secrets): the cache indexes it to decide
//! whether a Service/Secret change matters (see `cache/refs.rs`).

use contour_api::v1::{HTTPProxy, HTTPProxySpec};
use contour_api::v1alpha1::ExtensionService;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};

/// Every backend an Ingress names (default backend and rule paths).
pub fn ingress_backends(ing: &Ingress) -> Vec<&IngressBackend> {
    let mut out = Vec::new();
    let Some(spec) = &ing.spec else { return out };
    if let Some(b) = &spec.default_backend {
        out.push(b);
    }
    for rule in spec.rules.iter().flatten() {
        if let Some(http) = &rule.http {
            out.extend(http.paths.iter().map(|p| &p.backend));
        }
    }
    out
}

/// Splits `ns/name` (or `name`, in `default_ns`).
pub fn split_ref<'a>(r: &'a str, default_ns: &'a str) -> (&'a str, &'a str) {
    match r.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (default_ns, r),
    }
}

/// The `(namespace, name)` of every Secret an Ingress's TLS section names: a name without a
/// namespace is in the `projectcontour.io/tls-cert-namespace` namespace, else the Ingress's.
fn ingress_secret_refs(ing: &Ingress) -> impl Iterator<Item = (&str, &str)> {
    let own_ns = ing.metadata.namespace.as_deref().unwrap_or_default();
    let default_ns =
        crate::ingress_tls::annotation(ing, crate::ingress_tls::TLS_CERT_NAMESPACE_ANNOTATION)
            .filter(|n| !n.is_empty())
            .unwrap_or(own_ns);
    let tls = ing.spec.iter().flat_map(|s| s.tls.iter().flatten());
    tls.filter_map(|t| t.secret_name.as_deref())
        .filter(|s| !s.is_empty())
        .map(move |s| split_ref(s, default_ns))
}

fn owned((ns, name): (&str, &str)) -> (String, String) {
    (ns.to_string(), name.to_string())
}

/// Every Secret an Ingress names, as `(namespace, name)`.
pub fn ingress_secrets(ing: &Ingress) -> Vec<(String, String)> {
    ingress_secret_refs(ing).map(owned).collect()
}

/// Every Secret an HTTPProxy names, as `(namespace, name)`.
pub fn proxy_secrets(p: &HTTPProxy) -> Vec<(String, String)> {
    let own_ns = p.metadata.namespace.as_deref().unwrap_or_default();
    proxy_spec_secrets(own_ns, &p.spec)
}

/// Every Secret the spec of an HTTPProxy in namespace `ns` names, as `(namespace, name)`.
pub fn proxy_spec_secrets(ns: &str, spec: &HTTPProxySpec) -> Vec<(String, String)> {
    spec_secret_refs(spec)
        .map(|s| owned(split_ref(s, ns)))
        .collect()
}

/// The Services an ExtensionService names (in its namespace).
pub fn extension_service_names(e: &ExtensionService) -> impl Iterator<Item = &str> {
    e.spec.services.iter().map(|s| s.name.as_str())
}

/// The CA Secret of an ExtensionService's upstream validation, as `(namespace, name)`.
pub fn extension_secrets(e: &ExtensionService) -> Vec<(String, String)> {
    let own_ns = e.metadata.namespace.as_deref().unwrap_or_default();
    e.spec
        .validation
        .iter()
        .map(|v| owned(split_ref(&v.ca_secret, own_ns)))
        .collect()
}

/// Every Secret an Ingress, HTTPProxy or ExtensionService names; nothing for other kinds. The event loop uses it
/// to know which Secrets' data to keep or read again.
pub fn secret_refs(obj: &crate::Object) -> Vec<(String, String)> {
    match obj {
        crate::Object::Ingress(ing) => ingress_secrets(ing),
        crate::Object::HTTPProxy(p) => proxy_secrets(p),
        crate::Object::ExtensionService(e) => extension_secrets(e),
        _ => Vec::new(),
    }
}

/// The Services a proxy's routes and TCP proxy name (in the proxy's namespace).
pub fn proxy_service_names(p: &HTTPProxy) -> impl Iterator<Item = &str> {
    let routes = p.spec.routes.iter().flat_map(|r| r.services.iter());
    let tcp = p.spec.tcpproxy.iter().flat_map(|t| t.services.iter());
    routes.chain(tcp).map(|s| s.name.as_str())
}

/// Every Secret reference of a proxy: serving certificate, client CA and CRL, and the CA of
/// upstream validation on route and TCP proxy services.
fn spec_secret_refs(spec: &HTTPProxySpec) -> impl Iterator<Item = &str> {
    let tls = spec.virtualhost.as_ref().and_then(|v| v.tls.as_ref());
    let serving = tls.and_then(|t| t.secret_name.as_deref());
    let client = tls.and_then(|t| t.client_validation.as_ref());
    let ca = client.and_then(|c| c.ca_secret.as_deref());
    let crl = client.and_then(|c| c.crl_secret.as_deref());
    let routes = spec.routes.iter().flat_map(|r| r.services.iter());
    let tcp = spec.tcpproxy.iter().flat_map(|t| t.services.iter());
    let upstream = routes
        .chain(tcp)
        .filter_map(|s| s.validation.as_ref().map(|v| v.ca_secret.as_str()));
    serving.into_iter().chain(ca).chain(crl).chain(upstream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::obj;

    #[test]
    fn ingress_secret_namespace_follows_the_tls_cert_namespace_annotation() {
        let ing = obj("apiVersion: networking.k8s.io/v1\nkind: Ingress\n\
             metadata: {name: web, namespace: app, annotations: {projectcontour.io/tls-cert-namespace: certs}}\n\
             spec:\n  tls:\n  - {secretName: wild}\n  - {secretName: other/explicit}\n");
        let refs = secret_refs(&ing);
        assert_eq!(
            refs,
            vec![
                ("certs".to_string(), "wild".to_string()),
                ("other".to_string(), "explicit".to_string())
            ]
        );
    }
}
