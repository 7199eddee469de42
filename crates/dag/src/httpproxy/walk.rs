//! Depth-first walk of one root's include tree.

use std::collections::BTreeSet;

use contour_api::v1::{HTTPProxy, Include, MatchCondition, Route as ApiRoute};

use super::conditions::{merge_path, validate_path};
use super::key_of;
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
        }
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
        for route in &proxy.spec.routes {
            self.add_route(proxy, &key, route, inherited);
        }
        for include in &proxy.spec.includes {
            self.follow(proxy, &key, include, inherited);
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
        let clusters = self.route_clusters(key, route);
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
        self.builder.add_proxy_route(
            self.fqdn,
            Route {
                path: merge_path(&conds),
                headers: Vec::new(),
                action,
                source,
            },
            route.permit_insecure == Some(true),
        );
    }

    /// The valid services of a route as weighted clusters; invalid ones are reported.
    fn route_clusters(&mut self, key: &ProxyKey, route: &ApiRoute) -> Vec<WeightedCluster> {
        let mut out = Vec::new();
        for svc in route.services.iter().filter(|s| s.mirror != Some(true)) {
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
        self.builder.add_proxy_route(
            self.fqdn,
            Route {
                path: merge_path(conds),
                headers: Vec::new(),
                action: RouteAction::DirectResponse {
                    status: BROKEN_INCLUDE_STATUS,
                    body: None,
                },
                source: ObjectRef::new("HTTPProxy", &key.0, &key.1),
            },
            true,
        );
    }
}
