//! Flags + contour.yaml → a ContourConfiguration spec, with upstream's precedence: built-in
//! defaults < file < environment < flags, except that `metrics.contour` / `metrics.envoy` in
//! the file win over `--http-*` / `--stats-*` (upstream cannot tell a flag's default from a
//! value given), and that an environment value (`CONTOUR_NAMESPACE`) loses to the file.

use contour_api::config::{self as file, Parameters};
use contour_api::v1alpha1::{self as crd, ContourConfigurationSpec};

use crate::cli::{AccessLogFormat, ServeArgs, comma_list};

/// A flag's value when it was given on the command line.
fn given<'a, T>(args: &ServeArgs, flag: &str, value: &'a T) -> Option<&'a T> {
    args.explicit_flags.contains(flag).then_some(value)
}

/// The spec for `contour serve` without `--contour-config-name`.
pub fn spec_from_flags_and_file(args: &ServeArgs, p: &Parameters) -> ContourConfigurationSpec {
    let envoy_service_name = given(args, "envoy_service_name", &args.envoy_service_name)
        .cloned()
        .unwrap_or_else(|| p.envoy_service_name.clone());
    let envoy_service_namespace = given(
        args,
        "envoy_service_namespace",
        &args.envoy_service_namespace,
    )
    .cloned()
    .unwrap_or_else(|| p.envoy_service_namespace.clone());
    let access_log_format = match args.accesslog_format {
        Some(AccessLogFormat::Json) => "json",
        Some(AccessLogFormat::Envoy) => "envoy",
        None => match p.accesslog_format {
            file::AccessLogFormat::Json => "json",
            file::AccessLogFormat::Envoy => "envoy",
        },
    };
    let status_address = args
        .ingress_status_address
        .clone()
        .unwrap_or_else(|| p.ingress_status_address.clone());
    let mut contour_metrics = host_metrics(&args.http_address, args.http_port);
    overlay_metrics(&p.metrics.contour, &mut contour_metrics);
    let mut envoy_metrics = host_metrics(&args.stats_address, args.stats_port);
    overlay_metrics(&p.metrics.envoy, &mut envoy_metrics);
    ContourConfigurationSpec {
        xds_server: Some(crd::XdsServerConfig {
            address: args.xds_address.clone(),
            port: i32::from(args.xds_port),
            tls: Some(crd::XdsTls {
                insecure: Some(args.insecure),
                ..Default::default()
            }),
        }),
        ingress: Some(crd::IngressConfig {
            class_names: comma_list(args.ingress_class_name.as_deref()),
            status_address,
        }),
        debug: Some(host(&args.debug_http_address, args.debug_http_port)),
        health: Some(host(&args.health_address, args.health_port)),
        envoy: Some(envoy_config(
            args,
            p,
            envoy_metrics,
            (envoy_service_name, envoy_service_namespace),
            access_log_format,
        )),
        gateway: p.gateway.as_ref().map(|g| crd::GatewayConfig {
            gateway_ref: crd::NamespacedName {
                name: g.gateway_ref.name.clone(),
                namespace: g.gateway_ref.namespace.clone(),
            },
        }),
        httpproxy: Some(crd::HttpProxyConfig {
            disable_permit_insecure: Some(p.disable_permit_insecure),
            root_namespaces: comma_list(args.root_namespaces.as_deref()),
            fallback_certificate: named(&p.tls.fallback_certificate),
        }),
        enable_external_name_service: Some(p.enable_external_name_service),
        policy: Some(crd::PolicyConfig {
            request_headers: Some(headers(&p.policy.request_headers)),
            response_headers: Some(headers(&p.policy.response_headers)),
            apply_to_ingress: Some(p.policy.apply_to_ingress),
        }),
        metrics: Some(contour_metrics),
        feature_flags: p.feature_flags.clone(),
        // rateLimitService, globalExtAuth and tracing are read by the features that use them.
        ..Default::default()
    }
}

fn envoy_config(
    args: &ServeArgs,
    p: &Parameters,
    metrics: crd::MetricsConfig,
    (service_name, service_namespace): (String, String),
    access_log_format: &str,
) -> crd::EnvoyConfig {
    let listener = |address: &str, port: u16, log: &str| crd::EnvoyListener {
        address: address.to_string(),
        port: i32::from(port),
        access_log: log.to_string(),
    };
    crd::EnvoyConfig {
        listener: Some(listener_config(args, p)),
        service: Some(crd::NamespacedName {
            name: service_name,
            namespace: service_namespace,
        }),
        http_listener: Some(listener(
            &args.envoy_service_http_address,
            args.envoy_service_http_port,
            &args.envoy_http_access_log,
        )),
        https_listener: Some(listener(
            &args.envoy_service_https_address,
            args.envoy_service_https_port,
            &args.envoy_https_access_log,
        )),
        health: Some(host(&args.stats_address, args.stats_port)),
        metrics: Some(metrics),
        client_certificate: named(&p.tls.envoy_client_certificate),
        logging: Some(crd::EnvoyLogging {
            access_log_format: access_log_format.to_string(),
            access_log_format_string: p.accesslog_format_string.clone(),
            access_log_json_fields: p.json_fields.clone(),
            access_log_level: enum_name(&p.accesslog_level),
        }),
        default_http_versions: p.default_http_versions.iter().map(enum_name).collect(),
        timeouts: Some(timeouts(&p.timeouts)),
        cluster: Some(crd::ClusterParameters {
            dns_lookup_family: enum_name(&p.cluster.dns_lookup_family),
            max_requests_per_connection: p.cluster.max_requests_per_connection,
            per_connection_buffer_limit_bytes: p.cluster.per_connection_buffer_limit_bytes,
            circuit_breakers: p.cluster.circuit_breakers.as_ref().map(Into::into),
            upstream_tls: Some(protocol(&p.cluster.upstream_tls)),
        }),
        network: Some(crd::NetworkParameters {
            num_trusted_hops: Some(p.network.num_trusted_hops),
            admin_port: Some(i32::from(p.network.admin_port)),
            strip_trailing_host_dot: Some(p.network.strip_trailing_host_dot),
        }),
        om_enforced_health: p
            .om_enforced_health_listener
            .as_ref()
            .map(|o| host(&o.address, o.port)),
        runtime_settings: p.runtime_settings.clone(),
    }
}

