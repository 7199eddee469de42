//! What a build takes from the Services its routes forward to, beyond the port: the circuit
//! breaker annotations and, for `type: ExternalName`, the DNS name (only when
//! `enableExternalNameService` is on, and never a name that reaches Envoy itself, upstream's
//! CVE-2021-32783 class).
//!
//! This runs once after the processors, over the clusters the DAG references, so that the
//! processors keep resolving Services by port alone.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::cache::CachedService;
use tracing::warn;

use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::model::{
    Dag, RouteAction, SecureVirtualHost, ServiceCluster, ServicePolicy, VirtualHost,
};

/// Service annotations with circuit breaker thresholds (upstream's names).
pub const MAX_CONNECTIONS: &str = "projectcontour.io/max-connections";
pub const MAX_PENDING_REQUESTS: &str = "projectcontour.io/max-pending-requests";
pub const MAX_REQUESTS: &str = "projectcontour.io/max-requests";
pub const MAX_RETRIES: &str = "projectcontour.io/max-retries";
pub const PER_HOST_MAX_CONNECTIONS: &str = "projectcontour.io/per-host-max-connections";

/// Names that always mean "this machine".
const LOCALHOST_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local.projectcontour.io",
];

/// Fills [`Dag::services`] and drops forwards to refused ExternalName Services. The processors
/// already refuse them as upstream does (an Ingress route is dropped, an HTTPProxy service is
/// `ServiceUnresolvedReference`); this pass is the safety net that keeps any other path from
/// reaching Envoy (a route left without any cluster answers 503).
pub fn apply(cache: &Cache, cfg: &BuildConfig, dag: &mut Dag) {
    let (policies, refused) = classify(cache, cfg, dag);
    drop_refused(dag, &refused);
    dag.services = policies;
}

/// [`Dag::services`] for a DAG whose refused Services are already dropped (by
/// [`drop_refused_vhost`] and [`drop_refused_secure`]).
pub fn policies(
    cache: &Cache,
    cfg: &BuildConfig,
    dag: &Dag,
) -> BTreeMap<(String, String), ServicePolicy> {
    classify(cache, cfg, dag).0
}

type ByService<T> = BTreeMap<(String, String), T>;

/// The policies of the Services the DAG's clusters forward to, and the refused ones (logged).
fn classify(
    cache: &Cache,
    cfg: &BuildConfig,
    dag: &Dag,
) -> (ByService<ServicePolicy>, ByService<String>) {
    let mut policies: BTreeMap<(String, String), ServicePolicy> = BTreeMap::new();
    let mut refused: BTreeMap<(String, String), String> = BTreeMap::new();
    for cluster in dag.clusters() {
        let key = (
            cluster.service.namespace.clone(),
            cluster.service.name.clone(),
        );
        let Some(svc) = cache.service(&key.0, &key.1) else {
            continue;
        };
        match external_name(svc, cfg.enable_external_name_service) {
            Err(reason) => {
                refused.insert(key, reason);
            }
            Ok(external_name) => {
                let policy = ServicePolicy {
                    circuit_breakers: circuit_breakers(svc),
                    external_name,
                };
                if policy != ServicePolicy::default() {
                    policies.insert(key, policy);
                }
            }
        }
    }
    for ((namespace, name), reason) in &refused {
        warn!(kind = "Service", namespace, name, error = %reason,
              "ignoring ExternalName service");
    }
    (policies, refused)
}

fn drop_refused(dag: &mut Dag, refused: &BTreeMap<(String, String), String>) {
    if refused.is_empty() {
        return;
    }
    let is_refused =
        |s: &ServiceCluster| refused.contains_key(&(s.namespace.clone(), s.name.clone()));
    for listener in dag.listeners.values_mut() {
        for secure in &mut listener.secure_virtual_hosts {
            drop_refused_secure(Arc::make_mut(secure), is_refused);
        }
        for vhost in listener.virtual_hosts.iter_mut() {
            drop_refused_vhost(Arc::make_mut(vhost), is_refused);
        }
    }
}

/// Whether `cluster`'s Service is a refused ExternalName Service.
pub fn refused(cache: &Cache, cfg: &BuildConfig, cluster: &ServiceCluster) -> bool {
    cache
        .service(&cluster.namespace, &cluster.name)
        .is_some_and(|svc| external_name(svc, cfg.enable_external_name_service).is_err())
}

/// [`apply`]'s dropping of refused Services for one secure virtual host (its TCP proxy and
/// routes).
pub fn drop_refused_secure(
    secure: &mut SecureVirtualHost,
    is_refused: impl Fn(&ServiceCluster) -> bool,
) {
    if let Some(tcp) = &mut secure.tcp_proxy {
        tcp.clusters.retain(|wc| !is_refused(&wc.cluster.service));
    }
    drop_refused_vhost(&mut secure.virtual_host, is_refused);
}

