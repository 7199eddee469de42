//! A merged, validated ContourConfiguration spec → the DAG build and Envoy translation
//! settings.

use anyhow::{Context, bail};
use contour_api::config::accesslog::json_field_map;
use contour_api::duration::{TimeoutSetting, parse_go_duration};
use contour_api::v1alpha1::{self as crd, ContourConfigurationSpec};
use contour_dag::BuildConfig;
use contour_envoy::TranslateConfig;
use contour_envoy::config::{
    AccessLogFormat, AccessLogLevel, AccessLogSettings, CircuitBreakerSettings, ClusterSettings,
    Compression, DnsFamily, HcmTimeouts, HttpVersion, ListenerSettings, MetricsTls,
    ServerHeaderTransformation, TlsParams,
};

/// The build settings of a spec.
pub fn build_config(spec: &ContourConfigurationSpec) -> BuildConfig {
    let envoy = spec.envoy.clone().unwrap_or_default();
    let http = envoy.http_listener.unwrap_or_default();
    let https = envoy.https_listener.unwrap_or_default();
    BuildConfig {
        http_address: http.address,
        http_port: port(http.port),
        https_address: https.address,
        https_port: port(https.port),
        root_namespaces: spec
            .httpproxy
            .as_ref()
            .map(|h| h.root_namespaces.clone())
            .unwrap_or_default(),
        enable_external_name_service: spec.enable_external_name_service.unwrap_or(false),
        fallback_certificate: spec
            .httpproxy
            .as_ref()
            .and_then(|h| h.fallback_certificate.as_ref())
            .map(|n| (n.namespace.clone(), n.name.clone())),
        envoy_client_certificate: spec
            .envoy
            .as_ref()
            .and_then(|e| e.client_certificate.as_ref())
            .map(|n| (n.namespace.clone(), n.name.clone())),
        global_headers: global_headers(spec.policy.as_ref()),
        disable_permit_insecure: spec
            .httpproxy
            .as_ref()
            .and_then(|h| h.disable_permit_insecure)
            .unwrap_or(false),
    }
}

fn global_headers(p: Option<&crd::PolicyConfig>) -> contour_dag::global_headers::GlobalHeaders {
    let p = p.cloned().unwrap_or_default();
    let req = p.request_headers.unwrap_or_default();
    let resp = p.response_headers.unwrap_or_default();
    contour_dag::global_headers::GlobalHeaders {
        request_set: req.set,
        request_remove: req.remove,
        response_set: resp.set,
        response_remove: resp.remove,
        apply_to_ingress: p.apply_to_ingress.unwrap_or(false),
    }
}

fn port(p: i32) -> u16 {
    u16::try_from(p).unwrap_or(0)
}

/// The Envoy settings of a spec.
pub fn translate_config(spec: &ContourConfigurationSpec) -> anyhow::Result<TranslateConfig> {
    let envoy = spec.envoy.clone().unwrap_or_default();
    let metrics = envoy.metrics.clone().unwrap_or_default();
    let health = envoy.health.clone().unwrap_or_default();
    let listener = envoy.listener.clone().unwrap_or_default();
    let network = envoy.network.clone().unwrap_or_default();
    let t = envoy.timeouts.clone().unwrap_or_default();
    let timeout = |v: &Option<String>, name: &str| -> anyhow::Result<TimeoutSetting> {
        TimeoutSetting::parse(v.as_deref().unwrap_or_default())
            .with_context(|| format!("envoy.timeouts.{name}"))
    };
    let connect_timeout = match &t.connect_timeout {
        Some(v) => parse_go_duration(v).context("envoy.timeouts.connectTimeout")?,
        None => contour_envoy::config::DEFAULT_CONNECT_TIMEOUT,
    };
    let admin_port = network.admin_port.unwrap_or(9001);
    let Ok(admin_port) = u16::try_from(admin_port) else {
        bail!("envoy.network.adminPort: {admin_port} is not a port");
    };
    Ok(TranslateConfig {
        stats_address: metrics.address.clone(),
        stats_port: port(metrics.port),
        health_address: health.address.clone(),
        health_port: port(health.port),
        metrics_tls: metrics.tls.as_ref().map(|t| MetricsTls {
            cert_file: t.cert_file.clone(),
            key_file: t.key_file.clone(),
            ca_file: t.ca_file.clone(),
        }),
        om_enforced_health: envoy
            .om_enforced_health
            .as_ref()
            .map(|h| (h.address.clone(), port(h.port))),
        admin_port,
        http_access_log_path: envoy.http_listener.clone().unwrap_or_default().access_log,
        https_access_log_path: envoy.https_listener.clone().unwrap_or_default().access_log,
        access_log: access_log(envoy.logging.as_ref())?,
        connection_idle_timeout: timeout(&t.connection_idle_timeout, "connectionIdleTimeout")?,
        timeouts: HcmTimeouts {
            request: timeout(&t.request_timeout, "requestTimeout")?,
            stream_idle: timeout(&t.stream_idle_timeout, "streamIdleTimeout")?,
            max_connection_duration: timeout(&t.max_connection_duration, "maxConnectionDuration")?,
            delayed_close: timeout(&t.delayed_close_timeout, "delayedCloseTimeout")?,
            connection_shutdown_grace_period: timeout(
                &t.connection_shutdown_grace_period,
                "connectionShutdownGracePeriod",
            )?,
        },
        connect_timeout,
        merge_slashes: !listener.disable_merge_slashes.unwrap_or(false),
        allow_chunked_length: !listener.disable_allow_chunked_length.unwrap_or(false),
        xff_num_trusted_hops: network.num_trusted_hops.unwrap_or(0),
        strip_trailing_host_dot: network.strip_trailing_host_dot.unwrap_or(false),
        server_header_transformation: match listener.server_header_transformation.as_str() {
            "append_if_absent" => ServerHeaderTransformation::AppendIfAbsent,
            "pass_through" => ServerHeaderTransformation::PassThrough,
            _ => ServerHeaderTransformation::Overwrite,
        },
        compression: compression(listener.compression.as_ref()),
        default_http_versions: http_versions(&envoy.default_http_versions),
        tls: listener
            .tls
            .as_ref()
            .map(|t| tls_params(&t.protocol))
            .unwrap_or_default(),
        upstream_tls: envoy
            .cluster
            .as_ref()
            .and_then(|c| c.upstream_tls.as_ref())
            .map(tls_params),
        use_proxy_protocol: listener.use_proxy_proto.unwrap_or(false),
        listener: listener_settings(&listener),
        cluster: cluster_settings(envoy.cluster.as_ref()),
        runtime_settings: envoy.runtime_settings.clone(),
        http_route_scopes: 0,
    })
}

