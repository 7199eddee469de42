use std::path::PathBuf;

use rstest::rstest;

use super::*;

fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/contour")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn empty_file_gives_upstream_defaults() {
    for text in ["", "# only a comment\n", "---\n"] {
        let p = Parameters::parse(text).unwrap();
        assert_eq!(p, Parameters::default());
    }
    let p = Parameters::default();
    assert_eq!(p.timeouts.connection_idle_timeout, "60s");
    assert_eq!(p.timeouts.connect_timeout, "2s");
    assert_eq!(p.network.admin_port, 9001);
    assert_eq!(p.cluster.dns_lookup_family, DnsLookupFamily::Auto);
    assert_eq!(p.accesslog_format, AccessLogFormat::Envoy);
    assert_eq!(p.accesslog_level, AccessLogLevel::Info);
    assert_eq!(p.compression.algorithm, CompressionAlgorithm::Gzip);
    assert_eq!(
        p.server_header_transformation,
        ServerHeaderTransformation::Overwrite
    );
    assert_eq!(p.json_fields.len(), 23);
    assert_eq!(p.envoy_service_name, "envoy");
}

/// Upstream's shipped ConfigMap (examples/contour/01-contour-config.yaml), mostly comments,
/// with `tls:` sub-keys written without values.
#[test]
fn upstream_example_configmap_parses_unchanged() {
    let p = Parameters::parse(&example("upstream-example.yaml")).unwrap();
    assert_eq!(p.accesslog_format, AccessLogFormat::Envoy);
    assert!(!p.disable_permit_insecure);
    assert!(p.tls.fallback_certificate.is_empty());
    assert_eq!(p.timeouts, TimeoutParameters::default());
}

#[test]
fn every_key_parses_unchanged() {
    let p = Parameters::parse(&example("contour-all-keys.yaml")).unwrap();
    assert_eq!(p.accesslog_format, AccessLogFormat::Json);
    assert_eq!(p.accesslog_level, AccessLogLevel::Error);
    assert_eq!(p.compression.algorithm, CompressionAlgorithm::Brotli);
    assert_eq!(
        p.server_header_transformation,
        ServerHeaderTransformation::AppendIfAbsent
    );
    assert_eq!(
        p.default_http_versions,
        vec![HttpVersion::Http2, HttpVersion::Http1]
    );
    assert_eq!(p.cluster.dns_lookup_family, DnsLookupFamily::V4);
    assert_eq!(
        p.cluster.circuit_breakers.as_ref().map(|c| c.max_retries),
        Some(3)
    );
    assert_eq!(p.network.num_trusted_hops, 1);
    assert!(p.network.strip_trailing_host_dot);
    assert_eq!(p.listener.connection_balancer, "exact");
    assert_eq!(p.listener.socket_options.tos, 64);
    assert_eq!(p.listener.max_connections_per_listener, Some(10000));
    assert_eq!(
        p.policy.request_headers.set["X-Envoy-Hostname"],
        "%HOSTNAME%"
    );
    assert!(p.policy.apply_to_ingress);
    assert_eq!(p.metrics.envoy.port, 8002);
    assert!(p.metrics.contour.has_tls());
    assert_eq!(p.tracing.as_ref().map(|t| t.custom_tags.len()), Some(2));
    assert_eq!(p.runtime_settings.len(), 2);
    assert_eq!(
        p.gateway.as_ref().map(|g| g.gateway_ref.name.as_str()),
        Some("contour")
    );
    assert!(
        p.rate_limit_service
            .default_global_rate_limit_policy
            .is_some()
    );
    assert_eq!(p.global_ext_auth.service_type, "http");
    assert_eq!(p.feature_flags, vec!["someFeature".to_string()]);
}