/// [`apply`]'s dropping of refused Services for one virtual host: a route left without
/// clusters by it answers 503.
pub fn drop_refused_vhost(vhost: &mut VirtualHost, is_refused: impl Fn(&ServiceCluster) -> bool) {
    for route in vhost.routes.values_mut() {
        let RouteAction::Forward(fwd) = &mut route.action else {
            continue;
        };
        let before = fwd.clusters.len();
        fwd.clusters.retain(|wc| !is_refused(&wc.cluster.service));
        // Only a route that lost its clusters here changes: one without clusters already
        // answers 503 (the translator treats both alike), and each host stays a function of its
        // own routes (the incremental build relies on it).
        if fwd.clusters.is_empty() && before > 0 {
            route.action = RouteAction::DirectResponse {
                status: 503,
                body: None,
            };
        }
    }
}

/// `Ok(None)` for ordinary Services, `Ok(Some(name))` for an allowed ExternalName, `Err` with
/// upstream's message for a refused one.
pub fn external_name(svc: &CachedService, enabled: bool) -> Result<Option<String>, String> {
    let Some(spec) = &svc.spec else {
        return Ok(None);
    };
    if spec.type_.as_deref() != Some("ExternalName") {
        return Ok(None);
    }
    let Some(name) = spec.external_name.as_deref().filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let svc_name = svc.metadata.name.as_deref().unwrap_or_default();
    if !enabled {
        return Err(format!(
            "{ns}/{svc_name} is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting"
        ));
    }
    if is_localhost_name(name) {
        return Err(format!(
            "{ns}/{svc_name} is an ExternalName service that points to localhost, this is not allowed"
        ));
    }
    if refers_to_envoy_itself(name) {
        return Err(format!(
            "{ns}/{svc_name} is an ExternalName service that points to a loopback, link-local or unspecified IP address, this is not allowed"
        ));
    }
    Ok(Some(name.to_string()))
}

/// One of the names that always mean "this machine" (a trailing dot is the same name).
fn is_localhost_name(external_name: &str) -> bool {
    let name = external_name.strip_suffix('.').unwrap_or(external_name);
    LOCALHOST_NAMES.iter().any(|l| l.eq_ignore_ascii_case(name))
}

/// Localhost names (a trailing dot is the same name) and loopback, link-local or unspecified
/// addresses, IPv4-mapped IPv6 included.
pub fn refers_to_envoy_itself(external_name: &str) -> bool {
    if is_localhost_name(external_name) {
        return true;
    }
    let name = external_name.strip_suffix('.').unwrap_or(external_name);
    let Ok(ip) = name
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
    else {
        return false;
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_unicast_link_local(),
    }
}

/// The circuit breaker annotations; unparsable values are ignored, as upstream.
pub fn circuit_breakers(svc: &CachedService) -> crate::model::CircuitBreakers {
    let get = |key: &str| -> Option<u32> {
        let v = svc.metadata.annotations.as_ref()?.get(key)?;
        v.trim().parse::<u32>().ok().filter(|n| *n > 0)
    };
    crate::model::CircuitBreakers {
        max_connections: get(MAX_CONNECTIONS),
        max_pending_requests: get(MAX_PENDING_REQUESTS),
        max_requests: get(MAX_REQUESTS),
        max_retries: get(MAX_RETRIES),
        per_host_max_connections: get(PER_HOST_MAX_CONNECTIONS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::localhost("localhost", true)]
    #[case::localhost_dot("localhost.", true)]
    #[case::localdomain("LOCALHOST.localdomain", true)]
    #[case::contour_local("local.projectcontour.io", true)]
    #[case::loopback("127.0.0.1", true)]
    #[case::loopback_range("127.1.2.3", true)]
    #[case::unspecified("0.0.0.0", true)]
    #[case::link_local("169.254.169.254", true)]
    #[case::v6_loopback("::1", true)]
    #[case::v6_unspecified("::", true)]
    #[case::v6_link_local("fe80::1", true)]
    #[case::v4_mapped("::ffff:127.0.0.1", true)]
    #[case::public_name("example.com", false)]
    #[case::private_ip("10.0.0.1", false)]
    #[case::lookalike("localhost.example.com", false)]
    fn envoy_itself(#[case] name: &str, #[case] want: bool) {
        assert_eq!(refers_to_envoy_itself(name), want, "{name}");
    }

    fn external(name: &str) -> CachedService {
        let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "ext", "namespace": "default",
                         "annotations": {MAX_CONNECTIONS: "7", MAX_RETRIES: "junk"}},
            "spec": {"type": "ExternalName", "externalName": name}
        }))
        .unwrap();
        svc.into()
    }

    #[test]
    fn external_names_are_off_by_default() {
        let err = external_name(&external("example.com"), false).unwrap_err();
        assert!(err.contains("not currently enabled"), "{err}");
        assert_eq!(
            external_name(&external("example.com"), true),
            Ok(Some("example.com".into()))
        );
        assert!(external_name(&external("localhost"), true).is_err());
    }

    #[test]
    fn annotations_give_circuit_breakers() {
        let cb = circuit_breakers(&external("x"));
        assert_eq!(cb.max_connections, Some(7));
        assert_eq!(cb.max_retries, None);
    }
}
