//! Ingress (networking.k8s.io/v1) → routes on the insecure listener.
//!
//! Errors are only logged: Ingress has no status conditions.

use std::sync::Arc;

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressRule};
use tracing::warn;

use crate::builder::{BuildConfig, DagBuilder};
use crate::cache::Cache;
use crate::ingress_tls::{self, annotation};
use crate::model::{
    Cluster, Forward, HeaderMatch, HeaderMatchKind, ObjectRef, PathMatch, Route, RouteAction,
    Secret, WeightedCluster,
};
use crate::service_policy;
use crate::services::{self, PortRef};
use crate::upstream_tls;

const ALLOW_HTTP_ANNOTATION: &str = "kubernetes.io/ingress.allow-http";

pub fn process(cache: &Cache, cfg: &BuildConfig, builder: &mut DagBuilder) {
    // Secure hosts first, so that routes know where they go.
    for ing in cache.ingresses.values() {
        ingress_tls::secure_vhosts(cache, ing, builder);
    }
    let client_cert = match upstream_tls::envoy_client_certificate(cache, cfg) {
        Ok(c) => c,
        Err((_, _, message)) => {
            warn!(%message, "ignoring every Ingress: tls.envoy-client-certificate contains unresolved secret reference");
            return;
        }
    };
    for ing in cache.ingresses.values() {
        process_one(cache, cfg, ing, builder, client_cert.as_ref());
    }
}

