//! The snapshot store: what the xDS server serves.
//!
//! The binary replaces a whole type with [`SnapshotStore::set_type`] after each build, or patches
//! EDS with [`SnapshotStore::update_resources`]. Every change produces a new immutable
//! [`Snapshot`] that is published on a `tokio::sync::watch` channel (for [`SnapshotStore::subscribe`])
//! and wakes the xDS streams (see `wakers`).
//!
//! Versions are content hashes: a type's version is a hash over its resource names and
//! per-resource versions, and a resource's version is a hash of its encoded bytes. Identical input
//! therefore gives an identical version, no change notification and no push.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;

use envoy_types::pb::google::protobuf::Any;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch};

use crate::type_url;
use crate::wakers::StreamWakers;

/// How many events a slow `events()` receiver may lag behind before it misses some.
const EVENT_CAPACITY: usize = 1024;

/// One resource with its version (a hash of its encoded bytes).
///
/// The bytes are held once, here; every response that carries the resource refers to them
/// (see `wire`) rather than copying them.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedResource {
    /// The `google.protobuf.Any` type URL (borrowed for the types contour serves: one copy per
    /// resource would be 30,000 copies at 10,000 HTTPProxies).
    pub type_url: std::borrow::Cow<'static, str>,
    /// The encoded resource (the `Any`'s value).
    pub value: bytes::Bytes,
    /// Hex hash of the type URL and bytes.
    pub version: String,
}

/// A resource handed to the store: its type URL and encoded bytes. The bytes are kept as
/// given, not copied: a producer that holds parts of them (the translator's encoded virtual
/// hosts and filter chains) shares one allocation with the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub type_url: std::borrow::Cow<'static, str>,
    pub value: Bytes,
}

impl Resource {
    pub fn new(type_url: &str, value: Bytes) -> Self {
        Self {
            type_url: type_url::shared(type_url),
            value,
        }
    }
}

impl From<Any> for Resource {
    fn from(any: Any) -> Self {
        Self::new(&any.type_url, any.value.into())
    }
}

impl VersionedResource {
    fn new(resource: Resource) -> Self {
        let version = version_of(&resource.type_url, &resource.value);
        Self {
            type_url: resource.type_url,
            value: resource.value,
            version,
        }
    }

    /// The resource as an `Any` (a copy).
    pub fn resource(&self) -> Any {
        Any {
            type_url: self.type_url.to_string(),
            value: self.value.to_vec(),
        }
    }

    fn holds(&self, resource: &Resource) -> bool {
        // The translator hands an unchanged large resource on as the allocation served: no
        // need to compare its megabytes.
        let same_bytes = (self.value.as_ptr() == resource.value.as_ptr()
            && self.value.len() == resource.value.len())
            || self.value == resource.value;
        self.type_url == resource.type_url && same_bytes
    }
}

/// All resources of one type, with the type's version.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSnapshot {
    version: String,
    resources: BTreeMap<String, Arc<VersionedResource>>,
    whole: WholeType,
}

/// Every resource of a type encoded as the `resources` fields of a response, built when a
/// wildcard subscription is answered and shared by every response in flight at the same time
/// (200 ADS clients getting 10,000 clusters hold one copy, not 200); freed with the last of
/// them, so a snapshot costs nothing extra once its responses are sent.
#[derive(Default)]
struct WholeType(Mutex<Weak<crate::wire::Block>>);

impl WholeType {
    fn get(&self, resources: &BTreeMap<String, Arc<VersionedResource>>) -> Vec<Bytes> {
        let mut cell = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let block = cell.upgrade().unwrap_or_else(|| {
            let block = Arc::new(crate::wire::Block::new(resources.values()));
            *cell = Arc::downgrade(&block);
            block
        });
        crate::wire::Block::chunks(&block)
    }
}

impl std::fmt::Debug for WholeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WholeType")
    }
}

/// A cache: equal types are equal whatever was encoded.
impl PartialEq for WholeType {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A clone starts without an encoding (it is rebuilt on demand).
impl Clone for WholeType {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Default for TypeSnapshot {
    fn default() -> Self {
        Self::from_resources(BTreeMap::new())
    }
}

impl TypeSnapshot {
    fn from_resources(resources: BTreeMap<String, Arc<VersionedResource>>) -> Self {
        let mut hasher = Sha256::new();
        for (name, res) in &resources {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(res.version.as_bytes());
            hasher.update([0]);
        }
        let version = short_hex(&hasher.finalize());
        Self {
            version,
            resources,
            whole: WholeType::default(),
        }
    }

