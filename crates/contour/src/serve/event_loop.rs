//! The event loop: the one owner of the object cache.
//!
//! Source events update the cache (or, for EndpointSlices, the endpoint store). A change that
//! matters arms the holdoff; when it fires, the loop builds the DAG, translates it, and hands
//! the resources to the xDS snapshot store, which pushes only what changed. Endpoint changes
//! skip the build and update EDS directly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use contour_api::v1::DetailedCondition;
use contour_dag::{BuildConfig, Cache, IncrementalBuild, Kind, Object, ObjectKey};
use contour_envoy::{TranslateConfig, Translator};
use contour_k8s::status::{ConditionsKind, StatusInput};
use contour_xds::{Resource, SnapshotStore, type_url};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use super::eds::Eds;
use super::holdoff::Holdoff;
use super::secrets::{SecretKey, Withholding};
use super::state::SharedState;
use crate::manifests::SourceEvent;
use crate::metrics::{KindLabel, Metrics, OpKindLabels};
use contour_k8s::source::fetch::Fetched;

pub struct EventLoop {
    cache: Cache,
    /// EndpointSlices and the load assignments of the last build's clusters.
    eds: Eds,
    build_cfg: BuildConfig,
    /// Remembers each HTTPProxy root's contribution: a build recomputes only what changed
    /// (equal to `contour_dag::build`).
    builder: IncrementalBuild,
    translate_cfg: TranslateConfig,
    /// Remembers the last translation: a build re-translates only what changed.
    translator: Translator,
    store: SnapshotStore,
    state: Arc<SharedState>,
    metrics: Arc<Metrics>,
    /// Told once the first build has been published (the xDS server starts listening then).
    first_build: watch::Sender<bool>,
    /// Kubernetes mode: each build's statuses for the status writer (latest wins).
    status: Option<watch::Sender<Arc<StatusInput>>>,
    /// Kubernetes mode: only referenced Secrets keep their data.
    withholding: Option<Withholding>,
    /// Conditions written besides the build's (the ContourConfiguration's `Valid`).
    config_conditions: BTreeMap<(ConditionsKind, String, String), Vec<DetailedCondition>>,
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
            eds: Eds::default(),
            build_cfg,
            builder: IncrementalBuild::new(),
            translate_cfg,
            translator: Translator::new(),
            store,
            state,
            metrics,
            first_build,
            status: None,
            withholding: None,
            config_conditions: BTreeMap::new(),
        }
    }

    /// Reports the ContourConfiguration in use as valid (Kubernetes mode).
    pub fn with_contour_configuration(
        mut self,
        ns: &str,
        name: &str,
        generation: Option<i64>,
    ) -> Self {
        let key = (
            ConditionsKind::ContourConfiguration,
            ns.to_string(),
            name.to_string(),
        );
        let valid = contour_k8s::status::conditions::contour_configuration_valid(generation);
        self.config_conditions.insert(key, vec![valid]);
        self
    }

    /// Keeps the data of referenced Secrets only; `requests` asks for a Secret's data again.
    pub fn with_withholding(mut self, requests: mpsc::UnboundedSender<SecretKey>) -> Self {
        self.withholding = Some(Withholding::new(requests));
        self
    }

    /// Publishes each build's statuses on `tx` (Kubernetes mode).
    pub fn with_status(mut self, tx: watch::Sender<Arc<StatusInput>>) -> Self {
        self.status = Some(tx);
        self
    }

    fn publish_status(&self, out: &contour_dag::BuildOutput) {
        let Some(tx) = &self.status else { return };
        let input = StatusInput {
            // As built: the writer converts only the statuses it writes.
            proxies: out.status.proxies.clone(),
            ingresses: self.cache.ingresses.keys().cloned().collect(),
            conditions: self.conditions(out),
        };
        tx.send_if_modified(|cur| {
            let changed = **cur != input;
            if changed {
                *cur = Arc::new(input);
            }
            changed
        });
    }

    /// The ContourConfiguration's condition and each ExtensionService's `Valid` condition.
    fn conditions(
        &self,
        out: &contour_dag::BuildOutput,
    ) -> BTreeMap<(ConditionsKind, String, String), Vec<DetailedCondition>> {
        let mut all = self.config_conditions.clone();
        for ((ns, name), st) in &out.status.extensions {
            let key = (ConditionsKind::ExtensionService, ns.clone(), name.clone());
            all.insert(key, vec![st.to_condition()]);
        }
        all
    }

    /// Runs until every source is gone. `fetched` answers the Secret reads asked for by the
    /// withholding (Kubernetes mode).
    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<SourceEvent>,
        mut fetched: Option<mpsc::Receiver<Fetched>>,
    ) {
        let mut holdoff = Holdoff::new(Instant::now());
        loop {
            let deadline = self.build_deadline(&holdoff);
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.on_event(ev, &mut holdoff);
                }
                Some(f) = recv_opt(&mut fetched) => self.on_fetched(f, &mut holdoff),
                _ = sleep_until(deadline), if deadline.is_some() => {
                    self.rebuild();
                    holdoff.built(Instant::now());
                }
            }
        }
        debug!("event loop stopped: all sources closed");
    }

    /// The holdoff's deadline, later while a newly referenced Secret is being read.
    fn build_deadline(&self, holdoff: &Holdoff) -> Option<Instant> {
        let due = holdoff.deadline()?;
        let held = self.withholding.as_ref().and_then(Withholding::hold_until);
        Some(held.map_or(due, |h| h.max(due)))
    }

    fn on_fetched(&mut self, f: Fetched, holdoff: &mut Holdoff) {
        let Some(w) = &mut self.withholding else {
            return;
        };
        let Some(secret) = w.on_fetched(&self.cache, f.key, f.secret) else {
            return;
        };
        // A build held for this read goes at its deadline, recomputed on the next turn.
        if self.cache.insert(Object::Secret(secret)) {
            holdoff.on_change(Instant::now());
        }
    }

    /// Inserts an object; with withholding, keeps Secret data only where referenced.
    fn insert(&mut self, obj: Object, now: Instant) -> bool {
        let Some(w) = &mut self.withholding else {
            return self.cache.insert(obj);
        };
        if let Object::Secret(s) = obj {
            let s = w.on_secret(&self.cache, s);
            return self.cache.insert(Object::Secret(s));
        }
        let mut touched = Withholding::refs_in_cache(&self.cache, &obj.key());
        touched.extend(contour_dag::references::secret_refs(&obj));
        let changed = self.cache.insert(obj);
        w.after_change(&mut self.cache, touched, now);
        changed
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
                    let upserts = self.eds.upsert(slice);
                    self.publish_endpoints(upserts);
                } else if self.insert(obj, now) {
                    holdoff.on_change(now);
                }
            }
            SourceEvent::Delete(key) => {
                self.count_op("delete", key.kind);
                if key.kind == Kind::EndpointSlice {
                    let upserts = self.eds.remove(&key);
                    self.publish_endpoints(upserts);
                } else if self.remove(&key) {
                    holdoff.on_change(now);
                }
            }
        }
    }

    fn remove(&mut self, key: &ObjectKey) -> bool {
        let Some(w) = &mut self.withholding else {
            return self.cache.remove(key);
        };
        if key.kind == Kind::Secret {
            w.on_secret_deleted(&(key.namespace.clone(), key.name.clone()));
            return self.cache.remove(key);
        }
        let touched = Withholding::refs_in_cache(&self.cache, key);
        let changed = self.cache.remove(key);
        w.after_change(&mut self.cache, touched, Instant::now());
        changed
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

    /// Publishes the ClusterLoadAssignments an endpoint change recomputed.
    fn publish_endpoints(&mut self, upserts: BTreeMap<String, Resource>) {
        if upserts.is_empty() {
            return;
        }
        let n = upserts.len();
        if self
            .store
            .update_resources(type_url::ENDPOINT, upserts, &[])
        {
            self.metrics.eds_update_total.inc();
            debug!(load_assignments = n, "updated endpoints");
        }
    }

    fn rebuild(&mut self) {
        let started = Instant::now();
        let out = self.builder.build(&self.cache, &self.build_cfg);
        let built = started.elapsed();
        let reuse = self.builder.last_reuse();
        let (changes, endpoints) = self.translate(&out.dag);
        let translated = started.elapsed();
        let mut types = BTreeMap::new();
        // The translator's bytes are handed over as they are (no copy: it holds parts of them).
        let mut put = |t: &str, resources: Option<contour_envoy::Encoded>| {
            if let Some(r) = resources {
                let r = r.into_iter().map(|(n, v)| (n, Resource::new(t, v)));
                types.insert(t.to_string(), r.collect::<BTreeMap<_, _>>());
            }
        };
        put(type_url::SECRET, changes.secrets);
        put(type_url::RUNTIME, Some(changes.runtimes));
        put(type_url::CLUSTER, changes.clusters);
        put(type_url::ROUTE, changes.routes);
        put(type_url::SCOPED_ROUTE, changes.scoped_routes);
        put(type_url::LISTENER, changes.listeners);
        if let Some(r) = endpoints {
            types.insert(type_url::ENDPOINT.to_string(), r);
        }
        // One snapshot for every type: a stream never sees a new listener before its routes.
        let changed = self.store.set_types(types);
        let elapsed = started.elapsed();
        self.record_build(&out, elapsed.as_secs_f64());
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        info!(
            duration_ms = ms(elapsed),
            build_ms = ms(built),
            translate_ms = ms(translated - built),
            changed,
            roots_reused = reuse.reused,
            roots_computed = reuse.computed,
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

    /// Translates `dag`; the load assignments to publish too, `None` when EDS is unchanged.
    /// Only the types that changed are handed over: an unchanged type is neither copied nor
    /// compared again.
    fn translate(
        &mut self,
        dag: &contour_dag::Dag,
    ) -> (contour_envoy::Changes, Option<BTreeMap<String, Resource>>) {
        if self.eds.published() {
            let changes = self.translator.changes(dag, &self.translate_cfg);
            // The translator saw the same clusters (names and content, extension clusters
            // too): the load assignments to publish are the same, no need to recompute the
            // cluster set.
            let endpoints = changes
                .clusters
                .is_some()
                .then(|| self.eds.after_build(dag))
                .flatten();
            return (changes, endpoints);
        }
        // The first build needs every load assignment: computed beside the translation.
        let (eds, translator, cfg) = (&mut self.eds, &mut self.translator, &self.translate_cfg);
        std::thread::scope(|scope| {
            let endpoints = scope.spawn(|| eds.after_build(dag));
            let changes = translator.changes(dag, cfg);
            match endpoints.join() {
                Ok(endpoints) => (changes, endpoints),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
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
        let roots = self.cache.proxies.iter();
        let roots = roots.filter(|(_, p)| p.spec.virtualhost.is_some());
        m.record_statuses(&out.status, roots.map(|((ns, _), _)| ns.as_str()));
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}