#[test]
fn partial_sections_keep_the_other_defaults() {
    let p =
        Parameters::parse("timeouts:\n  request-timeout: 5s\nnetwork:\n  num-trusted-hops: 2\n")
            .unwrap();
    assert_eq!(p.timeouts.request_timeout, "5s");
    assert_eq!(p.timeouts.connection_idle_timeout, "60s");
    assert_eq!(p.timeouts.connect_timeout, "2s");
    assert_eq!(p.network.admin_port, 9001);
}

#[test]
fn http_versions_are_case_insensitive() {
    let p = Parameters::parse("default-http-versions: [http/2, HTTP/1.1]\n").unwrap();
    assert_eq!(
        p.default_http_versions,
        vec![HttpVersion::Http2, HttpVersion::Http1]
    );
}

#[rstest]
#[case::top_level("debug: false\nnope: 1\n", "nope", 2)]
#[case::nested("timeouts:\n  request-timeout: 1s\n  idle: 5s\n", "timeouts.idle", 3)]
#[case::deep(
    "cluster:\n  circuit-breakers:\n    max-conns: 1\n",
    "cluster.circuit-breakers.max-conns",
    3
)]
#[case::camel_case_of_kebab_key("accessLogFormat: json\n", "accessLogFormat", 1)]
#[case::server_type("server:\n  xds-server-type: contour\n", "server.xds-server-type", 2)]
#[case::in_default_global_rate_limit_policy(
    "rateLimitService:\n  extensionService: a/b\n  defaultGlobalRateLimitPolicy:\n    disabled: false\n    extra: 1\n",
    "rateLimitService.defaultGlobalRateLimitPolicy.extra",
    5
)]
#[case::deep_in_a_descriptor_entry(
    "rateLimitService:\n  extensionService: a/b\n  defaultGlobalRateLimitPolicy:\n    descriptors:\n    - entries:\n      - genericKey:\n          value: foo\n          bogus: 1\n",
    "rateLimitService.defaultGlobalRateLimitPolicy.descriptors[0].entries[0].genericKey.bogus",
    8
)]
#[case::in_http_settings(
    "globalExtAuth:\n  extensionService: a/b\n  httpSettings:\n    pathPrefix: /x\n    nope: true\n",
    "globalExtAuth.httpSettings.nope",
    5
)]
fn unknown_keys_are_refused(#[case] text: &str, #[case] key: &str, #[case] line: usize) {
    let err = Parameters::parse(text).unwrap_err();
    assert_eq!(err.key, key, "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert!(err.message.contains("unknown field"), "{err}");
}

#[rstest]
#[case::format(
    "accesslog-format: xml\n",
    "accesslog-format",
    1,
    "unknown variant `xml`"
)]
#[case::level(
    "accesslog-level: warn\n",
    "accesslog-level",
    1,
    "unknown variant `warn`"
)]
#[case::compression(
    "compression:\n  algorithm: lz4\n",
    "compression.algorithm",
    2,
    "unknown variant"
)]
#[case::server_header(
    "serverHeaderTransformation: drop\n",
    "serverHeaderTransformation",
    1,
    "unknown variant"
)]
#[case::dns_family(
    "cluster:\n  dns-lookup-family: v5\n",
    "cluster.dns-lookup-family",
    2,
    "unknown variant"
)]
#[case::timeout(
    "timeouts:\n  request-timeout: 10 seconds\n",
    "timeouts.request-timeout",
    2,
    "unable to parse timeout string \"10 seconds\": time: unknown unit \" seconds\""
)]
#[case::connect_timeout_infinity(
    "timeouts:\n  connect-timeout: infinity\n",
    "timeouts.connect-timeout",
    2,
    "invalid duration"
)]
#[case::negative_timeout(
    "timeouts:\n  stream-idle-timeout: -1s\n",
    "timeouts.stream-idle-timeout",
    2,
    "time: invalid duration \"-1s\""
)]
#[case::json_field(
    "json-fields:\n  - nope\n",
    "json-fields",
    1,
    "invalid JSON log field name nope"
)]
#[case::json_operator(
    "json-fields: [\"x=%NOPE%\"]\n",
    "json-fields",
    1,
    "invalid Envoy operator: NOPE"
)]
#[case::format_string(
    "accesslog-format-string: \"%NOPE%\\n\"\n",
    "accesslog-format-string",
    1,
    "invalid Envoy operator"
)]
#[case::format_newline(
    "accesslog-format-string: \"%PROTOCOL%\"\n",
    "accesslog-format-string",
    1,
    "must end in newline"
)]
#[case::http_version(
    "default-http-versions: [HTTP/3]\n",
    "default-http-versions",
    1,
    "invalid HTTP version"
)]
#[case::cipher(
    "tls:\n  cipher-suites: [RC4]\n",
    "tls.cipher-suites",
    2,
    "invalid cipher suites"
)]
#[case::curve(
    "tls:\n  ecdh-curves: [P-999]\n",
    "tls.ecdh-curves",
    2,
    "invalid ECDH curves"
)]
#[case::tls_version(
    "tls:\n  minimum-protocol-version: \"1.1\"\n",
    "tls.minimum-protocol-version",
    2,
    "invalid TLS protocol version"
)]
#[case::balancer(
    "listener:\n  connection-balancer: random\n",
    "listener.connection-balancer",
    2,
    "only 'exact'"
)]
#[case::zero_requests(
    "listener:\n  max-requests-per-connection: 0\n",
    "listener.max-requests-per-connection",
    2,
    "minimum value is 1"
)]
#[case::tos(
    "listener:\n  socket-options:\n    tos: 256\n",
    "listener.socket-options.tos",
    3,
    "range 0-255"
)]
#[case::header_name(
    "policy:\n  request-headers:\n    set:\n      \"bad header\": x\n",
    "policy.request-headers.set",
    3,
    "invalid header name"
)]
#[case::type_mismatch(
    "network:\n  num-trusted-hops: many\n",
    "network.num-trusted-hops",
    2,
    "invalid type"
)]
#[case::admin_port_range(
    "network:\n  admin-port: 70000\n",
    "network.admin-port",
    2,
    "invalid value"
)]
fn bad_values_are_refused(
    #[case] text: &str,
    #[case] key: &str,
    #[case] line: usize,
    #[case] want: &str,
) {
    let err = Parameters::parse(text).unwrap_err();
    assert_eq!(err.key, key, "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert!(err.message.contains(want), "{err}");
    assert!(err.to_string().starts_with(key), "{err}");
}

#[rstest]
#[case::min_over_max(
    "tls:\n  minimum-protocol-version: \"1.3\"\n  maximum-protocol-version: \"1.2\"\n",
    "tls.minimum-protocol-version",
    Some(2)
)]
#[case::fallback_without_ns(
    "tls:\n  fallback-certificate:\n    name: x\n",
    "tls.fallback-certificate",
    Some(2)
)]
#[case::metrics_key_without_cert(
    "metrics:\n  envoy:\n    server-key-path: /k\n",
    "metrics.envoy",
    Some(2)
)]
#[case::gateway_without_name(
    "gateway:\n  gatewayRef:\n    namespace: x\n",
    "gateway.gatewayRef",
    Some(2)
)]
#[case::tracing_without_service("tracing:\n  serviceName: x\n", "tracing.extensionService", None)]
fn cross_key_rules_are_refused(#[case] text: &str, #[case] key: &str, #[case] line: Option<usize>) {
    let err = Parameters::parse(text).unwrap_err();
    assert_eq!(err.key, key, "{err}");
    assert_eq!(err.line, line, "{err}");
}

#[test]
fn syntax_errors_carry_a_line() {
    let err = Parameters::parse("a: b\n  c: d\n").unwrap_err();
    assert!(err.line.is_some(), "{err}");
}

#[test]
fn duplicate_keys_are_refused() {
    assert!(Parameters::parse("debug: true\ndebug: false\n").is_err());
}
