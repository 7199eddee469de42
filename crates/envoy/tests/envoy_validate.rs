//! Real Envoy (`--mode validate`) accepts our bootstraps and our translated resources.
//!
//! Envoy is found via `ENVOY_BIN` or the repository's `.venv` (installed by `scripts/setup`).
//! These tests fail, rather than skip, when Envoy is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use contour_dag::{
    Cluster, CookieRewrite, CorsOrigin, CorsPolicy, Dag, Forward, HeaderMatch, HeaderMatchKind,
    IpFilter, IpRule, Listener, LocalRateLimit, MaxAge, ObjectRef, PathMatch, Route, RouteAction,
    RoutePolicies, ServiceCluster, VhostPolicies, VirtualHost, WeightedCluster,
};
use contour_envoy::{
    BootstrapConfig, BootstrapMode, TranslateConfig, XdsTls, bootstrap_json, bootstrap_sds_files,
    translate,
};
use envoy_types::pb::envoy::config::bootstrap::v3::{Bootstrap, bootstrap::StaticResources};
use envoy_types::pb::envoy::config::cluster::v3::Cluster as EnvoyCluster;
use envoy_types::pb::envoy::config::listener::v3::Listener as EnvoyListener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use prost::Message;

/// Envoy from `ENVOY_BIN`, the workspace's `.venv` (scripts/setup) or `PATH`.
fn envoy_bin() -> PathBuf {
    contour_testkit::envoy_bin().unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `envoy --mode validate`; panics with Envoy's output when it rejects the config.
fn envoy_validate(args: &[&str]) {
    let out = envoy_validate_output(args);
    assert!(
        out.status.success(),
        "envoy rejected the config:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn envoy_validate_output(args: &[&str]) -> std::process::Output {
    Command::new(envoy_bin())
        .args([
            "--mode",
            "validate",
            "--log-level",
            "warn",
            "--concurrency",
            "1",
        ])
        // As the deployment does (`--service-cluster $(CONTOUR_NAMESPACE)
        // --service-node $(ENVOY_POD_NAME)`); ADS needs a node id and cluster.
        .args([
            "--service-cluster",
            "projectcontour",
            "--service-node",
            "envoy-test",
        ])
        .args(args)
        .output()
        .expect("run envoy")
}

fn write_json(dir: &Path, name: &str, v: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn base_config(dir: &Path, mode: BootstrapMode) -> BootstrapConfig {
    BootstrapConfig {
        admin_address: dir.join("admin.sock").to_string_lossy().into_owned(),
        mode,
        ..Default::default()
    }
}

#[test]
fn envoy_accepts_bootstrap_in_both_modes() {
    for mode in [BootstrapMode::Ads, BootstrapMode::PerType] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(dir.path(), mode);
        cfg.xds_address = "contour.projectcontour".into();
        cfg.dns_lookup_family = "v4".parse().unwrap();
        let p = write_json(dir.path(), "envoy.json", &bootstrap_json(&cfg).unwrap());
        envoy_validate(&["-c", p.to_str().unwrap()]);
    }
}

/// A throwaway self-signed P-256 certificate (CN/SAN `envoy`, valid until 2126) and its key,
/// used only so Envoy can load the files; it protects nothing.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUa1tFDIqWf8+c42cw+yB2Vtj92hIwCgYIKoZIzj0EAwIw
EDEOMAwGA1UEAwwFZW52b3kwIBcNMjYxMTIyMDUyODUwWhgPMjEyNjEwMjkwNTI4
NTBaMBAxDjAMBgNVBAMMBWVudm95MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
+pwDswWW25Hd5IwMJVNXTPCmEFslALDOx1TbhPaPf6AonlLq2nFgLxSzyB0CDERG
f9kDBmbWPU2sY+q5yjkwcKNlMGMwHQYDVR0OBBYEFDKTA9Jl0obiDjP1iz02eR7Q
gY9uMB8GA1UdIwQYMBaAFDKTA9Jl0obiDjP1iz02eR7QgY9uMA8GA1UdEwEB/wQF
MAMBAf8wEAYDVR0RBAkwB4IFZW52b3kwCgYIKoZIzj0EAwIDSAAwRQIgXbMtzca5
YUfzHrGvFLCEgmJEsWFhIuzT3adUZF66vw8CIQD4/Eoje9dpKBf6Ia6+8Nz6Zq5m
wFU33A6WXGNx9uSgbA==
-----END CERTIFICATE-----\n";
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZJqXRrsD3/jH/sM2
7veWUFU4w71U60dkppzSWc2EOxWhRANCAAT6nAOzBZbbkd3kjAwlU1dM8KYQWyUA
sM7HVNuE9o9/oCieUuracWAvFLPIHQIMREZ/2QMGZtY9Taxj6rnKOTBw
-----END PRIVATE KEY-----\n";

fn tls_files(dir: &Path) -> XdsTls {
    let f = |n: &str, text: &str| {
        let p = dir.join(n);
        std::fs::write(&p, text).unwrap();
        p
    };
    XdsTls {
        ca_file: f("ca.crt", TEST_CERT),
        cert_file: f("tls.crt", TEST_CERT),
        key_file: f("tls.key", TEST_KEY),
    }
}

#[test]
fn envoy_accepts_tls_bootstraps() {
    for with_sds in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(dir.path(), BootstrapMode::Ads);
        cfg.tls = Some(tls_files(dir.path()));
        if with_sds {
            cfg.resources_dir = Some(dir.path().join("resources"));
            std::fs::create_dir_all(dir.path().join("resources/sds")).unwrap();
            for (path, text) in bootstrap_sds_files(&cfg).unwrap() {
                std::fs::write(path, text).unwrap();
            }
        }
        let p = write_json(dir.path(), "envoy.json", &bootstrap_json(&cfg).unwrap());
        envoy_validate(&["-c", p.to_str().unwrap()]);
    }
}

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
    main.request_headers = Some(headers("svc.example.com"));
    main.response_headers = Some(headers(""));
    main.cluster.policy = ClusterPolicy {
        health_check: Some(HealthCheck {
            path: "/healthz".into(),
            expected_statuses: vec![(200, 300)],
            ..Default::default()
        }),
        idle_connection_timeout: Timeout::Duration(Duration::from_secs(30)),
        ..Default::default()
    };
    main.cluster.protocol = "h2c".into();
    let mut tls = mirror.cluster.clone();
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
        retry: Some(RetryPolicy {
            retry_on: "5xx,retriable-status-codes".into(),
            retriable_status_codes: vec![418],
            num_retries: 3,
            per_try_timeout: Timeout::Duration(Duration::from_millis(250)),
        }),
        request_headers: Some(headers("route.example.com")),
        response_headers: Some(headers("")),
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
        internal_redirect: Some(InternalRedirectPolicy {
            max_internal_redirects: 2,
            redirect_response_codes: vec![302, 307],
            cross_scheme: CrossScheme::SafeOnly,
            deny_repeated_route_redirect: true,
        }),
        websocket: true,
        permit_insecure: false,
    };
    r.action = RouteAction::Forward(Forward {
        clusters: vec![main],
        mirror: Some(Box::new(MirrorPolicy {
            cluster: tls,
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
        },
        weight,
        ..Default::default()
    };
    let route = |path: PathMatch, headers: Vec<HeaderMatch>, action: RouteAction| Route {
        path,
        headers,
        query_params: vec![],
        action,
        source: ObjectRef::new("HTTPProxy", "default", "web"),
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
            RouteAction::Redirect(contour_dag::Redirect {
                scheme: "https".into(),
                hostname: "example.com".into(),
                port: 8443,
                status_code: 307,
                prefix: "/new".into(),
                ..Default::default()
            }),
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
            virtual_hosts: vec![vhost("*"), vhost("example.com"), vhost(&"a".repeat(70))],
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
        cert_chain: leaf.cert_pem.into_bytes(),
        private_key: leaf.key_pem.into_bytes(),
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
        local_rate_limit: Some(LocalRateLimit {
            max_tokens: 1,
            tokens_per_fill: 1,
            fill_interval_secs: 1,
            response_status_code: None,
            response_headers_to_add: vec![],
        }),
        ip_filter: Some(IpFilter {
            allow: true,
            rules: vec![IpRule {
                remote: false,
                address_prefix: "127.0.0.0".into(),
                prefix_len: 8,
            }],
        }),
        cookie_rewrites: vec![hostile],
    };
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
        cert_chain: leaf.cert_pem.clone().into_bytes(),
        private_key: leaf.key_pem.clone().into_bytes(),
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
        upstream_validation: Some(UpstreamValidation {
            ca_secret_name: "ca".into(),
            ca: ca.cert_pem.clone().into_bytes(),
            subject_names: vec!["backend.example.com".into()],
        }),
        client_certificate: Some(secret.clone()),
        ..Default::default()
    };
    let mut tcp = SecureVirtualHost::new("tcp.example.com");
    tcp.secret = Some(secret);
    tcp.tcp_proxy = Some(TcpProxy {
        clusters: vec![WeightedCluster {
            cluster: tls_cluster,
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
        secure_virtual_hosts: vec![terminated, fallback, tcp, passthrough],
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
    let listeners: Vec<EnvoyListener> = res
        .listeners
        .values()
        .map(|a| EnvoyListener::decode(a.value.as_slice()).unwrap())
        .collect();
    let clusters: Vec<EnvoyCluster> = res
        .clusters
        .values()
        .map(|a| EnvoyCluster::decode(a.value.as_slice()).unwrap())
        .collect();
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
    let static_part = Bootstrap {
        static_resources: Some(StaticResources {
            listeners: listeners.clone(),
            clusters,
            ..Default::default()
        }),
        ..Default::default()
    };
    let pb = dir.path().join("resources.pb");
    std::fs::write(&pb, static_part.encode_to_vec()).unwrap();
    let cfg = base_config(dir.path(), BootstrapMode::Ads);
    let overlay = serde_json::to_string(&bootstrap_json(&cfg).unwrap()).unwrap();
    envoy_validate(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);

    // Route configurations: put each inline into a copy of the HTTP listener's HCM.
    let routes: Vec<RouteConfiguration> = res
        .routes
        .values()
        .map(|a| RouteConfiguration::decode(a.value.as_slice()).unwrap())
        .collect();
    let inline = with_inline_routes(&listeners, &routes[0]);
    let static_part = Bootstrap {
        static_resources: Some(StaticResources {
            listeners: vec![inline],
            clusters: res
                .clusters
                .values()
                .map(|a| EnvoyCluster::decode(a.value.as_slice()).unwrap())
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    std::fs::write(&pb, static_part.encode_to_vec()).unwrap();
    envoy_validate(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);

    // Control: without the clusters the same routes are rejected, so the check above bites.
    let without_clusters = Bootstrap {
        static_resources: Some(StaticResources {
            listeners: vec![with_inline_routes(&listeners, &routes[0])],
            ..Default::default()
        }),
        ..Default::default()
    };
    std::fs::write(&pb, without_clusters.encode_to_vec()).unwrap();
    let out = envoy_validate_output(&["-c", pb.to_str().unwrap(), "--config-yaml", &overlay]);
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
