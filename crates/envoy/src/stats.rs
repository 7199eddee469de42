//! The static listener exposing Envoy's readiness and metrics from the admin interface:
//! `stats-health` with GET-only exact routes to the `envoy-admin` bootstrap cluster.

use envoy_types::pb::envoy::config::listener::v3::{FilterChain, Listener};
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, header_matcher,
    route, route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};

use crate::config::TranslateConfig;
use crate::listener::{
    ROUTER_FILTER_WELL_KNOWN, hcm_filter, router_filter, tcp_keepalive_socket_options,
};
use crate::names::{ENVOY_ADMIN_CLUSTER_NAME, STATS_HEALTH_LISTENER_NAME, STATS_STAT_PREFIX};
use crate::pb::{boolv, socket_address};

/// Admin paths the combined stats/health listener serves.
pub const STATS_HEALTH_PATHS: &[&str] = &["/ready", "/stats", "/stats/prometheus"];

/// `stats-health` on the configured stats address and port.
pub fn stats_health_listener(cfg: &TranslateConfig) -> Listener {
    let hcm = HttpConnectionManager {
        stat_prefix: STATS_STAT_PREFIX.to_string(),
        route_specifier: Some(http_connection_manager::RouteSpecifier::RouteConfig(
            admin_route_config(STATS_HEALTH_PATHS),
        )),
        http_filters: vec![router_filter(ROUTER_FILTER_WELL_KNOWN)],
        normalize_path: Some(boolv(true)),
        ..Default::default()
    };
    Listener {
        name: STATS_HEALTH_LISTENER_NAME.to_string(),
        address: Some(socket_address(&cfg.stats_address, cfg.stats_port)),
        socket_options: tcp_keepalive_socket_options(),
        filter_chains: vec![FilterChain {
            filters: vec![hcm_filter(&hcm)],
            ..Default::default()
        }],
        ignore_global_conn_limit: true,
        ..Default::default()
    }
}

/// An inline route configuration: one `backend` virtual host for `*` with a GET-only exact
/// route per path to `envoy-admin`.
pub fn admin_route_config(paths: &[&str]) -> RouteConfiguration {
    let routes = paths.iter().map(|p| admin_route(p)).collect();
    RouteConfiguration {
        virtual_hosts: vec![VirtualHost {
            name: "backend".to_string(),
            domains: vec!["*".to_string()],
            routes,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn admin_route(path: &str) -> Route {
    let get_only = HeaderMatcher {
        name: ":method".to_string(),
        header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(
            StringMatcher {
                ignore_case: true,
                match_pattern: Some(string_matcher::MatchPattern::Exact("GET".to_string())),
            },
        )),
        ..Default::default()
    };
    Route {
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Path(path.to_string())),
            headers: vec![get_only],
            ..Default::default()
        }),
        action: Some(route::Action::Route(RouteAction {
            cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(
                ENVOY_ADMIN_CLUSTER_NAME.to_string(),
            )),
            ..Default::default()
        })),
        ..Default::default()
    }
}
