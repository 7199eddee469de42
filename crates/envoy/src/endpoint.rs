//! EDS: cluster load assignments from the DAG's endpoint sets.

use contour_dag::{ExtensionLoadAssignment, LoadAssignment};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, endpoint, lb_endpoint,
};

use crate::pb::{socket_address, u32v};

/// The load assignment of one EDS name: one locality holding every ready endpoint, or no
/// locality at all when there are none. Endpoints with their own health-check port
/// (`services[].healthPort`) carry it in `health_check_config`.
pub fn cluster_load_assignment(la: &LoadAssignment) -> ClusterLoadAssignment {
    let endpoints = if la.endpoints.is_empty() {
        Vec::new()
    } else {
        vec![LocalityLbEndpoints {
            lb_endpoints: la
                .endpoints
                .iter()
                .map(|(addr, port)| {
                    let health = la.health_check_ports.get(&(addr.clone(), *port));
                    match health {
                        Some(h) => lb_endpoint_with_health_port(addr, *port, *h),
                        None => lb_endpoint(addr, *port),
                    }
                })
                .collect(),
            ..Default::default()
        }]
    };
    ClusterLoadAssignment {
        cluster_name: la.eds_name.clone(),
        endpoints,
        ..Default::default()
    }
}

/// The load assignment of an extension cluster: one locality per Service with ready
/// endpoints, carrying its weight (none for a zero weight), as upstream.
pub fn extension_cluster_load_assignment(la: &ExtensionLoadAssignment) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: la.eds_name.clone(),
        endpoints: la
            .localities
            .iter()
            .map(|l| LocalityLbEndpoints {
                lb_endpoints: l
                    .endpoints
                    .iter()
                    .map(|(addr, port)| lb_endpoint(addr, *port))
                    .collect(),
                load_balancing_weight: l.weight.map(u32v),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// One endpoint at a TCP address.
pub fn lb_endpoint(addr: &str, port: u16) -> LbEndpoint {
    LbEndpoint {
        host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
            address: Some(socket_address(addr, port)),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// One endpoint whose active health checks go to `health_port` instead of `port`.
pub fn lb_endpoint_with_health_port(addr: &str, port: u16, health_port: u16) -> LbEndpoint {
    let mut out = lb_endpoint(addr, port);
    if let Some(lb_endpoint::HostIdentifier::Endpoint(e)) = &mut out.host_identifier {
        e.health_check_config = Some(health_check_config(health_port));
    }
    out
}

/// Upstream's `HealthCheckConfig`: only the port differs from the endpoint's.
pub fn health_check_config(port: u16) -> endpoint::HealthCheckConfig {
    endpoint::HealthCheckConfig {
        port_value: u32::from(port),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_locality_with_every_endpoint() {
        let la = LoadAssignment {
            eds_name: "default/kuard/http".into(),
            endpoints: vec![("10.0.0.1".into(), 8080), ("10.0.0.2".into(), 8080)],
            ..Default::default()
        };
        let got = cluster_load_assignment(&la);
        assert_eq!(got.cluster_name, "default/kuard/http");
        assert_eq!(got.endpoints.len(), 1);
        assert_eq!(
            got.endpoints[0].lb_endpoints,
            vec![lb_endpoint("10.0.0.1", 8080), lb_endpoint("10.0.0.2", 8080)]
        );
    }

    #[test]
    fn extension_localities_carry_their_weights() {
        let la = ExtensionLoadAssignment {
            eds_name: "extension/ns/ext".into(),
            localities: vec![
                contour_dag::Locality {
                    endpoints: vec![("10.0.0.1".into(), 8081)],
                    weight: Some(3),
                },
                contour_dag::Locality {
                    endpoints: vec![("10.0.0.2".into(), 8082)],
                    weight: None,
                },
            ],
        };
        let got = extension_cluster_load_assignment(&la);
        assert_eq!(got.cluster_name, "extension/ns/ext");
        assert_eq!(got.endpoints.len(), 2);
        assert_eq!(got.endpoints[0].load_balancing_weight, Some(u32v(3)));
        assert_eq!(got.endpoints[1].load_balancing_weight, None);
        assert_eq!(
            got.endpoints[1].lb_endpoints,
            vec![lb_endpoint("10.0.0.2", 8082)]
        );
    }

    #[test]
    fn no_endpoints_gives_no_locality() {
        let la = LoadAssignment {
            eds_name: "default/kuard".into(),
            endpoints: vec![],
            ..Default::default()
        };
        let got = cluster_load_assignment(&la);
        assert_eq!(got.cluster_name, "default/kuard");
        assert!(got.endpoints.is_empty());
    }

    #[test]
    fn health_check_port_per_endpoint() {
        let la = LoadAssignment {
            eds_name: "default/kuard/http".into(),
            endpoints: vec![("10.0.0.1".into(), 8080), ("10.0.0.2".into(), 8080)],
            health_check_ports: [(("10.0.0.2".to_string(), 8080), 9090)].into(),
        };
        let got = cluster_load_assignment(&la);
        let eps = &got.endpoints[0].lb_endpoints;
        assert_eq!(eps[0], lb_endpoint("10.0.0.1", 8080));
        let Some(lb_endpoint::HostIdentifier::Endpoint(e)) = &eps[1].host_identifier else {
            panic!("endpoint");
        };
        assert_eq!(e.health_check_config, Some(health_check_config(9090)));
        assert_eq!(e.address, Some(socket_address("10.0.0.2", 8080)));
    }
}
