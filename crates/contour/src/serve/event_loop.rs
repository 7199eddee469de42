//! The event loop: the one owner of the object cache.
//!
//! Source events update the cache (or, for EndpointSlices, the endpoint store). A change that
//! matters arms the holdoff; when it fires, the loop builds the DAG, translates it, and hands
//! the resources to the xDS snapshot store, which pushes only what changed. Endpoint changes
//! skip the build and update EDS directly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use contour_dag::endpoints::ServiceKey;
use contour_dag::{
    BuildConfig, Cache, Dag, EndpointStore, Kind, Object, ObjectKey, ServiceCluster,
};
use contour_envoy::{TranslateConfig, Translator};
use contour_k8s::status::StatusInput;
use contour_xds::{SnapshotStore, type_url};
use envoy_types::pb::google::protobuf::Any;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use super::holdoff::Holdoff;
use super::state::SharedState;
use crate::manifests::SourceEvent;
use crate::metrics::{KindLabel, Metrics, OpKindLabels};

pub struct EventLoop {
    cache: Cache,
    endpoints: EndpointStore,
    build_cfg: BuildConfig,
    translate_cfg: TranslateConfig,
    /// Remembers the last translation: a build re-translates only what changed.
    translator: Translator,
    store: SnapshotStore,
    state: Arc<SharedState>,
    metrics: Arc<Metrics>,
    /// Clusters of the last build, by the Service they point at (for EDS-only updates).
    clusters_by_service: BTreeMap<ServiceKey, BTreeSet<ServiceCluster>>,
    /// The ClusterLoadAssignment of every cluster of the last build, kept current by endpoint
    /// changes, so a build computes only those of new clusters.
    load_assignments: BTreeMap<String, Any>,
    /// Whether a build has published EDS yet.
    published_eds: bool,
    /// Told once the first build has been published (the xDS server starts listening then).
    first_build: watch::Sender<bool>,
    /// Kubernetes mode: each build's statuses for the status writer (latest wins).
    status: Option<watch::Sender<Arc<StatusInput>>>,
}

