//! CDS: one EDS cluster per distinct DAG cluster, and one per extension cluster
//! ([`extension`]).

pub mod extension;
pub mod policies;

use contour_dag::{Dag, ServicePolicy};
use envoy_types::pb::envoy::config::cluster::v3::cluster;
use envoy_types::pb::envoy::config::cluster::v3::{CircuitBreakers, Cluster, circuit_breakers};
use envoy_types::pb::envoy::config::core::v3::HttpProtocolOptions as CommonHttpProtocolOptions;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, LocalityLbEndpoints};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use envoy_types::pb::envoy::r#type::v3::Percent;
use prost::Message;

use envoy_types::pb::envoy::config::core::v3::Http2ProtocolOptions;

use crate::auth::{tls_transport_socket, upstream_tls_context};
use crate::config::{CircuitBreakerSettings, DnsFamily, TranslateConfig};
use crate::names::{alt_stat_name, cluster_name, eds_service_name};
use crate::pb::{contour_config_source, det_map, duration, millis, to_any, u32v};

/// Upstream's default cluster connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2000;

/// Name under which `typed_extension_protocol_options` holds the upstream HTTP options.
pub const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// Every cluster the DAG's routes forward to, sorted by name, equal names once, with the
/// protocol, the global `cluster.*` settings and each Service's own policy applied.
pub fn clusters(dag: &Dag, cfg: &TranslateConfig) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = dag
        .clusters()
        .into_iter()
        .map(|c| {
            let key = (c.service.namespace.clone(), c.service.name.clone());
            let mut out = cluster(c);
            apply_protocol(&mut out, c, cfg);
            apply_settings(&mut out, c, dag.services.get(&key), cfg);
            out
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// An EDS cluster for a Service port: endpoints from the contour gRPC config source under the
/// port's EDS name, 2s connect timeout, healthy panic threshold disabled.
pub fn cluster(c: &contour_dag::Cluster) -> Cluster {
    let mut out = plain_cluster(c);
    policies::apply_cluster_policy(&mut out, c);
    out
}

/// The cluster without its policies.
fn plain_cluster(c: &contour_dag::Cluster) -> Cluster {
    Cluster {
        name: cluster_name(c),
        alt_stat_name: alt_stat_name(&c.service),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        )),
        eds_cluster_config: Some(cluster::EdsClusterConfig {
            eds_config: Some(contour_config_source()),
            service_name: eds_service_name(&c.service),
        }),
        connect_timeout: Some(millis(DEFAULT_CONNECT_TIMEOUT_MS)),
        common_lb_config: Some(common_lb_config()),
        lb_policy: lb_policy(&c.lb_strategy) as i32,
        ..Default::default()
    }
}

/// Global settings and the Service's policy on a built cluster: connect timeout, buffer limit,
/// requests per connection, circuit breakers, and DNS resolution for ExternalName Services.
pub fn apply_settings(
    out: &mut Cluster,
    c: &contour_dag::Cluster,
    policy: Option<&ServicePolicy>,
    cfg: &TranslateConfig,
) {
    let settings = &cfg.cluster;
    out.connect_timeout = Some(duration(cfg.connect_timeout));
    out.per_connection_buffer_limit_bytes = settings.per_connection_buffer_limit_bytes.map(u32v);
    if let Some(n) = settings.max_requests_per_connection {
        // Added to the protocol options the cluster policy set (HTTP/2, idle timeout), if any.
        let mut options = out
            .typed_extension_protocol_options
            .get(HTTP_PROTOCOL_OPTIONS)
            .and_then(|a| HttpProtocolOptions::decode(a.value.as_slice()).ok())
            .unwrap_or_else(http1_protocol_options);
        options
            .common_http_protocol_options
            .get_or_insert_with(CommonHttpProtocolOptions::default)
            .max_requests_per_connection = Some(u32v(n));
        out.typed_extension_protocol_options =
            det_map([(HTTP_PROTOCOL_OPTIONS.to_string(), to_any(&options))]);
    }
    let annotated = policy.map(|p| p.circuit_breakers).unwrap_or_default();
    let thresholds = CircuitBreakerSettings {
        max_connections: annotated.max_connections,
        max_pending_requests: annotated.max_pending_requests,
        max_requests: annotated.max_requests,
        max_retries: annotated.max_retries,
        per_host_max_connections: annotated.per_host_max_connections,
    }
    .or(&settings.circuit_breakers);
    out.circuit_breakers = circuit_breakers(&thresholds);
    if let Some(name) = policy.and_then(|p| p.external_name.as_deref()) {
        let health_port = c.service.health_port.as_ref().map(|h| h.port);
        make_dns_cluster(
            out,
            name,
            (c.service.port, health_port),
            settings.dns_lookup_family,
        );
    }
}

/// Envoy circuit breakers with remaining-budget tracking, or none when nothing is set.
pub fn circuit_breakers(t: &CircuitBreakerSettings) -> Option<CircuitBreakers> {
    if t.is_empty() {
        return None;
    }
    Some(CircuitBreakers {
        thresholds: vec![circuit_breakers::Thresholds {
            max_connections: t.max_connections.map(u32v),
            max_pending_requests: t.max_pending_requests.map(u32v),
            max_requests: t.max_requests.map(u32v),
            max_retries: t.max_retries.map(u32v),
            track_remaining: true,
            ..Default::default()
        }],
        per_host_thresholds: vec![circuit_breakers::Thresholds {
            max_connections: t.per_host_max_connections.map(u32v),
            track_remaining: true,
            ..Default::default()
        }],
    })
}

