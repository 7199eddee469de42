//! EndpointSlices, kept apart from the object cache: they feed EDS directly and never trigger
//! a full build.

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::model::{
    ExtensionCluster, ExtensionLoadAssignment, LoadAssignment, Locality, ServiceCluster,
};
use crate::object::ObjectKey;

const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `(namespace, service name)`.
pub type ServiceKey = (String, String);

/// What EDS reads of an EndpointSlice; the rest of the object is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slice {
    /// `(name, port)` of the TCP ports with a valid number.
    ports: Vec<(String, u16)>,
    /// Addresses of the ready endpoints, in order.
    ready: Vec<String>,
}

impl Slice {
    fn new(slice: EndpointSlice) -> Self {
        let ports = slice
            .ports
            .into_iter()
            .flatten()
            .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
            .filter_map(|p| Some((p.name.unwrap_or_default(), u16::try_from(p.port?).ok()?)))
            .collect();
        let ready = slice
            .endpoints
            .into_iter()
            .flatten()
            .filter(|ep| ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
            .flat_map(|ep| ep.addresses)
            .collect();
        Slice { ports, ready }
    }

    fn port(&self, name: &str) -> Option<u16> {
        self.ports.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
    }
}

/// The slices of one Service by name, sorted: a Vec, since a Service mostly has one slice and a
/// B-tree leaf has room for eleven.
#[derive(Debug, Default, Clone)]
struct Slices(Vec<(String, Slice)>);

impl Slices {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// Stores `slice` under `name`; whether that changed anything.
    fn upsert(&mut self, name: String, slice: Slice) -> bool {
        match self.find(&name) {
            Ok(i) if self.0[i].1 == slice => false,
            Ok(i) => {
                self.0[i].1 = slice;
                true
            }
            Err(i) => {
                self.0.reserve_exact(1);
                self.0.insert(i, (name, slice));
                true
            }
        }
    }

    fn remove(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.0.remove(i);
        }
    }

    /// The slices in name order.
    fn values(&self) -> impl Iterator<Item = &Slice> {
        self.0.iter().map(|(_, s)| s)
    }
}

/// Slices grouped by the Service they belong to.
#[derive(Debug, Default, Clone)]
pub struct EndpointStore {
    by_service: BTreeMap<ServiceKey, Slices>,
    /// slice `(namespace, name)` → owning service, to find it again on removal.
    owner: BTreeMap<(String, String), ServiceKey>,
}

fn owning_service(slice: &EndpointSlice) -> Option<ServiceKey> {
    let ns = slice.metadata.namespace.clone().unwrap_or_default();
    let svc = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some((ns, svc.clone()))
}

impl EndpointStore {
    /// Stores a slice. Returns the services whose endpoints may have changed.
    pub fn upsert(&mut self, slice: EndpointSlice) -> Vec<ServiceKey> {
        let ns = slice.metadata.namespace.clone().unwrap_or_default();
        let name = slice.metadata.name.clone().unwrap_or_default();
        let slice_key = (ns, name.clone());
        let mut touched = Vec::new();
        // A slice may move to another service (label change): drop it from the old one.
        let new_owner = owning_service(&slice);
        if let Some(old) = self.owner.get(&slice_key).cloned()
            && Some(&old) != new_owner.as_ref()
        {
            self.remove_from(&old, &name);
            touched.push(old);
        }
        let Some(owner) = new_owner else {
            self.owner.remove(&slice_key);
            return touched;
        };
        let slice = Slice::new(slice);
        let slices = self.by_service.entry(owner.clone()).or_default();
        if slices.upsert(name, slice) {
            touched.push(owner.clone());
        }
        self.owner.insert(slice_key, owner);
        touched
    }

    /// Removes a slice. Returns the services whose endpoints changed.
    pub fn remove(&mut self, key: &ObjectKey) -> Vec<ServiceKey> {
        let slice_key = (key.namespace.clone(), key.name.clone());
        match self.owner.remove(&slice_key) {
            Some(owner) => {
                self.remove_from(&owner, &key.name);
                vec![owner]
            }
            None => Vec::new(),
        }
    }

    fn remove_from(&mut self, owner: &ServiceKey, slice_name: &str) {
        if let Some(slices) = self.by_service.get_mut(owner) {
            slices.remove(slice_name);
            if slices.0.is_empty() {
                self.by_service.remove(owner);
            }
        }
    }

