use super::*;
use crate::tests::{forward_to, http_dag, route, service, vhost};
use contour_dag::PathMatch;
use envoy_types::pb::envoy::config::core::v3::SocketOption;
use prost::Message;

fn hcm_of(l: &Listener) -> HttpConnectionManager {
    let Some(filter::ConfigType::TypedConfig(any)) = &l.filter_chains[0].filters[0].config_type
    else {
        panic!("typed config");
    };
    assert_eq!(l.filter_chains[0].filters[0].name, HTTP_CONNECTION_MANAGER);
    HttpConnectionManager::decode(any.value.as_slice()).unwrap()
}

fn sample_dag() -> Dag {
    let kuard = service("default", "kuard", 80);
    http_dag(vec![vhost(
        "example.com",
        vec![route(
            PathMatch::Prefix("/".into()),
            forward_to(&[(&kuard, 0)]),
        )],
    )])
}

#[test]
fn listeners_for_http_dag() {
    let ls = listeners(&sample_dag(), &TranslateConfig::default());
    let names: Vec<_> = ls.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["ingress_http", "stats-health"]);
    assert_eq!(ls[0].address, Some(socket_address("0.0.0.0", 8080)));
    assert_eq!(ls[0].socket_options, tcp_keepalive_socket_options());
    assert!(!ls[0].ignore_global_conn_limit);
}

#[test]
fn no_http_listener_without_http_vhosts() {
    let ls = listeners(&Dag::default(), &TranslateConfig::default());
    let names: Vec<_> = ls.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["stats-health"]);
    let empty = http_dag(vec![]);
    assert_eq!(listeners(&empty, &TranslateConfig::default()).len(), 1);
}

#[test]
fn http_connection_manager_defaults() {
    let ls = listeners(&sample_dag(), &TranslateConfig::default());
    let hcm = hcm_of(&ls[0]);
    assert_eq!(hcm.stat_prefix, "ingress_http");
    assert_eq!(
        hcm.route_specifier,
        Some(http_connection_manager::RouteSpecifier::Rds(Rds {
            route_config_name: "ingress_http".into(),
            config_source: Some(contour_config_source()),
        }))
    );
    assert_eq!(hcm.use_remote_address, Some(boolv(true)));
    assert_eq!(hcm.normalize_path, Some(boolv(true)));
    assert!(hcm.merge_slashes);
    assert!(hcm.preserve_external_request_id);
    let h1 = hcm.http_protocol_options.unwrap();
    assert!(h1.accept_http_10);
    assert!(h1.allow_chunked_length);
    let common = hcm.common_http_protocol_options.unwrap();
    assert_eq!(common.idle_timeout, Some(crate::pb::millis(60_000)));
    assert_eq!(hcm.access_log, file_access_log("/dev/stdout"));
}

#[test]
fn http_filters_in_upstream_order_router_last() {
    let names = |cfg: &TranslateConfig| -> Vec<String> {
        default_http_filters(cfg)
            .into_iter()
            .map(|f| f.name)
            .collect()
    };
    assert_eq!(
        names(&TranslateConfig::default()),
        vec![
            "envoy.filters.http.compressor",
            "envoy.filters.http.grpc_web",
            "envoy.filters.http.grpc_stats",
            "envoy.filters.http.cors",
            "envoy.filters.http.local_ratelimit",
            "envoy.filters.http.lua",
            "envoy.filters.http.rbac",
            "router",
        ]
    );
    let disabled = TranslateConfig {
        compression: Compression::Disabled,
        ..Default::default()
    };
    assert_eq!(names(&disabled)[0], "envoy.filters.http.grpc_web");
}

#[test]
fn config_knobs_reach_the_hcm() {
    let cfg = TranslateConfig {
        merge_slashes: false,
        allow_chunked_length: false,
        connection_idle_timeout: None,
        xff_num_trusted_hops: 2,
        http_access_log_path: "/tmp/access.log".into(),
        ..Default::default()
    };
    let hcm = http_connection_manager("ingress_http", "ingress_http", "/tmp/access.log", &cfg);
    assert!(!hcm.merge_slashes);
    assert!(!hcm.http_protocol_options.unwrap().allow_chunked_length);
    assert_eq!(hcm.common_http_protocol_options.unwrap().idle_timeout, None);
    assert_eq!(hcm.xff_num_trusted_hops, 2);
    let Some(access_log::ConfigType::TypedConfig(any)) = &hcm.access_log[0].config_type else {
        panic!("typed access log");
    };
    assert_eq!(
        FileAccessLog::decode(any.value.as_slice()).unwrap().path,
        "/tmp/access.log"
    );
}

#[test]
fn keepalive_socket_options_as_upstream() {
    let opts = tcp_keepalive_socket_options();
    let triples: Vec<(i64, i64, Option<socket_option::Value>)> = opts
        .iter()
        .map(|o: &SocketOption| (o.level, o.name, o.value.clone()))
        .collect();
    use socket_option::Value::IntValue;
    assert_eq!(
        triples,
        vec![
            (1, 9, Some(IntValue(1))),
            (6, 4, Some(IntValue(45))),
            (6, 5, Some(IntValue(5))),
            (6, 6, Some(IntValue(9))),
        ]
    );
    assert!(
        opts.iter()
            .all(|o| o.state == socket_option::SocketState::StateListening as i32)
    );
}

#[test]
fn stats_health_listener_serves_admin_paths() {
    use envoy_types::pb::envoy::config::route::v3::{route, route_action, route_match};
    let cfg = TranslateConfig {
        stats_address: "127.0.0.1".into(),
        stats_port: 9002,
        ..Default::default()
    };
    let l = crate::stats::stats_health_listener(&cfg);
    assert_eq!(l.name, "stats-health");
    assert_eq!(l.address, Some(socket_address("127.0.0.1", 9002)));
    assert!(l.ignore_global_conn_limit);
    let hcm = hcm_of(&l);
    assert_eq!(hcm.stat_prefix, "stats");
    let Some(http_connection_manager::RouteSpecifier::RouteConfig(rc)) = hcm.route_specifier else {
        panic!("inline routes");
    };
    let routes = &rc.virtual_hosts[0].routes;
    let paths: Vec<_> = routes
        .iter()
        .map(|r| r.r#match.as_ref().unwrap().path_specifier.clone().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/ready", "/stats", "/stats/prometheus"]
            .iter()
            .map(|p| route_match::PathSpecifier::Path(p.to_string()))
            .collect::<Vec<_>>()
    );
    for r in routes {
        assert_eq!(r.r#match.as_ref().unwrap().headers[0].name, ":method");
        let Some(route::Action::Route(a)) = &r.action else {
            panic!("route action");
        };
        assert_eq!(
            a.cluster_specifier,
            Some(route_action::ClusterSpecifier::Cluster(
                "envoy-admin".into()
            ))
        );
    }
}
