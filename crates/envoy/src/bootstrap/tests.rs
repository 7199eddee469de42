use super::*;
use rstest::rstest;

fn ptr<'a>(v: &'a Value, p: &str) -> &'a Value {
    v.pointer(p)
        .unwrap_or_else(|| panic!("missing {p} in {v:#}"))
}

#[test]
fn per_type_mode_matches_upstream_default_shape() {
    let cfg = BootstrapConfig {
        namespace: "testing-ns".into(),
        mode: BootstrapMode::PerType,
        ..Default::default()
    };
    let doc = bootstrap_json(&cfg).unwrap();
    let contour = ptr(&doc, "/static_resources/clusters/0");
    assert_eq!(contour["name"], "contour");
    assert_eq!(contour["alt_stat_name"], "testing-ns_contour_8001");
    assert_eq!(contour["type"], "STATIC");
    assert_eq!(contour["connect_timeout"], "5s");
    assert_eq!(
        ptr(
            contour,
            "/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address"
        ),
        &json!({"address": "127.0.0.1", "port_value": 8001})
    );
    assert_eq!(
        ptr(contour, "/circuit_breakers/thresholds/0/priority"),
        "HIGH"
    );
    assert_eq!(
        ptr(contour, "/circuit_breakers/thresholds/1/max_requests"),
        60000000
    );
    assert!(contour.get("dns_lookup_family").is_none());
    assert!(contour.get("transport_socket").is_none());
    assert_eq!(
        ptr(contour, "/upstream_connection_options/tcp_keepalive"),
        &json!({"keepalive_probes": 3, "keepalive_time": 30, "keepalive_interval": 5})
    );

    let admin = ptr(&doc, "/static_resources/clusters/1");
    assert_eq!(admin["name"], "envoy-admin");
    assert_eq!(admin["alt_stat_name"], "testing-ns_envoy-admin_9001");
    assert_eq!(admin["connect_timeout"], "0.250s");
    assert_eq!(
        ptr(
            admin,
            "/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/pipe/path"
        ),
        "/admin/admin.sock"
    );

    assert_eq!(
        ptr(&doc, "/dynamic_resources/lds_config"),
        &grpc_config_source()
    );
    assert_eq!(
        ptr(&doc, "/dynamic_resources/cds_config"),
        &grpc_config_source()
    );
    assert!(doc.pointer("/dynamic_resources/ads_config").is_none());
    assert_eq!(ptr(&doc, "/layered_runtime/layers/0/name"), "dynamic");
    assert_eq!(
        ptr(&doc, "/layered_runtime/layers/0/rtds_layer/name"),
        "dynamic"
    );
    assert_eq!(
        ptr(&doc, "/layered_runtime/layers/0/rtds_layer/rtds_config"),
        &grpc_config_source()
    );
    assert_eq!(
        ptr(&doc, "/layered_runtime/layers/1"),
        &json!({"name": "admin", "admin_layer": {}})
    );
    assert_eq!(
        ptr(&doc, "/admin/access_log/0/typed_config/path"),
        "/dev/null"
    );
    assert_eq!(ptr(&doc, "/admin/address/pipe/path"), "/admin/admin.sock");
    assert_eq!(
        ptr(&doc, "/default_regex_engine/name"),
        "envoy.regex_engines.google_re2"
    );
    assert!(doc.get("overload_manager").is_none());
}

#[test]
fn ads_mode_aggregates_lds_cds_rtds() {
    let doc = bootstrap_json(&BootstrapConfig::default()).unwrap();
    let ads = json!({"ads": {}, "resource_api_version": "V3"});
    assert_eq!(ptr(&doc, "/dynamic_resources/lds_config"), &ads);
    assert_eq!(ptr(&doc, "/dynamic_resources/cds_config"), &ads);
    assert_eq!(
        ptr(&doc, "/layered_runtime/layers/0/rtds_layer/rtds_config"),
        &ads
    );
    assert_eq!(ptr(&doc, "/dynamic_resources/ads_config/api_type"), "GRPC");
    assert_eq!(
        ptr(
            &doc,
            "/dynamic_resources/ads_config/grpc_services/0/envoy_grpc/cluster_name"
        ),
        "contour"
    );
}

