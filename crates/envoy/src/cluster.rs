//! CDS: one EDS cluster per distinct DAG cluster.

pub mod policies;

use contour_dag::Dag;
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::r#type::v3::Percent;

use envoy_types::pb::envoy::config::core::v3::Http2ProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};

use crate::auth::{tls_transport_socket, upstream_tls_context};
use crate::config::TranslateConfig;
use crate::names::{alt_stat_name, cluster_name, eds_service_name};
use crate::pb::{contour_config_source, millis};

/// Upstream's default cluster connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2000;

/// Name under which `typed_extension_protocol_options` holds the upstream HTTP options.
pub const HTTP_PROTOCOL_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// Every cluster the DAG's routes forward to, sorted by name, equal names once.
pub fn clusters(dag: &Dag, cfg: &TranslateConfig) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = dag
        .clusters()
        .into_iter()
        .map(|c| {
            let mut out = cluster(c);
            apply_protocol(&mut out, c, cfg);
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
