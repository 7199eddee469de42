//! One kube-rs watcher (one kind, one namespace or all) turned into [`SourceEvent`]s.
//!
//! A (re)list is `Init`, `InitApply`*, `InitDone`: listed objects are sent as upserts as they
//! arrive, and only at `InitDone` are the objects that were not listed again deleted. A relist
//! after a 410 Gone therefore never removes a route that is still valid, not even briefly.
//! Errors are retried with kube-rs's default backoff; the first of a series is logged as a
//! warning, the recovery as info.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use contour_dag::{Kind, Object, ObjectKey, SourceEvent};
use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::SyncTracker;

/// What one watcher watches and how its objects become [`Object`]s.
pub struct WatchSpec<K> {
    pub api: Api<K>,
    pub config: watcher::Config,
    pub kind: Kind,
    /// `""` for all namespaces.
    pub namespace: String,
    /// A CustomResourceDefinition kind: a 404 on the first list means it is not installed.
    pub crd: bool,
    pub convert: fn(K) -> Object,
}

/// Whether the error is a 404 from the API server (the resource type does not exist).
fn is_not_found(e: &watcher::Error) -> bool {
    let client_err = match e {
        watcher::Error::InitialListFailed(c)
        | watcher::Error::WatchStartFailed(c)
        | watcher::Error::WatchFailed(c) => c,
        _ => return false,
    };
    matches!(client_err, kube::Error::Api(s) if s.code == 404)
}

struct Relist {
    known: BTreeSet<ObjectKey>,
    listing: Option<BTreeSet<ObjectKey>>,
}

/// Runs the watcher until the event loop goes away.
pub async fn run<K>(spec: WatchSpec<K>, tx: mpsc::Sender<SourceEvent>, sync: Arc<SyncTracker>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let WatchSpec {
        api,
        config,
        kind,
        namespace,
        crd,
        convert,
    } = spec;
    let stream = watcher::watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let mut state = Relist {
        known: BTreeSet::new(),
        listing: None,
    };
    let mut synced = false;
    let mut failing = false;
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(ev) => ev,
            Err(e) if crd && !synced && is_not_found(&e) => {
                warn!(%kind, "CustomResourceDefinition not installed; ignoring this kind");
                sync.done(kind).await;
                return;
            }
            Err(e) => {
                if failing {
                    debug!(%kind, namespace, error = %e, "watch still failing");
                } else {
                    warn!(%kind, namespace, error = %e, "watch failed; retrying with backoff");
                }
                failing = true;
                continue;
            }
        };
        if std::mem::take(&mut failing) {
            info!(%kind, namespace, "watch resumed");
        }
        let init_done = matches!(event, Event::InitDone);
        if !apply(event, &mut state, convert, &tx).await {
            return;
        }
        if init_done && !std::mem::replace(&mut synced, true) {
            debug!(%kind, namespace, objects = state.known.len(), "initial list done");
            sync.done(kind).await;
        }
    }
}

/// Sends what one watcher event means; false when the event loop is gone.
async fn apply<K>(
    event: Event<K>,
    state: &mut Relist,
    convert: fn(K) -> Object,
    tx: &mpsc::Sender<SourceEvent>,
) -> bool {
    let send = |ev| tx.send(ev);
    match event {
        Event::Init => {
            state.listing = Some(BTreeSet::new());
            true
        }
        Event::InitApply(o) => {
            let obj = convert(o);
            state.listing.get_or_insert_default().insert(obj.key());
            send(SourceEvent::Upsert(obj)).await.is_ok()
        }
        Event::InitDone => {
            let listed = state.listing.take().unwrap_or_default();
            for gone in state.known.difference(&listed) {
                if send(SourceEvent::Delete(gone.clone())).await.is_err() {
                    return false;
                }
            }
            state.known = listed;
            true
        }
        Event::Apply(o) => {
            let obj = convert(o);
            state.known.insert(obj.key());
            send(SourceEvent::Upsert(obj)).await.is_ok()
        }
        Event::Delete(o) => {
            let key = convert(o).key();
            state.known.remove(&key);
            send(SourceEvent::Delete(key)).await.is_ok()
        }
    }
}
