//! What the cache keeps of a Service: the fields the build reads, under the same names as in
//! the Kubernetes object. A Kubernetes `Service` is about a kilobyte before any of its strings
//! (most of it fields Contour never reads: selectors, cluster IPs, session affinity, status...);
//! at 10,000 Services that is ~10 MB held for nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort};

/// A Service as the build sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedService {
    pub metadata: ServiceMeta,
    pub spec: Option<ServiceSpec>,
}

/// The metadata the build reads: the name (for messages) and the annotations (upstream
/// protocol, circuit breakers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The spec fields the build reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceSpec {
    pub type_: Option<String>,
    pub external_name: Option<String>,
    pub ports: Option<Vec<ServicePort>>,
}

impl From<Service> for CachedService {
    fn from(svc: Service) -> Self {
        let meta = svc.metadata;
        CachedService {
            metadata: ServiceMeta {
                name: meta.name,
                namespace: meta.namespace,
                annotations: meta.annotations,
            },
            spec: svc.spec.map(|spec| ServiceSpec {
                type_: spec.type_,
                external_name: spec.external_name,
                ports: spec.ports.map(slim_ports),
            }),
        }
    }
}

/// The ports, held in exactly their space (a deserialized list has room for more).
fn slim_ports(ports: Vec<ServicePort>) -> Vec<ServicePort> {
    let mut ports: Vec<ServicePort> = ports.into_iter().map(slim_port).collect();
    ports.shrink_to_fit();
    ports
}

/// The port fields the build reads (`nodePort` and `targetPort` are never read: endpoints
/// come from EndpointSlices, which name their ports).
fn slim_port(port: ServicePort) -> ServicePort {
    ServicePort {
        name: port.name,
        port: port.port,
        protocol: port.protocol,
        app_protocol: port.app_protocol,
        node_port: None,
        target_port: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_the_build_reads_in_a_fraction_of_the_space() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "n", "labels": {"app": "a"},
                         "annotations": {"projectcontour.io/upstream-protocol.h2c": "80"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "selector": {"app": "a"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080,
                                "appProtocol": "kubernetes.io/h2c"}]}
        }))
        .unwrap();
        let slim = CachedService::from(svc);
        assert_eq!(slim.metadata.name.as_deref(), Some("s"));
        assert_eq!(slim.metadata.namespace.as_deref(), Some("n"));
        assert_eq!(
            slim.metadata.annotations.as_ref().map(BTreeMap::len),
            Some(1)
        );
        let spec = slim.spec.as_ref().unwrap();
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        let port = &spec.ports.as_ref().unwrap()[0];
        assert_eq!((port.name.as_deref(), port.port), (Some("http"), 80));
        assert_eq!(port.app_protocol.as_deref(), Some("kubernetes.io/h2c"));
        assert!(
            std::mem::size_of::<CachedService>() * 4 < std::mem::size_of::<Service>(),
            "{} bytes against {}",
            std::mem::size_of::<CachedService>(),
            std::mem::size_of::<Service>()
        );
    }
}