/// Turns an EDS cluster into a DNS cluster for an ExternalName Service: STRICT_DNS (LOGICAL_DNS
/// with the `all` family) with the name and Service port inline (and the health port's number,
/// when health checks go to another Service port, as upstream).
fn make_dns_cluster(
    out: &mut Cluster,
    name: &str,
    (port, health_port): (u16, Option<u16>),
    family: DnsFamily,
) {
    use cluster::{DiscoveryType, DnsLookupFamily};
    let (kind, lookup) = match family {
        DnsFamily::Auto => (DiscoveryType::StrictDns, DnsLookupFamily::Auto),
        DnsFamily::V4 => (DiscoveryType::StrictDns, DnsLookupFamily::V4Only),
        DnsFamily::V6 => (DiscoveryType::StrictDns, DnsLookupFamily::V6Only),
        DnsFamily::All => (DiscoveryType::LogicalDns, DnsLookupFamily::All),
    };
    out.cluster_discovery_type = Some(cluster::ClusterDiscoveryType::Type(kind as i32));
    out.dns_lookup_family = lookup as i32;
    out.eds_cluster_config = None;
    let endpoint = match health_port.filter(|h| *h != port) {
        Some(h) => crate::endpoint::lb_endpoint_with_health_port(name, port, h),
        None => crate::endpoint::lb_endpoint(name, port),
    };
    out.load_assignment = Some(ClusterLoadAssignment {
        cluster_name: out.name.clone(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints: vec![endpoint],
            ..Default::default()
        }],
        ..Default::default()
    });
}

/// Upstream protocol: `tls` and `h2` get a TLS transport socket (ALPN `h2` for `h2`); `h2` and
/// `h2c` get explicit HTTP/2.
pub fn apply_protocol(out: &mut Cluster, c: &contour_dag::Cluster, cfg: &TranslateConfig) {
    let alpn: &[&str] = match c.protocol.as_str() {
        "h2" => &["h2"],
        _ => &[],
    };
    if c.is_tls() {
        let ctx = upstream_tls_context(c, cfg.upstream_tls.as_ref(), alpn);
        out.transport_socket = Some(tls_transport_socket(&ctx));
    }
    // Explicit HTTP/2 for h2/h2c comes with the cluster policies (policies::protocol_options),
    // which also carry the idle connection timeout.
}

/// Explicit HTTP/1.1 towards the backend.
pub fn http1_protocol_options() -> HttpProtocolOptions {
    use http_protocol_options::{
        ExplicitHttpConfig, UpstreamProtocolOptions, explicit_http_config,
    };
    HttpProtocolOptions {
        upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(
            ExplicitHttpConfig {
                protocol_config: Some(explicit_http_config::ProtocolConfig::HttpProtocolOptions(
                    Default::default(),
                )),
            },
        )),
        ..Default::default()
    }
}

/// Explicit HTTP/2 towards the backend.
pub fn http2_protocol_options() -> HttpProtocolOptions {
    use http_protocol_options::{
        ExplicitHttpConfig, UpstreamProtocolOptions, explicit_http_config,
    };
    HttpProtocolOptions {
        upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(
            ExplicitHttpConfig {
                protocol_config: Some(explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                    Http2ProtocolOptions::default(),
                )),
            },
        )),
        ..Default::default()
    }
}

/// `healthy_panic_threshold: 0`: never route to unhealthy hosts in panic mode.
pub fn common_lb_config() -> cluster::CommonLbConfig {
    cluster::CommonLbConfig {
        healthy_panic_threshold: Some(Percent { value: 0.0 }),
        ..Default::default()
    }
}

/// Envoy LB policy for an upstream load-balancing strategy name.
pub fn lb_policy(strategy: &str) -> cluster::LbPolicy {
    match strategy {
        "WeightedLeastRequest" => cluster::LbPolicy::LeastRequest,
        "Random" => cluster::LbPolicy::Random,
        "Cookie" | "RequestHash" => cluster::LbPolicy::RingHash,
        _ => cluster::LbPolicy::RoundRobin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_dag::ServiceCluster;
    use rstest::rstest;

    #[rstest]
    #[case::weighted_least_request("WeightedLeastRequest", cluster::LbPolicy::LeastRequest)]
    #[case::random("Random", cluster::LbPolicy::Random)]
    #[case::round_robin("RoundRobin", cluster::LbPolicy::RoundRobin)]
    #[case::default("", cluster::LbPolicy::RoundRobin)]
    #[case::cookie("Cookie", cluster::LbPolicy::RingHash)]
    #[case::request_hash("RequestHash", cluster::LbPolicy::RingHash)]
    #[case::unknown("Sticky", cluster::LbPolicy::RoundRobin)]
    fn lb_policies_match_upstream(#[case] strategy: &str, #[case] want: cluster::LbPolicy) {
        assert_eq!(lb_policy(strategy), want);
    }

    #[test]
    fn default_eds_cluster() {
        let c = contour_dag::Cluster {
            service: ServiceCluster {
                namespace: "default".into(),
                name: "kuard".into(),
                port: 443,
                port_name: "http".into(),
                health_port: None,
            },
            ..Default::default()
        };
        let got = cluster(&c);
        assert_eq!(got.name, "default/kuard/443/da39a3ee5e");
        assert_eq!(got.alt_stat_name, "default_kuard_443");
        assert_eq!(
            got.cluster_discovery_type,
            Some(cluster::ClusterDiscoveryType::Type(
                cluster::DiscoveryType::Eds as i32
            ))
        );
        let eds = got.eds_cluster_config.expect("eds config");
        assert_eq!(eds.service_name, "default/kuard/http");
        assert_eq!(eds.eds_config, Some(contour_config_source()));
        assert_eq!(got.connect_timeout, Some(millis(2000)));
        assert_eq!(got.common_lb_config, Some(common_lb_config()));
        assert_eq!(got.lb_policy, cluster::LbPolicy::RoundRobin as i32);
    }
}
