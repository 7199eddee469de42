//! A route's `services[]` → weighted clusters (and the mirror), with per-service policies.

use contour_api::v1::{Route as ApiRoute, Service as ApiService};

use super::policies::headers::DynamicHeaders;
use super::policies::{lb, timeouts};
use super::routes::HeaderPolicies;
use super::vhost_policies::service_cookie_rewrites;
use super::walk::Walk;
use crate::model::{Cluster, WeightedCluster};
use crate::policy::{ClusterPolicy, HeadersPolicy, HealthCheck, MirrorPolicy, RoutePolicy};
use crate::services::{self, ProxyBackend};
use crate::status::{ProxyKey, error_type};
use crate::upstream_tls;

type Services = (Vec<WeightedCluster>, Option<Box<MirrorPolicy>>);

impl Walk<'_> {
    /// The valid services of a route. Unresolved services are reported and skipped; other
    /// service errors drop the proxy's routes (`None`), as upstream.
    pub(super) fn services(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        dynamic: &mut DynamicHeaders,
        policy: &RoutePolicy,
        health: Option<HealthCheck>,
    ) -> Option<Services> {
        let balancing = lb::load_balancing(route.load_balancer_policy.as_deref());
        // Already validated with the route policy.
        let idle = timeouts::timeouts(route.timeout_policy.as_deref())
            .map(|t| t.idle_connection)
            .unwrap_or_default();
        let base = ClusterPolicy {
            health_check: health.map(Box::new),
            idle_connection_timeout: idle,
            ..Default::default()
        };
        // Weighted clusters are large: one allocation of the right size, not a growing one.
        let mut clusters = Vec::with_capacity(route.services.len());
        let mut mirror: Option<Box<MirrorPolicy>> = None;
        for svc in &route.services {
            let Some(found) = self.service(key, svc, dynamic, policy, &base, &balancing)? else {
                continue;
            };
            if svc.mirror == Some(true) {
                if mirror.is_some() {
                    return self.fail(
                        key,
                        error_type::SERVICE,
                        "OnlyOneMirror",
                        "only one service per route may be nominated as mirror",
                    );
                }
                let weight = svc.weight.unwrap_or(0);
                let percent = if weight == 0 {
                    100
                } else {
                    weight.clamp(0, 100)
                };
                mirror = Some(Box::new(MirrorPolicy {
                    cluster: found.cluster,
                    percent: u32::try_from(percent).unwrap_or(100),
                }));
            } else {
                clusters.push(found);
            }
        }
        Some((clusters, mirror))
    }

    /// One service: `Some(None)` when it does not resolve (reported, skipped).
    fn service(
        &mut self,
        key: &ProxyKey,
        svc: &ApiService,
        dynamic: &mut DynamicHeaders,
        policy: &RoutePolicy,
        base: &ClusterPolicy,
        balancing: &lb::LoadBalancing,
    ) -> Option<Option<WeightedCluster>> {
        use error_type::SERVICE;
        if !(1..=65535).contains(&svc.port) {
            let msg = format!("service {:?}: port must be in the range 1-65535", svc.name);
            return self.fail(key, SERVICE, "ServicePortInvalid", msg);
        }
        let backend = ProxyBackend {
            name: &svc.name,
            port: svc.port,
            health_port: svc.health_port,
            health_checked: base.health_check.is_some(),
        };
        let service = match services::resolve_proxy_backend(self.cache, self.cfg, &key.0, &backend)
        {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("Spec.Routes unresolved service reference: {e}");
                self.status
                    .error(key, SERVICE, "ServiceUnresolvedReference", msg);
                return Some(None);
            }
        };
        let mut cluster = Cluster {
            service,
            lb_strategy: balancing.strategy.clone(),
            ..Default::default()
        };
        // Protocol (services[].protocol, appProtocol, annotations), validation, client
        // certificate. Upstream drops the proxy's routes on these errors.
        let tls =
            upstream_tls::apply_to_proxy_service(self.cache, self.cfg, &key.0, svc, &mut cluster);
        if let Err((type_, reason, msg)) = tls {
            return self.fail(key, type_, reason, msg);
        }
        dynamic.insert("CONTOUR_SERVICE_NAME", svc.name.clone());
        dynamic.insert("CONTOUR_SERVICE_PORT", svc.port.to_string());
        let (request_headers, response_headers) =
            self.header_policies(key, &HeaderPolicies::of_service(svc), dynamic)?;
        let cookie_rewrites = match service_cookie_rewrites(svc) {
            Ok(c) => c,
            Err(e) => return self.fail(key, e.type_, e.reason, e.message),
        };
        let slow_start = match &svc.slow_start_policy {
            None => None,
            Some(_) if !lb::slow_start_allowed(&balancing.strategy) => {
                let msg = "slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy";
                return self.fail(key, SERVICE, "SlowStartInvalid", msg);
            }
            Some(ss) => match lb::slow_start(ss) {
                Ok(s) => Some(s),
                Err(e) => {
                    let msg = format!("{e} on slow start");
                    return self.fail(key, SERVICE, "SlowStartInvalid", msg);
                }
            },
        };
        cluster.sni = sni(
            request_headers.as_deref(),
            policy.request_headers.as_deref(),
        );
        cluster.policy = ClusterPolicy {
            slow_start,
            ..base.clone()
        };
        let weight = svc.weight.unwrap_or(0).clamp(0, i64::from(u32::MAX));
        Some(Some(WeightedCluster {
            cluster: self.shared_cluster(cluster),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
            request_headers,
            response_headers,
            cookie_rewrites,
        }))
    }
}

/// Upstream's `determineSNI`: the service's literal Host rewrite, else the route's.
/// (ExternalName Services would come last.)
fn sni(service: Option<&HeadersPolicy>, route: Option<&HeadersPolicy>) -> String {
    [service, route]
        .into_iter()
        .flatten()
        .map(|p| p.host_rewrite.clone())
        .find(|h| !h.is_empty())
        .unwrap_or_default()
}
