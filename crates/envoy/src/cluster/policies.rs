//! Cluster policies → Envoy: active HTTP health checks, upstream protocol (HTTP/2 options and
//! the TLS transport socket), the idle connection timeout and slow start.

use std::time::Duration;

use contour_dag::{ClusterPolicy, HealthCheck, SlowStart, Timeout};
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::HealthCheck as EnvoyHealthCheck;
use envoy_types::pb::envoy::config::core::v3::{
    Http1ProtocolOptions, Http2ProtocolOptions, HttpProtocolOptions as CommonHttpOptions,
    RuntimeDouble, TransportSocket, health_check, transport_socket,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CommonTlsContext, UpstreamTlsContext,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use envoy_types::pb::envoy::r#type::v3::{CodecClientType, Int64Range, Percent};
use envoy_types::pb::google::protobuf::Any;

use crate::pb::{det_map, duration, to_any, u32v};

/// Upstream's health-check defaults.
pub const HC_HOST: &str = "contour-envoy-healthcheck";
pub const HC_TIMEOUT: Duration = Duration::from_secs(2);
pub const HC_INTERVAL: Duration = Duration::from_secs(10);
pub const HC_UNHEALTHY_THRESHOLD: u32 = 3;
pub const HC_HEALTHY_THRESHOLD: u32 = 2;
/// Key of the upstream HTTP protocol options extension.
pub const HTTP_PROTOCOL_OPTIONS_KEY: &str =
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/// Runtime key upstream gives the slow-start aggression.
pub const SLOW_START_AGGRESSION_KEY: &str = "contour.slowstart.aggression";

/// Applies the policy to an EDS cluster already carrying name, discovery and LB policy.
pub fn apply_cluster_policy(c: &mut Cluster, p: &ClusterPolicy) {
    if let Some(hc) = &p.health_check {
        c.health_checks = vec![http_health_check(hc, &p.protocol)];
        c.ignore_health_on_host_removal = true;
    }
    let http2 = matches!(p.protocol.as_str(), "h2" | "h2c");
    if matches!(p.protocol.as_str(), "h2" | "tls") {
        let alpn: &[&str] = if p.protocol == "h2" { &["h2"] } else { &[] };
        c.transport_socket = Some(upstream_tls_transport_socket(&p.sni, alpn));
    }
    if let Some(opts) = protocol_options(http2, p.idle_connection_timeout) {
        c.typed_extension_protocol_options =
            det_map([(HTTP_PROTOCOL_OPTIONS_KEY.to_string(), opts)]);
    }
    if let Some(ss) = &p.slow_start {
        let config = Some(slow_start_config(ss));
        if c.lb_policy == cluster::LbPolicy::LeastRequest as i32 {
            c.lb_config = Some(cluster::LbConfig::LeastRequestLbConfig(
                cluster::LeastRequestLbConfig {
                    slow_start_config: config,
                    ..Default::default()
                },
            ));
        } else if c.lb_policy == cluster::LbPolicy::RoundRobin as i32 {
            c.lb_config = Some(cluster::LbConfig::RoundRobinLbConfig(
                cluster::RoundRobinLbConfig {
                    slow_start_config: config,
                },
            ));
        }
    }
}

fn or_default(d: Duration, default: Duration) -> Duration {
    if d.is_zero() { default } else { d }
}

fn nonzero_or(n: u32, default: u32) -> u32 {
    if n == 0 { default } else { n }
}

/// An active HTTP health check with upstream's defaults for unset values.
pub fn http_health_check(hc: &HealthCheck, protocol: &str) -> EnvoyHealthCheck {
    let codec = if matches!(protocol, "h2" | "h2c") {
        CodecClientType::Http2
    } else {
        CodecClientType::Http1
    };
    EnvoyHealthCheck {
        timeout: Some(duration(or_default(hc.timeout, HC_TIMEOUT))),
        interval: Some(duration(or_default(hc.interval, HC_INTERVAL))),
        unhealthy_threshold: Some(u32v(nonzero_or(
            hc.unhealthy_threshold,
            HC_UNHEALTHY_THRESHOLD,
        ))),
        healthy_threshold: Some(u32v(nonzero_or(hc.healthy_threshold, HC_HEALTHY_THRESHOLD))),
        health_checker: Some(health_check::HealthChecker::HttpHealthCheck(
            health_check::HttpHealthCheck {
                host: if hc.host.is_empty() {
                    HC_HOST.to_string()
                } else {
                    hc.host.clone()
                },
                path: hc.path.clone(),
                codec_client_type: codec as i32,
                expected_statuses: hc
                    .expected_statuses
                    .iter()
                    .map(|(start, end)| Int64Range {
                        start: *start,
                        end: *end,
                    })
                    .collect(),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// Explicit HTTP/2 (h2, h2c) or HTTP/1 when an idle timeout needs the options; `None` when
/// nothing differs from Envoy's defaults.
pub fn protocol_options(http2: bool, idle_connection: Timeout) -> Option<Any> {
    use http_protocol_options::explicit_http_config::ProtocolConfig as P;
    if !http2 && idle_connection.is_default() {
        return None;
    }
    let protocol = if http2 {
        P::Http2ProtocolOptions(Http2ProtocolOptions::default())
    } else {
        P::HttpProtocolOptions(Http1ProtocolOptions::default())
    };
    let common = match idle_connection {
        Timeout::Set(d) => Some(CommonHttpOptions {
            idle_timeout: Some(duration(d)),
            ..Default::default()
        }),
        _ => None,
    };
    Some(to_any(&HttpProtocolOptions {
        common_http_protocol_options: common,
        upstream_protocol_options: Some(
            http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                http_protocol_options::ExplicitHttpConfig {
                    protocol_config: Some(protocol),
                },
            ),
        ),
        ..Default::default()
    }))
}

/// TLS to the upstream with `sni` and ALPN `alpn` (no validation: the TLS work adds it).
pub fn upstream_tls_transport_socket(sni: &str, alpn: &[&str]) -> TransportSocket {
    let ctx = UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            alpn_protocols: alpn.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        sni: sni.to_string(),
        ..Default::default()
    };
    TransportSocket {
        name: "envoy.transport_sockets.tls".to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(to_any(&ctx))),
    }
}

pub fn slow_start_config(ss: &SlowStart) -> cluster::SlowStartConfig {
    cluster::SlowStartConfig {
        slow_start_window: Some(duration(ss.window)),
        aggression: Some(RuntimeDouble {
            default_value: ss.aggression(),
            runtime_key: SLOW_START_AGGRESSION_KEY.to_string(),
        }),
        min_weight_percent: Some(Percent {
            value: f64::from(ss.min_weight_percent),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_defaults_follow_upstream() {
        let hc = http_health_check(
            &HealthCheck {
                path: "/healthz".into(),
                ..Default::default()
            },
            "h2c",
        );
        assert_eq!(hc.timeout, Some(duration(HC_TIMEOUT)));
        assert_eq!(hc.interval, Some(duration(HC_INTERVAL)));
        assert_eq!(hc.unhealthy_threshold, Some(u32v(3)));
        assert_eq!(hc.healthy_threshold, Some(u32v(2)));
        let Some(health_check::HealthChecker::HttpHealthCheck(h)) = hc.health_checker else {
            panic!("http health check");
        };
        assert_eq!(h.host, HC_HOST);
        assert_eq!(h.codec_client_type, CodecClientType::Http2 as i32);
    }

    #[test]
    fn protocol_options_only_when_needed() {
        assert!(protocol_options(false, Timeout::Default).is_none());
        assert!(protocol_options(true, Timeout::Default).is_some());
        assert!(protocol_options(false, Timeout::Set(Duration::from_secs(5))).is_some());
    }

    #[test]
    fn policy_sets_tls_and_slow_start() {
        let mut c = Cluster {
            lb_policy: cluster::LbPolicy::RoundRobin as i32,
            ..Default::default()
        };
        let p = ClusterPolicy {
            protocol: "h2".into(),
            sni: "backend.example.com".into(),
            slow_start: Some(SlowStart {
                window: Duration::from_secs(5),
                aggression_bits: 1.0f64.to_bits(),
                min_weight_percent: 10,
            }),
            ..Default::default()
        };
        apply_cluster_policy(&mut c, &p);
        assert!(c.transport_socket.is_some());
        assert!(
            c.typed_extension_protocol_options
                .contains_key(HTTP_PROTOCOL_OPTIONS_KEY)
        );
        assert!(matches!(
            c.lb_config,
            Some(cluster::LbConfig::RoundRobinLbConfig(_))
        ));
        assert!(c.health_checks.is_empty());
    }
}