impl EventLoop {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cache: Cache,
        build_cfg: BuildConfig,
        translate_cfg: TranslateConfig,
        store: SnapshotStore,
        state: Arc<SharedState>,
        metrics: Arc<Metrics>,
        first_build: watch::Sender<bool>,
    ) -> Self {
        EventLoop {
            cache,
            endpoints: EndpointStore::default(),
            build_cfg,
            translate_cfg,
            translator: Translator::new(),
            store,
            state,
            metrics,
            clusters_by_service: BTreeMap::new(),
            load_assignments: BTreeMap::new(),
            published_eds: false,
            first_build,
            status: None,
        }
    }

    /// Publishes each build's statuses on `tx` (Kubernetes mode).
    pub fn with_status(mut self, tx: watch::Sender<Arc<StatusInput>>) -> Self {
        self.status = Some(tx);
        self
    }

    fn publish_status(&self, out: &contour_dag::BuildOutput) {
        let Some(tx) = &self.status else { return };
        let input = StatusInput {
            proxies: out
                .status
                .proxies
                .iter()
                .map(|(k, st)| (k.clone(), st.to_api()))
                .collect(),
            ingresses: self.cache.ingresses.keys().cloned().collect(),
        };
        tx.send_if_modified(|cur| {
            let changed = **cur != input;
            if changed {
                *cur = Arc::new(input);
            }
            changed
        });
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<SourceEvent>) {
        let mut holdoff = Holdoff::new(Instant::now());
        loop {
            let deadline = holdoff.deadline();
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.on_event(ev, &mut holdoff);
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    self.rebuild();
                    holdoff.built(Instant::now());
                }
            }
        }
        debug!("event loop stopped: all sources closed");
    }

    fn on_event(&mut self, ev: SourceEvent, holdoff: &mut Holdoff) {
        let now = Instant::now();
        match ev {
            SourceEvent::InitialSyncDone => {
                info!("initial load complete");
                holdoff.on_synced(now);
            }
            SourceEvent::Upsert(obj) => {
                self.count_op("update", obj.kind());
                if let Object::EndpointSlice(slice) = obj {
                    let touched = self.endpoints.upsert(slice);
                    self.update_endpoints(&touched);
                } else if self.cache.insert(obj) {
                    holdoff.on_change(now);
                }
            }
            SourceEvent::Delete(key) => {
                self.count_op("delete", key.kind);
                if key.kind == Kind::EndpointSlice {
                    let touched = self.endpoints.remove(&key);
                    self.update_endpoints(&touched);
                } else if self.remove(&key) {
                    holdoff.on_change(now);
                }
            }
        }
    }

    fn remove(&mut self, key: &ObjectKey) -> bool {
        self.cache.remove(key)
    }

    fn count_op(&self, op: &str, kind: Kind) {
        self.metrics
            .eventhandler_operation_total
            .get_or_create(&OpKindLabels {
                op: op.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Publishes new ClusterLoadAssignments for the clusters of the touched services.
    fn update_endpoints(&mut self, touched: &[ServiceKey]) {
        let mut upserts = BTreeMap::new();
        for svc in touched {
            for cluster in self.clusters_by_service.get(svc).into_iter().flatten() {
                let la = self.endpoints.load_assignment(cluster);
                let cla = contour_envoy::to_any(&contour_envoy::cluster_load_assignment(&la));
                self.load_assignments
                    .insert(la.eds_name.clone(), cla.clone());
                upserts.insert(la.eds_name, cla);
            }
        }
        if !upserts.is_empty()
            && self
                .store
                .update_resources(type_url::ENDPOINT, upserts, &[])
        {
            self.metrics.eds_update_total.inc();
            debug!(services = touched.len(), "updated endpoints");
        }
    }

    fn rebuild(&mut self) {
        let started = Instant::now();
        let out = contour_dag::build(&self.cache, &self.build_cfg);
        // Only the types that changed are handed over: an unchanged type is neither copied nor
        // compared again.
        let changes = self.translator.changes(&out.dag, &self.translate_cfg);
        let mut types = BTreeMap::new();
        let mut put = |t: &str, resources: Option<BTreeMap<String, Any>>| {
            if let Some(r) = resources {
                types.insert(t.to_string(), r);
            }
        };
        put(type_url::SECRET, changes.secrets);
        put(type_url::RUNTIME, Some(changes.runtimes));
        put(type_url::ENDPOINT, self.all_load_assignments(&out.dag));
        put(type_url::CLUSTER, changes.clusters);
        put(type_url::ROUTE, changes.routes);
        put(type_url::LISTENER, changes.listeners);
        // One snapshot for every type: a stream never sees a new listener before its routes.
        let changed = self.store.set_types(types);
        let elapsed = started.elapsed();
        self.record_build(&out, elapsed.as_secs_f64());
        info!(
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            changed,
            virtual_hosts = out
                .dag
                .listeners
                .values()
                .map(|l| l.virtual_hosts.len())
                .sum::<usize>(),
            "rebuilt configuration"
        );
        self.publish_status(&out);
        self.state.publish(out, elapsed.as_secs_f64() * 1000.0);
        if !*self.first_build.borrow() {
            self.store.set_ready();
            let _ = self.first_build.send(true);
        }
    }

    /// The ClusterLoadAssignment of every cluster of `dag`: remembered ones for clusters of the
    /// last build (endpoint changes kept them current), computed ones for new clusters. `None`
    /// when the set of clusters is the same as the last build's (EDS is then already current).
    fn all_load_assignments(&mut self, dag: &Dag) -> Option<BTreeMap<String, Any>> {
        self.clusters_by_service.clear();
        let mut previous = std::mem::take(&mut self.load_assignments);
        let mut computed = false;
        for cluster in dag.clusters() {
            let svc = &cluster.service;
            self.clusters_by_service
                .entry((svc.namespace.clone(), svc.name.clone()))
                .or_default()
                .insert(svc.clone());
            let name = svc.eds_name();
            if self.load_assignments.contains_key(&name) {
                continue;
            }
            let cla = previous.remove(&name).unwrap_or_else(|| {
                computed = true;
                let la = self.endpoints.load_assignment(svc);
                contour_envoy::to_any(&contour_envoy::cluster_load_assignment(&la))
            });
            self.load_assignments.insert(name, cla);
        }
        let same = !computed && previous.is_empty() && self.published_eds;
        self.published_eds = true;
        (!same).then(|| self.load_assignments.clone())
    }

    fn record_build(&self, out: &contour_dag::BuildOutput, seconds: f64) {
        let m = &self.metrics;
        m.dag_rebuild_total.inc();
        m.dag_rebuild_seconds.observe(seconds);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        m.dag_rebuild_timestamp.set(now.as_secs_f64());
        for (kind, n) in self.cache.counts() {
            let label = KindLabel {
                kind: kind.to_string(),
            };
            m.dag_cache_object.get_or_create(&label).set(n as i64);
        }
        m.record_statuses(&out.status, |ns, name| {
            self.cache
                .proxy(ns, name)
                .is_some_and(|p| p.spec.virtualhost.is_some())
        });
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}
