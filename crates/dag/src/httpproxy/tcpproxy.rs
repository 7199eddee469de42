//! `spec.tcpproxy` of a TLS root: the clusters a secure virtual host's TCP stream goes to,
//! following `tcpproxy.include` (or the deprecated `includes`) through other proxies.

use std::collections::BTreeSet;
use std::sync::Arc;

use contour_api::v1::TCPProxy as ApiTcpProxy;

use crate::cache::CachedProxy;

use super::key_of;
use super::policies::health::tcp_health_check;
use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::model::{Cluster, TcpProxy, WeightedCluster};
use crate::policy::ClusterPolicy;
use crate::services::{self, ProxyBackend};
use crate::status::{ProxyKey, StatusSet, error_type};
use crate::upstream_tls;

pub struct TcpWalk<'a> {
    pub cache: &'a Cache,
    pub cfg: &'a BuildConfig,
    pub status: &'a mut StatusSet,
    pub reached: &'a mut BTreeSet<ProxyKey>,
    pub fqdn: &'a str,
}

impl TcpWalk<'_> {
    /// The TCP proxy of `proxy`, following includes. `None` when something is wrong; the
    /// error is on the status of the proxy where it was found.
    pub fn resolve(
        &mut self,
        proxy: &CachedProxy,
        visited: &mut Vec<ProxyKey>,
    ) -> Option<TcpProxy> {
        let key = key_of(proxy);
        let tcp = proxy.spec.tcpproxy.as_ref()?;
        visited.push(key.clone());
        let include = tcp.include.as_ref().or(tcp.includes_deprecated.as_ref());
        if !tcp.services.is_empty() && include.is_some() {
            self.error(
                &key,
                error_type::TCP_PROXY,
                "NoServicesAndInclude",
                "cannot specify services and include in the same httpproxy".to_string(),
            );
            return None;
        }
        self.warn_ignored_lb(&key, tcp);
        if !tcp.services.is_empty() {
            return self.services(&key, tcp);
        }
        let Some(include) = include else {
            self.error(
                &key,
                error_type::TCP_PROXY,
                "NothingDefined",
                "either services or inclusion must be specified".to_string(),
            );
            return None;
        };
        let ns = include
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(key.0.clone());
        let target_key = (ns.clone(), include.name.clone());
        let Some(dest) = self.cache.proxy(&ns, &include.name) else {
            self.error(
                &key,
                error_type::TCP_PROXY_INCLUDE,
                "IncludeNotFound",
                format!("include {ns}/{} not found", include.name),
            );
            return None;
        };
        if dest.spec.virtualhost.is_some() {
            self.error(
                &key,
                error_type::TCP_PROXY_INCLUDE,
                "RootIncludesRoot",
                format!(
                    "root httpproxy cannot include another root httpproxy ({ns}/{})",
                    include.name
                ),
            );
            return None;
        }
        self.reached.insert(target_key.clone());
        self.status
            .touch(&target_key, dest.metadata.generation, Some(self.fqdn));
        if visited.contains(&target_key) {
            let mut path: Vec<String> = visited.iter().map(|(n, m)| format!("{n}/{m}")).collect();
            path.push(format!("{ns}/{}", include.name));
            self.error(
                &key,
                error_type::TCP_PROXY_INCLUDE,
                "IncludeCreatesCycle",
                format!("include creates a cycle: {}", path.join(" -> ")),
            );
            return None;
        }
        self.resolve(dest, visited)
    }

    fn warn_ignored_lb(&mut self, key: &ProxyKey, tcp: &ApiTcpProxy) {
        let strategy = tcp
            .load_balancer_policy
            .as_ref()
            .and_then(|p| p.strategy.as_deref());
        if let Some(s @ ("Cookie" | "RequestHash")) = strategy {
            self.status.warning(key, error_type::TCP_PROXY, "IgnoredField", format!(
                "ignoring field \"Spec.TCPProxy.LoadBalancerPolicy\"; {s} load balancer policy is not supported for TCPProxies"
            ));
        }
    }

    fn services(&mut self, key: &ProxyKey, tcp: &ApiTcpProxy) -> Option<TcpProxy> {
        let strategy = tcp
            .load_balancer_policy
            .as_ref()
            .and_then(|p| p.strategy.clone());
        let lb_strategy = match strategy.as_deref() {
            Some("Cookie" | "RequestHash") | None => String::new(),
            Some(s) => s.to_string(),
        };
        let health = tcp_health_check(tcp.health_check_policy.as_deref());
        let mut clusters = Vec::new();
        for svc in &tcp.services {
            let backend = ProxyBackend {
                name: &svc.name,
                port: svc.port,
                health_port: svc.health_port,
                health_checked: health.is_some(),
            };
            let service =
                match services::resolve_proxy_backend(self.cache, self.cfg, &key.0, &backend) {
                    Ok(s) => s,
                    Err(e) => {
                        self.error(
                            key,
                            error_type::TCP_PROXY,
                            "ServiceUnresolvedReference",
                            format!("Spec.TCPProxy unresolved service reference: {e}"),
                        );
                        return None;
                    }
                };
            let mut cluster = Cluster {
                service,
                lb_strategy: lb_strategy.clone(),
                policy: ClusterPolicy {
                    tcp_health_check: health.clone(),
                    ..Default::default()
                },
                ..Default::default()
            };
            if let Err((ty, reason, msg)) = upstream_tls::apply_to_proxy_service(
                self.cache,
                self.cfg,
                &key.0,
                svc,
                &mut cluster,
            ) {
                self.error(key, ty, reason, msg);
                return None;
            }
            let weight = svc.weight.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32;
            clusters.push(WeightedCluster {
                cluster: Arc::new(cluster),
                weight,
                ..Default::default()
            });
        }
        Some(TcpProxy { clusters })
    }

    fn error(&mut self, key: &ProxyKey, ty: &str, reason: &str, message: String) {
        self.status.error(key, ty, reason, message);
    }
}
