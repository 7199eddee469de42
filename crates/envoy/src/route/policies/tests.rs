use std::time::Duration as StdDuration;

use super::*;
use contour_dag::Timeout;
use contour_dag::{HeadersPolicy, Redirect, WeightedCluster};
use envoy_types::pb::envoy::config::route::v3::{redirect_action, route};
use envoy_types::pb::google::protobuf::Duration;

#[test]
fn timeouts_default_disabled_and_set() {
    assert_eq!(timeout(Timeout::Default), None);
    assert_eq!(timeout(Timeout::Disabled), Some(Duration::default()));
    assert_eq!(
        timeout(Timeout::Duration(StdDuration::from_millis(1500))),
        Some(duration(StdDuration::from_millis(1500)))
    );
}

#[test]
fn route_policy_fills_the_action() {
    let mut policy = RoutePolicy {
        response_timeout: Timeout::Duration(StdDuration::from_secs(1)),
        idle_timeout: Timeout::Disabled,
        retry: Some(
            RetryPolicy {
                retry_on: "5xx".into(),
                num_retries: 0,
                ..Default::default()
            }
            .into(),
        ),
        hash_policies: vec![HashPolicy {
            terminal: true,
            source: HashSource::SourceIp,
        }],
        prefix_rewrite: Some("/v2".into()),
        internal_redirect: Some(
            InternalRedirectPolicy {
                cross_scheme: CrossScheme::SafeOnly,
                deny_repeated_route_redirect: true,
                ..Default::default()
            }
            .into(),
        ),
        websocket: true,
        ..Default::default()
    };
    policy.request_headers = Some(
        HeadersPolicy {
            host_rewrite_header: "X-Host".into(),
            ..Default::default()
        }
        .into(),
    );
    let mut ra = RouteAction::default();
    apply_route_policy(&mut ra, &policy, None);
    assert_eq!(ra.timeout, Some(duration(StdDuration::from_secs(1))));
    assert_eq!(ra.idle_timeout, Some(Duration::default()));
    // num_retries is always explicit, even when zero.
    assert_eq!(ra.retry_policy.unwrap().num_retries, Some(u32v(0)));
    assert!(ra.hash_policy[0].terminal);
    assert_eq!(ra.prefix_rewrite, "/v2");
    assert_eq!(ra.upgrade_configs[0].upgrade_type, "websocket");
    let irp = ra.internal_redirect_policy.unwrap();
    assert!(irp.allow_cross_scheme_redirect);
    assert_eq!(irp.predicates.len(), 2);
    assert_eq!(irp.max_internal_redirects, None);
    assert_eq!(
        ra.host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::HostRewriteHeader(
            "X-Host".into()
        ))
    );
}

#[test]
fn redirect_codes() {
    let action = |code| match redirect_action(&Redirect {
        status_code: code,
        scheme: "https".into(),
        ..Default::default()
    }) {
        route::Action::Redirect(r) => r,
        _ => panic!("redirect"),
    };
    use redirect_action::RedirectResponseCode as C;
    assert_eq!(action(0).response_code, C::MovedPermanently as i32);
    assert_eq!(action(302).response_code, C::Found as i32);
    assert_eq!(action(308).response_code, C::PermanentRedirect as i32);
    assert!(action(302).scheme_rewrite_specifier.is_some());
}

#[test]
fn simple_cluster_only_without_service_headers() {
    let plain = WeightedCluster::default();
    assert!(is_simple_cluster(std::slice::from_ref(&plain)));
    let with_headers = WeightedCluster {
        request_headers: Some(
            HeadersPolicy {
                remove: vec!["X-A".into()],
                ..Default::default()
            }
            .into(),
        ),
        ..Default::default()
    };
    assert!(!is_simple_cluster(&[with_headers]));
    assert!(!is_simple_cluster(&[plain.clone(), plain]));
}

#[test]
fn query_matchers() {
    let q = |kind, ignore_case| QueryParamMatch {
        name: "q".into(),
        kind,
        ignore_case,
    };
    let present = query_parameter_matcher(&q(QueryMatchKind::Present, true));
    assert_eq!(
        present.query_parameter_match_specifier,
        Some(query_parameter_matcher::QueryParameterMatchSpecifier::PresentMatch(true))
    );
    let regex = query_parameter_matcher(&q(QueryMatchKind::Regex("a.*".into()), true));
    let Some(query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(sm)) =
        regex.query_parameter_match_specifier
    else {
        panic!("string match")
    };
    assert!(!sm.ignore_case);
}
