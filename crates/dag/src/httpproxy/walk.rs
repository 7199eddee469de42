//! Depth-first walk of one root's include tree, computing its routes as upstream's
//! `computeRoutes` does: a proxy's includes first (each validated, duplicates skipped, missing
//! or root targets answered with 502), then its own routes. A route-level error drops every
//! route the proxy would contribute, includes' routes too.

use std::collections::BTreeSet;
use std::sync::Arc;

use contour_api::v1::{Include, MatchCondition};

use crate::cache::CachedProxy;

use super::conditions::{
    include_identity, merge_headers, merge_path, merge_query, validate_headers,
    validate_include_path, validate_path, validate_query,
};
use super::key_of;
use super::policies::headers::DynamicHeaders;
use super::prefix_expand::expand_prefix_matches;
use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::model::{Cluster, ObjectRef, Route, RouteAction};
use crate::status::{ProxyKey, StatusSet, error_type};

/// Status code upstream answers for the conditions of an include that cannot be followed.
const BROKEN_INCLUDE_STATUS: u32 = 502;

pub struct Walk<'a> {
    pub(super) cache: &'a Cache,
    pub(super) cfg: &'a BuildConfig,
    /// The root's FQDN as written (a leading `*.` makes routes match one DNS label).
    pub(super) fqdn: &'a str,
    pub(super) status: &'a mut StatusSet,
    reached: &'a mut BTreeSet<ProxyKey>,
    /// Proxies on the path from the root to the one being visited (cycle detection).
    visited: Vec<ProxyKey>,
    /// The clusters made so far: routes forwarding to an equal cluster share it.
    clusters: BTreeSet<Arc<Cluster>>,
}

impl<'a> Walk<'a> {
    pub fn new(
        cache: &'a Cache,
        cfg: &'a BuildConfig,
        fqdn: &'a str,
        status: &'a mut StatusSet,
        reached: &'a mut BTreeSet<ProxyKey>,
    ) -> Self {
        Walk {
            cache,
            cfg,
            fqdn,
            status,
            reached,
            visited: Vec::new(),
            clusters: BTreeSet::new(),
        }
    }

    /// `cluster`, or an equal one made earlier in this walk.
    pub(super) fn shared_cluster(&mut self, cluster: Cluster) -> Arc<Cluster> {
        if let Some(c) = self.clusters.get(&cluster) {
            return Arc::clone(c);
        }
        let c = Arc::new(cluster);
        self.clusters.insert(Arc::clone(&c));
        c
    }

    /// The routes of `proxy` and everything it includes, under the inherited `conds`.
    pub fn routes(&mut self, proxy: &CachedProxy, conds: &[MatchCondition]) -> Vec<Route> {
        let key = key_of(proxy);
        self.reached.insert(key.clone());
        self.status.touch(
            &key,
            proxy.metadata.generation,
            Some(&self.fqdn.to_ascii_lowercase()),
        );
        if self.visited.contains(&key) {
            let mut path: Vec<String> = self
                .visited
                .iter()
                .map(|(ns, n)| format!("{ns}/{n}"))
                .collect();
            path.push(format!("{}/{}", key.0, key.1));
            self.status.error(
                &key,
                error_type::INCLUDE,
                "IncludeCreatesCycle",
                format!("include creates an include cycle: {}", path.join(" -> ")),
            );
            return Vec::new();
        }
        self.visited.push(key.clone());
        let routes = self.proxy_routes(proxy, &key, conds);
        self.visited.pop();
        routes
    }

    fn proxy_routes(
        &mut self,
        proxy: &CachedProxy,
        key: &ProxyKey,
        conds: &[MatchCondition],
    ) -> Vec<Route> {
        let mut routes = Vec::with_capacity(proxy.spec.routes.len());
        let mut seen = Vec::new();
        for include in &proxy.spec.includes {
            routes.extend(self.include_routes(key, include, conds, &mut seen));
        }
        let mut dynamic = DynamicHeaders::from([("CONTOUR_NAMESPACE", key.0.clone())]);
        let source = Arc::new(ObjectRef::new("HTTPProxy", &key.0, &key.1));
        for route in &proxy.spec.routes {
            match self.route(key, route, conds, &mut dynamic, &source) {
                Some(r) => routes.push(r),
                // Upstream drops the whole proxy's routes on a route error.
                None => return Vec::new(),
            }
        }
        expand_prefix_matches(routes)
    }

    fn include_routes(
        &mut self,
        key: &ProxyKey,
        include: &Include,
        inherited: &[MatchCondition],
        seen: &mut Vec<super::conditions::IncludeIdentity>,
    ) -> Vec<Route> {
        let own: Vec<&MatchCondition> = include.conditions.iter().collect();
        let checks = validate_include_path(&include.conditions)
            .and_then(|()| validate_path(&include.conditions));
        if let Err(msg) = checks {
            self.status.error(
                key,
                error_type::INCLUDE,
                "PathMatchConditionsNotValid",
                format!("include: {msg}"),
            );
            return Vec::new();
        }
        if let Err(msg) = validate_headers(&own) {
            self.status
                .error(key, error_type::ROUTE, "HeaderMatchConditionsNotValid", msg);
            return Vec::new();
        }
        if let Err(msg) = validate_query(&own) {
            self.status.error(
                key,
                error_type::ROUTE,
                "QueryParameterMatchConditionsNotValid",
                msg,
            );
            return Vec::new();
        }
        if let Some(id) = include_identity(&include.conditions) {
            if seen.contains(&id) {
                self.status.error(
                    key,
                    error_type::INCLUDE,
                    "DuplicateMatchConditions",
                    "duplicate conditions defined on an include",
                );
                return Vec::new();
            }
            seen.push(id);
        }
        let ns = include
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(key.0.clone());
        let problem = match self.cache.proxy(&ns, &include.name) {
            None => (
                "IncludeNotFound",
                format!("include {ns}/{} not found", include.name),
            ),
            Some(t) if t.spec.virtualhost.is_some() => (
                "RootIncludesRoot",
                format!(
                    "root httpproxy cannot include another root httpproxy ({ns}/{})",
                    include.name
                ),
            ),
            Some(target) => {
                let chain: Vec<MatchCondition> = inherited
                    .iter()
                    .chain(&include.conditions)
                    .cloned()
                    .collect();
                return self.routes(target, &chain);
            }
        };
        self.status
            .error(key, error_type::INCLUDE, problem.0, problem.1);
        broken_include_route(key, &include.conditions)
    }
}

/// Requests for the conditions of an include that cannot be followed get a 502 (upstream uses
/// the include's own conditions, not the inherited ones). No conditions, no route.
fn broken_include_route(key: &ProxyKey, conds: &[MatchCondition]) -> Vec<Route> {
    if conds.is_empty() {
        return Vec::new();
    }
    let refs: Vec<&MatchCondition> = conds.iter().collect();
    vec![Route {
        path: merge_path(&refs),
        headers: merge_headers(&refs),
        query_params: merge_query(&refs),
        action: RouteAction::DirectResponse {
            status: BROKEN_INCLUDE_STATUS,
            body: None,
        },
        source: Arc::new(ObjectRef::new("HTTPProxy", &key.0, &key.1)),
        // Upstream never upgrades these to https: they answer 502 on both listeners.
        policy: crate::policy::RoutePolicy {
            permit_insecure: true,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }]
}