    /// Every resource as the `resources` fields of a response (see [`WholeType`]).
    pub(crate) fn whole(&self) -> Vec<Bytes> {
        self.whole.get(&self.resources)
    }

    #[cfg(test)]
    pub(crate) fn whole_is_held(&self) -> bool {
        let cell = self.whole.0.lock().unwrap_or_else(PoisonError::into_inner);
        cell.strong_count() > 0
    }

    /// The type's version (a content hash; identical content gives the identical version).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Resources by name, sorted.
    pub fn resources(&self) -> &BTreeMap<String, Arc<VersionedResource>> {
        &self.resources
    }

    /// One resource by name.
    pub fn get(&self, name: &str) -> Option<&Arc<VersionedResource>> {
        self.resources.get(name)
    }
}

/// An immutable view of everything the store holds at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    ready: bool,
    types: BTreeMap<String, Arc<TypeSnapshot>>,
    empty: Arc<TypeSnapshot>,
}

impl Snapshot {
    /// Whether [`SnapshotStore::set_ready`] was called; nothing is served before that.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The resources of one type; an unknown type is empty.
    pub fn get(&self, type_url: &str) -> &Arc<TypeSnapshot> {
        self.types.get(type_url).unwrap_or(&self.empty)
    }

    /// Builds a ready snapshot directly (for tests of the protocol cores).
    pub fn from_types(ready: bool, types: BTreeMap<String, BTreeMap<String, Any>>) -> Self {
        let types = types
            .into_iter()
            .map(|(t, res)| (t, Arc::new(TypeSnapshot::from_resources(versioned(res)))))
            .collect();
        Self {
            ready,
            types,
            empty: Arc::default(),
        }
    }
}

/// Whether a stream speaks state-of-the-world or delta xDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// State-of-the-world.
    Sotw,
    /// Incremental (delta).
    Delta,
}

/// What happens on the xDS server, for the binary to count and log.
#[derive(Debug, Clone, PartialEq)]
pub enum XdsEvent {
    /// A client opened a stream. `service` is the gRPC service name, e.g. "ads" or "cds".
    StreamOpened {
        stream_id: u64,
        kind: StreamKind,
        service: &'static str,
    },
    /// A stream ended (client gone, error or shutdown); its state was dropped.
    StreamClosed {
        stream_id: u64,
        kind: StreamKind,
        node: String,
    },
    /// A response was sent.
    ResponseSent {
        stream_id: u64,
        type_url: String,
        version: String,
        nonce: String,
        resources: usize,
        removed: usize,
        bytes: usize,
    },
    /// The client accepted a response.
    Ack {
        stream_id: u64,
        type_url: String,
        version: String,
        nonce: String,
        node: String,
    },
    /// The client rejected a response. `version` is the last version it accepted.
    Nack {
        stream_id: u64,
        type_url: String,
        version: String,
        nonce: String,
        message: String,
        node: String,
    },
}

/// Simple counters, see [`SnapshotStore::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XdsStats {
    pub acks: u64,
    pub nacks: u64,
    pub responses_sent: u64,
    pub streams_opened: u64,
    pub streams_active: u64,
    /// Responses sent per type URL.
    pub responses_by_type: BTreeMap<String, u64>,
    /// Encoded response bytes sent per type URL.
    pub bytes_by_type: BTreeMap<String, u64>,
    /// NACKs received per type URL.
    pub nacks_by_type: BTreeMap<String, u64>,
}

/// A consumer of every event, called where the event happens (see [`SnapshotStore::on_event`]).
pub type EventSink = Arc<dyn Fn(&XdsEvent) + Send + Sync>;

struct Inner {
    current: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<XdsEvent>,
    sinks: std::sync::RwLock<Vec<EventSink>>,
    stats: Mutex<XdsStats>,
    next_stream_id: AtomicU64,
    /// The open streams' wakers (see `wakers`): woken on each published snapshot.
    wakers: StreamWakers,
}

