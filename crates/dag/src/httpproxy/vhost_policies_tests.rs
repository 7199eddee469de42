//! Host and route policies: conversion, and upstream's status reasons and messages pinned
//! through a full build.

use rstest::rstest;

use super::*;
use crate::builder::{BuildConfig, BuildOutput, build};
use crate::testutil::{cache_with, obj, service};

fn proxy(yaml: &str) -> crate::Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\n{yaml}"
    ))
}

/// Builds a root `default/root` for `example.com` whose `virtualhost` has the extra YAML
/// `vhost` (flow style, e.g. `corsPolicy: {...}`) and one route with extra YAML `route`.
fn build_root(vhost: &str, route: &str) -> BuildOutput {
    let vhost = if vhost.is_empty() {
        String::new()
    } else {
        format!(", {vhost}")
    };
    let route = if route.is_empty() {
        String::new()
    } else {
        format!(", {route}")
    };
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(&format!(
            "metadata: {{name: root}}\nspec:\n  virtualhost: {{fqdn: example.com{vhost}}}\n  routes:\n  - {{services: [{{name: app, port: 80}}]{route}}}\n"
        )),
    ]);
    build(&cache, &BuildConfig::default())
}

/// `(type, reason, message)` of every error of `default/root`.
fn errors(out: &BuildOutput) -> Vec<(String, String, String)> {
    out.status
        .get("default", "root")
        .expect("status")
        .errors
        .iter()
        .map(|e| (e.type_.clone(), e.reason.clone(), e.message.clone()))
        .collect()
}

fn served(out: &BuildOutput) -> bool {
    out.dag.listeners.contains_key("ingress_http")
}

#[rstest]
#[case::no_origin(
    "corsPolicy: {allowOrigin: [], allowMethods: [GET]}",
    "Spec.VirtualHost.CORSPolicy: invalid allowed origin configuration with length 0"
)]
#[case::no_methods(
    "corsPolicy: {allowOrigin: ['*'], allowMethods: []}",
    "Spec.VirtualHost.CORSPolicy: invalid allowed methods configuration with length 0"
)]
#[case::bad_origin(
    "corsPolicy: {allowOrigin: ['http://[bad'], allowMethods: [GET]}",
    "Spec.VirtualHost.CORSPolicy: invalid allowed origin \"http://[bad\": allowed origin is invalid exact match and invalid regex match"
)]
#[case::bad_max_age(
    "corsPolicy: {allowOrigin: ['*'], allowMethods: [GET], maxAge: '10'}",
    "Spec.VirtualHost.CORSPolicy: unable to parse timeout string \"10\": time: missing unit in duration \"10\""
)]
#[case::negative_max_age(
    "corsPolicy: {allowOrigin: ['*'], allowMethods: [GET], maxAge: -10s}",
    "Spec.VirtualHost.CORSPolicy: invalid max age value \"-10s\""
)]
fn cors_errors(#[case] vhost: &str, #[case] message: &str) {
    let out = build_root(vhost, "");
    assert_eq!(
        errors(&out),
        vec![(
            "CORSError".into(),
            "PolicyDidNotParse".into(),
            message.into()
        )]
    );
    assert!(!served(&out), "an invalid host policy serves nothing");
}

