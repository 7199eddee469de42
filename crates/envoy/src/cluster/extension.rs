//! CDS for ExtensionServices: one EDS cluster per valid ExtensionService, named
//! `extension/<ns>/<name>` (the EDS service name too), as upstream.

use contour_dag::duration::Timeout;
use contour_dag::{Dag, ExtensionCluster};
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::google::protobuf::Any;

use super::policies::{self, explicit_protocol_options};
use super::{HTTP_PROTOCOL_OPTIONS, circuit_breakers, common_lb_config, lb_policy};
use crate::auth::{UpstreamPeer, tls_transport_socket, upstream_tls_context_for};
use crate::config::{CircuitBreakerSettings, TranslateConfig};
use crate::pb::{contour_config_source, det_map, duration};

/// The extension clusters of the DAG, sorted by name.
pub fn extension_clusters(dag: &Dag, cfg: &TranslateConfig) -> Vec<Cluster> {
    dag.extension_clusters
        .values()
        .map(|ext| extension_cluster(ext, cfg))
        .collect()
}

/// One extension cluster: endpoints by EDS, `alt_stat_name` with `_` for `/`, TLS with ALPN
/// `h2` for `h2`, explicit HTTP/2 for `h2`/`h2c` (HTTP/1.1 for `http/1.1`), the idle
/// connection timeout, and the ExtensionService's circuit breakers (else the global ones).
pub fn extension_cluster(ext: &ExtensionCluster, cfg: &TranslateConfig) -> Cluster {
    let mut out = Cluster {
        name: ext.name.clone(),
        alt_stat_name: ext.name.replace('/', "_"),
        cluster_discovery_type: Some(cluster::ClusterDiscoveryType::Type(
            cluster::DiscoveryType::Eds as i32,
        )),
        eds_cluster_config: Some(cluster::EdsClusterConfig {
            eds_config: Some(contour_config_source()),
            service_name: ext.name.clone(),
        }),
        connect_timeout: Some(duration(cfg.connect_timeout)),
        common_lb_config: Some(common_lb_config()),
        lb_policy: lb_policy(&ext.lb_strategy) as i32,
        ..Default::default()
    };
    if ext.protocol == contour_dag::extension::PROTOCOL_H2 {
        let peer = UpstreamPeer {
            sni: &ext.sni,
            validation: ext.upstream_validation.as_ref(),
            client_certificate: ext.client_certificate.as_ref(),
        };
        let ctx = upstream_tls_context_for(&peer, cfg.upstream_tls.as_ref(), &["h2"]);
        out.transport_socket = Some(tls_transport_socket(&ctx));
    }
    if let Some(options) = protocol_options(&ext.protocol, ext.idle_connection_timeout) {
        out.typed_extension_protocol_options =
            det_map([(HTTP_PROTOCOL_OPTIONS.to_string(), options)]);
    }
    let thresholds = match &ext.circuit_breakers {
        Some(cb) => CircuitBreakerSettings {
            max_connections: cb.max_connections,
            max_pending_requests: cb.max_pending_requests,
            max_requests: cb.max_requests,
            max_retries: cb.max_retries,
            per_host_max_connections: cb.per_host_max_connections,
        },
        None => cfg.cluster.circuit_breakers,
    };
    out.circuit_breakers = circuit_breakers(&thresholds);
    out
}

