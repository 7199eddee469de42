//! Depth-first walk of one root's include tree.

use std::collections::BTreeSet;

use contour_api::v1::{HTTPProxy, Include, MatchCondition, Route as ApiRoute};

use super::conditions::{merge_path, validate_path};
use super::key_of;
use super::vhost_policies::{RouteExtras, route_policies};
use crate::builder::{BuildConfig, DagBuilder};
use crate::cache::Cache;
use crate::model::{Cluster, Forward, ObjectRef, Route, RouteAction, WeightedCluster};
use crate::services::{self, PortRef};
use crate::status::{ProxyKey, StatusSet, error_type};
use crate::upstream_tls;

/// Status code upstream answers for the conditions of an include that cannot be followed.
const BROKEN_INCLUDE_STATUS: u32 = 502;
/// Status code upstream answers for a route none of whose services is valid.
const NO_SERVICE_STATUS: u32 = 503;

pub struct Walk<'a> {
    cache: &'a Cache,
    cfg: &'a BuildConfig,
    fqdn: &'a str,
    builder: &'a mut DagBuilder,
    status: &'a mut StatusSet,
    reached: &'a mut BTreeSet<ProxyKey>,
    /// The include chain from the root to the proxy being visited (cycle detection).
    chain: Vec<ProxyKey>,
    /// While non-zero, routes are computed (and statuses reported) but not served: upstream
    /// drops every route of a proxy with an invalid route policy, and every route of a host
    /// with an invalid host policy.
    suppress: usize,
}

impl<'a> Walk<'a> {
    pub fn new(
        cache: &'a Cache,
        cfg: &'a BuildConfig,
        fqdn: &'a str,
        builder: &'a mut DagBuilder,
        status: &'a mut StatusSet,
        reached: &'a mut BTreeSet<ProxyKey>,
    ) -> Self {
        Walk {
            cache,
            cfg,
            fqdn,
            builder,
            status,
            reached,
            chain: Vec::new(),
            suppress: 0,
        }
    }

    /// Computes routes without serving them (the host's own policies are invalid).
    pub fn suppress_all(&mut self) {
        self.suppress += 1;
    }

    fn emit(&mut self, route: Route, permit_insecure: bool) {
        if self.suppress == 0 {
            self.builder
                .add_proxy_route(self.fqdn, route, permit_insecure);
        }
    }

    /// The policies of every route of `proxy`, or `None` (errors reported) when one is invalid.
    fn proxy_route_policies(
        &mut self,
        proxy: &HTTPProxy,
        key: &ProxyKey,
    ) -> Option<Vec<RouteExtras>> {
        let mut out = Vec::with_capacity(proxy.spec.routes.len());
        for route in &proxy.spec.routes {
            let (result, errors) = route_policies(route);
            for e in errors {
                self.status.error(key, e.type_, e.reason, e.message);
            }
            out.push(result.ok()?);
        }
        Some(out)
    }

    pub fn visit_root(&mut self, root: &HTTPProxy) {
        self.visit(root, &[]);
    }

    fn visit(&mut self, proxy: &HTTPProxy, inherited: &[&MatchCondition]) {
        let key = key_of(proxy);
        self.reached.insert(key.clone());
        self.status
            .touch(&key, proxy.metadata.generation, Some(self.fqdn));
        self.chain.push(key.clone());
        if self.includes_have_duplicates(proxy, &key) {
            self.chain.pop();
            return;
        }
        let policies = self.proxy_route_policies(proxy, &key);
        if let Some(policies) = &policies {
            for (route, extras) in proxy.spec.routes.iter().zip(policies) {
                self.add_route(proxy, &key, route, inherited, extras);
            }
        } else {
            self.suppress += 1;
        }
        for include in &proxy.spec.includes {
            self.follow(proxy, &key, include, inherited);
        }
        if policies.is_none() {
            self.suppress -= 1;
        }
        self.chain.pop();
    }

    fn includes_have_duplicates(&mut self, proxy: &HTTPProxy, key: &ProxyKey) -> bool {
        let mut seen = BTreeSet::new();
        let dup = proxy.spec.includes.iter().any(|inc| {
            let conds = serde_json::to_string(&inc.conditions).unwrap_or_default();
            !inc.conditions.is_empty() && !seen.insert(conds)
        });
        if dup {
            self.status.error(
                key,
                error_type::INCLUDE,
                "DuplicateMatchConditions",
                "duplicate conditions defined on an include",
            );
        }
        dup
    }

