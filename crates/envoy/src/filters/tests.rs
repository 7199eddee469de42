//! Per-filter configurations: shapes pinned against upstream, and the cookie rewrite rules
//! staying data.

use contour_dag::{
    CookieRewrite, CorsOrigin, CorsPolicy, Forward, IpFilter, IpRule, LocalRateLimit, MaxAge,
    PathMatch, RouteAction, RoutePolicies, VhostPolicies,
};
use envoy_types::pb::envoy::config::rbac::v3::{principal, rbac};
use envoy_types::pb::envoy::config::route::v3::{self as route_v3, route, route_action};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::CorsPolicy as EnvoyCors;
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit as EnvoyLocalRateLimit;
use envoy_types::pb::envoy::extensions::filters::http::lua::v3::{LuaPerRoute, lua_per_route};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::RbacPerRoute;
use envoy_types::pb::google::protobuf::value;
use prost::Message;

use super::*;
use crate::listener::LUA_FILTER;
use crate::route::RouteOptions;
use crate::tests::{forward_to, route as dag_route, service, vhost};

fn vhost_route(r: &contour_dag::Route, fqdn: &str) -> route_v3::Route {
    crate::route::vhost_route(r, fqdn, RouteOptions::WITH_METADATA)
}

fn virtual_host(vh: &contour_dag::VirtualHost) -> Option<route_v3::VirtualHost> {
    crate::route::virtual_host(vh, RouteOptions::WITH_METADATA)
}

fn decode<T: Message + Default>(any: &Any) -> T {
    T::decode(any.value.as_slice()).expect("decodes")
}

fn cors() -> CorsPolicy {
    CorsPolicy {
        allow_credentials: false,
        allow_origin: vec![
            CorsOrigin::Exact("https://a.example.com".into()),
            CorsOrigin::Regex("https://.*".into()),
        ],
        allow_methods: vec!["GET".into(), "OPTIONS".into()],
        allow_headers: vec!["x-a".into(), "x-b".into()],
        expose_headers: vec![],
        max_age: MaxAge::Nanos(1_500_000_000),
        allow_private_network: false,
    }
}

fn rate_limit() -> LocalRateLimit {
    LocalRateLimit {
        max_tokens: 3,
        tokens_per_fill: 2,
        fill_interval_secs: 60,
        response_status_code: Some(503),
        response_headers_to_add: vec![("X-Limited".into(), "yes".into())],
    }
}

#[test]
fn vhost_configs_as_upstream() {
    let policies = VhostPolicies {
        cors: Some(cors()),
        local_rate_limit: Some(rate_limit()),
        ip_filter: Some(IpFilter {
            allow: true,
            rules: vec![
                IpRule {
                    remote: false,
                    address_prefix: "10.0.0.0".into(),
                    prefix_len: 8,
                },
                IpRule {
                    remote: true,
                    address_prefix: "::1".into(),
                    prefix_len: 128,
                },
            ],
        }),
    };
    let configs = vhost_filter_configs(&policies, "example.com");
    let mut names: Vec<&String> = configs.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "envoy.filters.http.cors",
            "envoy.filters.http.local_ratelimit",
            "envoy.filters.http.rbac"
        ]
    );
    let c: EnvoyCors = decode(&configs["envoy.filters.http.cors"]);
    assert_eq!(c.allow_methods, "GET,OPTIONS");
    assert_eq!(c.allow_headers, "x-a,x-b");
    assert_eq!(c.max_age, "2", "1.5s rounds like Go's %.0f");
    assert_eq!(c.allow_credentials.map(|b| b.value), Some(false));
    assert!(c.allow_origin_string_match[0].ignore_case);
    assert!(!c.allow_origin_string_match[1].ignore_case);

    let rl: EnvoyLocalRateLimit = decode(&configs["envoy.filters.http.local_ratelimit"]);
    assert_eq!(rl.stat_prefix, "vhost.example.com");
    let bucket = rl.token_bucket.unwrap();
    assert_eq!(bucket.max_tokens, 3);
    assert_eq!(bucket.tokens_per_fill.map(|v| v.value), Some(2));
    assert_eq!(bucket.fill_interval.map(|d| d.seconds), Some(60));
    assert_eq!(rl.status.map(|s| s.code), Some(503));
    assert_eq!(
        rl.filter_enforced.unwrap().default_value.unwrap().numerator,
        100
    );
    assert_eq!(
        rl.response_headers_to_add[0].header.as_ref().unwrap().key,
        "X-Limited"
    );

    let rbac: RbacPerRoute = decode(&configs["envoy.filters.http.rbac"]);
    let rules = rbac.rbac.unwrap().rules.unwrap();
    assert_eq!(rules.action, rbac::Action::Allow as i32);
    let policy = &rules.policies["ip-rules"];
    let ids: Vec<_> = policy
        .principals
        .iter()
        .map(|p| p.identifier.clone().unwrap())
        .collect();
    assert!(
        matches!(&ids[0], principal::Identifier::DirectRemoteIp(c) if c.address_prefix == "10.0.0.0")
    );
    assert!(
        matches!(&ids[1], principal::Identifier::RemoteIp(c) if c.prefix_len.as_ref().unwrap().value == 128)
    );
}

