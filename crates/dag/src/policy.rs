//! Route and cluster policies in the DAG: plain data, computed by the processors
//! (`httpproxy::policies`) and translated by `contour-envoy`. Kept apart from `model.rs` so the
//! route-policy and virtual-host-policy work can grow without touching the same lines.

use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::duration::Timeout;
use crate::duration::go_duration_string;

/// Per-route behaviour beyond matching and the action. `Default` is "nothing configured".
/// Every route has one and most set nothing: the larger parts are boxed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    /// `timeoutPolicy.response`: the route timeout.
    pub response_timeout: Timeout,
    /// `timeoutPolicy.idle`: the route's stream idle timeout.
    pub idle_timeout: Timeout,
    pub retry: Option<Box<RetryPolicy>>,
    pub request_headers: Option<Box<HeadersPolicy>>,
    pub response_headers: Option<Box<HeadersPolicy>>,
    /// Hash inputs for Cookie / RequestHash load balancing, in declaration order.
    pub hash_policies: Vec<HashPolicy>,
    /// `pathRewritePolicy.replacePrefix`, resolved for this route's prefix.
    pub prefix_rewrite: Option<String>,
    pub internal_redirect: Option<Box<InternalRedirectPolicy>>,
    pub websocket: bool,
    /// `permitInsecure`: serve over plain HTTP even when the host has TLS (no effect without TLS).
    pub permit_insecure: bool,
}

crate::rare::shared_default!(RoutePolicy);

/// Envoy retry settings, already normalised as upstream does (`count` → `num_retries`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Comma-separated Envoy `retry_on` (default `5xx`).
    pub retry_on: String,
    pub retriable_status_codes: Vec<u32>,
    pub num_retries: u32,
    pub per_try_timeout: Timeout,
}

/// Header changes. Names are canonical (`X-Foo`); `set` values are already escaped for Envoy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadersPolicy {
    pub set: BTreeMap<String, String>,
    /// Sorted, unique.
    pub remove: Vec<String>,
    /// `Host` set to a literal.
    pub host_rewrite: String,
    /// `Host` set to `%REQ(name)%`: rewrite from that request header.
    pub host_rewrite_header: String,
}

impl HeadersPolicy {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty() && self.host_rewrite.is_empty()
    }
}

/// One hash input of a ring-hash route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashPolicy {
    pub terminal: bool,
    pub source: HashSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashSource {
    Header(String),
    QueryParameter(String),
    SourceIp,
    /// Cookie affinity: name, path, TTL (zero = session cookie).
    Cookie {
        name: String,
        path: String,
        ttl: Duration,
    },
}

/// `internalRedirectPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InternalRedirectPolicy {
    pub max_internal_redirects: u32,
    pub redirect_response_codes: Vec<u32>,
    pub cross_scheme: CrossScheme,
    pub deny_repeated_route_redirect: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CrossScheme {
    #[default]
    Never,
    Always,
    SafeOnly,
}

/// `requestRedirectPolicy`: the route answers with a redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    pub scheme: String,
    pub hostname: String,
    pub port: u32,
    /// 0 means Envoy's default (301).
    pub status_code: u32,
    pub path: String,
    pub prefix: String,
}

/// Traffic copied to another cluster (fire and forget).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorPolicy {
    pub cluster: std::sync::Arc<crate::model::Cluster>,
    /// Percentage of requests mirrored, 0-100.
    pub percent: u32,
}

/// Per-cluster policies (besides protocol and TLS, which live on the cluster itself): all of
/// them are part of the cluster's identity and of its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterPolicy {
    pub health_check: Option<Box<HealthCheck>>,
    /// `tcpproxy.healthCheckPolicy`. Like upstream, not part of the cluster name.
    pub tcp_health_check: Option<TcpHealthCheck>,
    /// `timeoutPolicy.idleConnection`.
    pub idle_connection_timeout: Timeout,
    pub slow_start: Option<SlowStart>,
}

impl ClusterPolicy {
    /// Upstream's cluster-name hash input right after the LB strategy: the health check's
    /// timeout, interval, thresholds and path. (Validation, protocol and SNI come next, then
    /// [`ClusterPolicy::tail_hash`].)
    pub fn health_hash(&self) -> String {
        let mut buf = String::new();
        if let Some(hc) = &self.health_check {
            for d in [hc.timeout, hc.interval] {
                if !d.is_zero() {
                    buf.push_str(&go_duration_string(d));
                }
            }
            for n in [hc.unhealthy_threshold, hc.healthy_threshold] {
                if n > 0 {
                    buf.push_str(&n.to_string());
                }
            }
            buf.push_str(&hc.path);
        }
        buf
    }

    /// The end of upstream's cluster-name hash input: idle connection timeout, slow start.
    pub fn tail_hash(&self) -> String {
        let mut buf = String::new();
        if let Timeout::Duration(d) = self.idle_connection_timeout {
            buf.push_str(&go_duration_string(d));
        }
        if let Some(ss) = &self.slow_start {
            buf.push_str(&ss.hash_string());
        }
        buf
    }
}

/// Active HTTP health checking. Zero values mean upstream's defaults (applied by the translator).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HealthCheck {
    pub path: String,
    /// Empty: `contour-envoy-healthcheck`.
    pub host: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    /// Half-open `[start, end)` ranges; empty means only 200.
    pub expected_statuses: Vec<(i64, i64)>,
}

/// Active TCP health checking (a connect is the check). Zero values mean upstream's defaults,
/// the same as the HTTP check's (applied by the translator).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TcpHealthCheck {
    pub interval: Duration,
    pub timeout: Duration,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
}

/// Slow start: a new endpoint's weight ramps up over `window`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SlowStart {
    pub window: Duration,
    /// The aggression as the user wrote it, parsed; kept as bits so the struct stays `Eq`.
    pub aggression_bits: u64,
    pub min_weight_percent: u32,
}

impl SlowStart {
    pub fn aggression(&self) -> f64 {
        f64::from_bits(self.aggression_bits)
    }

    /// Upstream's `SlowStartConfig.String()`: Go `%s%f%d` of window, aggression, min weight.
    pub fn hash_string(&self) -> String {
        format!(
            "{}{:.6}{}",
            go_duration_string(self.window),
            self.aggression(),
            self.min_weight_percent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_input_follows_upstream_order() {
        let p = ClusterPolicy {
            health_check: Some(Box::new(HealthCheck {
                path: "/healthz".into(),
                interval: Duration::from_secs(10),
                timeout: Duration::from_secs(2),
                unhealthy_threshold: 3,
                healthy_threshold: 2,
                ..Default::default()
            })),
            tcp_health_check: None,
            idle_connection_timeout: Timeout::Duration(Duration::from_secs(90)),
            slow_start: Some(SlowStart {
                window: Duration::from_secs(5),
                aggression_bits: 1.0f64.to_bits(),
                min_weight_percent: 10,
            }),
        };
        assert_eq!(p.health_hash(), "2s10s32/healthz");
        assert_eq!(p.tail_hash(), "1m30s5s1.00000010");
        assert_eq!(ClusterPolicy::default().health_hash(), "");
        assert_eq!(ClusterPolicy::default().tail_hash(), "");
    }
}
