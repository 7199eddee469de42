//! The ExtensionService processor (after Ingress, before HTTPProxy, as upstream): each
//! ExtensionService gets a `Valid` condition, and a valid one becomes an extension cluster
//! (`extension/<ns>/<name>`) that HTTPProxy features can call out to.
//!
//! Condition types, reasons and messages are upstream Contour's.

use std::collections::BTreeMap;

use contour_api::v1alpha1::{CircuitBreakers as ApiCircuitBreakers, ExtensionService};
use tracing::debug;

use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::httpproxy::policies::lb::{COOKIE, REQUEST_HASH, strategy};
use crate::httpproxy::policies::timeouts::timeouts;
use crate::model::{
    CircuitBreakers, ExtensionCluster, ServiceCluster, WeightedService, extension_cluster_name,
};
use crate::status::{ExtensionStatus, StatusSet, error_type};
use crate::upstream_tls::{ValidationError, envoy_client_certificate, lookup_validation};

/// The default (and TLS) protocol of an extension cluster.
pub const PROTOCOL_H2: &str = "h2";

/// Validates every cached ExtensionService; returns the clusters of the valid ones by name.
pub fn process(
    cache: &Cache,
    cfg: &BuildConfig,
    status: &mut StatusSet,
) -> BTreeMap<String, ExtensionCluster> {
    let mut clusters = BTreeMap::new();
    for ((ns, name), ext) in &cache.extension_services {
        let mut st = ExtensionStatus {
            generation: ext.metadata.generation,
            ..Default::default()
        };
        let built = build_cluster(cache, cfg, ns, name, ext, &mut st);
        match built {
            Some(c) if st.is_valid() => {
                clusters.insert(c.name.clone(), c);
            }
            _ => debug!(kind = "ExtensionService", namespace = %ns, name = %name,
                errors = st.errors.len(), "ignoring invalid ExtensionService"),
        }
        status.extensions.insert((ns.clone(), name.clone()), st);
    }
    clusters
}

/// Upstream's `buildExtensionService`: every problem is recorded; `None` when the upstream
/// validation cannot be used (nothing else is checked then, as upstream).
fn build_cluster(
    cache: &Cache,
    cfg: &BuildConfig,
    ns: &str,
    name: &str,
    ext: &ExtensionService,
    st: &mut ExtensionStatus,
) -> Option<ExtensionCluster> {
    let spec = &ext.spec;
    let t = timeouts(spec.timeout_policy.as_ref()).unwrap_or_else(|e| {
        st.error(
            error_type::SPEC,
            "TimeoutPolicyNotValid",
            format!("spec.timeoutPolicy failed to parse: {e}"),
        );
        Default::default()
    });
    let client_certificate = envoy_client_certificate(cache, cfg).unwrap_or_else(|(ty, r, m)| {
        st.error(ty, r, m);
        None
    });
    let mut out = ExtensionCluster {
        name: extension_cluster_name(ns, name),
        protocol: spec
            .protocol
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| PROTOCOL_H2.to_string()),
        client_certificate,
        lb_strategy: lb_strategy(spec.load_balancer_policy.as_ref(), st),
        response_timeout: t.response,
        idle_connection_timeout: t.idle_connection,
        circuit_breakers: spec.circuit_breaker_policy.as_ref().map(circuit_breakers),
        ..Default::default()
    };
    // The filters calling an extension have a request timeout but no idle timeout.
    if spec
        .timeout_policy
        .as_ref()
        .is_some_and(|tp| tp.idle.as_deref().is_some_and(|i| !i.is_empty()))
    {
        st.warning(
            error_type::SPEC,
            "IgnoredField",
            "ignoring field \".Spec.TimeoutPolicy.Idle\"; idle timeouts are not supported for ExtensionClusters",
        );
    }
    if let Some(v) = &spec.validation {
        let uv = match lookup_validation(cache, v, ns) {
            Ok(uv) => uv,
            Err(e @ ValidationError::NotDelegated { .. }) => {
                let (ty, reason, message) = e.not_delegated_problem();
                st.error(ty, reason, message);
                return None;
            }
            Err(ValidationError::Policy(msg)) => {
                st.error(
                    error_type::SPEC,
                    "TLSUpstreamValidation",
                    format!("TLS upstream validation policy error: {msg}"),
                );
                return None;
            }
        };
        out.sni = uv.subject_names.first().cloned().unwrap_or_default();
        out.upstream_validation = Some(uv);
        if out.protocol != PROTOCOL_H2 {
            st.error(
                error_type::SPEC,
                "InconsistentProtocol",
                format!(
                    "upstream TLS validation not supported for \"{}\" protocol",
                    out.protocol
                ),
            );
        }
    }
    for target in &spec.services {
        match lookup_target(cache, ns, &target.name, target.port) {
            Ok(service) => out.services.push(WeightedService {
                service,
                weight: target.weight.unwrap_or(0),
            }),
            Err((reason, message)) => st.error(error_type::SERVICE, reason, message),
        }
    }
    Some(out)
}

