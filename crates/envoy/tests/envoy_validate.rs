//! Real Envoy (`--mode validate`) accepts our translated resources (listeners, clusters, and each
//! route configuration inline), and rejects routes to unknown clusters.

mod common;

use common::{base_config, decode_all, envoy_validate, envoy_validate_output, write_static};
use contour_dag::{
    Cluster, CookieRewrite, CorsOrigin, CorsPolicy, Dag, Forward, HeaderMatch, HeaderMatchKind,
    IpFilter, IpRule, Listener, LocalRateLimit, MaxAge, ObjectRef, PathMatch, Route, RouteAction,
    RoutePolicies, ServiceCluster, VhostPolicies, VirtualHost, WeightedCluster,
};
use contour_envoy::{BootstrapMode, TranslateConfig, bootstrap_json, translate};
use envoy_types::pb::envoy::config::cluster::v3::Cluster as EnvoyCluster;
use envoy_types::pb::envoy::config::listener::v3::Listener as EnvoyListener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use prost::Message;

/// A route with every route, service and cluster policy set, forwarding to `main` with `mirror`.
fn policy_route(mut r: Route, mut main: WeightedCluster, mirror: WeightedCluster) -> Route {
    use contour_dag::*;
    use std::time::Duration;
    let headers = |host: &str| HeadersPolicy {
        set: [("X-A".to_string(), "%REQ(x-b)%".to_string())].into(),
        remove: vec!["X-C".into()],
        host_rewrite: host.into(),
        host_rewrite_header: String::new(),
    };
    main.request_headers = Some(headers("svc.example.com").into());
    main.response_headers = Some(headers("").into());
    std::sync::Arc::make_mut(&mut main.cluster).policy = ClusterPolicy {
        health_check: Some(
            HealthCheck {
                path: "/healthz".into(),
                expected_statuses: vec![(200, 300)],
                ..Default::default()
            }
            .into(),
        ),
        idle_connection_timeout: Timeout::Duration(Duration::from_secs(30)),
        ..Default::default()
    };
    std::sync::Arc::make_mut(&mut main.cluster).protocol = "h2c".into();
    let mut tls = (*mirror.cluster).clone();
    tls.protocol = "h2".into();
    tls.sni = "echo.example.com".into();
    tls.policy = ClusterPolicy {
        slow_start: Some(SlowStart {
            window: Duration::from_secs(10),
            aggression_bits: 1.5f64.to_bits(),
            min_weight_percent: 20,
        }),
        ..Default::default()
    };
    r.query_params = vec![QueryParamMatch {
        name: "q".into(),
        kind: QueryMatchKind::Suffix("x".into()),
        ignore_case: true,
    }];
    r.policy = RoutePolicy {
        response_timeout: Timeout::Duration(Duration::from_secs(1)),
        idle_timeout: Timeout::Disabled,
        retry: Some(
            RetryPolicy {
                retry_on: "5xx,retriable-status-codes".into(),
                retriable_status_codes: vec![418],
                num_retries: 3,
                per_try_timeout: Timeout::Duration(Duration::from_millis(250)),
            }
            .into(),
        ),
        request_headers: Some(headers("route.example.com").into()),
        response_headers: Some(headers("").into()),
        hash_policies: vec![
            HashPolicy {
                terminal: true,
                source: HashSource::Header("X-User".into()),
            },
            HashPolicy {
                terminal: false,
                source: HashSource::QueryParameter("u".into()),
            },
            HashPolicy {
                terminal: false,
                source: HashSource::SourceIp,
            },
            HashPolicy {
                terminal: false,
                source: HashSource::Cookie {
                    name: "X-Contour-Session-Affinity".into(),
                    path: "/".into(),
                    ttl: Duration::ZERO,
                },
            },
        ],
        prefix_rewrite: Some("/v2".into()),
        internal_redirect: Some(
            InternalRedirectPolicy {
                max_internal_redirects: 2,
                redirect_response_codes: vec![302, 307],
                cross_scheme: CrossScheme::SafeOnly,
                deny_repeated_route_redirect: true,
            }
            .into(),
        ),
        websocket: true,
        permit_insecure: false,
    }
    .into();
    r.action = RouteAction::Forward(Forward {
        clusters: vec![main],
        mirror: Some(Box::new(MirrorPolicy {
            cluster: tls.into(),
            percent: 50,
        })),
    });
    r
}

