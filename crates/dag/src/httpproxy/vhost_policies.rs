//! HTTPProxy virtual-host and route policies that need no external service: CORS, IP allow/deny
//! filters and local rate limits (cookie rewrites are in `cookie_rewrite.rs`).
//!
//! Each function validates the API value and returns the DAG value, or the status errors
//! upstream reports for it (condition types, reasons and messages are upstream's).

use std::net::IpAddr;

use contour_api::v1::{
    CORSPolicy, IPFilterPolicy, LocalRateLimitPolicy, RateLimitPolicy, Route as ApiRoute,
    Service as ApiService, VirtualHost as ApiVirtualHost,
};

use super::cookie_rewrite::cookie_rewrites;
use super::envoy_vars::{canonical_header_key, escape_header_value, http_header_name_error};
use crate::duration::parse_go_nanos;
use crate::status::error_type;
use crate::vhost_policy::{
    CookieRewrite, CorsOrigin, CorsPolicy, IpFilter, IpRule, LocalRateLimit, MaxAge, VhostPolicies,
};

/// One status error sub-condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub type_: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl PolicyError {
    fn new(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        PolicyError {
            type_,
            reason,
            message: message.into(),
        }
    }
}

/// The check upstream makes before anything else on a root: allow and deny lists together
/// reject the proxy outright (its includes are not followed).
pub fn vhost_ip_filters_conflict(vh: &ApiVirtualHost) -> Option<PolicyError> {
    (!vh.ip_allow_policy.is_empty() && !vh.ip_deny_policy.is_empty()).then(|| {
        PolicyError::new(
            error_type::IP_FILTER,
            "IncompatibleIPAddressFilters",
            // Upstream's message, typo included.
            "Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.",
        )
    })
}

/// The host-wide policies of a root, checked in upstream's order (CORS, rate limit, IP
/// filters). `Ok` may come with errors (see [`IpFilters::failed`]); on `Err` the host serves
/// nothing.
pub fn vhost_policies(vh: &ApiVirtualHost) -> (Result<VhostPolicies, ()>, Vec<PolicyError>) {
    let fail =
        |type_, reason, message: String| (Err(()), vec![PolicyError::new(type_, reason, message)]);
    let cors = match cors_policy(vh.cors_policy.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            let message = format!("Spec.VirtualHost.CORSPolicy: {e}");
            return fail(error_type::CORS, "PolicyDidNotParse", message);
        }
    };
    let local_rate_limit = match rate_limit_policy(vh.rate_limit_policy.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            let message = format!("Spec.VirtualHost.RateLimitPolicy is invalid: {e}");
            return fail(error_type::VIRTUAL_HOST, "RateLimitPolicyNotValid", message);
        }
    };
    let filters = ip_filters(&vh.ip_allow_policy, &vh.ip_deny_policy);
    let mut errors = filters.errors;
    if let Some(last) = filters.failed {
        errors.push(PolicyError::new(
            error_type::IP_FILTER,
            "IPFilterPolicyNotValid",
            format!(
                "Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: {last}"
            ),
        ));
        return (Err(()), errors);
    }
    let policies = VhostPolicies {
        cors,
        local_rate_limit,
        ip_filter: filters.filter,
    };
    (Ok(policies), errors)
}

/// A route's `cookieRewritePolicies` (checked after its header policies, as upstream).
pub fn route_cookie_rewrites(route: &ApiRoute) -> Result<Vec<CookieRewrite>, PolicyError> {
    cookie_rewrites(&route.cookie_rewrite_policies).map_err(|e| {
        PolicyError::new(
            error_type::ROUTE,
            "CookieRewritePoliciesInvalid",
            format!("{e} on route cookie rewrite rules"),
        )
    })
}

/// A service's `cookieRewritePolicies` (checked after its header policies, as upstream).
pub fn service_cookie_rewrites(svc: &ApiService) -> Result<Vec<CookieRewrite>, PolicyError> {
    cookie_rewrites(&svc.cookie_rewrite_policies).map_err(|e| {
        PolicyError::new(
            error_type::ROUTE,
            "CookieRewritePoliciesInvalid",
            format!("{e} on service cookie rewrite rules"),
        )
    })
}

