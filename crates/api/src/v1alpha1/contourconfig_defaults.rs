//! Upstream's built-in ContourConfiguration defaults, the overlay of a user spec on them, and
//! the checks the CRD schema cannot express (upstream's `ContourConfigurationSpec.Validate`
//! plus the value checks its `pkg/config` makes for the file).

use serde_json::Value;

use super::contourconfig::*;
use crate::config::accesslog;
use crate::config::values::{
    DEFAULT_TLS_CIPHERS, HttpVersion, VALID_ECDH_CURVES, check_tls_version, is_valid_cipher,
};
use crate::duration::{TimeoutSetting, parse_go_duration};

/// Upstream's `contourconfig.Defaults()`.
pub fn contour_configuration_defaults() -> ContourConfigurationSpec {
    let host = |address: &str, port: i32| HostPort {
        address: address.into(),
        port,
    };
    let listener = |port: i32| EnvoyListener {
        address: "0.0.0.0".into(),
        port,
        access_log: "/dev/stdout".into(),
    };
    let tls = || EnvoyTls {
        minimum_protocol_version: "1.2".into(),
        maximum_protocol_version: "1.3".into(),
        cipher_suites: DEFAULT_TLS_CIPHERS.iter().map(|s| s.to_string()).collect(),
        ecdh_curves: Vec::new(),
    };
    ContourConfigurationSpec {
        xds_server: Some(XdsServerConfig {
            address: "0.0.0.0".into(),
            port: 8001,
            tls: Some(XdsTls {
                ca_file: "/certs/ca.crt".into(),
                cert_file: "/certs/tls.crt".into(),
                key_file: "/certs/tls.key".into(),
                insecure: Some(false),
            }),
        }),
        ingress: Some(IngressConfig::default()),
        debug: Some(host("127.0.0.1", 6060)),
        health: Some(host("0.0.0.0", 8000)),
        envoy: Some(EnvoyConfig {
            listener: Some(EnvoyListenerConfig {
                use_proxy_proto: Some(false),
                disable_allow_chunked_length: Some(false),
                disable_merge_slashes: Some(false),
                server_header_transformation: "overwrite".into(),
                tls: Some(EnvoyListenerTls {
                    protocol: tls(),
                    fingerprint: None,
                }),
                ..Default::default()
            }),
            service: Some(NamespacedName {
                name: "envoy".into(),
                namespace: "projectcontour".into(),
            }),
            http_listener: Some(listener(8080)),
            https_listener: Some(listener(8443)),
            health: Some(host("0.0.0.0", 8002)),
            metrics: Some(MetricsConfig {
                address: "0.0.0.0".into(),
                port: 8002,
                tls: None,
            }),
            logging: Some(EnvoyLogging {
                access_log_format: "envoy".into(),
                access_log_level: "info".into(),
                ..Default::default()
            }),
            default_http_versions: vec!["HTTP/1.1".into(), "HTTP/2".into()],
            timeouts: Some(TimeoutParameters::default()),
            cluster: Some(ClusterParameters {
                dns_lookup_family: "auto".into(),
                upstream_tls: Some(tls()),
                ..Default::default()
            }),
            network: Some(NetworkParameters {
                num_trusted_hops: Some(0),
                admin_port: Some(9001),
                strip_trailing_host_dot: Some(false),
            }),
            ..Default::default()
        }),
        httpproxy: Some(HttpProxyConfig {
            disable_permit_insecure: Some(false),
            ..Default::default()
        }),
        enable_external_name_service: Some(false),
        policy: Some(PolicyConfig {
            request_headers: Some(HeadersPolicy::default()),
            response_headers: Some(HeadersPolicy::default()),
            apply_to_ingress: Some(false),
        }),
        metrics: Some(MetricsConfig {
            address: "0.0.0.0".into(),
            port: 8000,
            tls: None,
        }),
        ..Default::default()
    }
}