/// The snapshot store. Cheap to clone; all clones share the same state.
#[derive(Clone)]
pub struct SnapshotStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot();
        f.debug_struct("SnapshotStore")
            .field("ready", &snap.ready)
            .field("types", &snap.types.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for SnapshotStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotStore {
    /// An empty, not yet ready store.
    pub fn new() -> Self {
        let (current, _) = watch::channel(Arc::new(Snapshot::default()));
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                current,
                events,
                sinks: std::sync::RwLock::default(),
                stats: Mutex::new(XdsStats::default()),
                next_stream_id: AtomicU64::new(1),
                wakers: StreamWakers::default(),
            }),
        }
    }

    /// Replaces all resources of one type. Returns whether anything changed; the type's version
    /// and the change notification only move when the content changed.
    pub fn set_type<R: Into<Resource>>(
        &self,
        type_url: &str,
        resources: BTreeMap<String, R>,
    ) -> bool {
        self.set_types(BTreeMap::from([(type_url.to_string(), resources)]))
    }

    /// Replaces all resources of several types in one snapshot, so a stream never sees some of
    /// them updated and others not (e.g. a new listener before its new cluster). Types not named
    /// are left alone. Returns whether anything changed.
    pub fn set_types<R: Into<Resource>>(
        &self,
        types: BTreeMap<String, BTreeMap<String, R>>,
    ) -> bool {
        let current = self.snapshot();
        let next: Vec<(String, TypeSnapshot)> = types
            .into_iter()
            .map(|(t, res)| {
                let typ = TypeSnapshot::from_resources(versioned_like(res, current.get(&t)));
                (t, typ)
            })
            .collect();
        self.modify(|snap| {
            let mut changed = Vec::new();
            for (type_url, typ) in next {
                if snap.get(&type_url).version != typ.version {
                    changed.push((type_url, typ));
                }
            }
            changed
        })
    }

    /// Adds or replaces `upserts` and deletes `removals` in one type (EDS incremental updates).
    /// Returns whether anything changed.
    pub fn update_resources<R: Into<Resource>>(
        &self,
        type_url: &str,
        upserts: BTreeMap<String, R>,
        removals: &[String],
    ) -> bool {
        let upserts = versioned_like(upserts, self.snapshot().get(type_url));
        self.modify(|snap| {
            let current = snap.get(type_url);
            let mut resources = current.resources.clone();
            for name in removals {
                resources.remove(name);
            }
            resources.extend(upserts);
            let next = TypeSnapshot::from_resources(resources);
            if next.version == current.version {
                return Vec::new();
            }
            vec![(type_url.to_string(), next)]
        })
    }

    /// Publishes the types `f` returns (computed from the current snapshot, under the lock, so
    /// concurrent writers do not lose updates); no publication when it returns nothing.
    fn modify(&self, f: impl FnOnce(&Snapshot) -> Vec<(String, TypeSnapshot)>) -> bool {
        let mut published = Vec::new();
        let changed = self.inner.current.send_if_modified(|snap| {
            let changes = f(snap);
            if changes.is_empty() {
                return false;
            }
            let mut updated = Snapshot::clone(snap);
            for (type_url, typ) in changes {
                published.push((type_url.clone(), typ.version.clone(), typ.resources.len()));
                updated.types.insert(type_url, Arc::new(typ));
            }
            *snap = Arc::new(updated);
            true
        });
        if changed {
            self.inner.wakers.published();
        }
        for (type_url, version, resources) in published {
            tracing::debug!(type_url, version, resources, "xDS snapshot updated");
        }
        changed
    }

    /// Marks the store ready: streams start receiving resources. Idempotent.
    pub fn set_ready(&self) {
        let changed = self.inner.current.send_if_modified(|snap| {
            if snap.ready {
                return false;
            }
            let mut updated = Snapshot::clone(snap);
            updated.ready = true;
            *snap = Arc::new(updated);
            true
        });
        if changed {
            self.inner.wakers.published();
            tracing::info!("xDS snapshot ready, serving resources");
        }
    }

    /// Whether [`Self::set_ready`] was called.
    pub fn is_ready(&self) -> bool {
        self.inner.current.borrow().ready
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.inner.current.borrow())
    }

    /// A receiver that is notified on every change of the snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.inner.current.subscribe()
    }

    /// Events (stream opened/closed, responses, ACKs, NACKs) from now on. A receiver that falls
    /// more than 1,024 events behind misses some (Envoy opening 14,000 streams at once does
    /// that): what must see every event registers with [`Self::on_event`].
    pub fn events(&self) -> broadcast::Receiver<XdsEvent> {
        self.inner.events.subscribe()
    }

    /// Calls `sink` with every event from now on, on the stream that caused it, before the
    /// event is broadcast. Keep it short: it runs inside every xDS stream.
    pub fn on_event(&self, sink: EventSink) {
        self.inner
            .sinks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sink);
    }

    /// A copy of the counters.
    pub fn stats(&self) -> XdsStats {
        self.lock_stats().clone()
    }

    /// The streams' wake-up registry: bumped and woken on every published snapshot.
    pub(crate) fn wakers(&self) -> &StreamWakers {
        &self.inner.wakers
    }

    pub(crate) fn next_stream_id(&self) -> u64 {
        self.inner.next_stream_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, XdsStats> {
        self.inner
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts, logs and broadcasts one event.
    pub(crate) fn record(&self, event: XdsEvent) {
        log_event(&event);
        {
            let mut stats = self.lock_stats();
            match &event {
                XdsEvent::StreamOpened { .. } => {
                    stats.streams_opened += 1;
                    stats.streams_active += 1;
                }
                XdsEvent::StreamClosed { .. } => {
                    stats.streams_active = stats.streams_active.saturating_sub(1);
                }
                XdsEvent::ResponseSent {
                    type_url, bytes, ..
                } => {
                    stats.responses_sent += 1;
                    *stats.responses_by_type.entry(type_url.clone()).or_default() += 1;
                    *stats.bytes_by_type.entry(type_url.clone()).or_default() += *bytes as u64;
                }
                XdsEvent::Ack { .. } => stats.acks += 1,
                XdsEvent::Nack { type_url, .. } => {
                    stats.nacks += 1;
                    *stats.nacks_by_type.entry(type_url.clone()).or_default() += 1;
                }
            }
        }
        for sink in self
            .inner
            .sinks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            sink(&event);
        }
        // No receivers is fine: nobody is listening.
        let _ = self.inner.events.send(event);
    }
}