fn sample_dag() -> Dag {
    let svc = |name: &str, port: u16, port_name: &str| ServiceCluster {
        namespace: "default".into(),
        name: name.into(),
        port,
        port_name: port_name.into(),
        health_port: None,
    };
    let wc = |s: ServiceCluster, lb: &str, weight: u32| WeightedCluster {
        cluster: Cluster {
            service: s,
            lb_strategy: lb.into(),
            ..Default::default()
        }
        .into(),
        weight,
        ..Default::default()
    };
    let route = |path: PathMatch, headers: Vec<HeaderMatch>, action: RouteAction| Route {
        path,
        headers,
        query_params: vec![],
        action,
        source: ObjectRef::new("HTTPProxy", "default", "web").into(),
        ..Default::default()
    };
    let hdr = |name: &str, kind: HeaderMatchKind| HeaderMatch {
        name: name.into(),
        kind,
        ignore_case: true,
        treat_missing_as_empty: true,
    };
    let routes = [
        policy_route(
            route(
                PathMatch::Prefix("/policies".into()),
                vec![],
                RouteAction::Forward(Forward::default()),
            ),
            wc(svc("kuard", 80, "http"), "RequestHash", 0),
            wc(svc("echo", 8080, ""), "", 0),
        ),
        route(
            PathMatch::Prefix("/redirect".into()),
            vec![],
            RouteAction::Redirect(
                contour_dag::Redirect {
                    scheme: "https".into(),
                    hostname: "example.com".into(),
                    port: 8443,
                    status_code: 307,
                    prefix: "/new".into(),
                    ..Default::default()
                }
                .into(),
            ),
        ),
        route(
            PathMatch::Prefix("/".into()),
            vec![],
            RouteAction::Forward(Forward {
                clusters: vec![wc(svc("kuard", 80, "http"), "", 0)],
                ..Default::default()
            }),
        ),
        route(
            PathMatch::SegmentPrefix("/api/".into()),
            vec![
                hdr("x-a", HeaderMatchKind::NotContains("b".into())),
                hdr("x-b", HeaderMatchKind::Regex("v[0-9]+".into())),
                hdr("x-c", HeaderMatchKind::NotPresent),
                hdr("x-d", HeaderMatchKind::NotExact("x".into())),
            ],
            RouteAction::Forward(Forward {
                clusters: vec![
                    wc(svc("kuard", 80, "http"), "Random", 0),
                    wc(svc("echo", 8080, ""), "Cookie", 0),
                ],
                ..Default::default()
            }),
        ),
        route(
            PathMatch::SegmentPrefix("/".into()),
            vec![],
            RouteAction::Forward(Forward {
                clusters: vec![
                    wc(svc("kuard", 80, "http"), "WeightedLeastRequest", 30),
                    wc(svc("echo", 8080, ""), "", 70),
                ],
                ..Default::default()
            }),
        ),
        route(
            PathMatch::Regex("/v[0-9]+/.*".into()),
            vec![],
            RouteAction::DirectResponse {
                status: 503,
                body: None,
            },
        ),
        route(
            PathMatch::Exact("/teapot".into()),
            vec![],
            RouteAction::DirectResponse {
                status: 418,
                body: Some("short and stout".into()),
            },
        ),
    ];
    let mut routes = routes;
    add_route_policies(&mut routes[0]);
    let vhost = |fqdn: &str| VirtualHost {
        fqdn: fqdn.into(),
        routes: routes
            .iter()
            .map(|r| (r.match_key(), Box::new(r.clone())))
            .collect(),
        policies: sample_vhost_policies(),
    };
    let mut dag = Dag::default();
    dag.listeners.insert(
        "ingress_http".into(),
        Listener {
            name: "ingress_http".into(),
            address: "0.0.0.0".into(),
            port: 8080,
            virtual_hosts: vec![
                vhost("*").into(),
                vhost("example.com").into(),
                vhost(&"a".repeat(70)).into(),
            ],
            ..Default::default()
        },
    );
    dag.listeners.insert(
        "ingress_https".into(),
        https_listener(vhost("secure.example.com")),
    );
    add_extension_clusters(&mut dag);
    dag
}