/// The user's settings laid over the defaults: every field the user set (non-empty) wins,
/// objects merge key by key.
pub fn overlay_on_defaults(user: &ContourConfigurationSpec) -> ContourConfigurationSpec {
    let mut base = serde_json::to_value(contour_configuration_defaults()).unwrap_or(Value::Null);
    let over = serde_json::to_value(user).unwrap_or(Value::Null);
    merge(&mut base, over);
    serde_json::from_value(base).unwrap_or_else(|_| user.clone())
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => _ = b.insert(k, v),
                }
            }
        }
        (_, Value::Null) => {}
        (slot, v) => *slot = v,
    }
}

/// Checks a (merged) spec: `(field path, message)` of the first problem.
pub fn validate_contour_configuration(spec: &ContourConfigurationSpec) -> Result<(), String> {
    if let (Some(h), Some(m)) = (&spec.health, &spec.metrics)
        && m.tls.is_some()
        && h.address == m.address
        && h.port == m.port
    {
        return Err(
            "invalid contour configuration: cannot use single port for health over HTTP and metrics over HTTPS".into(),
        );
    }
    if let Some(g) = &spec.gateway
        && (g.gateway_ref.name.is_empty() || g.gateway_ref.namespace.is_empty())
    {
        return Err(
            "invalid gateway configuration: gateway ref namespace and name must be specified"
                .into(),
        );
    }
    if let Some(envoy) = &spec.envoy {
        validate_envoy(envoy)?;
    }
    if let Some(t) = &spec.tracing {
        for (what, v) in [
            ("sampling", &t.overall_sampling),
            ("client sampling", &t.client_sampling),
            ("random sampling", &t.random_sampling),
        ] {
            if let Some(v) = v
                && v.parse::<f64>().is_err()
            {
                return Err(format!("invalid tracing {what}: {v:?}"));
            }
        }
    }
    Ok(())
}

fn validate_envoy(e: &EnvoyConfig) -> Result<(), String> {
    if let (Some(h), Some(m)) = (&e.health, &e.metrics)
        && m.tls.is_some()
        && h.address == m.address
        && h.port == m.port
    {
        return Err("invalid envoy configuration: cannot use single port for health over HTTP and metrics over HTTPS".into());
    }
    if let Some(om) = &e.om_enforced_health {
        let clash = |a: &str, p: i32| om.address == a && om.port == p;
        if e.health.as_ref().is_some_and(|h| clash(&h.address, h.port)) {
            return Err("invalid envoy configuration: cannot use the same port for health checks and overload-manager enforced health checks".into());
        }
        if e.metrics
            .as_ref()
            .is_some_and(|m| clash(&m.address, m.port))
        {
            return Err("invalid envoy configuration: cannot use the same port for metrics and overload-manager enforced health checks".into());
        }
    }
    if let Some(l) = &e.logging {
        validate_logging(l)?;
    }
    let bad: Vec<&String> = e
        .default_http_versions
        .iter()
        .filter(|v| HttpVersion::parse(v).is_none())
        .collect();
    if !bad.is_empty() {
        return Err(format!("invalid HTTP versions {bad:?}"));
    }
    if let Some(t) = &e.timeouts {
        validate_timeouts(t)?;
    }
    if let Some(c) = &e.cluster {
        if !matches!(
            c.dns_lookup_family.as_str(),
            "" | "auto" | "v4" | "v6" | "all"
        ) {
            return Err(format!(
                "invalid cluster dns family type {:?}",
                c.dns_lookup_family
            ));
        }
        if let Some(tls) = &c.upstream_tls {
            validate_tls(tls)?;
        }
    }
    if let Some(l) = &e.listener {
        if !matches!(l.connection_balancer.as_str(), "" | "exact") {
            return Err(format!(
                "invalid listener connection balancer value {:?}",
                l.connection_balancer
            ));
        }
        if let Some(tls) = &l.tls {
            validate_tls(&tls.protocol)?;
        }
    }
    if let Some(port) = e.network.as_ref().and_then(|n| n.admin_port)
        && !(0..=65535).contains(&port)
    {
        return Err(format!("invalid Envoy admin port {port}"));
    }
    Ok(())
}