fn process_one(
    cache: &Cache,
    cfg: &BuildConfig,
    ing: &Ingress,
    builder: &mut DagBuilder,
    client_cert: Option<&Secret>,
) {
    let Some(spec) = &ing.spec else { return };
    let tls_required = ingress_tls::tls_required(ing);
    let http_allowed = annotation(ing, ALLOW_HTTP_ANNOTATION) != Some("false");
    let ns = ing.metadata.namespace.as_deref().unwrap_or_default();
    let name = ing.metadata.name.as_deref().unwrap_or_default();
    let source = Arc::new(ObjectRef::new("Ingress", ns, name));
    // The default backend is a synthetic rule for every host, placed first so that explicit
    // rules override it.
    let default_rule = spec.default_backend.as_ref().map(|b| IngressRule {
        host: None,
        http: Some(k8s_openapi::api::networking::v1::HTTPIngressRuleValue {
            paths: vec![k8s_openapi::api::networking::v1::HTTPIngressPath {
                backend: b.clone(),
                path: None,
                path_type: "ImplementationSpecific".to_string(),
            }],
        }),
    });
    let rules = default_rule.iter().chain(spec.rules.iter().flatten());
    for rule in rules {
        let host = rule
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or("*");
        let Some(http) = &rule.http else { continue };
        for path in &http.paths {
            let Some(path_match) = path_match(path.path.as_deref(), &path.path_type) else {
                warn!(kind = "Ingress", namespace = ns, name, path = ?path.path,
                      "ignoring Ingress path: invalid regular expression");
                continue;
            };
            let backend = backend_cluster(cache, cfg, ns, &path.backend, &source);
            let Some(mut cluster) = backend else {
                continue;
            };
            cluster.protocol = upstream_tls::service_port_protocol(
                cache.service(ns, &cluster.service.name),
                cluster.service.port,
            );
            cluster.client_certificate = client_cert.cloned().map(Box::new);
            let route = Route {
                path: path_match,
                headers: wildcard_authority(host).into_iter().collect(),
                query_params: Vec::new(),
                action: RouteAction::Forward(Forward {
                    clusters: vec![WeightedCluster {
                        cluster: Arc::new(cluster),
                        weight: 1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                source: source.clone(),
                policy: crate::ingress_annotations::route_policy(
                    ing,
                    path.path.as_deref().unwrap_or_default(),
                )
                .into(),
                ..Default::default()
            };
            if host != "*" && builder.has_secure_vhost(host) {
                builder.add_https_route(host, route.clone());
            }
            if tls_required {
                builder.add_http_route(
                    host,
                    Route {
                        action: RouteAction::HttpsRedirect,
                        ..route
                    },
                );
            } else if http_allowed {
                builder.add_http_route(host, route);
            }
        }
    }
}

/// The cluster of a backend, or `None` (logged) when its Service does not resolve or is a
/// refused ExternalName Service: upstream then drops the route, so the path answers 404.
fn backend_cluster(
    cache: &Cache,
    cfg: &BuildConfig,
    ns: &str,
    backend: &IngressBackend,
    source: &ObjectRef,
) -> Option<Cluster> {
    let svc = backend.service.as_ref()?;
    let port = svc.port.as_ref()?;
    let port_ref = match (&port.name, port.number) {
        (Some(name), _) if !name.is_empty() => PortRef::Name(name),
        (_, Some(n)) => PortRef::Number(n),
        _ => return None,
    };
    let found = cache.service(ns, &svc.name);
    let service = match services::resolve(found, ns, &svc.name, port_ref) {
        Ok(service) => service,
        Err(e) => {
            warn!(kind = "Ingress", namespace = ns, name = source.name, error = %e,
                  "ignoring Ingress backend: unresolved service reference");
            return None;
        }
    };
    let external =
        found.map(|s| service_policy::external_name(s, cfg.enable_external_name_service));
    if let Some(Err(reason)) = external {
        warn!(kind = "Ingress", namespace = ns, name = source.name, service = svc.name, error = %reason,
              "ignoring ExternalName service");
        return None;
    }
    Some(Cluster {
        service,
        ..Default::default()
    })
}

/// Characters that make an ImplementationSpecific path a regular expression (upstream's rule).
const REGEX_CHARS: &[char] = &['^', '+', '*', '[', ']', '%'];

/// The path match for an Ingress path, or None when a regex path does not compile.
pub fn path_match(path: Option<&str>, path_type: &str) -> Option<PathMatch> {
    let path = path.filter(|p| !p.is_empty()).unwrap_or("/");
    Some(match path_type {
        "Exact" => PathMatch::Exact(path.to_string()),
        "Prefix" => {
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() {
                PathMatch::Prefix("/".to_string())
            } else {
                PathMatch::SegmentPrefix(trimmed.to_string())
            }
        }
        _ if path.contains(REGEX_CHARS) => {
            crate::go_regexp::check(path).ok()?;
            PathMatch::Regex(path.to_string())
        }
        _ => PathMatch::Prefix(path.to_string()),
    })
}

/// For a wildcard host `*.example.com`: an `:authority` match that accepts exactly one extra
/// DNS label (Envoy's `*.` domain would accept several).
pub fn wildcard_authority(host: &str) -> Option<HeaderMatch> {
    let suffix = host.strip_prefix("*.")?;
    let escaped = regex::escape(suffix);
    Some(HeaderMatch {
        name: ":authority".to_string(),
        kind: HeaderMatchKind::Regex(format!(
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.{escaped}(:[0-9]+)?"
        )),
        ignore_case: false,
        treat_missing_as_empty: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_types() {
        let cases = [
            (
                Some("/foo/"),
                "Prefix",
                PathMatch::SegmentPrefix("/foo".into()),
            ),
            (Some("/"), "Prefix", PathMatch::Prefix("/".into())),
            (None, "Prefix", PathMatch::Prefix("/".into())),
            (Some("/foo"), "Exact", PathMatch::Exact("/foo".into())),
            (
                Some("/foo"),
                "ImplementationSpecific",
                PathMatch::Prefix("/foo".into()),
            ),
            (
                Some("/foo/[0-9]+"),
                "ImplementationSpecific",
                PathMatch::Regex("/foo/[0-9]+".into()),
            ),
        ];
        for (path, ty, want) in cases {
            assert_eq!(path_match(path, ty), Some(want), "{path:?} {ty}");
        }
        assert_eq!(
            path_match(Some("/foo/[0-9"), "ImplementationSpecific"),
            None
        );
    }

    #[test]
    fn wildcard_host_matches_one_label() {
        let m = wildcard_authority("*.example.com").unwrap();
        let HeaderMatchKind::Regex(re) = m.kind else {
            panic!()
        };
        let re = regex::Regex::new(&format!("^(?:{re})$")).unwrap();
        assert!(re.is_match("a.example.com"));
        assert!(re.is_match("a.example.com:8080"));
        assert!(!re.is_match("a.b.example.com"));
        assert!(wildcard_authority("example.com").is_none());
    }
}