/// A route's local rate limit (checked right after its timeouts, as upstream).
pub fn route_rate_limit(route: &ApiRoute) -> Result<Option<LocalRateLimit>, PolicyError> {
    rate_limit_policy(route.rate_limit_policy.as_deref()).map_err(|e| {
        PolicyError::new(
            error_type::ROUTE,
            "RateLimitPolicyNotValid",
            format!("route.rateLimitPolicy is invalid: {e}"),
        )
    })
}

/// The outcome of converting allow/deny lists.
#[derive(Debug, Default)]
pub struct IpFilters {
    pub filter: Option<IpFilter>,
    /// Status errors, one per unparsable CIDR, or one for both lists set.
    pub errors: Vec<PolicyError>,
    /// Set when the filter as a whole is rejected: both lists given, or the *last* entry did
    /// not parse. Upstream keeps only the last parse error, so an unparsable entry followed by
    /// a good one is reported but the remaining rules are still served; we do the same.
    pub failed: Option<String>,
}

pub fn ip_filters(allow: &[IPFilterPolicy], deny: &[IPFilterPolicy]) -> IpFilters {
    let mut out = IpFilters::default();
    let (is_allow, policies) = match (allow.is_empty(), deny.is_empty()) {
        (false, false) => {
            out.errors.push(PolicyError::new(
                error_type::IP_FILTER,
                "IncompatibleIPAddressFilters",
                "cannot specify both `ipAllowPolicy` and `ipDenyPolicy`",
            ));
            out.failed = Some("invalid ip filter".to_string());
            return out;
        }
        (false, true) => (true, allow),
        (true, false) => (false, deny),
        (true, true) => return out,
    };
    let mut rules = Vec::new();
    let mut last_error = None;
    for policy in policies {
        match parse_cidr(&policy.cidr) {
            Ok((address_prefix, prefix_len)) => {
                last_error = None;
                rules.push(IpRule {
                    remote: policy.source == "Remote",
                    address_prefix,
                    prefix_len,
                });
            }
            Err(e) => {
                out.errors.push(PolicyError::new(
                    error_type::IP_FILTER,
                    "InvalidCIDR",
                    format!("{} failed to parse: {e}", policy.cidr),
                ));
                last_error = Some(e);
            }
        }
    }
    match last_error {
        Some(e) => out.failed = Some(e),
        None if !rules.is_empty() => {
            out.filter = Some(IpFilter {
                allow: is_allow,
                rules,
            })
        }
        None => {}
    }
    out
}

/// A CIDR block or a bare address (taken as /32 or /128), as the network address and prefix
/// length; errors read like Go's `net.ParseCIDR`.
pub fn parse_cidr(cidr: &str) -> Result<(String, u32), String> {
    let full = if cidr.contains('/') {
        cidr.to_string()
    } else if cidr.contains(':') {
        format!("{cidr}/128")
    } else {
        format!("{cidr}/32")
    };
    let invalid = || format!("invalid CIDR address: {full}");
    let (addr, len) = full.split_once('/').ok_or_else(invalid)?;
    let ip: IpAddr = addr.parse().map_err(|_| invalid())?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let prefix: u32 = len.parse().map_err(|_| invalid())?;
    if prefix > bits {
        return Err(invalid());
    }
    let network = match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::from((u32::from(v4) & mask).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::from((u128::from(v6) & mask).to_be_bytes())
        }
    };
    Ok((network.to_string(), prefix))
}

/// The local part of a rate limit policy. The global part is validated as upstream does, but
/// is only applied once a rate limit service can be configured.
pub fn rate_limit_policy(
    policy: Option<&RateLimitPolicy>,
) -> Result<Option<LocalRateLimit>, String> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    let local = policy.local.as_ref().map(local_rate_limit).transpose()?;
    if let Some(global) = &policy.global
        && global.disabled != Some(true)
    {
        for entry in global.descriptors.iter().flat_map(|d| &d.entries) {
            let set = [
                entry.generic_key.is_some(),
                entry.request_header.is_some(),
                entry.request_header_value_match.is_some(),
                entry.remote_address.is_some(),
            ];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err("rate limit descriptor entry must have exactly one field set".into());
            }
        }
    }
    Ok(local)
}