/// Upstream's protocol options of an extension cluster: explicit HTTP/2 or HTTP/1.1, or none
/// for another protocol unless an idle connection timeout is set (`infinity` is `0s`).
fn protocol_options(protocol: &str, idle: Timeout) -> Option<Any> {
    match protocol {
        "h2" | "h2c" => Some(explicit_protocol_options(true, idle)),
        "http/1.1" => Some(explicit_protocol_options(false, idle)),
        _ => policies::protocol_options(false, idle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{http1_protocol_options, http2_protocol_options};
    use contour_dag::{
        CircuitBreakers, Secret, ServiceCluster, UpstreamValidation, WeightedService,
    };
    use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext;
    use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
    use prost::Message;

    fn ext(protocol: &str) -> ExtensionCluster {
        ExtensionCluster {
            name: "extension/ns/ext".into(),
            services: vec![WeightedService {
                service: ServiceCluster {
                    namespace: "ns".into(),
                    name: "one".into(),
                    port: 8081,
                    ..Default::default()
                },
                weight: 0,
            }],
            protocol: protocol.into(),
            ..Default::default()
        }
    }

    fn tls_context(c: &Cluster) -> UpstreamTlsContext {
        let ts = c.transport_socket.as_ref().expect("transport socket");
        let Some(ConfigType::TypedConfig(any)) = &ts.config_type else {
            panic!("typed config");
        };
        UpstreamTlsContext::decode(any.value.as_slice()).unwrap()
    }

    fn options(c: &Cluster) -> Option<HttpProtocolOptions> {
        c.typed_extension_protocol_options
            .get(HTTP_PROTOCOL_OPTIONS)
            .map(|a| HttpProtocolOptions::decode(a.value.as_slice()).unwrap())
    }

    #[test]
    fn names_eds_and_default_h2_over_tls() {
        let c = extension_cluster(&ext("h2"), &TranslateConfig::default());
        assert_eq!(c.name, "extension/ns/ext");
        assert_eq!(c.alt_stat_name, "extension_ns_ext");
        let eds = c.eds_cluster_config.as_ref().expect("eds");
        assert_eq!(eds.service_name, "extension/ns/ext");
        assert_eq!(c.connect_timeout, Some(crate::pb::millis(2000)));
        let ctx = tls_context(&c);
        assert_eq!(ctx.sni, "");
        assert_eq!(ctx.common_tls_context.unwrap().alpn_protocols, vec!["h2"]);
        assert_eq!(options(&c), Some(http2_protocol_options()));
        assert!(c.circuit_breakers.is_none());
    }

    #[test]
    fn h2c_and_http1_are_plaintext() {
        let cfg = TranslateConfig::default();
        let h2c = extension_cluster(&ext("h2c"), &cfg);
        assert!(h2c.transport_socket.is_none());
        assert_eq!(options(&h2c), Some(http2_protocol_options()));
        let h1 = extension_cluster(&ext("http/1.1"), &cfg);
        assert!(h1.transport_socket.is_none());
        assert_eq!(options(&h1), Some(http1_protocol_options()));
    }

    #[test]
    fn validation_sni_client_certificate_and_idle_timeout() {
        let mut e = ext("h2");
        e.sni = "ext.example.com".into();
        e.upstream_validation = Some(UpstreamValidation {
            ca_secret_name: "ca".into(),
            ca: b"CA".to_vec(),
            subject_names: vec!["ext.example.com".into()],
        });
        e.client_certificate = Some(Secret {
            namespace: "ns".into(),
            name: "client".into(),
            cert_chain: b"c".to_vec().into(),
            private_key: b"k".to_vec().into(),
            served: None,
        });
        e.idle_connection_timeout = Timeout::Duration(std::time::Duration::from_secs(60));
        let c = extension_cluster(&e, &TranslateConfig::default());
        let ctx = tls_context(&c);
        assert_eq!(ctx.sni, "ext.example.com");
        let common = ctx.common_tls_context.unwrap();
        assert_eq!(common.tls_certificate_sds_secret_configs.len(), 1);
        assert!(common.validation_context_type.is_some());
        let idle = options(&c).unwrap().common_http_protocol_options.unwrap();
        assert_eq!(idle.idle_timeout, Some(crate::pb::millis(60_000)));
    }

    #[test]
    fn own_circuit_breakers_replace_the_global_ones() {
        let mut cfg = TranslateConfig::default();
        cfg.cluster.circuit_breakers.max_connections = Some(20000);
        cfg.cluster.circuit_breakers.max_retries = Some(20);
        let global = extension_cluster(&ext("h2c"), &cfg)
            .circuit_breakers
            .unwrap();
        assert_eq!(global.thresholds[0].max_retries.as_ref().unwrap().value, 20);
        let mut e = ext("h2c");
        e.circuit_breakers = Some(CircuitBreakers {
            max_connections: Some(10),
            ..Default::default()
        });
        let own = extension_cluster(&e, &cfg).circuit_breakers.unwrap();
        assert_eq!(
            own.thresholds[0].max_connections.as_ref().unwrap().value,
            10
        );
        assert_eq!(own.thresholds[0].max_retries, None);
        assert!(own.thresholds[0].track_remaining);
    }
}
