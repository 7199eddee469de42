//! One HTTPProxy route → one DAG route, checking conditions and policies in upstream's order.
//! `None` means the route had an error that makes upstream drop the proxy's routes.

use std::sync::Arc;

use contour_api::v1::{
    HeadersPolicy as ApiHeadersPolicy, MatchCondition, Route as ApiRoute, Service as ApiService,
};

use super::conditions::{
    merge_headers, merge_path, merge_query, validate_headers, validate_path, validate_query,
};
use super::policies::headers::{DynamicHeaders, RequestResponse, headers_policy};
use super::policies::{actions, health, lb, timeouts};
use super::vhost_policies::{PolicyError, ip_filters, route_cookie_rewrites, route_rate_limit};
use super::walk::Walk;
use crate::model::{Forward, ObjectRef, PathMatch, Route, RouteAction};
use crate::policy::{HealthCheck, RoutePolicy};
use crate::status::{ProxyKey, error_type};
use crate::vhost_policy::{IpFilter, RoutePolicies};

/// Status code upstream answers for a route none of whose services is valid.
const NO_SERVICE_STATUS: u32 = 503;

impl Walk<'_> {
    /// Records an error on `key` and tells the caller to drop the proxy's routes.
    pub(super) fn fail<T>(
        &mut self,
        key: &ProxyKey,
        type_: &str,
        reason: &str,
        message: impl Into<String>,
    ) -> Option<T> {
        self.status.error(key, type_, reason, message);
        None
    }

    /// Records a policy error and drops the proxy's routes, or passes the value on.
    fn check<T>(&mut self, key: &ProxyKey, r: Result<T, PolicyError>) -> Option<T> {
        r.map_err(|e| self.status.error(key, e.type_, e.reason, e.message))
            .ok()
    }

    /// One route, checked in upstream's order (`computeRoutes`): action count, conditions,
    /// header policies, cookie rewrites, timeouts, rate limit, hashing, redirect, prefix
    /// rewrite, health check, services, and the IP filters last.
    pub(super) fn route(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        inherited: &[MatchCondition],
        dynamic: &mut DynamicHeaders,
        source: &Arc<ObjectRef>,
    ) -> Option<Route> {
        use error_type::ROUTE;
        let conds: Vec<&MatchCondition> = inherited.iter().chain(&route.conditions).collect();
        self.check_shape(key, route, &conds)?;
        let (request_headers, response_headers) =
            self.header_policies(key, &HeaderPolicies::of_route(route), dynamic)?;
        let cookie_rewrites = self.check(key, route_cookie_rewrites(route))?;
        let t = match timeouts::timeouts(route.timeout_policy.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                let msg = format!("route.timeoutPolicy failed to parse: {e}");
                return self.fail(key, ROUTE, "TimeoutPolicyNotValid", msg);
            }
        };
        let local_rate_limit = self.check(key, route_rate_limit(route))?;
        let balancing = lb::load_balancing(route.load_balancer_policy.as_deref());
        for w in &balancing.warnings {
            self.status
                .warning(key, error_type::SPEC, "IgnoredField", w.clone());
        }
        let redirect = route
            .request_redirect_policy
            .as_deref()
            .map(actions::redirect);
        let redirect = match redirect.transpose() {
            Ok(r) => r.map(|r| RouteAction::Redirect(Box::new(r))),
            Err(e) => {
                let msg = format!("route.requestRedirectPolicy is invalid: {e}");
                return self.fail(key, ROUTE, "RequestRedirectPolicy", msg);
            }
        };
        let path = merge_path(&conds);
        let prefix_rewrite = self.prefix_rewrite(key, route, &path)?;
        // Checked on every route, redirects and direct responses included.
        let health = match health::health_check(route.health_check_policy.as_deref()) {
            Ok(h) => h,
            Err(e) => return self.fail(key, ROUTE, "HealthCheckPolicyInvalid", e),
        };
        let policy = RoutePolicy {
            response_timeout: t.response,
            idle_timeout: t.idle,
            retry: timeouts::retry_policy(route.retry_policy.as_deref()).map(Box::new),
            request_headers,
            response_headers,
            hash_policies: balancing.hash_policies,
            prefix_rewrite,
            internal_redirect: route
                .internal_redirect_policy
                .as_deref()
                .map(|p| Box::new(actions::internal_redirect(p))),
            websocket: route.enable_websockets == Some(true),
            permit_insecure: route.permit_insecure == Some(true),
        };
        let action = match redirect {
            Some(r) => r,
            None => self.route_action(key, route, dynamic, &policy, health)?,
        };
        let ip_filter = self.route_ip_filter(key, route)?;
        // The wildcard-FQDN `:authority` match is added with the route (DagBuilder).
        Some(Route {
            path,
            headers: merge_headers(&conds),
            query_params: merge_query(&conds),
            action,
            source: Arc::clone(source),
            policy: policy.into(),
            policies: RoutePolicies {
                local_rate_limit: local_rate_limit.map(Box::new),
                ip_filter,
                cookie_rewrites,
            }
            .into(),
        })
    }

    /// Exactly one action, then valid path, header and query conditions.
    fn check_shape(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        conds: &[&MatchCondition],
    ) -> Option<()> {
        use error_type::ROUTE;
        let actions = usize::from(!route.services.is_empty())
            + usize::from(route.request_redirect_policy.is_some())
            + usize::from(route.direct_response_policy.is_some());
        if actions != 1 {
            return self.fail(key, ROUTE, "RouteActionCountNotValid", "must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy");
        }
        if let Err(msg) = validate_path(&route.conditions) {
            let msg = format!("route: {msg}");
            return self.fail(key, ROUTE, "PathMatchConditionsNotValid", msg);
        }
        if let Err(msg) = validate_headers(conds) {
            return self.fail(key, ROUTE, "HeaderMatchConditionsNotValid", msg);
        }
        if let Err(msg) = validate_query(conds) {
            return self.fail(key, ROUTE, "QueryParameterMatchConditionsNotValid", msg);
        }
        Some(())
    }

    /// A route's or a service's request and response header policies, each error reported with
    /// upstream's reason.
    pub(super) fn header_policies(
        &mut self,
        key: &ProxyKey,
        p: &HeaderPolicies<'_>,
        dynamic: &DynamicHeaders,
    ) -> Option<RequestResponse> {
        let request = match headers_policy(p.request, true, dynamic) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("{e} on request headers");
                return self.fail(key, p.type_, "RequestHeadersPolicyInvalid", msg);
            }
        };
        match headers_policy(p.response, false, dynamic) {
            Ok(r) => Some((request, r)),
            Err(e) => {
                let msg = format!("{e} on response headers");
                self.fail(key, p.type_, p.response_reason, msg)
            }
        }
    }

    /// The route's IP allow/deny filter; unparsable entries are reported, and a filter
    /// upstream rejects as a whole drops the proxy's routes.
    fn route_ip_filter(&mut self, key: &ProxyKey, route: &ApiRoute) -> Option<Option<IpFilter>> {
        let filters = ip_filters(&route.ip_allow_policy, &route.ip_deny_policy);
        for e in filters.errors {
            self.status.error(key, e.type_, e.reason, e.message);
        }
        match filters.failed {
            Some(_) => None,
            None => Some(filters.filter),
        }
    }

    /// `pathRewritePolicy.replacePrefix` for this route's merged prefix. `Some(None)` when no
    /// replacement applies.
    fn prefix_rewrite(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        path: &PathMatch,
    ) -> Option<Option<String>> {
        let reps = route
            .path_rewrite_policy
            .as_ref()
            .map(|p| p.replace_prefix.as_slice())
            .unwrap_or_default();
        if reps.is_empty() {
            return Some(None);
        }
        let PathMatch::Prefix(prefix) = path else {
            return self.fail(
                key,
                error_type::PREFIX_REPLACE,
                "MustHavePrefix",
                "cannot specify prefix replacements without a prefix condition",
            );
        };
        if let Err((reason, msg)) = actions::check_replacements(reps) {
            return self.fail(key, error_type::PREFIX_REPLACE, reason, msg);
        }
        Some(actions::replacement_for(reps, prefix).map(str::to_string))
    }

    /// Direct response, or forwarding to the route's services (503 without any).
    fn route_action(
        &mut self,
        key: &ProxyKey,
        route: &ApiRoute,
        dynamic: &mut DynamicHeaders,
        policy: &RoutePolicy,
        health: Option<HealthCheck>,
    ) -> Option<RouteAction> {
        if let Some(d) = &route.direct_response_policy {
            return Some(RouteAction::DirectResponse {
                status: u32::try_from(d.status_code).unwrap_or(0),
                body: d.body.clone(),
            });
        }
        let (clusters, mirror) = self.services(key, route, dynamic, policy, health)?;
        if clusters.is_empty() {
            return Some(RouteAction::DirectResponse {
                status: NO_SERVICE_STATUS,
                body: None,
            });
        }
        Some(RouteAction::Forward(Forward { clusters, mirror }))
    }
}

/// The header policies of a route or a service, for [`Walk::header_policies`].
pub(super) struct HeaderPolicies<'a> {
    type_: &'a str,
    request: Option<&'a ApiHeadersPolicy>,
    response: Option<&'a ApiHeadersPolicy>,
    response_reason: &'a str,
}

impl<'a> HeaderPolicies<'a> {
    pub(super) fn of_route(route: &'a ApiRoute) -> Self {
        HeaderPolicies {
            type_: error_type::ROUTE,
            request: route.request_headers_policy.as_deref(),
            response: route.response_headers_policy.as_deref(),
            // Upstream's reason, singular here and plural for a service's.
            response_reason: "ResponseHeaderPolicyInvalid",
        }
    }

    pub(super) fn of_service(svc: &'a ApiService) -> Self {
        HeaderPolicies {
            type_: error_type::SERVICE,
            request: svc.request_headers_policy.as_deref(),
            response: svc.response_headers_policy.as_deref(),
            response_reason: "ResponseHeadersPolicyInvalid",
        }
    }
}
