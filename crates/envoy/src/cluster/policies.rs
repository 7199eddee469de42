//! Cluster policies → Envoy: active HTTP and TCP health checks, the upstream HTTP protocol options
//! (explicit HTTP/2, idle connection timeout) and slow start.

use std::time::Duration;

use contour_dag::{ClusterPolicy, HealthCheck, SlowStart, TcpHealthCheck, Timeout};
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::HealthCheck as EnvoyHealthCheck;
use envoy_types::pb::envoy::config::core::v3::{
    HttpProtocolOptions as CommonHttpOptions, RuntimeDouble, health_check,
};
use envoy_types::pb::envoy::r#type::v3::{CodecClientType, Int64Range, Percent};
use envoy_types::pb::google::protobuf::Any;

use super::{http1_protocol_options, http2_protocol_options};
use crate::pb::{det_map, duration, timeout, to_any, u32v};

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

/// Applies the policies to an EDS cluster already carrying name, discovery and LB policy.
/// (The TLS transport socket of `tls`/`h2` clusters is `cluster::apply_protocol`'s.)
pub fn apply_cluster_policy(c: &mut Cluster, dc: &contour_dag::Cluster) {
    let p: &ClusterPolicy = &dc.policy;
    // As upstream, an HTTP check wins over a TCP check (a cluster has only one of them
    // unless an HTTP route and a TCP proxy share it).
    if let Some(hc) = &p.health_check {
        c.health_checks = vec![http_health_check(hc, &dc.protocol)];
        c.ignore_health_on_host_removal = true;
    } else if let Some(hc) = &p.tcp_health_check {
        c.health_checks = vec![tcp_health_check(hc)];
        c.ignore_health_on_host_removal = true;
    }
    let http2 = matches!(dc.protocol.as_str(), "h2" | "h2c");
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
    let checker = health_check::HealthChecker::HttpHealthCheck(health_check::HttpHealthCheck {
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
    });
    with_timing(
        checker,
        hc.timeout,
        hc.interval,
        hc.unhealthy_threshold,
        hc.healthy_threshold,
    )
}

/// An active TCP health check (connect only, no payload) with upstream's defaults.
pub fn tcp_health_check(hc: &TcpHealthCheck) -> EnvoyHealthCheck {
    let checker = health_check::HealthChecker::TcpHealthCheck(Default::default());
    with_timing(
        checker,
        hc.timeout,
        hc.interval,
        hc.unhealthy_threshold,
        hc.healthy_threshold,
    )
}

/// A health check running `checker` with the given timing and thresholds, upstream's defaults
/// where they are zero.
fn with_timing(
    checker: health_check::HealthChecker,
    timeout: Duration,
    interval: Duration,
    unhealthy: u32,
    healthy: u32,
) -> EnvoyHealthCheck {
    EnvoyHealthCheck {
        timeout: Some(duration(or_default(timeout, HC_TIMEOUT))),
        interval: Some(duration(or_default(interval, HC_INTERVAL))),
        unhealthy_threshold: Some(u32v(nonzero_or(unhealthy, HC_UNHEALTHY_THRESHOLD))),
        healthy_threshold: Some(u32v(nonzero_or(healthy, HC_HEALTHY_THRESHOLD))),
        health_checker: Some(checker),
        ..Default::default()
    }
}

/// Explicit HTTP/2 (h2, h2c) or HTTP/1 when an idle timeout needs the options; `None` when
/// nothing differs from Envoy's defaults.
pub fn protocol_options(http2: bool, idle_connection: Timeout) -> Option<Any> {
    if !http2 && idle_connection.is_default() {
        return None;
    }
    Some(explicit_protocol_options(http2, idle_connection))
}

/// Explicit HTTP/2 or HTTP/1.1 towards the backend, with the idle connection timeout when one
/// is set (`infinity` is `0s`, which Envoy reads as "no timeout", as upstream sends it).
pub fn explicit_protocol_options(http2: bool, idle_connection: Timeout) -> Any {
    let mut options = if http2 {
        http2_protocol_options()
    } else {
        http1_protocol_options()
    };
    options.common_http_protocol_options = timeout(idle_connection).map(|t| CommonHttpOptions {
        idle_timeout: Some(t),
        ..Default::default()
    });
    to_any(&options)
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
    use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
    use prost::Message;

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
    fn tcp_health_check_defaults_follow_upstream() {
        let hc = tcp_health_check(&TcpHealthCheck {
            interval: Duration::from_secs(1),
            ..Default::default()
        });
        assert_eq!(hc.timeout, Some(duration(HC_TIMEOUT)));
        assert_eq!(hc.interval, Some(duration(Duration::from_secs(1))));
        assert_eq!(hc.unhealthy_threshold, Some(u32v(3)));
        assert_eq!(hc.healthy_threshold, Some(u32v(2)));
        assert_eq!(
            hc.health_checker,
            Some(health_check::HealthChecker::TcpHealthCheck(
                Default::default()
            ))
        );
        let mut c = Cluster::default();
        let dc = contour_dag::Cluster {
            policy: ClusterPolicy {
                tcp_health_check: Some(TcpHealthCheck::default()),
                ..Default::default()
            },
            ..Default::default()
        };
        apply_cluster_policy(&mut c, &dc);
        assert_eq!(c.health_checks.len(), 1);
        assert!(c.ignore_health_on_host_removal);
    }

    #[test]
    fn protocol_options_only_when_needed() {
        assert!(protocol_options(false, Timeout::Default).is_none());
        assert!(protocol_options(true, Timeout::Default).is_some());
        assert!(protocol_options(false, Timeout::Duration(Duration::from_secs(5))).is_some());
    }

    #[test]
    fn an_infinite_idle_connection_timeout_is_zero() {
        let idle = |t| {
            let any = protocol_options(false, t).expect("options");
            let o = HttpProtocolOptions::decode(any.value.as_slice()).expect("decode");
            o.common_http_protocol_options.and_then(|c| c.idle_timeout)
        };
        assert_eq!(idle(Timeout::Disabled), Some(duration(Duration::ZERO)));
        assert_eq!(
            idle(Timeout::Duration(Duration::from_secs(90))),
            Some(duration(Duration::from_secs(90)))
        );
    }

    #[test]
    fn policy_sets_http2_and_slow_start() {
        let mut c = Cluster {
            lb_policy: cluster::LbPolicy::RoundRobin as i32,
            ..Default::default()
        };
        let dc = contour_dag::Cluster {
            protocol: "h2c".into(),
            policy: ClusterPolicy {
                slow_start: Some(SlowStart {
                    window: Duration::from_secs(5),
                    aggression_bits: 1.0f64.to_bits(),
                    min_weight_percent: 10,
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        apply_cluster_policy(&mut c, &dc);
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