/// The strategy; `Cookie` and `RequestHash` cannot balance gRPC calls and are dropped with a
/// warning.
fn lb_strategy(
    lbp: Option<&contour_api::v1::LoadBalancerPolicy>,
    st: &mut ExtensionStatus,
) -> String {
    let strategy = lbp.map(strategy).unwrap_or_default().to_string();
    if strategy == COOKIE || strategy == REQUEST_HASH {
        st.warning(
            error_type::SPEC,
            "IgnoredField",
            format!(
                "ignoring field \".Spec.LoadBalancerPolicy\"; {strategy} load balancer policy is not supported for ExtensionClusters"
            ),
        );
        return String::new();
    }
    strategy
}

/// Zero means "not set", as upstream.
fn circuit_breakers(cb: &ApiCircuitBreakers) -> CircuitBreakers {
    let set = |v: Option<u32>| v.filter(|n| *n > 0);
    CircuitBreakers {
        max_connections: set(cb.max_connections),
        max_pending_requests: set(cb.max_pending_requests),
        max_requests: set(cb.max_requests),
        max_retries: set(cb.max_retries),
        per_host_max_connections: set(cb.per_host_max_connections),
    }
}

/// A target Service port, only in the ExtensionService's own namespace (a cross-namespace
/// reference could subvert the installation), with upstream's reasons and messages.
fn lookup_target(
    cache: &Cache,
    ns: &str,
    name: &str,
    port: i32,
) -> Result<ServiceCluster, (&'static str, String)> {
    let unresolved = |err: String| {
        (
            "ServiceUnresolvedReference",
            format!("unresolved service \"{ns}/{name}\": {err}"),
        )
    };
    let Some(svc) = cache.service(ns, name) else {
        return Err(unresolved(format!("service \"{ns}/{name}\" not found")));
    };
    let spec = svc.spec.as_ref();
    let ports = spec.iter().flat_map(|s| s.ports.iter().flatten());
    let found = ports
        .into_iter()
        .find(|p| p.port == port || p.name.as_deref() == Some(port.to_string().as_str()));
    let Some(p) = found else {
        return Err(unresolved(format!(
            "port \"{port}\" on service \"{ns}/{name}\" not matched"
        )));
    };
    let protocol = p.protocol.as_deref().unwrap_or_default();
    if !protocol.is_empty() && protocol != "TCP" {
        return Err(unresolved(format!(
            "unsupported service protocol \"{protocol}\""
        )));
    }
    if spec
        .and_then(|s| s.external_name.as_deref())
        .is_some_and(|n| !n.is_empty())
    {
        return Err((
            "UnsupportedServiceType",
            format!("Service \"{ns}/{name}\" is of unsupported type \"ExternalName\"."),
        ));
    }
    Ok(ServiceCluster {
        namespace: ns.to_string(),
        name: name.to_string(),
        port: u16::try_from(p.port).unwrap_or(0),
        port_name: p.name.clone().unwrap_or_default(),
        health_port: None,
    })
}
