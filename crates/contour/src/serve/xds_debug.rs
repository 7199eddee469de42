//! What Envoy has accepted: per-stream ACK state and push-to-ACK latency, from the xDS server's
//! events. Served at `/debug/xds`; the scale benchmark reads it to tell when Envoy has applied a
//! configuration and how long Envoy itself took (the floor under any control plane).

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use contour_xds::{SnapshotStore, XdsEvent, type_url};
use serde_json::{Value, json};

/// Latency samples kept per type (the most recent ones).
const SAMPLES: usize = 4096;

/// One type on one stream. Envoy opens a stream per route configuration, cluster and secret
/// (14,000 at 10,000 HTTPProxies), so this is kept small: no B-tree (a leaf has eleven slots).
#[derive(Default)]
struct TypeState {
    /// Responses not yet answered: nonce and when it was sent (rarely more than one).
    in_flight: Vec<(Box<str>, Instant)>,
    acked_version: Box<str>,
    last_ack_ms: Option<f64>,
}

#[derive(Default)]
struct StreamState {
    /// Shared with the other streams of the same node.
    node: Arc<str>,
    types: Vec<(Cow<'static, str>, TypeState)>,
}

impl StreamState {
    fn type_mut(&mut self, type_url: &str) -> &mut TypeState {
        let at = match self.types.iter().position(|(t, _)| t == type_url) {
            Some(at) => at,
            None => {
                self.types.reserve_exact(1);
                let shared = type_url::shared(type_url);
                self.types.push((shared, TypeState::default()));
                self.types.len() - 1
            }
        };
        &mut self.types[at].1
    }
}

#[derive(Default)]
struct TypeTotals {
    responses: u64,
    resources: u64,
    removed: u64,
    bytes: u64,
    acks: u64,
    nacks: u64,
    /// Push → ACK latencies in milliseconds.
    ack_latency_ms: VecDeque<f64>,
}

#[derive(Default)]
struct Inner {
    streams: BTreeMap<u64, StreamState>,
    /// By type URL (the served ones borrowed: no copy per event).
    totals: BTreeMap<Cow<'static, str>, TypeTotals>,
    /// The node ID last seen, shared by the streams that name it.
    node: Arc<str>,
    /// When the first response of the process was sent (ms since start).
    first_response_ms: Option<f64>,
}

/// Shared view of xDS activity.
pub struct XdsDebug {
    started: Instant,
    inner: Mutex<Inner>,
}

impl XdsDebug {
    /// Starts following `store`'s events.
    pub fn spawn(store: &SnapshotStore, started: Instant) -> Arc<XdsDebug> {
        let debug = Arc::new(XdsDebug {
            started,
            inner: Mutex::default(),
        });
        // Synchronously: a broadcast receiver would miss events when Envoy opens thousands of
        // streams at once, and the view would lack their ACKs.
        let d = debug.clone();
        store.on_event(Arc::new(move |ev| d.record(ev)));
        debug
    }

    fn ms_since_start(&self, t: Instant) -> f64 {
        t.duration_since(self.started).as_secs_f64() * 1000.0
    }

    /// Runs inside every xDS stream: copies only what the view keeps.
    fn record(&self, ev: &XdsEvent) {
        let now = Instant::now();
        let since_start = self.ms_since_start(now);
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let inner = &mut *guard;
        match ev {
            XdsEvent::StreamOpened { stream_id, .. } => {
                inner.streams.entry(*stream_id).or_default();
            }
            XdsEvent::StreamClosed { stream_id, .. } => {
                inner.streams.remove(stream_id);
            }
            XdsEvent::ResponseSent {
                stream_id,
                type_url,
                nonce,
                resources,
                removed,
                bytes,
                ..
            } => {
                inner.first_response_ms.get_or_insert(since_start);
                let t = inner.totals.entry(type_url::shared(type_url)).or_default();
                t.responses += 1;
                t.resources += *resources as u64;
                t.removed += *removed as u64;
                t.bytes += *bytes as u64;
                let s = inner.streams.entry(*stream_id).or_default();
                let in_flight = &mut s.type_mut(type_url).in_flight;
                in_flight.reserve_exact(1);
                in_flight.push((nonce.as_str().into(), now));
            }
            XdsEvent::Ack {
                stream_id,
                type_url,
                version,
                nonce,
                node,
            } => {
                let s = inner.streams.entry(*stream_id).or_default();
                if *s.node != **node {
                    if *inner.node != **node {
                        inner.node = node.as_str().into();
                    }
                    s.node = Arc::clone(&inner.node);
                }
                let ts = s.type_mut(type_url);
                let sent = ts
                    .in_flight
                    .iter()
                    .position(|(n, _)| **n == **nonce)
                    .map(|at| ts.in_flight.swap_remove(at).1);
                ts.in_flight.retain(|(_, at)| *at > sent.unwrap_or(now));
                if ts.in_flight.is_empty() {
                    ts.in_flight = Vec::new();
                }
                if *ts.acked_version != **version {
                    ts.acked_version = version.as_str().into();
                }
                ts.last_ack_ms = Some(since_start);
                let t = inner.totals.entry(type_url::shared(type_url)).or_default();
                t.acks += 1;
                if let Some(sent) = sent {
                    if t.ack_latency_ms.len() == SAMPLES {
                        t.ack_latency_ms.pop_front();
                    }
                    t.ack_latency_ms
                        .push_back(now.duration_since(sent).as_secs_f64() * 1000.0);
                }
            }
            XdsEvent::Nack { type_url, .. } => {
                inner
                    .totals
                    .entry(type_url::shared(type_url))
                    .or_default()
                    .nacks += 1;
            }
        }
    }

    /// `/debug/xds`: current versions, per-stream ACKed versions, totals and ACK latencies.
    pub fn json(&self, store: &SnapshotStore) -> Value {
        let snap = store.snapshot();
        let versions: BTreeMap<&str, Value> = type_url::ALL
            .iter()
            .map(|t| {
                let ts = snap.get(t);
                (
                    *t,
                    json!({"version": ts.version(), "resources": ts.resources().len()}),
                )
            })
            .collect();
        let Ok(inner) = self.inner.lock() else {
            return json!({});
        };
        let streams: Vec<Value> = inner
            .streams
            .iter()
            .map(|(id, s)| {
                let types: BTreeMap<&str, Value> = s
                    .types
                    .iter()
                    .map(|(t, ts)| {
                        (t.as_ref(), json!({"acked_version": ts.acked_version, "last_ack_ms": ts.last_ack_ms}))
                    })
                    .collect();
                json!({"id": id, "node": &*s.node, "types": types})
            })
            .collect();
        let totals: BTreeMap<&str, Value> = inner
            .totals
            .iter()
            .map(|(t, v)| {
                (
                    t.as_ref(),
                    json!({
                        "responses": v.responses, "resources": v.resources, "removed": v.removed,
                        "bytes": v.bytes, "acks": v.acks, "nacks": v.nacks,
                        "ack_latency_ms": v.ack_latency_ms,
                    }),
                )
            })
            .collect();
        json!({
            "uptime_ms": self.ms_since_start(Instant::now()),
            "ready": snap.is_ready(),
            "first_response_ms": inner.first_response_ms,
            "current": versions,
            "streams": streams,
            "totals": totals,
        })
    }
}
