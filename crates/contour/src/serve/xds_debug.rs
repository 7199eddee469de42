//! What Envoy has accepted: per-stream ACK state and push-to-ACK latency, from the xDS server's
//! events. Served at `/debug/xds`; the scale benchmark reads it to tell when Envoy has applied a
//! configuration and how long Envoy itself took (the floor under any control plane).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use contour_xds::{SnapshotStore, XdsEvent};
use serde_json::{Value, json};

/// Latency samples kept per type (the most recent ones).
const SAMPLES: usize = 4096;

#[derive(Default)]
struct TypeState {
    /// Nonce → when it was sent, for responses not yet answered.
    in_flight: BTreeMap<String, Instant>,
    acked_version: String,
    last_ack_ms: Option<f64>,
}

#[derive(Default)]
struct StreamState {
    node: String,
    types: BTreeMap<String, TypeState>,
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
    totals: BTreeMap<String, TypeTotals>,
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
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
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
                let t = inner.totals.entry(type_url.clone()).or_default();
                t.responses += 1;
                t.resources += *resources as u64;
                t.removed += *removed as u64;
                t.bytes += *bytes as u64;
                let s = inner.streams.entry(*stream_id).or_default();
                s.types
                    .entry(type_url.clone())
                    .or_default()
                    .in_flight
                    .insert(nonce.clone(), now);
            }
            XdsEvent::Ack {
                stream_id,
                type_url,
                version,
                nonce,
                node,
            } => {
                let s = inner.streams.entry(*stream_id).or_default();
                if s.node != *node {
                    s.node.clone_from(node);
                }
                let ts = s.types.entry(type_url.clone()).or_default();
                let sent = ts.in_flight.remove(nonce);
                ts.in_flight.retain(|_, at| *at > sent.unwrap_or(now));
                ts.acked_version.clone_from(version);
                ts.last_ack_ms = Some(since_start);
                let t = inner.totals.entry(type_url.clone()).or_default();
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
                inner.totals.entry(type_url.clone()).or_default().nacks += 1;
            }
        }
    }

    /// `/debug/xds`: current versions, per-stream ACKed versions, totals and ACK latencies.
    pub fn json(&self, store: &SnapshotStore) -> Value {
        let snap = store.snapshot();
        let versions: BTreeMap<&str, Value> = contour_xds::type_url::ALL
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
                        (t.as_str(), json!({"acked_version": ts.acked_version, "last_ack_ms": ts.last_ack_ms}))
                    })
                    .collect();
                json!({"id": id, "node": s.node, "types": types})
            })
            .collect();
        let totals: BTreeMap<&str, Value> = inner
            .totals
            .iter()
            .map(|(t, v)| {
                (
                    t.as_str(),
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