#[rstest]
#[case::hostname("contour.projectcontour", "STRICT_DNS")]
#[case::ipv4("10.0.0.1", "STATIC")]
#[case::ipv6("::1", "STATIC")]
fn xds_cluster_type_follows_address(#[case] address: &str, #[case] want: &str) {
    let cfg = BootstrapConfig {
        xds_address: address.into(),
        ..Default::default()
    };
    let doc = bootstrap_json(&cfg).unwrap();
    assert_eq!(ptr(&doc, "/static_resources/clusters/0/type"), want);
}

#[rstest]
#[case::v4("v4", Some("V4_ONLY"))]
#[case::v6("v6", Some("V6_ONLY"))]
#[case::all("all", Some("ALL"))]
#[case::auto("auto", None)]
fn dns_lookup_family(#[case] flag: &str, #[case] want: Option<&str>) {
    let cfg = BootstrapConfig {
        dns_lookup_family: flag.parse().unwrap(),
        ..Default::default()
    };
    let doc = bootstrap_json(&cfg).unwrap();
    let got = doc.pointer("/static_resources/clusters/0/dns_lookup_family");
    assert_eq!(got.and_then(Value::as_str), want);
}

#[test]
fn invalid_dns_lookup_family_is_rejected() {
    assert_eq!(
        "v5".parse::<DnsLookupFamily>(),
        Err(BootstrapError::InvalidDnsLookupFamily("v5".into()))
    );
}

#[rstest]
#[case::localhost("localhost")]
#[case::ipv4("127.0.0.1")]
#[case::ipv6("::1")]
fn admin_address_must_be_a_socket_path(#[case] address: &str) {
    let cfg = BootstrapConfig {
        admin_address: address.into(),
        ..Default::default()
    };
    assert_eq!(
        bootstrap_json(&cfg),
        Err(BootstrapError::InvalidAdminAddress(address.into()))
    );
}

#[test]
fn only_v3_resources() {
    let cfg = BootstrapConfig {
        xds_resource_version: "v2".into(),
        ..Default::default()
    };
    assert_eq!(
        bootstrap_json(&cfg),
        Err(BootstrapError::InvalidResourceVersion("v2".into()))
    );
}

#[test]
fn tls_is_all_or_nothing() {
    let p = |s: &str| Some(PathBuf::from(s));
    assert_eq!(XdsTls::from_parts(None, None, None), Ok(None));
    assert_eq!(XdsTls::from_parts(p(""), None, p("")), Ok(None));
    assert_eq!(
        XdsTls::from_parts(p("ca"), p("cert"), None),
        Err(BootstrapError::IncompleteTls)
    );
    let tls = XdsTls::from_parts(p("ca"), p("cert"), p("key"))
        .unwrap()
        .unwrap();
    assert_eq!(tls.key_file, PathBuf::from("key"));
    let cfg = BootstrapConfig {
        tls: Some(XdsTls {
            ca_file: PathBuf::new(),
            ..tls
        }),
        ..Default::default()
    };
    assert_eq!(bootstrap_json(&cfg), Err(BootstrapError::IncompleteTls));
}

