//! Every route and service status reason of the routing half, through a whole build, with
//! upstream's type, reason and message. Each case is one root whose single route (or service)
//! is broken; upstream drops the proxy's routes, so nothing is served either.

use rstest::rstest;

use crate::builder::{BuildConfig, build};
use crate::testutil::{cache_with, obj, service};

fn statuses(route_yaml: &str) -> (Vec<(String, String, String)>, bool) {
    let proxy = obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: p, namespace: default}}\nspec:\n  virtualhost: {{fqdn: s.example.com}}\n  routes:\n{route_yaml}"
    ));
    let out = build(
        &cache_with([service("default", "app", 80, "http"), proxy]),
        &BuildConfig::default(),
    );
    let st = out.status.get("default", "p").expect("status");
    let errors = st
        .errors
        .iter()
        .map(|e| (e.type_.clone(), e.reason.clone(), e.message.clone()))
        .collect();
    (errors, out.dag.listeners.is_empty())
}

#[rstest]
#[case::no_action(
    "  - conditions: [{prefix: /}]\n",
    "RouteError",
    "RouteActionCountNotValid",
    "must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy"
)]
#[case::two_actions(
    "  - services: [{name: app, port: 80}]\n    directResponsePolicy: {statusCode: 200}\n",
    "RouteError",
    "RouteActionCountNotValid",
    "must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy"
)]
#[case::path(
    "  - conditions: [{prefix: a}]\n    services: [{name: app, port: 80}]\n",
    "RouteError",
    "PathMatchConditionsNotValid",
    "route: prefix conditions must start with /, a was supplied"
)]
#[case::header(
    "  - conditions: [{header: {name: x, exact: a}}, {header: {name: x, exact: b}}]\n    services: [{name: app, port: 80}]\n",
    "RouteError",
    "HeaderMatchConditionsNotValid",
    "cannot specify duplicate header 'exact match' conditions in the same route"
)]
#[case::query(
    "  - conditions: [{queryParameter: {name: q}}]\n    services: [{name: app, port: 80}]\n",
    "RouteError",
    "QueryParameterMatchConditionsNotValid",
    "must specify at least one query parameter condition"
)]
#[case::request_headers(
    "  - services: [{name: app, port: 80}]\n    requestHeadersPolicy: {set: [{name: x-a, value: '1'}, {name: X-A, value: '2'}]}\n",
    "RouteError",
    "RequestHeadersPolicyInvalid",
    "duplicate header addition: \"X-A\" on request headers"
)]
#[case::response_host(
    "  - services: [{name: app, port: 80}]\n    responseHeadersPolicy: {set: [{name: host, value: x}]}\n",
    "RouteError",
    "ResponseHeaderPolicyInvalid",
    "rewriting \"Host\" header is not supported on response headers"
)]
#[case::timeout(
    "  - services: [{name: app, port: 80}]\n    timeoutPolicy: {response: soon}\n",
    "RouteError",
    "TimeoutPolicyNotValid",
    "route.timeoutPolicy failed to parse: error parsing response timeout: unable to parse timeout string \"soon\": time: invalid duration \"soon\""
)]
#[case::redirect(
    "  - requestRedirectPolicy: {path: /a, prefix: /b}\n",
    "RouteError",
    "RequestRedirectPolicy",
    "route.requestRedirectPolicy is invalid: cannot specify both redirect path and redirect prefix"
)]
#[case::must_have_prefix(
    "  - conditions: [{exact: /a}]\n    services: [{name: app, port: 80}]\n    pathRewritePolicy: {replacePrefix: [{replacement: /b}]}\n",
    "PrefixReplaceError",
    "MustHavePrefix",
    "cannot specify prefix replacements without a prefix condition"
)]
#[case::duplicate_replacement(
    "  - services: [{name: app, port: 80}]\n    pathRewritePolicy: {replacePrefix: [{prefix: /a, replacement: /b}, {prefix: /a, replacement: /c}]}\n",
    "PrefixReplaceError",
    "DuplicateReplacement",
    "duplicate replacement prefix '/a'"
)]
#[case::ambiguous_replacement(
    "  - services: [{name: app, port: 80}]\n    pathRewritePolicy: {replacePrefix: [{replacement: /b}, {replacement: /c}]}\n",
    "PrefixReplaceError",
    "AmbiguousReplacement",
    "ambiguous prefix replacement"
)]
#[case::path_regex(
    "  - conditions: [{regex: '/(a'}]\n    services: [{name: app, port: 80}]\n",
    "RouteError",
    "PathMatchConditionsNotValid",
    "route: supplied regex: /(a invalid. error: error parsing regexp: missing closing ): `/(a`"
)]
#[case::health_check(
    "  - services: [{name: app, port: 80}]\n    healthCheckPolicy: {path: /h, expectedStatuses: [{start: 99, end: 200}]}\n",
    "RouteError",
    "HealthCheckPolicyInvalid",
    "invalid expected status range: start must be in the range [100, 599]"
)]
#[case::port(
    "  - services: [{name: app, port: 0}]\n",
    "ServiceError",
    "ServicePortInvalid",
    "service \"app\": port must be in the range 1-65535"
)]
#[case::protocol(
    "  - services: [{name: app, port: 80, protocol: h3}]\n",
    "ServiceError",
    "UnsupportedProtocol",
    "unsupported protocol: h3"
)]
#[case::service_headers(
    "  - services: [{name: app, port: 80, responseHeadersPolicy: {remove: [a, A]}}]\n",
    "ServiceError",
    "ResponseHeadersPolicyInvalid",
    "duplicate header removal: \"A\" on response headers"
)]
#[case::slow_start_strategy(
    "  - services: [{name: app, port: 80, slowStartPolicy: {window: 5s}}]\n    loadBalancerPolicy: {strategy: Random}\n",
    "ServiceError",
    "SlowStartInvalid",
    "slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy"
)]
#[case::slow_start_window(
    "  - services: [{name: app, port: 80, slowStartPolicy: {window: '5'}}]\n",
    "ServiceError",
    "SlowStartInvalid",
    "error parsing window: time: missing unit in duration \"5\" on slow start"
)]
#[case::two_mirrors(
    "  - services: [{name: app, port: 80}, {name: app, port: 80, mirror: true}, {name: app, port: 80, mirror: true}]\n",
    "ServiceError",
    "OnlyOneMirror",
    "only one service per route may be nominated as mirror"
)]
fn route_errors_drop_the_proxy(
    #[case] route_yaml: &str,
    #[case] type_: &str,
    #[case] reason: &str,
    #[case] message: &str,
) {
    let (errors, nothing_served) = statuses(route_yaml);
    assert_eq!(
        errors,
        vec![(type_.to_string(), reason.to_string(), message.to_string())]
    );
    assert!(nothing_served, "a route error serves nothing");
}