#[test]
fn max_age_rendering() {
    assert_eq!(cors::max_age(MaxAge::Default), "");
    assert_eq!(cors::max_age(MaxAge::Disabled), "0");
    assert_eq!(cors::max_age(MaxAge::Nanos(600_000_000_000)), "600");
}

#[test]
fn route_policies_only_on_forwarding_routes() {
    let kuard = service("default", "kuard", 80);
    let policies = RoutePolicies {
        local_rate_limit: Some(rate_limit().into()),
        ..Default::default()
    };
    let mut fwd = dag_route(PathMatch::Prefix("/".into()), forward_to(&[(&kuard, 0)]));
    fwd.policies = policies.clone().into();
    let r = vhost_route(&fwd, "example.com");
    assert_eq!(
        r.typed_per_filter_config.keys().collect::<Vec<_>>(),
        ["envoy.filters.http.local_ratelimit"]
    );
    let mut direct = dag_route(
        PathMatch::Prefix("/x".into()),
        RouteAction::DirectResponse {
            status: 503,
            body: None,
        },
    );
    direct.policies = policies.into();
    assert!(
        vhost_route(&direct, "example.com")
            .typed_per_filter_config
            .is_empty()
    );
}

/// A route with cookie rewrites and a single service still uses weighted clusters, each with
/// the Lua per-route config: the fixed script's name and the rules as filter context.
#[test]
fn cookie_rewrites_are_filter_context_data() {
    let kuard = service("default", "kuard", 80);
    let hostile = "a']] end os.exit(1) --[[\"\n";
    let mut r = dag_route(PathMatch::Prefix("/".into()), forward_to(&[(&kuard, 0)]));
    r.policies.cookie_rewrites = vec![CookieRewrite {
        name: hostile.into(),
        path: Some(hostile.into()),
        secure: Some(true),
        ..Default::default()
    }];
    if let RouteAction::Forward(Forward { clusters, .. }) = &mut r.action {
        clusters[0].cookie_rewrites = vec![CookieRewrite {
            name: hostile.into(),
            same_site: Some("Strict".into()),
            ..Default::default()
        }];
    }
    let out = vhost_route(&r, "example.com");
    let Some(route::Action::Route(action)) = out.action else {
        panic!("forward")
    };
    let Some(route_action::ClusterSpecifier::WeightedClusters(wc)) = action.cluster_specifier
    else {
        panic!("weighted clusters even for one cluster")
    };
    let lua: LuaPerRoute = decode(&wc.clusters[0].typed_per_filter_config[LUA_FILTER]);
    // The script is a constant: nothing a user writes reaches code.
    let script = envoy_types::pb::envoy::config::core::v3::DataSource {
        specifier: Some(
            envoy_types::pb::envoy::config::core::v3::data_source::Specifier::InlineString(
                lua::COOKIE_REWRITE_SCRIPT.to_string(),
            ),
        ),
        ..Default::default()
    };
    assert_eq!(
        lua.r#override,
        Some(lua_per_route::Override::SourceCode(script))
    );
    let context = lua.filter_context.unwrap();
    let Some(value::Kind::StructValue(rules)) = &context.fields["cookie_rewrites"].kind else {
        panic!("rules struct")
    };
    let Some(value::Kind::StructValue(rule)) = &rules.fields[hostile].kind else {
        panic!("rule keyed by the cookie name, verbatim")
    };
    let text = |k: &str| match &rule.fields[k].kind {
        Some(value::Kind::StringValue(s)) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text("path"), hostile);
    assert_eq!(text("sameSite"), "Strict");
    assert_eq!(
        rule.fields["secure"].kind,
        Some(value::Kind::BoolValue(true))
    );
    assert!(!lua::COOKIE_REWRITE_SCRIPT.contains("os.exit"));
    // The listener's filter holds no script: routes without rewrites run none.
    assert_eq!(lua::lua_filter(), Default::default());
}

#[test]
fn plain_single_cluster_stays_a_cluster() {
    let kuard = service("default", "kuard", 80);
    let vh = vhost(
        "example.com",
        vec![dag_route(
            PathMatch::Prefix("/".into()),
            forward_to(&[(&kuard, 0)]),
        )],
    );
    let out = virtual_host(&vh).unwrap();
    assert!(out.typed_per_filter_config.is_empty());
    let Some(route::Action::Route(action)) = &out.routes[0].action else {
        panic!()
    };
    assert!(matches!(
        action.cluster_specifier,
        Some(route_action::ClusterSpecifier::Cluster(_))
    ));
}
