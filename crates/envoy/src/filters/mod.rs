//! Per-filter configuration for the HTTP filters of the default chain that act per virtual host
//! or per route: CORS, local rate limit, RBAC (IP filters) and Lua (cookie rewriting).
//!
//! Each module returns the filter's per-route message; [`vhost_filter_configs`] and
//! [`route_filter_configs`] gather them into `typed_per_filter_config` entries keyed by filter
//! name. The route's entry for a filter replaces the virtual host's (Envoy uses the most
//! specific one), which is how a route's IP filter or rate limit overrides the host's.

pub mod cors;
pub mod ip_filter;
pub mod local_ratelimit;
pub mod lua;

use std::collections::HashMap;

use contour_dag::{IpFilter, LocalRateLimit, RoutePolicies, VhostPolicies};
use envoy_types::pb::google::protobuf::Any;

use crate::listener::{CORS_FILTER, LOCAL_RATELIMIT_FILTER, RBAC_FILTER};
use crate::pb::{det_map, to_any};

/// `typed_per_filter_config` of a virtual host. `stat_prefix` is upstream's `vhost.<fqdn>`.
pub fn vhost_filter_configs(p: &VhostPolicies, fqdn: &str) -> HashMap<String, Any> {
    let mut out: Vec<(String, Any)> = Vec::new();
    if let Some(cors) = &p.cors {
        out.push((CORS_FILTER.into(), to_any(&cors::cors_policy(cors))));
    }
    let rl = p.local_rate_limit.as_ref();
    push_limit_and_ip_filter(&mut out, rl, p.ip_filter.as_ref(), fqdn);
    det_map(out)
}

/// `typed_per_filter_config` of a route that forwards to clusters. Cookie rewrites are not
/// here: they go on each weighted cluster (see [`lua::cookie_rewrite_per_route`]).
pub fn route_filter_configs(p: &RoutePolicies, fqdn: &str) -> HashMap<String, Any> {
    let mut out: Vec<(String, Any)> = Vec::new();
    let rl = p.local_rate_limit.as_deref();
    push_limit_and_ip_filter(&mut out, rl, p.ip_filter.as_ref(), fqdn);
    det_map(out)
}

/// The per-route configurations of the local rate limit and RBAC (IP filter) filters, when set.
fn push_limit_and_ip_filter(
    out: &mut Vec<(String, Any)>,
    rate_limit: Option<&LocalRateLimit>,
    ip: Option<&IpFilter>,
    fqdn: &str,
) {
    if let Some(rl) = rate_limit {
        let config = local_ratelimit::local_rate_limit(rl, &stat_prefix(fqdn));
        out.push((LOCAL_RATELIMIT_FILTER.into(), to_any(&config)));
    }
    if let Some(filter) = ip {
        out.push((
            RBAC_FILTER.into(),
            to_any(&ip_filter::rbac_per_route(filter)),
        ));
    }
}

/// Upstream's local rate limit stat prefix for a virtual host.
pub fn stat_prefix(fqdn: &str) -> String {
    format!("vhost.{fqdn}")
}

#[cfg(test)]
mod tests;