#[rstest]
#[case::vhost_unit(
    "rateLimitPolicy: {local: {requests: 1, unit: day}}",
    "",
    ("VirtualHostError", "RateLimitPolicyNotValid", "Spec.VirtualHost.RateLimitPolicy is invalid: invalid unit \"day\" in local rate limit policy")
)]
#[case::vhost_requests(
    "rateLimitPolicy: {local: {requests: 0, unit: second}}",
    "",
    ("VirtualHostError", "RateLimitPolicyNotValid", "Spec.VirtualHost.RateLimitPolicy is invalid: invalid requests value 0 in local rate limit policy")
)]
#[case::route_duplicate_header(
    "",
    "rateLimitPolicy: {local: {requests: 1, unit: second, responseHeadersToAdd: [{name: x-a, value: '1'}, {name: X-A, value: '2'}]}}",
    ("RouteError", "RateLimitPolicyNotValid", "route.rateLimitPolicy is invalid: duplicate header addition: \"X-A\"")
)]
#[case::route_bad_header(
    "",
    "rateLimitPolicy: {local: {requests: 1, unit: second, responseHeadersToAdd: [{name: x_a, value: '1'}]}}",
    ("RouteError", "RateLimitPolicyNotValid", "route.rateLimitPolicy is invalid: invalid header name \"X_a\": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]")
)]
#[case::global_entry(
    "rateLimitPolicy: {global: {descriptors: [{entries: [{genericKey: {value: a}, remoteAddress: {}}]}]}}",
    "",
    ("VirtualHostError", "RateLimitPolicyNotValid", "Spec.VirtualHost.RateLimitPolicy is invalid: rate limit descriptor entry must have exactly one field set")
)]
#[case::route_cookie_duplicate(
    "",
    "cookieRewritePolicies: [{name: a, secure: true}, {name: a, secure: false}]",
    ("RouteError", "CookieRewritePoliciesInvalid", "duplicate cookie rewrite rule for cookie \"a\" on route cookie rewrite rules")
)]
#[case::route_cookie_empty(
    "",
    "cookieRewritePolicies: [{name: a}]",
    ("RouteError", "CookieRewritePoliciesInvalid", "no attributes rewritten for cookie \"a\" on route cookie rewrite rules")
)]
#[case::route_both_ip_lists(
    "",
    "ipAllowPolicy: [{source: Peer, cidr: 10.0.0.0/8}], ipDenyPolicy: [{source: Peer, cidr: 10.1.0.0/16}]",
    ("IPFilterError", "IncompatibleIPAddressFilters", "cannot specify both `ipAllowPolicy` and `ipDenyPolicy`")
)]
#[case::route_bad_cidr(
    "",
    "ipDenyPolicy: [{source: Remote, cidr: 10.0.0.0/33}]",
    ("IPFilterError", "InvalidCIDR", "10.0.0.0/33 failed to parse: invalid CIDR address: 10.0.0.0/33")
)]
#[case::vhost_both_ip_lists(
    "ipAllowPolicy: [{source: Peer, cidr: 10.0.0.0/8}], ipDenyPolicy: [{source: Peer, cidr: 10.1.0.0/16}]",
    "",
    ("IPFilterError", "IncompatibleIPAddressFilters", "Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.")
)]
fn single_error_and_nothing_served(
    #[case] vhost: &str,
    #[case] route: &str,
    #[case] want: (&str, &str, &str),
) {
    let out = build_root(vhost, route);
    let want = (want.0.to_string(), want.1.to_string(), want.2.to_string());
    assert_eq!(errors(&out), vec![want]);
    assert!(!served(&out));
    let api = out.status.get("default", "root").unwrap().to_api();
    assert_eq!(api.current_status.as_deref(), Some("invalid"));
}

#[test]
fn service_cookie_errors_are_route_errors() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: root}\nspec:\n  virtualhost: {fqdn: example.com}\n  routes:\n  - services: [{name: app, port: 80, cookieRewritePolicies: [{name: s}]}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    assert_eq!(
        errors(&out),
        vec![(
            "RouteError".into(),
            "CookieRewritePoliciesInvalid".into(),
            "no attributes rewritten for cookie \"s\" on service cookie rewrite rules".into()
        )]
    );
}

#[test]
fn vhost_bad_cidr_reports_each_then_the_policy() {
    let out = build_root(
        "ipAllowPolicy: [{source: Peer, cidr: 10.0.0.1/8}, {source: Peer, cidr: nope}]",
        "",
    );
    assert_eq!(
        errors(&out),
        vec![
            (
                "IPFilterError".into(),
                "InvalidCIDR".into(),
                "nope failed to parse: invalid CIDR address: nope/32".into()
            ),
            (
                "IPFilterError".into(),
                "IPFilterPolicyNotValid".into(),
                "Spec.VirtualHost.IPAllowFilterPolicy or Spec.VirtualHost.IPDenyFilterPolicy is invalid: invalid CIDR address: nope/32".into()
            ),
        ]
    );
    assert!(!served(&out));
}

#[test]
fn bad_cidr_followed_by_good_one_is_reported_but_served_as_upstream() {
    let out = build_root(
        "ipDenyPolicy: [{source: Peer, cidr: 300.0.0.1}, {source: Remote, cidr: 192.168.7.9/24}]",
        "",
    );
    assert_eq!(errors(&out).len(), 1);
    assert!(served(&out));
    let vh = &out.dag.listeners["ingress_http"].virtual_hosts[0];
    let filter = vh.policies.ip_filter.as_ref().unwrap();
    assert!(!filter.allow);
    assert_eq!(
        filter.rules,
        vec![IpRule {
            remote: true,
            address_prefix: "192.168.7.0".into(),
            prefix_len: 24
        }]
    );
}