fn log_event(event: &XdsEvent) {
    match event {
        XdsEvent::Nack {
            stream_id,
            type_url,
            version,
            nonce,
            message,
            node,
        } => tracing::warn!(
            stream_id,
            type_url,
            version,
            nonce,
            error_detail = message,
            node,
            "Envoy rejected configuration"
        ),
        XdsEvent::Ack {
            stream_id,
            type_url,
            version,
            nonce,
            node,
        } => tracing::debug!(
            stream_id,
            type_url,
            version,
            nonce,
            node,
            "Envoy accepted configuration"
        ),
        XdsEvent::ResponseSent {
            stream_id,
            type_url,
            version,
            nonce,
            resources,
            removed,
            bytes,
        } => tracing::debug!(
            stream_id,
            type = type_url::short_name(type_url),
            version,
            nonce,
            resources,
            removed,
            bytes,
            "sent xDS response"
        ),
        XdsEvent::StreamOpened {
            stream_id,
            kind,
            service,
        } => tracing::debug!(stream_id, ?kind, service, "xDS stream opened"),
        XdsEvent::StreamClosed {
            stream_id,
            kind,
            node,
        } => tracing::debug!(stream_id, ?kind, node, "xDS stream closed"),
    }
}

/// [`versioned`], reusing the entries of `current` whose bytes are unchanged: comparing bytes is
/// much cheaper than hashing them, and a build mostly republishes what is already served.
fn versioned_like<R: Into<Resource>>(
    resources: BTreeMap<String, R>,
    current: &TypeSnapshot,
) -> BTreeMap<String, Arc<VersionedResource>> {
    resources
        .into_iter()
        .map(|(name, resource)| {
            let resource = resource.into();
            let entry = match current.resources.get(&name) {
                Some(cur) if cur.holds(&resource) => Arc::clone(cur),
                _ => Arc::new(VersionedResource::new(resource)),
            };
            (name, entry)
        })
        .collect()
}

fn versioned(resources: BTreeMap<String, Any>) -> BTreeMap<String, Arc<VersionedResource>> {
    resources
        .into_iter()
        .map(|(name, resource)| (name, Arc::new(VersionedResource::new(resource.into()))))
        .collect()
}

/// The version of one resource: a hash of its type URL and encoded bytes.
pub fn resource_version(resource: &Any) -> String {
    version_of(&resource.type_url, &resource.value)
}

fn version_of(type_url: &str, value: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(type_url.as_bytes());
    hasher.update([0]);
    hasher.update(value);
    short_hex(&hasher.finalize())
}

fn short_hex(digest: &[u8]) -> String {
    hex::encode(&digest[..digest.len().min(8)])
}

#[cfg(test)]
mod tests;