/// Extension clusters: h2 with validation, SNI and the client certificate; h2c with its own
/// circuit breakers and an idle timeout; http/1.1 with a disabled idle timeout.
fn add_extension_clusters(dag: &mut Dag) {
    let ca = contour_testkit::certs::TestCa::new("ext-ca");
    let leaf = ca.leaf("envoy", &["envoy"]);
    let target = |name: &str| contour_dag::WeightedService {
        service: ServiceCluster {
            namespace: "default".into(),
            name: name.into(),
            port: 9000,
            port_name: String::new(),
            health_port: None,
        },
        weight: 2,
    };
    let base = |name: &str, protocol: &str| contour_dag::ExtensionCluster {
        name: contour_dag::extension_cluster_name("default", name),
        services: vec![target("auth"), target("auth2")],
        protocol: protocol.into(),
        ..Default::default()
    };
    let mut h2 = base("auth", "h2");
    h2.sni = "auth.example.com".into();
    h2.upstream_validation = Some(contour_dag::UpstreamValidation {
        ca_secret_name: "ext-ca".into(),
        ca: ca.cert_pem.clone().into_bytes(),
        subject_names: vec!["auth.example.com".into()],
    });
    h2.client_certificate = Some(contour_dag::Secret {
        namespace: "default".into(),
        name: "envoy-client".into(),
        cert_chain: leaf.cert_pem.into_bytes().into(),
        private_key: leaf.key_pem.into_bytes().into(),
        served: None,
    });
    h2.lb_strategy = "Random".into();
    let mut h2c = base("ratelimit", "h2c");
    h2c.idle_connection_timeout =
        contour_dag::duration::Timeout::Duration(std::time::Duration::from_secs(60));
    h2c.circuit_breakers = Some(contour_dag::CircuitBreakers {
        max_connections: Some(10),
        per_host_max_connections: Some(1),
        ..Default::default()
    });
    let mut h1 = base("tracing", "http/1.1");
    h1.idle_connection_timeout = contour_dag::duration::Timeout::Disabled;
    for e in [h2, h2c, h1] {
        dag.extension_clusters.insert(e.name.clone(), e);
    }
}

/// Every host policy, so Envoy checks their per-filter configuration.
fn sample_vhost_policies() -> VhostPolicies {
    VhostPolicies {
        cors: Some(CorsPolicy {
            allow_credentials: true,
            allow_origin: vec![
                CorsOrigin::Exact("*".into()),
                CorsOrigin::Regex(r"https://.*\.example\.com".into()),
            ],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["x-a".into()],
            expose_headers: vec!["x-b".into()],
            max_age: MaxAge::Nanos(600_000_000_000),
            allow_private_network: true,
        }),
        local_rate_limit: Some(LocalRateLimit {
            max_tokens: 5,
            tokens_per_fill: 3,
            fill_interval_secs: 60,
            response_status_code: Some(503),
            response_headers_to_add: vec![("X-Limited".into(), "%HOSTNAME%".into())],
        }),
        ip_filter: Some(IpFilter {
            allow: false,
            rules: vec![IpRule {
                remote: true,
                address_prefix: "2001:db8::".into(),
                prefix_len: 32,
            }],
        }),
    }
}

/// Route policies and a cookie rewrite holding Lua-looking text (it is data, not code).
fn add_route_policies(route: &mut Route) {
    let hostile = CookieRewrite {
        name: "x']]..os.exit(1)--".into(),
        path: Some("/\"]] end os.exit(1) --[[".into()),
        domain: Some("example.com".into()),
        secure: Some(false),
        same_site: Some("Lax".into()),
    };
    route.policies = RoutePolicies {
        local_rate_limit: Some(
            LocalRateLimit {
                max_tokens: 1,
                tokens_per_fill: 1,
                fill_interval_secs: 1,
                response_status_code: None,
                response_headers_to_add: vec![],
            }
            .into(),
        ),
        ip_filter: Some(IpFilter {
            allow: true,
            rules: vec![IpRule {
                remote: false,
                address_prefix: "127.0.0.0".into(),
                prefix_len: 8,
            }],
        }),
        cookie_rewrites: vec![hostile],
    }
    .into();
}

