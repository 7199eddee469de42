//! EDS bookkeeping of the event loop: the EndpointSlices, which clusters of the last build use
//! which Service, and the ClusterLoadAssignment of each, kept current by endpoint changes so
//! that a build computes only those of new or changed clusters, and an endpoint change only
//! those of the clusters using the changed Service.
//!
//! Two kinds of clusters take endpoints from Services: route clusters (one Service port, one
//! locality) and extension clusters (one weighted locality per Service).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use contour_dag::endpoints::ServiceKey;
use contour_dag::{Cluster, Dag, EndpointStore, ExtensionCluster, ObjectKey};
use contour_envoy::{cluster_load_assignment, extension_cluster_load_assignment};
use contour_xds::{Resource, type_url};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use prost::Message;

#[derive(Default)]
pub struct Eds {
    endpoints: EndpointStore,
    /// Route clusters of the last build, by the Service they point at: sorted and unique by
    /// Service port. (A Vec of the one or two clusters a Service usually has; a B-tree leaf has
    /// room for eleven.) The clusters are the DAG's own, shared.
    clusters_by_service: BTreeMap<ServiceKey, Vec<Arc<Cluster>>>,
    /// The ClusterLoadAssignment of every route cluster, by EDS name.
    load_assignments: BTreeMap<String, (Arc<Cluster>, Resource)>,
    /// Extension clusters of the last build (by name) using each Service.
    extensions_by_service: BTreeMap<ServiceKey, BTreeSet<String>>,
    /// The ClusterLoadAssignment of every extension cluster, by name (= EDS name).
    extensions: BTreeMap<String, (ExtensionCluster, Resource)>,
    /// Whether a build has published EDS yet.
    published: bool,
}

impl Eds {
    /// Stores a slice; the load assignments to publish again.
    pub fn upsert(&mut self, slice: EndpointSlice) -> BTreeMap<String, Resource> {
        let touched = self.endpoints.upsert(slice);
        self.recompute(&touched)
    }

    /// Removes a slice; the load assignments to publish again.
    pub fn remove(&mut self, key: &ObjectKey) -> BTreeMap<String, Resource> {
        let touched = self.endpoints.remove(key);
        self.recompute(&touched)
    }

    /// New ClusterLoadAssignments for the clusters of the touched Services.
    fn recompute(&mut self, touched: &[ServiceKey]) -> BTreeMap<String, Resource> {
        let mut upserts = BTreeMap::new();
        for svc in touched {
            for cluster in self.clusters_by_service.get(svc).into_iter().flatten() {
                let la = self.endpoints.load_assignment(&cluster.service);
                let cla = encode(&cluster_load_assignment(&la));
                self.load_assignments
                    .insert(la.eds_name.clone(), (Arc::clone(cluster), cla.clone()));
                upserts.insert(la.eds_name, cla);
            }
            for name in self.extensions_by_service.get(svc).into_iter().flatten() {
                let Some((ext, cla)) = self.extensions.get_mut(name) else {
                    continue;
                };
                *cla = extension_assignment(&self.endpoints, ext);
                upserts.insert(name.clone(), cla.clone());
            }
        }
        upserts
    }

    /// Whether a build has published EDS yet.
    pub fn published(&self) -> bool {
        self.published
    }

    /// The ClusterLoadAssignment of every cluster of `dag`: remembered ones for clusters that
    /// are the same as in the last build (endpoint changes kept them current), computed ones
    /// otherwise. `None` when nothing differs from the last build (EDS is already current).
    pub fn after_build(&mut self, dag: &Dag) -> Option<BTreeMap<String, Resource>> {
        let routes_same = self.route_clusters(dag);
        let extensions_same = self.extension_clusters(dag);
        let same = routes_same && extensions_same && self.published;
        self.published = true;
        (!same).then(|| {
            let routes = self.load_assignments.iter().map(|(n, (_, cla))| (n, cla));
            let extensions = self.extensions.iter().map(|(n, (_, cla))| (n, cla));
            routes
                .chain(extensions)
                .map(|(name, cla)| (name.clone(), cla.clone()))
                .collect()
        })
    }

    /// Brings the route clusters up to date; whether nothing changed.
    fn route_clusters(&mut self, dag: &Dag) -> bool {
        self.clusters_by_service.clear();
        for cluster in dag.shared_clusters() {
            let svc = &cluster.service;
            let known = self
                .clusters_by_service
                .entry((svc.namespace.clone(), svc.name.clone()))
                .or_default();
            if let Err(at) = known.binary_search_by(|k| k.service.cmp(svc)) {
                known.reserve_exact(1);
                known.insert(at, Arc::clone(cluster));
            }
        }
        // In the order `recompute` uses, so that two clusters sharing an EDS name (one with a
        // health port, one without) resolve the same way on both paths.
        let mut winners: BTreeMap<String, &Arc<Cluster>> = BTreeMap::new();
        for cluster in self.clusters_by_service.values().flatten() {
            winners.insert(cluster.service.eds_name(), cluster);
        }
        let mut previous = std::mem::take(&mut self.load_assignments);
        let mut computed = false;
        for (name, cluster) in winners {
            let cla = match previous.remove(&name) {
                Some((known, cla)) if known.service == cluster.service => cla,
                _ => {
                    computed = true;
                    let la = self.endpoints.load_assignment(&cluster.service);
                    encode(&cluster_load_assignment(&la))
                }
            };
            self.load_assignments
                .insert(name, (Arc::clone(cluster), cla));
        }
        !computed && previous.is_empty()
    }