    /// Number of stored slices.
    pub fn len(&self) -> usize {
        self.owner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// The ready endpoints of one Service port: slice ports are matched by the Service port's
    /// name; only TCP; duplicates removed. With a health port (`services[].healthPort`), each
    /// endpoint's health-check port is its slice's port of that name.
    pub fn load_assignment(&self, cluster: &ServiceCluster) -> LoadAssignment {
        let mut endpoints = Vec::new();
        let mut health_check_ports = BTreeMap::new();
        let key = (cluster.namespace.clone(), cluster.name.clone());
        let health_name = cluster
            .health_port
            .as_ref()
            .map(|h| h.name.as_str())
            .filter(|n| !n.is_empty() && *n != cluster.port_name);
        for slice in self
            .by_service
            .get(&key)
            .into_iter()
            .flat_map(|m| m.values())
        {
            let Some(port) = slice.port(&cluster.port_name) else {
                continue;
            };
            let health = health_name.and_then(|n| slice.port(n));
            for a in &slice.ready {
                endpoints.push((a.clone(), port));
                if let Some(h) = health {
                    // The first slice (by name) listing an endpoint decides.
                    health_check_ports.entry((a.clone(), port)).or_insert(h);
                }
            }
        }
        endpoints.sort();
        endpoints.dedup();
        LoadAssignment {
            eds_name: cluster.eds_name(),
            endpoints,
            health_check_ports,
        }
    }
}

impl EndpointStore {
    /// The endpoints of an extension cluster, as upstream: one locality per Service (in
    /// declaration order) that has ready endpoints, weighted (see
    /// [`ExtensionCluster::locality_weights`]).
    pub fn extension_load_assignment(&self, ext: &ExtensionCluster) -> ExtensionLoadAssignment {
        let localities = ext
            .services
            .iter()
            .zip(ext.locality_weights())
            .filter_map(|(ws, weight)| {
                let endpoints = self.load_assignment(&ws.service).endpoints;
                (!endpoints.is_empty()).then_some(Locality { endpoints, weight })
            })
            .collect();
        ExtensionLoadAssignment {
            eds_name: ext.name.clone(),
            localities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(
        name: &str,
        svc: &str,
        port_name: &str,
        port: i32,
        addrs: &[(&str, bool)],
    ) -> EndpointSlice {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": addrs.iter().map(|(a, ready)| serde_json::json!({
                "addresses": [a], "conditions": {"ready": ready}})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    fn cluster(port_name: &str) -> ServiceCluster {
        ServiceCluster {
            namespace: "default".into(),
            name: "web".into(),
            port: 80,
            port_name: port_name.into(),
            health_port: None,
        }
    }

    #[test]
    fn ready_endpoints_matched_by_port_name() {
        let mut store = EndpointStore::default();
        store.upsert(slice(
            "web-1",
            "web",
            "http",
            8080,
            &[("10.0.0.2", true), ("10.0.0.1", true), ("10.0.0.3", false)],
        ));
        store.upsert(slice(
            "web-2",
            "web",
            "metrics",
            9090,
            &[("10.0.0.9", true)],
        ));
        let la = store.load_assignment(&cluster("http"));
        assert_eq!(la.eds_name, "default/web/http");
        assert_eq!(
            la.endpoints,
            vec![("10.0.0.1".into(), 8080), ("10.0.0.2".into(), 8080)]
        );
    }

    #[test]
    fn identical_upsert_touches_nothing_and_removal_touches_owner() {
        let mut store = EndpointStore::default();
        let s = slice("web-1", "web", "", 8080, &[("10.0.0.1", true)]);
        assert_eq!(store.upsert(s.clone()).len(), 1);
        assert!(store.upsert(s).is_empty());
        let key = ObjectKey {
            kind: crate::Kind::EndpointSlice,
            namespace: "default".into(),
            name: "web-1".into(),
        };
        assert_eq!(
            store.remove(&key),
            vec![("default".to_string(), "web".to_string())]
        );
        assert!(store.load_assignment(&cluster("")).endpoints.is_empty());
    }

    /// A slice of `web` with a traffic port `http` and a health port `health`.
    fn two_port_slice(name: &str, addr: &str, http: i32, health: i32) -> EndpointSlice {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": http, "protocol": "TCP"},
                      {"name": "health", "port": health, "protocol": "TCP"}],
            "endpoints": [{"addresses": [addr], "conditions": {"ready": true}}],
        }))
        .unwrap()
    }

    #[test]
    fn health_port_of_each_endpoint_comes_from_its_slice() {
        let mut store = EndpointStore::default();
        store.upsert(two_port_slice("web-a", "127.0.0.1", 8080, 9090));
        store.upsert(two_port_slice("web-b", "127.0.0.1", 8081, 9091));
        let mut c = cluster("http");
        assert!(store.load_assignment(&c).health_check_ports.is_empty());
        c.health_port = Some(crate::model::HealthPort {
            port: 9000,
            name: "health".into(),
        });
        let la = store.load_assignment(&c);
        assert_eq!(
            la.endpoints,
            vec![("127.0.0.1".into(), 8080), ("127.0.0.1".into(), 8081)]
        );
        assert_eq!(
            la.health_check_ports,
            BTreeMap::from([
                (("127.0.0.1".to_string(), 8080), 9090),
                (("127.0.0.1".to_string(), 8081), 9091)
            ])
        );
        // A health port naming the traffic port itself changes nothing.
        c.health_port = Some(crate::model::HealthPort {
            port: 80,
            name: "http".into(),
        });
        assert!(store.load_assignment(&c).health_check_ports.is_empty());
    }

    /// Slices are kept in name order whatever order they arrive in: the first by name decides
    /// an endpoint's health port; replacing or removing one keeps the others.
    #[test]
    fn slices_of_a_service_stay_in_name_order() {
        let mut store = EndpointStore::default();
        store.upsert(two_port_slice("web-b", "127.0.0.1", 8080, 9092));
        store.upsert(two_port_slice("web-c", "127.0.0.1", 8080, 9093));
        store.upsert(two_port_slice("web-a", "127.0.0.1", 8080, 9091));
        let mut c = cluster("http");
        c.health_port = Some(crate::model::HealthPort {
            port: 9000,
            name: "health".into(),
        });
        let health = |store: &EndpointStore| {
            store.load_assignment(&c).health_check_ports[&("127.0.0.1".to_string(), 8080)]
        };
        assert_eq!(health(&store), 9091);
        assert_eq!(store.len(), 3);
        store.upsert(two_port_slice("web-a", "127.0.0.1", 8080, 9001));
        assert_eq!(health(&store), 9001);
        let key = |name: &str| ObjectKey {
            kind: crate::Kind::EndpointSlice,
            namespace: "default".into(),
            name: name.into(),
        };
        store.remove(&key("web-a"));
        assert_eq!(health(&store), 9092);
        store.remove(&key("web-b"));
        store.remove(&key("web-c"));
        assert!(store.load_assignment(&c).endpoints.is_empty());
        assert!(store.is_empty());
    }
}
