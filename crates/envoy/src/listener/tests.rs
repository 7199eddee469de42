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
    // Upstream's read-only admin listener is on by default (network.admin-port 9001).
    assert_eq!(names, vec!["envoy-admin", "ingress_http", "stats-health"]);
    let ls = &ls[1..];
    assert_eq!(ls[0].address, Some(socket_address("0.0.0.0", 8080)));
    assert_eq!(ls[0].socket_options, tcp_keepalive_socket_options());
    assert!(!ls[0].ignore_global_conn_limit);
}

#[test]
fn no_http_listener_without_http_vhosts() {
    let ls = listeners(&Dag::default(), &TranslateConfig::default());
    let names: Vec<_> = ls.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, vec!["envoy-admin", "stats-health"]);
    let empty = http_dag(vec![]);
    assert_eq!(listeners(&empty, &TranslateConfig::default()).len(), 2);
}

#[test]
fn http_connection_manager_defaults() {
    let ls = listeners(&sample_dag(), &TranslateConfig::default());
    let hcm = hcm_of(&ls[1]);
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
        connection_idle_timeout: TimeoutSetting::Default,
        xff_num_trusted_hops: 2,
        http_access_log_path: "/tmp/access.log".into(),
        ..Default::default()
    };
    let hcm = http_connection_manager("ingress_http", "ingress_http", "/tmp/access.log", &cfg);
    assert!(!hcm.merge_slashes);
    assert!(!hcm.http_protocol_options.unwrap().allow_chunked_length);
    assert_eq!(hcm.common_http_protocol_options.unwrap().idle_timeout, None);
    assert_eq!(hcm.xff_num_trusted_hops, 2);
    use envoy_types::pb::envoy::config::accesslog::v3::access_log;
    use envoy_types::pb::envoy::extensions::access_loggers::file::v3::FileAccessLog;
    let Some(access_log::ConfigType::TypedConfig(any)) = &hcm.access_log[0].config_type else {
        panic!("typed access log");
    };
    assert_eq!(
        FileAccessLog::decode(any.value.as_slice()).unwrap().path,
        "/tmp/access.log"
    );
}

#[test]
fn timeouts_codec_and_server_header() {
    use crate::config::{HcmTimeouts, HttpVersion};
    use std::time::Duration;
    let cfg = TranslateConfig {
        connection_idle_timeout: TimeoutSetting::Disabled,
        timeouts: HcmTimeouts {
            request: TimeoutSetting::Duration(Duration::from_secs(5)),
            max_connection_duration: TimeoutSetting::Disabled,
            ..Default::default()
        },
        default_http_versions: vec![HttpVersion::Http2],
        server_header_transformation: ServerHeaderTransformation::PassThrough,
        strip_trailing_host_dot: true,
        ..Default::default()
    };
    let hcm = http_connection_manager("ingress_http", "ingress_http", "/dev/null", &cfg);
    let common = hcm.common_http_protocol_options.unwrap();
    assert_eq!(common.idle_timeout, Some(duration(Duration::ZERO)));
    // Disabled max connection duration is left out, not 0s.
    assert_eq!(common.max_connection_duration, None);
    assert_eq!(hcm.request_timeout, Some(duration(Duration::from_secs(5))));
    assert_eq!(hcm.stream_idle_timeout, None);
    assert_eq!(
        hcm.codec_type,
        http_connection_manager::CodecType::Http2 as i32
    );
    assert_eq!(
        hcm.server_header_transformation,
        http_connection_manager::ServerHeaderTransformation::PassThrough as i32
    );
    assert!(hcm.strip_trailing_host_dot);
}

#[test]
fn compression_algorithms() {
    for (algorithm, name) in [
        (Compression::Gzip, Some("gzip")),
        (Compression::Brotli, Some("brotli")),
        (Compression::Zstd, Some("zstd")),
        (Compression::Disabled, None),
    ] {
        let got = compressor_filter(algorithm).map(|c| c.compressor_library.unwrap().name);
        assert_eq!(got.as_deref(), name);
        let cfg = TranslateConfig {
            compression: algorithm,
            ..Default::default()
        };
        let has = default_http_filters(&cfg)
            .iter()
            .any(|f| f.name == COMPRESSOR_FILTER);
        assert_eq!(has, name.is_some());
    }
}

#[test]
fn access_log_levels() {
    use crate::config::{AccessLogLevel, AccessLogSettings};
    let at = |level| {
        crate::accesslog::access_logs(
            "/dev/null",
            &AccessLogSettings {
                level,
                ..Default::default()
            },
        )
    };
    assert!(at(AccessLogLevel::Disabled).is_empty());
    assert!(at(AccessLogLevel::Info)[0].filter.is_none());
    assert!(at(AccessLogLevel::Error)[0].filter.is_some());
    assert!(at(AccessLogLevel::Critical)[0].filter.is_some());
}

#[test]
fn ingress_listener_settings() {
    use crate::config::ListenerSettings;
    let cfg = TranslateConfig {
        use_proxy_protocol: true,
        listener: ListenerSettings {
            connection_balancer_exact: true,
            per_connection_buffer_limit_bytes: Some(1024),
            tos: 64,
            traffic_class: 32,
            max_connections_to_accept_per_socket_event: Some(3),
            ..Default::default()
        },
        ..Default::default()
    };
    let l = http_listener("ingress_http", "0.0.0.0", 8080, &cfg);
    assert_eq!(l.listener_filters[0].name, PROXY_PROTOCOL_FILTER);
    assert!(l.connection_balance_config.is_some());
    assert_eq!(l.per_connection_buffer_limit_bytes, Some(u32v(1024)));
    assert_eq!(l.max_connections_to_accept_per_socket_event, Some(u32v(3)));
    assert_eq!(l.socket_options.len(), 6);
}

#[test]
fn static_listeners_follow_metrics_and_health() {
    let names = |cfg: &TranslateConfig| -> Vec<String> {
        crate::stats::static_listeners(cfg)
            .into_iter()
            .map(|l| l.name)
            .collect()
    };
    let mut cfg = TranslateConfig::default();
    assert_eq!(names(&cfg), ["stats-health", "envoy-admin"]);
    cfg.health_port = 8003;
    cfg.admin_port = 0;
    cfg.om_enforced_health = Some(("0.0.0.0".into(), 8004));
    assert_eq!(names(&cfg), ["stats", "health", "health-om-enforced"]);
    cfg.metrics_tls = Some(crate::config::MetricsTls {
        cert_file: "/c".into(),
        key_file: "/k".into(),
        ca_file: "/ca".into(),
    });
    let stats = &crate::stats::static_listeners(&cfg)[0];
    assert!(stats.filter_chains[0].transport_socket.is_some());
    let secrets: Vec<String> = crate::stats::stats_secrets(&cfg)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        secrets,
        ["metrics-tls-certificate", "metrics-ca-certificate"]
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