#[test]
fn ignored_hash_policies_are_warnings() {
    let proxy = obj(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, namespace: default}\nspec:\n  virtualhost: {fqdn: s.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n    loadBalancerPolicy: {strategy: RequestHash, requestHashPolicies: [{hashSourceIP: true}, {hashSourceIP: true}]}\n",
    );
    let out = build(
        &cache_with([service("default", "app", 80, "http"), proxy]),
        &BuildConfig::default(),
    );
    let st = out.status.get("default", "p").unwrap();
    assert!(st.is_valid());
    let w = &st.warnings[0];
    assert_eq!(
        (w.type_.as_str(), w.reason.as_str(), w.message.as_str()),
        (
            "SpecError",
            "IgnoredField",
            "ignoring invalid request hash policy, hashSourceIP specified multiple times"
        )
    );
    assert!(!out.dag.listeners.is_empty());
}

/// `services[].healthPort` (with a health check policy) names another port of the Service;
/// one it does not name leaves the service unresolved, as upstream. Without a health check
/// policy it is ignored.
#[test]
fn health_port_resolves_or_is_reported() {
    let svc = obj(
        "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports:\n  - {name: http, port: 80}\n  - {name: health, port: 8080}\n",
    );
    let build_with = |service_yaml: &str, health: bool| {
        let hc = if health {
            "    healthCheckPolicy: {path: /healthz}\n"
        } else {
            ""
        };
        let proxy = obj(&format!(
            "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: p, namespace: default}}\nspec:\n  virtualhost: {{fqdn: s.example.com}}\n  routes:\n  - services: [{service_yaml}]\n{hc}"
        ));
        build(&cache_with([svc.clone(), proxy]), &BuildConfig::default())
    };
    let health_ports = |out: &crate::BuildOutput| -> Vec<Option<crate::HealthPort>> {
        out.dag
            .clusters()
            .iter()
            .map(|c| c.service.health_port.clone())
            .collect()
    };
    let out = build_with("{name: app, port: 80, healthPort: 8080}", true);
    assert!(out.status.get("default", "p").unwrap().is_valid());
    assert_eq!(
        health_ports(&out),
        vec![Some(crate::HealthPort {
            port: 8080,
            name: "health".into()
        })]
    );
    // No health check policy: the field has no effect.
    let out = build_with("{name: app, port: 80, healthPort: 8080}", false);
    assert_eq!(health_ports(&out), vec![None]);
    // The traffic port itself: nothing to do.
    let out = build_with("{name: app, port: 80, healthPort: 80}", true);
    assert_eq!(health_ports(&out), vec![None]);
    // A port the Service does not have.
    let out = build_with("{name: app, port: 80, healthPort: 9999}", true);
    let st = out.status.get("default", "p").unwrap();
    let e = &st.errors[0];
    assert_eq!(
        (e.type_.as_str(), e.reason.as_str(), e.message.as_str()),
        (
            "ServiceError",
            "ServiceUnresolvedReference",
            "Spec.Routes unresolved service reference: port \"9999\" on service \"default/app\" not matched"
        )
    );
    assert!(out.dag.clusters().is_empty());
}