#[test]
fn check_tls_files_rejects_missing_and_empty_files() {
    let dir = std::env::temp_dir().join(format!("contour-envoy-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let full = dir.join("full.pem");
    let empty = dir.join("empty.pem");
    std::fs::write(&full, "x").unwrap();
    std::fs::write(&empty, "").unwrap();
    let tls = |ca: &PathBuf| XdsTls {
        ca_file: ca.clone(),
        cert_file: full.clone(),
        key_file: full.clone(),
    };
    assert_eq!(check_tls_files(&tls(&full)), Ok(()));
    assert_eq!(
        check_tls_files(&tls(&empty)),
        Err(BootstrapError::EmptyTlsFile(empty.clone()))
    );
    assert!(matches!(
        check_tls_files(&tls(&dir.join("missing"))),
        Err(BootstrapError::UnreadableTlsFile { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tls_cfg(resources_dir: Option<&str>) -> BootstrapConfig {
    BootstrapConfig {
        namespace: "testing-ns".into(),
        resources_dir: resources_dir.map(PathBuf::from),
        tls: Some(XdsTls {
            ca_file: "CA.cert".into(),
            cert_file: "client.cert".into(),
            key_file: "client.key".into(),
        }),
        ..Default::default()
    }
}

#[test]
fn tls_without_resources_dir_inlines_file_paths() {
    let doc = bootstrap_json(&tls_cfg(None)).unwrap();
    let common = ptr(
        &doc,
        "/static_resources/clusters/0/transport_socket/typed_config/common_tls_context",
    );
    assert_eq!(
        ptr(common, "/tls_params/tls_maximum_protocol_version"),
        "TLSv1_3"
    );
    assert_eq!(
        ptr(common, "/tls_certificates/0/certificate_chain/filename"),
        "client.cert"
    );
    assert_eq!(
        ptr(common, "/tls_certificates/0/private_key/filename"),
        "client.key"
    );
    assert_eq!(
        ptr(common, "/validation_context/trusted_ca/filename"),
        "CA.cert"
    );
    assert_eq!(
        ptr(
            common,
            "/validation_context/match_typed_subject_alt_names/0"
        ),
        &json!({"san_type": "DNS", "matcher": {"exact": "contour"}})
    );
    assert!(bootstrap_sds_files(&tls_cfg(None)).unwrap().is_empty());
}

#[test]
fn tls_with_resources_dir_uses_file_sds() {
    let cfg = tls_cfg(Some("resources"));
    let doc = bootstrap_json(&cfg).unwrap();
    let common = ptr(
        &doc,
        "/static_resources/clusters/0/transport_socket/typed_config/common_tls_context",
    );
    assert_eq!(
        ptr(common, "/tls_certificate_sds_secret_configs/0"),
        &json!({
            "name": "contour_xds_tls_certificate",
            "sds_config": {"resource_api_version": "V3", "path_config_source": {"path": "resources/sds/xds-tls-certificate.json"}}
        })
    );
    assert_eq!(
        ptr(
            common,
            "/validation_context_sds_secret_config/sds_config/path_config_source/path"
        ),
        "resources/sds/xds-validation-context.json"
    );
    assert_eq!(
        ptr(common, "/tls_params/signature_algorithms/9"),
        "rsa_pkcs1_sha1"
    );

    let files = bootstrap_sds_files(&cfg).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        files[0].0,
        PathBuf::from("resources/sds/xds-tls-certificate.json")
    );
    let cert: Value = serde_json::from_str(&files[0].1).unwrap();
    assert_eq!(
        cert,
        json!({"resources": [{
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
            "name": "contour_xds_tls_certificate",
            "tls_certificate": {"certificate_chain": {"filename": "client.cert"}, "private_key": {"filename": "client.key"}}
        }]})
    );
    assert_eq!(
        files[1].0,
        PathBuf::from("resources/sds/xds-validation-context.json")
    );
    let validation: Value = serde_json::from_str(&files[1].1).unwrap();
    assert_eq!(
        ptr(
            &validation,
            "/resources/0/validation_context/trusted_ca/filename"
        ),
        "CA.cert"
    );
}

#[test]
fn overload_manager_when_limits_set() {
    let cfg = BootstrapConfig {
        overload_max_heap: Some(1 << 30),
        overload_downstream_max_conn: Some(1000),
        ..Default::default()
    };
    let doc = bootstrap_json(&cfg).unwrap();
    assert_eq!(ptr(&doc, "/overload_manager/refresh_interval"), "0.250s");
    assert_eq!(
        ptr(&doc, "/overload_manager/resource_monitors/0/name"),
        "envoy.resource_monitors.fixed_heap"
    );
    assert_eq!(
        ptr(
            &doc,
            "/overload_manager/actions/1/triggers/0/threshold/value"
        ),
        0.98
    );
    assert_eq!(
        ptr(&doc, "/overload_manager/resource_monitors/1/name"),
        "envoy.resource_monitors.global_downstream_max_connections"
    );
}