fn validate_logging(l: &EnvoyLogging) -> Result<(), String> {
    if !matches!(l.access_log_format.as_str(), "" | "envoy" | "json") {
        return Err(format!(
            "invalid access log format {:?}",
            l.access_log_format
        ));
    }
    if !matches!(
        l.access_log_level.as_str(),
        "" | "info" | "error" | "critical" | "disabled"
    ) {
        return Err(format!("invalid access log level {:?}", l.access_log_level));
    }
    accesslog::json_field_map(&l.access_log_json_fields)?;
    accesslog::validate_format_string(&l.access_log_format_string)
}

fn validate_timeouts(t: &TimeoutParameters) -> Result<(), String> {
    for (name, v) in [
        ("request timeout", &t.request_timeout),
        ("connection idle timeout", &t.connection_idle_timeout),
        ("stream idle timeout", &t.stream_idle_timeout),
        ("max connection duration", &t.max_connection_duration),
        ("delayed close timeout", &t.delayed_close_timeout),
        (
            "connection shutdown grace period",
            &t.connection_shutdown_grace_period,
        ),
    ] {
        if let Some(v) = v {
            TimeoutSetting::parse(v).map_err(|e| format!("failed to parse {name}: {e}"))?;
        }
    }
    if let Some(v) = &t.connect_timeout {
        parse_go_duration(v).map_err(|e| format!("failed to parse connect timeout: {e}"))?;
    }
    Ok(())
}

fn validate_tls(t: &EnvoyTls) -> Result<(), String> {
    check_tls_version(&t.minimum_protocol_version)?;
    check_tls_version(&t.maximum_protocol_version)?;
    let min = Some(t.minimum_protocol_version.as_str()).filter(|s| !s.is_empty());
    let max = Some(t.maximum_protocol_version.as_str()).filter(|s| !s.is_empty());
    if max.unwrap_or("1.3") < min.unwrap_or("1.2") {
        return Err(
            "the minimum TLS protocol version is greater than the maximum TLS protocol version"
                .into(),
        );
    }
    let bad: Vec<&String> = t
        .cipher_suites
        .iter()
        .filter(|c| !is_valid_cipher(c))
        .collect();
    if !bad.is_empty() {
        return Err(format!("invalid cipher suites {bad:?}"));
    }
    let bad: Vec<&String> = t
        .ecdh_curves
        .iter()
        .filter(|c| !VALID_ECDH_CURVES.contains(&c.as_str()))
        .collect();
    if !bad.is_empty() {
        return Err(format!("invalid ECDH curves {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_keeps_defaults_for_unset_fields() {
        let user = ContourConfigurationSpec {
            envoy: Some(EnvoyConfig {
                network: Some(NetworkParameters {
                    num_trusted_hops: Some(2),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = overlay_on_defaults(&user);
        let net = got.envoy.as_ref().unwrap().network.as_ref().unwrap();
        assert_eq!(net.num_trusted_hops, Some(2));
        assert_eq!(net.admin_port, Some(9001));
        assert_eq!(got.debug.as_ref().unwrap().port, 6060);
        assert_eq!(
            overlay_on_defaults(&Default::default()),
            contour_configuration_defaults()
        );
    }

    #[test]
    fn explicit_false_overrides_a_default() {
        let user = ContourConfigurationSpec {
            enable_external_name_service: Some(true),
            ..Default::default()
        };
        assert_eq!(
            overlay_on_defaults(&user).enable_external_name_service,
            Some(true)
        );
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(
            validate_contour_configuration(&contour_configuration_defaults()),
            Ok(())
        );
    }

    #[test]
    fn bad_values_are_named() {
        let mut spec = contour_configuration_defaults();
        let envoy = spec.envoy.as_mut().unwrap();
        envoy.timeouts = Some(TimeoutParameters {
            request_timeout: Some("soon".into()),
            ..Default::default()
        });
        let err = validate_contour_configuration(&spec).unwrap_err();
        assert!(err.contains("request timeout"), "{err}");
    }
}