    fn add_route(
        &mut self,
        proxy: &HTTPProxy,
        key: &ProxyKey,
        route: &ApiRoute,
        inherited: &[&MatchCondition],
        extras: &RouteExtras,
    ) {
        if let Err(msg) = validate_path(&route.conditions, true) {
            self.status.error(
                key,
                error_type::ROUTE,
                "PathMatchConditionsNotValid",
                format!("route: {msg}"),
            );
            return;
        }
        let conds: Vec<&MatchCondition> =
            inherited.iter().copied().chain(&route.conditions).collect();
        let clusters = self.route_clusters(key, route, extras);
        let action = if clusters.is_empty() {
            RouteAction::DirectResponse {
                status: NO_SERVICE_STATUS,
                body: None,
            }
        } else {
            RouteAction::Forward(Forward { clusters })
        };
        let source = ObjectRef::new("HTTPProxy", &key.0, &key.1);
        let _ = proxy;
        let dag_route = Route {
            path: merge_path(&conds),
            headers: Vec::new(),
            action,
            source,
            policies: extras.policies.clone(),
        };
        self.emit(dag_route, route.permit_insecure == Some(true));
    }

    /// The valid services of a route as weighted clusters; invalid ones are reported.
    fn route_clusters(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        extras: &RouteExtras,
    ) -> Vec<WeightedCluster> {
        let mut out = Vec::new();
        let services = route.services.iter().zip(&extras.service_cookies);
        for (svc, cookies) in services.filter(|(s, _)| s.mirror != Some(true)) {
            if !(1..=65535).contains(&svc.port) {
                self.status.error(
                    key,
                    error_type::SERVICE,
                    "ServicePortInvalid",
                    format!(
                        "service \"{}\": port must be in the range 1-65535",
                        svc.name
                    ),
                );
                continue;
            }
            let found = self.cache.service(&key.0, &svc.name);
            match services::resolve(found, &key.0, &svc.name, PortRef::Number(svc.port)) {
                Ok(service) => {
                    let mut cluster = Cluster {
                        service,
                        ..Default::default()
                    };
                    let tls = upstream_tls::apply_to_proxy_service(
                        self.cache,
                        self.cfg,
                        &key.0,
                        svc,
                        &mut cluster,
                    );
                    if let Err((ty, reason, msg)) = tls {
                        self.status.error(key, ty, reason, msg);
                        continue;
                    }
                    out.push(WeightedCluster {
                        cluster,
                        weight: svc.weight.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
                        cookie_rewrites: cookies.clone(),
                    })
                }
                Err(e) => self.status.error(
                    key,
                    error_type::SERVICE,
                    "ServiceUnresolvedReference",
                    format!("Spec.Routes unresolved service reference: {e}"),
                ),
            }
        }
        out
    }

    fn follow(
        &mut self,
        proxy: &HTTPProxy,
        key: &ProxyKey,
        include: &Include,
        inherited: &[&MatchCondition],
    ) {
        if let Err(msg) = validate_path(&include.conditions, false) {
            self.status.error(
                key,
                error_type::INCLUDE,
                "PathMatchConditionsNotValid",
                format!("include: {msg}"),
            );
            return;
        }
        let ns = include
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(key.0.clone());
        let target_key = (ns.clone(), include.name.clone());
        let conds: Vec<&MatchCondition> = inherited
            .iter()
            .copied()
            .chain(&include.conditions)
            .collect();
        if self.chain.contains(&target_key) {
            let mut path: Vec<String> =
                self.chain.iter().map(|(n, m)| format!("{n}/{m}")).collect();
            path.push(format!("{ns}/{}", include.name));
            self.status.error(
                key,
                error_type::INCLUDE,
                "IncludeCreatesCycle",
                format!("include creates an include cycle: {}", path.join(" -> ")),
            );
            return;
        }
        let target = self.cache.proxy(&ns, &include.name);
        let problem = match target {
            None => Some((
                "IncludeNotFound",
                format!("include {ns}/{} not found", include.name),
            )),
            Some(t) if t.spec.virtualhost.is_some() => Some((
                "RootIncludesRoot",
                "root httpproxy cannot include another root httpproxy".to_string(),
            )),
            Some(_) => None,
        };
        if let Some((reason, message)) = problem {
            self.status.error(key, error_type::INCLUDE, reason, message);
            self.broken_include_route(key, &conds);
            return;
        }
        let _ = proxy;
        if let Some(target) = target {
            self.visit(target, &conds);
        }
    }

    /// Requests for the conditions of an include that cannot be followed get a 502.
    fn broken_include_route(&mut self, key: &ProxyKey, conds: &[&MatchCondition]) {
        // Upstream never upgrades these to https: they answer 502 on both listeners.
        let route = Route {
            path: merge_path(conds),
            headers: Vec::new(),
            action: RouteAction::DirectResponse {
                status: BROKEN_INCLUDE_STATUS,
                body: None,
            },
            source: ObjectRef::new("HTTPProxy", &key.0, &key.1),
            ..Default::default()
        };
        self.emit(route, true);
    }
}