fn access_log(l: Option<&crd::EnvoyLogging>) -> anyhow::Result<AccessLogSettings> {
    let l = l.cloned().unwrap_or_default();
    let format = if l.access_log_format == "json" {
        let fields = if l.access_log_json_fields.is_empty() {
            contour_api::config::accesslog::DEFAULT_JSON_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            l.access_log_json_fields.clone()
        };
        AccessLogFormat::Json(json_field_map(&fields).map_err(anyhow::Error::msg)?)
    } else {
        let custom = Some(l.access_log_format_string.clone()).filter(|s| !s.is_empty());
        AccessLogFormat::Envoy(custom)
    };
    let level = match l.access_log_level.as_str() {
        "error" => AccessLogLevel::Error,
        "critical" => AccessLogLevel::Critical,
        "disabled" => AccessLogLevel::Disabled,
        _ => AccessLogLevel::Info,
    };
    Ok(AccessLogSettings { format, level })
}

fn compression(c: Option<&crd::EnvoyCompression>) -> Compression {
    match c.map(|c| c.algorithm.as_str()) {
        Some("brotli") => Compression::Brotli,
        Some("zstd") => Compression::Zstd,
        Some("disabled") => Compression::Disabled,
        _ => Compression::Gzip,
    }
}

/// `defaultHTTPVersions`; both (the default) is written as an empty list.
fn http_versions(list: &[String]) -> Vec<HttpVersion> {
    use contour_api::config::HttpVersion as V;
    let mut out: Vec<HttpVersion> = list
        .iter()
        .filter_map(|v| V::parse(v))
        .map(|v| match v {
            V::Http1 => HttpVersion::Http1,
            V::Http2 => HttpVersion::Http2,
        })
        .collect();
    out.sort();
    out.dedup();
    if out.len() == 2 {
        out.clear();
    }
    out
}

/// TLS parameters with upstream's defaults for what is left empty.
fn tls_params(t: &crd::EnvoyTls) -> TlsParams {
    let defaults = TlsParams::default();
    let or = |v: &str, d: &str| {
        if v.is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    TlsParams {
        minimum_protocol_version: or(
            &t.minimum_protocol_version,
            &defaults.minimum_protocol_version,
        ),
        maximum_protocol_version: or(
            &t.maximum_protocol_version,
            &defaults.maximum_protocol_version,
        ),
        cipher_suites: if t.cipher_suites.is_empty() {
            defaults.cipher_suites
        } else {
            dedup(&t.cipher_suites)
        },
        ecdh_curves: dedup(&t.ecdh_curves),
    }
}

/// Duplicates dropped, order kept (upstream's `Sanitized*`).
fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in list {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn listener_settings(l: &crd::EnvoyListenerConfig) -> ListenerSettings {
    let so = l.socket_options.clone().unwrap_or_default();
    ListenerSettings {
        connection_balancer_exact: l.connection_balancer == "exact",
        max_requests_per_connection: l.max_requests_per_connection,
        per_connection_buffer_limit_bytes: l.per_connection_buffer_limit_bytes,
        tos: u8::try_from(so.tos).unwrap_or(0),
        traffic_class: u8::try_from(so.traffic_class).unwrap_or(0),
        max_requests_per_io_cycle: l.max_requests_per_io_cycle,
        http2_max_concurrent_streams: l.http2_max_concurrent_streams,
        max_connections_per_listener: l.max_connections_per_listener,
        max_connections_to_accept_per_socket_event: l.max_connections_to_accept_per_socket_event,
    }
}

fn cluster_settings(c: Option<&crd::ClusterParameters>) -> ClusterSettings {
    let c = c.cloned().unwrap_or_default();
    let cb = c.circuit_breakers.unwrap_or_default();
    ClusterSettings {
        dns_lookup_family: match c.dns_lookup_family.as_str() {
            "v4" => DnsFamily::V4,
            "v6" => DnsFamily::V6,
            "all" => DnsFamily::All,
            _ => DnsFamily::Auto,
        },
        max_requests_per_connection: c.max_requests_per_connection,
        per_connection_buffer_limit_bytes: c.per_connection_buffer_limit_bytes,
        circuit_breakers: CircuitBreakerSettings {
            max_connections: cb.max_connections,
            max_pending_requests: cb.max_pending_requests,
            max_requests: cb.max_requests,
            max_retries: cb.max_retries,
            per_host_max_connections: cb.per_host_max_connections,
        },
    }
}