const BAD_HEALTH: &str =
    "    healthCheckPolicy: {path: /h, expectedStatuses: [{start: 99, end: 200}]}\n";
const BAD_COOKIE: &str = "    cookieRewritePolicies: [{name: a}]\n";
const BAD_TIMEOUT: &str = "    timeoutPolicy: {response: soon}\n";
const BAD_RATE_LIMIT: &str = "    rateLimitPolicy: {local: {requests: 0, unit: second}}\n";
const BAD_REDIRECT: &str = "    requestRedirectPolicy: {path: /a, prefix: /b}\n";
const BAD_IP: &str = "    ipAllowPolicy: [{source: Peer, cidr: nope}]\n";

/// A proxy with several mistakes reports what upstream's `computeRoutes` finds first: header
/// policies, cookie rewrites, timeouts, rate limit, redirect, prefix rewrite, health check,
/// each service (port, reference, protocol, headers, cookie rewrites, slow start), IP filters.
#[rstest]
#[case::health_check_on_a_redirect(
    format!("  - requestRedirectPolicy: {{hostname: a.example.com}}\n{BAD_HEALTH}"),
    &["HealthCheckPolicyInvalid"]
)]
#[case::cookie_before_timeout(
    format!("  - services: [{{name: app, port: 80}}]\n{BAD_TIMEOUT}{BAD_COOKIE}"),
    &["CookieRewritePoliciesInvalid"]
)]
#[case::timeout_before_rate_limit(
    format!("  - services: [{{name: app, port: 80}}]\n{BAD_RATE_LIMIT}{BAD_TIMEOUT}"),
    &["TimeoutPolicyNotValid"]
)]
#[case::rate_limit_before_redirect(
    format!("  - conditions: [{{prefix: /}}]\n{BAD_REDIRECT}{BAD_RATE_LIMIT}"),
    &["RateLimitPolicyNotValid"]
)]
#[case::redirect_before_ip_filter(
    format!("  - conditions: [{{prefix: /}}]\n{BAD_IP}{BAD_REDIRECT}"),
    &["RequestRedirectPolicy"]
)]
#[case::health_check_before_ip_filter(
    format!("  - services: [{{name: app, port: 80}}]\n{BAD_IP}{BAD_HEALTH}"),
    &["HealthCheckPolicyInvalid"]
)]
#[case::services_before_ip_filter(
    format!("  - services: [{{name: missing, port: 80}}]\n{BAD_IP}"),
    &["ServiceUnresolvedReference", "InvalidCIDR"]
)]
#[case::unresolved_service_cookies_unchecked(
    "  - services: [{name: missing, port: 80, cookieRewritePolicies: [{name: a}]}]\n".to_string(),
    &["ServiceUnresolvedReference"]
)]
#[case::service_headers_before_service_cookies(
    "  - services: [{name: app, port: 80, responseHeadersPolicy: {remove: [a, A]}, cookieRewritePolicies: [{name: a}]}]\n".to_string(),
    &["ResponseHeadersPolicyInvalid"]
)]
#[case::first_service_first(
    "  - services: [{name: app, port: 80, cookieRewritePolicies: [{name: a}]}, {name: app, port: 0}]\n".to_string(),
    &["CookieRewritePoliciesInvalid"]
)]
fn first_error_as_upstream(#[case] route_yaml: String, #[case] reasons: &[&str]) {
    let (errors, _) = statuses(&route_yaml);
    let got: Vec<&str> = errors.iter().map(|(_, r, _)| r.as_str()).collect();
    assert_eq!(got, reasons);
}

/// An invalid upstream validation on a route service drops the proxy's routes, as upstream.
#[test]
fn invalid_upstream_validation_drops_the_proxy() {
    let (errors, nothing_served) = statuses(
        "  - services: [{name: app, port: 80, protocol: tls, validation: {caSecret: missing, subjectName: backend}}]\n",
    );
    let reasons: Vec<(&str, &str)> = errors
        .iter()
        .map(|(t, r, _)| (t.as_str(), r.as_str()))
        .collect();
    assert_eq!(reasons, [("ServiceError", "TLSUpstreamValidation")]);
    assert!(
        errors[0]
            .2
            .starts_with("Service [app:80] TLS upstream validation policy error: "),
        "{errors:?}"
    );
    assert!(nothing_served);
}
