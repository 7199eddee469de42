//! The Kubernetes source: one kube-rs watcher per kind (per watched namespace) feeding the
//! event loop with the same [`SourceEvent`]s as the manifests directory.
//!
//! `InitialSyncDone` is sent once every watcher has delivered its initial list (or found its
//! CRD missing), so nothing is built from a partial view of the cluster.
//!
//! Secrets are listed only after every Ingress and HTTPProxy watcher has delivered its initial
//! list: the event loop then knows which Secrets are referenced when they arrive, and keeps the
//! data of those only ([`fetch`] gets the data of a Secret that becomes referenced later).

pub mod fetch;
mod sanitize;
mod watch;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use contour_api::v1::{HTTPProxy, TLSCertificateDelegation};
use contour_api::v1alpha1::ExtensionService;
use contour_dag::{Kind, Object, SourceEvent};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info};

pub use sanitize::SECRET_FIELD_SELECTOR;
use sanitize::strip_managed_fields;
use watch::WatchSpec;

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `--watch-namespaces`: namespaced kinds are watched only there (empty: everywhere).
    pub watch_namespaces: Vec<String>,
    /// Kinds not to watch (`--disable-feature=extensionservices`).
    pub disabled: BTreeSet<Kind>,
}

/// Secrets per list page.
const SECRET_PAGE_SIZE: u32 = 100;

/// Kinds that reference Secrets: the Secrets watchers start once these have listed.
const REFERENCING: [Kind; 3] = [Kind::Ingress, Kind::HTTPProxy, Kind::ExtensionService];

/// Counts watchers that still owe their initial list; the last one sends `InitialSyncDone`.
pub struct SyncTracker {
    pending: AtomicUsize,
    /// Ingress, HTTPProxy and ExtensionService watchers that still owe their initial list.
    referencing: AtomicUsize,
    referencing_done: tokio::sync::watch::Sender<bool>,
    tx: mpsc::Sender<SourceEvent>,
}

impl SyncTracker {
    async fn done(&self, kind: Kind) {
        if REFERENCING.contains(&kind) && self.referencing.fetch_sub(1, Ordering::SeqCst) == 1 {
            debug!("Ingress, HTTPProxy and ExtensionService lists done: listing Secrets");
            let _ = self.referencing_done.send(true);
        }
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            info!(last = %kind, "all watchers delivered their initial list");
            let _ = self.tx.send(SourceEvent::InitialSyncDone).await;
        }
    }
}

/// The running watchers; dropping the handle stops them.
pub struct SourceHandle {
    tasks: Vec<JoinHandle<()>>,
}

impl SourceHandle {
    /// Number of watchers started.
    pub fn watchers(&self) -> usize {
        self.tasks.len()
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A watcher to start, before the tracker exists.
struct Starter {
    kind: Kind,
    start: StartFn,
}

type StartFn = Box<
    dyn FnOnce(
        mpsc::Sender<SourceEvent>,
        Arc<SyncTracker>,
        tokio::sync::watch::Receiver<bool>,
    ) -> JoinHandle<()>,
>;

fn starter<K>(spec: WatchSpec<K>) -> Starter
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let kind = spec.kind;
    let start: StartFn = Box::new(move |tx, sync, mut referencing_done| {
        tokio::spawn(async move {
            if kind == Kind::Secret {
                // Only fails when the tracker is gone, i.e. the source is stopping.
                let _ = referencing_done.wait_for(|done| *done).await;
            }
            watch::run(spec, tx, sync).await;
        })
    });
    Starter { kind, start }
}

fn specs_for<K>(
    client: &Client,
    opts: &SourceOptions,
    kind: Kind,
    crd: bool,
    config: &watcher::Config,
    convert: fn(K) -> Object,
) -> Vec<Starter>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    if opts.disabled.contains(&kind) {
        return Vec::new();
    }
    let namespaces: Vec<Option<&str>> = if opts.watch_namespaces.is_empty() {
        vec![None]
    } else {
        opts.watch_namespaces
            .iter()
            .map(|n| Some(n.as_str()))
            .collect()
    };
    namespaces
        .into_iter()
        .map(|ns| {
            let api = match ns {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            };
            starter(WatchSpec {
                api,
                config: config.clone(),
                kind,
                namespace: ns.unwrap_or_default().to_string(),
                crd,
                convert,
            })
        })
        .collect()
}

/// Starts every watcher. Events go to `tx`; `InitialSyncDone` follows the last initial list.
pub fn start(client: Client, opts: &SourceOptions, tx: mpsc::Sender<SourceEvent>) -> SourceHandle {
    let base = watcher::Config::default();
    // Small pages: a page of Secrets is held whole while it is decoded, and most of that data
    // is dropped right after (unreferenced Secrets keep no data).
    let secrets = base
        .clone()
        .fields(SECRET_FIELD_SELECTOR)
        .page_size(SECRET_PAGE_SIZE);
    let mut starters: Vec<Starter> = Vec::new();
    starters.push(starter(WatchSpec::<Namespace> {
        api: Api::all(client.clone()),
        config: base.clone(),
        kind: Kind::Namespace,
        namespace: String::new(),
        crd: false,
        convert: |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::Namespace(o)
        },
    }));
    let c = &client;
    starters.extend(specs_for::<Service>(
        c,
        opts,
        Kind::Service,
        false,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::Service(o)
        },
    ));
    starters.extend(specs_for::<EndpointSlice>(
        c,
        opts,
        Kind::EndpointSlice,
        false,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::EndpointSlice(o)
        },
    ));
    starters.extend(specs_for::<Secret>(
        c,
        opts,
        Kind::Secret,
        false,
        &secrets,
        |o| Object::Secret(sanitize::secret(o)),
    ));
    starters.extend(specs_for::<Ingress>(
        c,
        opts,
        Kind::Ingress,
        false,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::Ingress(o)
        },
    ));
    starters.extend(specs_for::<HTTPProxy>(
        c,
        opts,
        Kind::HTTPProxy,
        true,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::HTTPProxy(o)
        },
    ));
    starters.extend(specs_for::<TLSCertificateDelegation>(
        c,
        opts,
        Kind::TLSCertificateDelegation,
        true,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::TLSCertificateDelegation(o)
        },
    ));
    starters.extend(specs_for::<ExtensionService>(
        c,
        opts,
        Kind::ExtensionService,
        true,
        &base,
        |mut o| {
            strip_managed_fields(&mut o.metadata);
            Object::ExtensionService(o)
        },
    ));
    let referencing = starters
        .iter()
        .filter(|s| REFERENCING.contains(&s.kind))
        .count();
    let (referencing_done, referencing_rx) = tokio::sync::watch::channel(referencing == 0);
    let sync = Arc::new(SyncTracker {
        pending: AtomicUsize::new(starters.len()),
        referencing: AtomicUsize::new(referencing),
        referencing_done,
        tx: tx.clone(),
    });
    info!(watchers = starters.len(), namespaces = ?opts.watch_namespaces, "starting Kubernetes watchers");
    let tasks = starters
        .into_iter()
        .map(|s| (s.start)(tx.clone(), sync.clone(), referencing_rx.clone()))
        .collect();
    SourceHandle { tasks }
}
