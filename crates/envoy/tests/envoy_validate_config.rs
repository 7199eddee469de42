//! Real Envoy (`--mode validate`) accepts the listeners and clusters translated with every
//! contour.yaml knob set to a non-default value, including the ones the end-to-end tests only
//! see through Envoy's config dump (zstd, JSON logs with formatter extensions, metrics TLS).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{decode_all, envoy_validate, write_static};

use contour_dag::{
    CircuitBreakers, Cluster, Dag, Forward, Listener, ObjectRef, PathMatch, Route, RouteAction,
    ServiceCluster, ServicePolicy, VirtualHost, WeightedCluster,
};
use contour_envoy::config::{
    AccessLogFormat, AccessLogLevel, AccessLogSettings, CircuitBreakerSettings, ClusterSettings,
    Compression, DnsFamily, HcmTimeouts, HttpVersion, ListenerSettings, MetricsTls,
    ServerHeaderTransformation, TimeoutSetting,
};
use contour_envoy::{BootstrapConfig, TranslateConfig, bootstrap_json, translate};
use envoy_types::pb::envoy::config::cluster::v3::Cluster as EnvoyCluster;
use envoy_types::pb::envoy::config::listener::v3::Listener as EnvoyListener;

fn dag() -> Dag {
    let service = |name: &str| ServiceCluster {
        namespace: "default".into(),
        name: name.into(),
        port: 80,
        port_name: "http".into(),
        health_port: None,
    };
    let route = Route {
        path: PathMatch::Prefix("/".into()),
        headers: vec![],
        action: RouteAction::Forward(Forward {
            clusters: ["kuard", "external"]
                .iter()
                .map(|n| WeightedCluster {
                    cluster: Cluster {
                        service: service(n),
                        ..Default::default()
                    }
                    .into(),
                    weight: 1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        source: ObjectRef::new("Ingress", "default", "web").into(),
        ..Default::default()
    };
    let mut dag = Dag::default();
    dag.listeners.insert(
        "ingress_http".into(),
        Listener {
            name: "ingress_http".into(),
            address: "0.0.0.0".into(),
            port: 8080,
            virtual_hosts: vec![
                VirtualHost {
                    fqdn: "*".into(),
                    routes: BTreeMap::from([(route.match_key(), Box::new(route))]),
                    ..Default::default()
                }
                .into(),
            ],
            ..Default::default()
        },
    );
    let cb = CircuitBreakers {
        max_connections: Some(5),
        ..Default::default()
    };
    dag.services.insert(
        ("default".into(), "kuard".into()),
        ServicePolicy {
            circuit_breakers: cb,
            external_name: None,
        },
    );
    dag.services.insert(
        ("default".into(), "external".into()),
        ServicePolicy {
            circuit_breakers: CircuitBreakers::default(),
            external_name: Some("upstream.example.com".into()),
        },
    );
    dag
}

fn every_knob(dir: &std::path::Path) -> TranslateConfig {
    let fields = contour_api::config::accesslog::json_field_map(&[
        "@timestamp",
        "contour_config_kind",
        "q=%REQ_WITHOUT_QUERY(:PATH)%",
    ])
    .unwrap();
    let file = |n: &str| dir.join(n).display().to_string();
    let d = |s| TimeoutSetting::Duration(Duration::from_secs(s));
    TranslateConfig {
        stats_port: 8002,
        health_port: 8003,
        metrics_tls: Some(MetricsTls {
            cert_file: file("tls.crt"),
            key_file: file("tls.key"),
            ca_file: file("ca.crt"),
        }),
        om_enforced_health: Some(("0.0.0.0".into(), 8004)),
        admin_port: 9001,
        access_log: AccessLogSettings {
            format: AccessLogFormat::Json(fields),
            level: AccessLogLevel::Critical,
        },
        connection_idle_timeout: TimeoutSetting::Disabled,
        timeouts: HcmTimeouts {
            request: d(30),
            stream_idle: TimeoutSetting::Disabled,
            max_connection_duration: d(3600),
            delayed_close: d(1),
            connection_shutdown_grace_period: d(5),
        },
        connect_timeout: Duration::from_millis(2500),
        merge_slashes: false,
        allow_chunked_length: false,
        xff_num_trusted_hops: 2,
        strip_trailing_host_dot: true,
        server_header_transformation: ServerHeaderTransformation::AppendIfAbsent,
        compression: Compression::Zstd,
        default_http_versions: vec![HttpVersion::Http1],
        use_proxy_protocol: true,
        listener: ListenerSettings {
            connection_balancer_exact: true,
            max_requests_per_connection: Some(10),
            per_connection_buffer_limit_bytes: Some(32768),
            tos: 64,
            traffic_class: 64,
            max_requests_per_io_cycle: Some(5),
            http2_max_concurrent_streams: Some(100),
            max_connections_per_listener: Some(1000),
            max_connections_to_accept_per_socket_event: Some(8),
        },
        cluster: ClusterSettings {
            dns_lookup_family: DnsFamily::All,
            max_requests_per_connection: Some(3),
            per_connection_buffer_limit_bytes: Some(16384),
            circuit_breakers: CircuitBreakerSettings {
                max_pending_requests: Some(9),
                per_host_max_connections: Some(2),
                ..Default::default()
            },
        },
        ..Default::default()
    }
}

#[test]
fn envoy_accepts_every_configuration_knob() {
    let dir = tempfile::tempdir().unwrap();
    let res = translate(&dag(), &every_knob(dir.path()));
    let listeners: Vec<EnvoyListener> = decode_all(&res.listeners);
    let names: Vec<&str> = listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "envoy-admin",
            "health",
            "health-om-enforced",
            "ingress_http",
            "stats"
        ]
    );
    assert_eq!(
        res.secrets.keys().collect::<Vec<_>>(),
        ["metrics-ca-certificate", "metrics-tls-certificate"]
    );
    let clusters: Vec<EnvoyCluster> = decode_all(&res.clusters);
    let pb = write_static(dir.path(), listeners, clusters);
    let cfg = BootstrapConfig {
        admin_address: dir.path().join("admin.sock").display().to_string(),
        ..Default::default()
    };
    let overlay = serde_json::to_string(&bootstrap_json(&cfg).unwrap()).unwrap();
    envoy_validate(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);
}
