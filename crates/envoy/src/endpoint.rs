//! EDS: cluster load assignments from the DAG's endpoint sets.

use contour_dag::LoadAssignment;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};

use crate::pb::socket_address;

/// The load assignment of one EDS name: one locality holding every ready endpoint, or no
/// locality at all when there are none.
pub fn cluster_load_assignment(la: &LoadAssignment) -> ClusterLoadAssignment {
    let endpoints = if la.endpoints.is_empty() {
        Vec::new()
    } else {
        vec![LocalityLbEndpoints {
            lb_endpoints: la
                .endpoints
                .iter()
                .map(|(addr, port)| lb_endpoint(addr, *port))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_locality_with_every_endpoint() {
        let la = LoadAssignment {
            eds_name: "default/kuard/http".into(),
            endpoints: vec![("10.0.0.1".into(), 8080), ("10.0.0.2".into(), 8080)],
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
    fn no_endpoints_gives_no_locality() {
        let la = LoadAssignment {
            eds_name: "default/kuard".into(),
            endpoints: vec![],
        };
        let got = cluster_load_assignment(&la);
        assert_eq!(got.cluster_name, "default/kuard");
        assert!(got.endpoints.is_empty());
    }
}