/// An HTTPS listener with every kind of secure virtual host: terminated with client
/// validation and XFCC, fallback certificate, TCP proxy to a TLS cluster, passthrough.
fn https_listener(routed: VirtualHost) -> Listener {
    use contour_dag::{
        ClientValidation, ForwardClientCertificate, SecureVirtualHost, TcpProxy, UpstreamValidation,
    };
    use contour_testkit::certs::TestCa;
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("secure.example.com", &["secure.example.com"]);
    let secret = contour_dag::Secret {
        namespace: "default".into(),
        name: "cert".into(),
        cert_chain: leaf.cert_pem.clone().into_bytes().into(),
        private_key: leaf.key_pem.clone().into_bytes().into(),
        served: None,
    };
    let mut terminated = SecureVirtualHost::new("secure.example.com");
    terminated.virtual_host = routed.clone();
    terminated.secret = Some(secret.clone());
    terminated.client_validation = Some(ClientValidation {
        ca: Some(ca.cert_pem.clone().into_bytes()),
        crl: Some(ca.crl(&[]).into_bytes()),
        forward: Some(ForwardClientCertificate {
            subject: true,
            cert: true,
            chain: false,
            dns: true,
            uri: false,
        }),
        ..Default::default()
    });
    let mut fallback = SecureVirtualHost::new("fallback.example.com");
    fallback.virtual_host = VirtualHost {
        fqdn: "fallback.example.com".into(),
        ..routed
    };
    fallback.secret = Some(secret.clone());
    fallback.fallback_certificate = Some(secret.clone());
    let tls_cluster = Cluster {
        service: ServiceCluster {
            namespace: "default".into(),
            name: "tls".into(),
            port: 443,
            port_name: "https".into(),
            health_port: None,
        },
        protocol: "h2".into(),
        upstream_validation: Some(
            UpstreamValidation {
                ca_secret_name: "ca".into(),
                ca: ca.cert_pem.clone().into_bytes(),
                subject_names: vec!["backend.example.com".into()],
            }
            .into(),
        ),
        client_certificate: Some(secret.clone().into()),
        ..Default::default()
    };
    let mut tcp = SecureVirtualHost::new("tcp.example.com");
    tcp.secret = Some(secret);
    tcp.tcp_proxy = Some(TcpProxy {
        clusters: vec![WeightedCluster {
            cluster: tls_cluster.into(),
            weight: 1,
            ..Default::default()
        }],
    });
    let mut passthrough = SecureVirtualHost::new("passthrough.example.com");
    passthrough.tcp_proxy = tcp.tcp_proxy.clone();
    Listener {
        name: "ingress_https".into(),
        address: "0.0.0.0".into(),
        port: 8443,
        secure_virtual_hosts: vec![
            terminated.into(),
            fallback.into(),
            tcp.into(),
            passthrough.into(),
        ],
        ..Default::default()
    }
}

/// Loads the translated listeners and clusters as static resources of a binary (`.pb`)
/// bootstrap, merged with our JSON bootstrap (for the `contour` and `envoy-admin` clusters);
/// then again with the route configuration inlined into the HTTP listener's HCM.
#[test]
fn envoy_accepts_translated_resources() {
    let dir = tempfile::tempdir().unwrap();
    let res = translate(&sample_dag(), &TranslateConfig::default());
    let listeners: Vec<EnvoyListener> = decode_all(&res.listeners);
    let clusters: Vec<EnvoyCluster> = decode_all(&res.clusters);
    // kuard/80 with four LB policies (one with health check and h2c), echo/8080 with three
    // (one with TLS and slow start, the mirror), the h2+TLS cluster, and three extension
    // clusters.
    assert_eq!(clusters.len(), 11);
    assert!(res.clusters.contains_key("extension/default/auth"));
    assert_eq!(
        res.secrets.len(),
        2,
        "one certificate referenced four times, and the extension's client certificate"
    );
    assert!(res.routes.contains_key("https/secure.example.com"));
    assert!(res.routes.contains_key("ingress_fallbackcert"));
    let cfg = base_config(dir.path(), BootstrapMode::Ads);
    let overlay = serde_json::to_string(&bootstrap_json(&cfg).unwrap()).unwrap();
    let validate = |pb: std::path::PathBuf| {
        envoy_validate_output(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay])
    };
    let pb = write_static(dir.path(), listeners.clone(), clusters.clone());
    envoy_validate(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);

    // Route configurations: put each inline into a copy of the HTTP listener's HCM.
    let routes: Vec<RouteConfiguration> = decode_all(&res.routes);
    let inline = with_inline_routes(&listeners, &routes[0]);
    let pb = write_static(dir.path(), vec![inline.clone()], clusters);
    envoy_validate(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);

    // Control: without the clusters the same routes are rejected, so the check above bites.
    let out = validate(write_static(dir.path(), vec![inline], Vec::new()));
    assert!(
        !out.status.success(),
        "envoy accepted routes to unknown clusters"
    );
}

/// The `ingress_http` listener with its RDS reference replaced by `routes` inline, so Envoy
/// validates the route configuration (routes to unknown clusters fail validation).
fn with_inline_routes(listeners: &[EnvoyListener], routes: &RouteConfiguration) -> EnvoyListener {
    use envoy_types::pb::envoy::config::listener::v3::filter;
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
        HttpConnectionManager, http_connection_manager::RouteSpecifier,
    };
    let mut l = listeners
        .iter()
        .find(|l| l.name == "ingress_http")
        .cloned()
        .unwrap();
    let f = &mut l.filter_chains[0].filters[0];
    let Some(filter::ConfigType::TypedConfig(any)) = &mut f.config_type else {
        panic!("typed config");
    };
    let mut hcm = HttpConnectionManager::decode(any.value.as_slice()).unwrap();
    hcm.route_specifier = Some(RouteSpecifier::RouteConfig(routes.clone()));
    any.value = hcm.encode_to_vec();
    l
}
