//! Which objects reference a Service or Secret: decides whether a Service/Secret change matters.

use contour_api::v1::HTTPProxy;
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

/// The Services a proxy's routes and TCP proxy name (in the proxy's namespace).
pub fn proxy_service_names(p: &HTTPProxy) -> impl Iterator<Item = &str> {
    let routes = p.spec.routes.iter().flat_map(|r| r.services.iter());
    let tcp = p.spec.tcpproxy.iter().flat_map(|t| t.services.iter());
    routes.chain(tcp).map(|s| s.name.as_str())
}

/// The Secret references (`name` or `namespace/name`) of an Ingress's TLS entries.
pub fn ingress_secret_refs(ing: &Ingress) -> impl Iterator<Item = &str> {
    let tls = ing.spec.iter().flat_map(|s| s.tls.iter().flatten());
    tls.filter_map(|t| t.secret_name.as_deref())
}

/// Every Secret reference of a proxy: serving certificate, client CA and CRL, and the CA of
/// upstream validation on route and TCP proxy services.
pub fn proxy_secret_refs(p: &HTTPProxy) -> impl Iterator<Item = &str> {
    let tls = p.spec.virtualhost.as_ref().and_then(|v| v.tls.as_ref());
    let serving = tls.and_then(|t| t.secret_name.as_deref());
    let client = tls.and_then(|t| t.client_validation.as_ref());
    let ca = client.and_then(|c| c.ca_secret.as_deref());
    let crl = client.and_then(|c| c.crl_secret.as_deref());
    let routes = p.spec.routes.iter().flat_map(|r| r.services.iter());
    let tcp = p.spec.tcpproxy.iter().flat_map(|t| t.services.iter());
    let upstream = routes
        .chain(tcp)
        .filter_map(|s| s.validation.as_ref().map(|v| v.ca_secret.as_str()));
    serving.into_iter().chain(ca).chain(crl).chain(upstream)
}