fn local_rate_limit(policy: &LocalRateLimitPolicy) -> Result<LocalRateLimit, String> {
    if policy.requests == 0 {
        return Err(format!(
            "invalid requests value {} in local rate limit policy",
            policy.requests
        ));
    }
    let fill_interval_secs = match policy.unit.as_str() {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        other => {
            return Err(format!(
                "invalid unit \"{other}\" in local rate limit policy"
            ));
        }
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for h in &policy.response_headers_to_add {
        let key = canonical_header_key(&h.name);
        if headers.iter().any(|(k, _)| *k == key) {
            return Err(format!("duplicate header addition: \"{key}\""));
        }
        if let Some(msgs) = http_header_name_error(&key) {
            return Err(format!("invalid header name \"{key}\": {msgs}"));
        }
        headers.push((key, escape_header_value(&h.value, &[])));
    }
    headers.sort();
    Ok(LocalRateLimit {
        max_tokens: policy.requests.saturating_add(policy.burst.unwrap_or(0)),
        tokens_per_fill: policy.requests,
        fill_interval_secs,
        response_status_code: policy.response_status_code.filter(|c| *c > 0),
        response_headers_to_add: headers,
    })
}

/// CORS policy; the error is the text after upstream's `Spec.VirtualHost.CORSPolicy: `.
pub fn cors_policy(policy: Option<&CORSPolicy>) -> Result<Option<CorsPolicy>, String> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    if policy.allow_origin.is_empty() {
        return Err("invalid allowed origin configuration with length 0".into());
    }
    let mut allow_origin = Vec::with_capacity(policy.allow_origin.len());
    for origin in &policy.allow_origin {
        allow_origin.push(
            cors_origin(origin).map_err(|e| format!("invalid allowed origin \"{origin}\": {e}"))?,
        );
    }
    if policy.allow_methods.is_empty() {
        return Err("invalid allowed methods configuration with length 0".into());
    }
    let max_age = match policy.max_age.as_deref() {
        None | Some("") => MaxAge::Default,
        Some(text) => match parse_go_nanos(text) {
            Ok(0) => MaxAge::Disabled,
            Ok(n) if n < 0 => return Err(format!("invalid max age value \"{text}\"")),
            Ok(n) => MaxAge::Nanos(n),
            Err(e) => return Err(format!("unable to parse timeout string \"{text}\": {e}")),
        },
    };
    Ok(Some(CorsPolicy {
        allow_credentials: policy.allow_credentials.unwrap_or(false),
        allow_origin,
        allow_methods: policy.allow_methods.clone(),
        allow_headers: policy.allow_headers.clone(),
        expose_headers: policy.expose_headers.clone(),
        max_age,
        allow_private_network: policy.allow_private_network.unwrap_or(false),
    }))
}

/// `*` and well-formed `scheme://host[:port]` origins match exactly; anything else must be a
/// valid regular expression.
fn cors_origin(origin: &str) -> Result<CorsOrigin, &'static str> {
    if origin == "*" || is_exact_origin(origin) {
        return Ok(CorsOrigin::Exact(origin.to_string()));
    }
    crate::go_regexp::check(origin)
        .map(|()| CorsOrigin::Regex(origin.to_string()))
        .map_err(|_| "allowed origin is invalid exact match and invalid regex match")
}

/// Whether an origin reads back unchanged as `scheme://host` from a URL parser (lower-case
/// scheme, a host of URL host characters, an optional numeric port, nothing after it).
fn is_exact_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    let host_char = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:[]".contains(c);
    // Only a numeric port may follow the last `:` after the host (or the `]` of an IPv6
    // literal).
    let after_host = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(_, after)| after),
        None => Some(host.rfind(':').map_or("", |i| &host[i..])),
    };
    let port_ok = after_host.is_some_and(|p| {
        p.is_empty()
            || p.strip_prefix(':')
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    });
    scheme_ok && !host.is_empty() && host.chars().all(host_char) && port_ok
}

#[cfg(test)]
#[path = "vhost_policies_tests.rs"]
mod tests;