    /// Brings the extension clusters up to date; whether nothing changed.
    fn extension_clusters(&mut self, dag: &Dag) -> bool {
        self.extensions_by_service.clear();
        let mut previous = std::mem::take(&mut self.extensions);
        let mut computed = false;
        for (name, ext) in &dag.extension_clusters {
            for ws in &ext.services {
                let svc = (ws.service.namespace.clone(), ws.service.name.clone());
                let names = self.extensions_by_service.entry(svc).or_default();
                names.insert(name.clone());
            }
            let entry = match previous.remove(name) {
                Some((known, cla)) if known.services == ext.services => (ext.clone(), cla),
                _ => {
                    computed = true;
                    (ext.clone(), extension_assignment(&self.endpoints, ext))
                }
            };
            self.extensions.insert(name.clone(), entry);
        }
        !computed && previous.is_empty()
    }
}

fn extension_assignment(endpoints: &EndpointStore, ext: &ExtensionCluster) -> Resource {
    let la = endpoints.extension_load_assignment(ext);
    encode(&extension_cluster_load_assignment(&la))
}

/// A load assignment as the store holds it: the store and this module share its bytes.
fn encode(cla: &impl Message) -> Resource {
    Resource::new(type_url::ENDPOINT, cla.encode_to_vec().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_dag::{BuildConfig, Cache, Object, ServiceCluster, WeightedService};
    use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;

    fn slice(name: &str, svc: &str, port: i32, addr: &str) -> EndpointSlice {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "ports": [{"name": "grpc", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [addr], "conditions": {"ready": true}}],
        }))
        .unwrap()
    }

    fn dag() -> Dag {
        let target = |name: &str, weight: u32| WeightedService {
            service: ServiceCluster {
                namespace: "ns".into(),
                name: name.into(),
                port: 9000,
                port_name: "grpc".into(),
                health_port: None,
            },
            weight,
        };
        let ext = ExtensionCluster {
            name: "extension/ns/auth".into(),
            services: vec![target("one", 0), target("two", 0)],
            protocol: "h2c".into(),
            ..Default::default()
        };
        let mut dag = Dag::default();
        dag.extension_clusters.insert(ext.name.clone(), ext);
        dag
    }

    fn decode(r: &Resource) -> ClusterLoadAssignment {
        ClusterLoadAssignment::decode(r.value.clone()).unwrap()
    }

    #[test]
    fn extension_localities_follow_builds_and_endpoint_changes() {
        let mut eds = Eds::default();
        assert!(
            eds.upsert(slice("one-a", "one", 8081, "10.0.0.1"))
                .is_empty()
        );
        let first = eds.after_build(&dag()).expect("first build publishes");
        let cla = decode(&first["extension/ns/auth"]);
        assert_eq!(cla.endpoints.len(), 1, "only Services with endpoints");
        assert_eq!(cla.endpoints[0].load_balancing_weight.unwrap().value, 1);
        // An endpoint change of a Service the extension uses republishes it alone.
        let upserts = eds.upsert(slice("two-a", "two", 8082, "10.0.0.2"));
        let keys: Vec<&String> = upserts.keys().collect();
        assert_eq!(keys, vec!["extension/ns/auth"]);
        assert_eq!(decode(&upserts["extension/ns/auth"]).endpoints.len(), 2);
        assert!(eds.upsert(slice("x", "other", 1, "10.0.0.3")).is_empty());
        // The same DAG again: EDS is already current.
        assert_eq!(eds.after_build(&dag()), None);
        // Gone from the DAG: gone from EDS.
        let after = eds.after_build(&Dag::default()).expect("changed");
        assert!(after.is_empty());
    }

    /// The DAG of one HTTPProxy routing to Service `ns/web` port 80 (named `grpc`, as `slice`).
    fn routed() -> Dag {
        let mut cache = Cache::default();
        let proxy = "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\n\
                     metadata: {name: p, namespace: ns}\n\
                     spec: {virtualhost: {fqdn: a.example.com}, routes: [{services: [{name: web, port: 80}]}]}\n";
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\n\
                       spec: {ports: [{name: grpc, port: 80}]}\n";
        cache.insert(Object::HTTPProxy(serde_norway::from_str(proxy).unwrap()));
        cache.insert(Object::Service(serde_norway::from_str(service).unwrap()));
        contour_dag::build(&cache, &BuildConfig::default()).dag
    }

    #[test]
    fn route_clusters_are_the_dags_own_and_follow_endpoint_changes() {
        let mut eds = Eds::default();
        let dag = routed();
        let first = eds.after_build(&dag).expect("first build publishes");
        let name = "ns/web/grpc";
        assert!(decode(&first[name]).endpoints.is_empty());
        // Held, not copied: the DAG's cluster itself.
        let held = &eds.load_assignments[name].0;
        assert!(dag.shared_clusters().iter().any(|c| Arc::ptr_eq(c, held)));
        let upserts = eds.upsert(slice("web-a", "web", 8080, "10.0.0.9"));
        let cla = decode(&upserts[name]);
        assert_eq!(cla.endpoints[0].lb_endpoints.len(), 1);
        assert_eq!(eds.after_build(&dag), None, "the same DAG: already current");
    }
}