#[test]
fn invalid_route_policy_drops_the_proxy_routes_and_its_includes() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: root}\nspec:\n  virtualhost: {fqdn: example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n  includes: [{name: child}]\n",
        ),
        proxy(
            "metadata: {name: child}\nspec:\n  routes:\n  - conditions: [{prefix: /ok}]\n    services: [{name: app, port: 80}]\n  - conditions: [{prefix: /bad}]\n    services: [{name: app, port: 80}]\n    rateLimitPolicy: {local: {requests: 1, unit: fortnight}}\n  includes: [{name: grandchild}]\n",
        ),
        proxy(
            "metadata: {name: grandchild}\nspec:\n  routes:\n  - conditions: [{prefix: /deep}]\n    services: [{name: app, port: 80}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    let vh = &out.dag.listeners["ingress_http"].virtual_hosts[0];
    let paths: Vec<&str> = vh.routes.values().map(|r| r.path.value()).collect();
    assert_eq!(paths, vec!["/"], "only the root's own route is served");
    assert!(!out.status.get("default", "child").unwrap().is_valid());
    // The grandchild was reached (not orphaned) and is itself valid.
    assert!(out.status.get("default", "grandchild").unwrap().is_valid());
}

#[test]
fn valid_policies_reach_the_dag() {
    let out = build_root(
        "corsPolicy: {allowCredentials: true, allowOrigin: ['*', 'https://a.example.com', 'https://.*\\.b\\.com'], allowMethods: [GET, POST], allowHeaders: [x-a], exposeHeaders: [x-b], maxAge: 10m}, rateLimitPolicy: {local: {requests: 3, unit: minute, burst: 2, responseStatusCode: 503, responseHeadersToAdd: [{name: x-why, value: '100%'}, {name: a-first, value: '%HOSTNAME%'}]}}",
        "ipAllowPolicy: [{source: Peer, cidr: '::1'}], cookieRewritePolicies: [{name: sid, pathRewrite: {value: /app}, sameSite: Strict}]",
    );
    assert!(errors(&out).is_empty(), "{:?}", errors(&out));
    let vh = &out.dag.listeners["ingress_http"].virtual_hosts[0];
    let cors = vh.policies.cors.as_ref().unwrap();
    assert_eq!(
        cors.allow_origin,
        vec![
            CorsOrigin::Exact("*".into()),
            CorsOrigin::Exact("https://a.example.com".into()),
            CorsOrigin::Regex("https://.*\\.b\\.com".into()),
        ]
    );
    assert_eq!(cors.max_age, MaxAge::Nanos(600_000_000_000));
    assert!(cors.allow_credentials);
    let rl = vh.policies.local_rate_limit.as_ref().unwrap();
    assert_eq!(
        (
            rl.max_tokens,
            rl.tokens_per_fill,
            rl.fill_interval_secs,
            rl.response_status_code
        ),
        (5, 3, 60, Some(503))
    );
    assert_eq!(
        rl.response_headers_to_add,
        vec![
            ("A-First".to_string(), "%HOSTNAME%".to_string()),
            ("X-Why".to_string(), "100%%".to_string()),
        ]
    );
    let route = vh.routes.values().next().unwrap();
    let ip = route.policies.ip_filter.as_ref().unwrap();
    assert!(ip.allow);
    assert_eq!(
        (ip.rules[0].address_prefix.as_str(), ip.rules[0].prefix_len),
        ("::1", 128)
    );
    assert_eq!(
        route.policies.cookie_rewrites[0].path.as_deref(),
        Some("/app")
    );
}

#[rstest]
#[case("https://example.com", true)]
#[case("http://example.com:8080", true)]
#[case("https://[::1]:443", true)]
#[case("https://example.com/", false)]
#[case("HTTPS://example.com", false)]
#[case("https://example.com:http", false)]
#[case("example.com", false)]
#[case("https://user@example.com", false)]
fn exact_origins(#[case] origin: &str, #[case] exact: bool) {
    assert_eq!(is_exact_origin(origin), exact, "{origin}");
}

#[rstest]
#[case("10.1.2.3/8", Ok(("10.0.0.0".to_string(), 8)))]
#[case("10.1.2.3", Ok(("10.1.2.3".to_string(), 32)))]
#[case("2001:db8::1/32", Ok(("2001:db8::".to_string(), 32)))]
#[case("0.0.0.0/0", Ok(("0.0.0.0".to_string(), 0)))]
#[case("10.0.0.0/", Err("invalid CIDR address: 10.0.0.0/".to_string()))]
#[case("10.0.0.0/+8", Err("invalid CIDR address: 10.0.0.0/+8".to_string()))]
#[case("::1/129", Err("invalid CIDR address: ::1/129".to_string()))]
fn cidrs(#[case] input: &str, #[case] want: Result<(String, u32), String>) {
    assert_eq!(parse_cidr(input), want);
}