fn listener_config(args: &ServeArgs, p: &Parameters) -> crd::EnvoyListenerConfig {
    let l = &p.listener;
    crd::EnvoyListenerConfig {
        use_proxy_proto: Some(args.use_proxy_protocol),
        compression: Some(crd::EnvoyCompression {
            algorithm: enum_name(&p.compression.algorithm),
        }),
        disable_allow_chunked_length: Some(p.disable_allow_chunked_length),
        disable_merge_slashes: Some(p.disable_merge_slashes),
        server_header_transformation: enum_name(&p.server_header_transformation),
        connection_balancer: l.connection_balancer.clone(),
        max_requests_per_connection: l.max_requests_per_connection,
        per_connection_buffer_limit_bytes: l.per_connection_buffer_limit_bytes,
        tls: Some(crd::EnvoyListenerTls {
            protocol: crd::EnvoyTls {
                minimum_protocol_version: p.tls.minimum_protocol_version.clone(),
                maximum_protocol_version: p.tls.maximum_protocol_version.clone(),
                cipher_suites: p.tls.cipher_suites.clone(),
                ecdh_curves: p.tls.ecdh_curves.clone(),
            },
            fingerprint: p.tls.fingerprint.as_ref().map(|f| crd::TlsFingerprint {
                ja3: f.ja3,
                ja4: f.ja4,
            }),
        }),
        socket_options: Some(crd::SocketOptions {
            tos: l.socket_options.tos,
            traffic_class: l.socket_options.traffic_class,
        }),
        max_requests_per_io_cycle: l.max_requests_per_io_cycle,
        http2_max_concurrent_streams: l.http2_max_concurrent_streams,
        max_connections_per_listener: l.max_connections_per_listener,
        max_connections_to_accept_per_socket_event: l.max_connections_to_accept_per_socket_event,
    }
}

fn timeouts(t: &file::TimeoutParameters) -> crd::TimeoutParameters {
    let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
    crd::TimeoutParameters {
        request_timeout: opt(&t.request_timeout),
        connection_idle_timeout: opt(&t.connection_idle_timeout),
        stream_idle_timeout: opt(&t.stream_idle_timeout),
        max_connection_duration: opt(&t.max_connection_duration),
        delayed_close_timeout: opt(&t.delayed_close_timeout),
        connection_shutdown_grace_period: opt(&t.connection_shutdown_grace_period),
        connect_timeout: opt(&t.connect_timeout),
    }
}

fn protocol(t: &file::ProtocolParameters) -> crd::EnvoyTls {
    crd::EnvoyTls {
        minimum_protocol_version: t.minimum_protocol_version.clone(),
        maximum_protocol_version: t.maximum_protocol_version.clone(),
        cipher_suites: t.cipher_suites.clone(),
        ecdh_curves: t.ecdh_curves.clone(),
    }
}

fn headers(h: &file::HeadersPolicy) -> crd::HeadersPolicy {
    crd::HeadersPolicy {
        set: h.set.clone(),
        remove: h.remove.clone(),
    }
}

fn named(n: &file::NamespacedName) -> Option<crd::NamespacedName> {
    (!n.name.is_empty()).then(|| crd::NamespacedName {
        name: n.name.clone(),
        namespace: n.namespace.clone(),
    })
}

fn host(address: &str, port: u16) -> crd::HostPort {
    crd::HostPort {
        address: address.to_string(),
        port: i32::from(port),
    }
}

fn host_metrics(address: &str, port: u16) -> crd::MetricsConfig {
    crd::MetricsConfig {
        address: address.to_string(),
        port: i32::from(port),
        tls: None,
    }
}

/// `metrics.*` from the file: address and port when set, TLS when certificate and key are.
fn overlay_metrics(src: &file::MetricsServerParameters, dst: &mut crd::MetricsConfig) {
    if !src.address.is_empty() {
        dst.address = src.address.clone();
    }
    if src.port > 0 {
        dst.port = i32::from(src.port);
    }
    if src.has_tls() {
        dst.tls = Some(crd::MetricsTls {
            ca_file: src.ca_certificate_path.clone(),
            cert_file: src.server_certificate_path.clone(),
            key_file: src.server_key_path.clone(),
        });
    }
}

/// The YAML spelling of a file enum (`append_if_absent`, `HTTP/2`, ...).
fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
