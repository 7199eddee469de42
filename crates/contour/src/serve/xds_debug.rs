//! What Envoy has accepted: per-stream ACK state and push-to-ACK latency, from the xDS server's
//! events. Served at `/debug/xds`; the scale benchmark reads it to tell when Envoy has applied a
//! configuration and how long Envoy itself took (the floor under any control plane).

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use contour_xds::{SnapshotStore, XdsEvent, type_url};
use serde::{Serialize, Serializer};

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

#[derive(Default, Serialize)]
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

    /// `/debug/xds` as JSON bytes: current versions, per-stream ACKed versions, totals and ACK
    /// latencies, then `extra`'s fields. Written straight from the state (no `Value` tree: at
    /// 14,000 streams that tree was ~9 MB for one request).
    pub fn render(&self, store: &SnapshotStore, extra: &impl Serialize) -> Vec<u8> {
        let snap = store.snapshot();
        let current: BTreeMap<&str, Current> = type_url::ALL
            .iter()
            .map(|t| {
                let ts = snap.get(t);
                let (version, resources) = (ts.version(), ts.resources().len());
                (*t, Current { version, resources })
            })
            .collect();
        let Ok(inner) = self.inner.lock() else {
            return b"{}".to_vec();
        };
        let view = View {
            uptime_ms: self.ms_since_start(Instant::now()),
            ready: snap.is_ready(),
            first_response_ms: inner.first_response_ms,
            current,
            streams: Streams(&inner.streams),
            totals: Totals(&inner.totals),
            extra,
        };
        exact_json(&view).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// `value` as JSON in a buffer of exactly its size. At 14,000 streams the view is megabytes;
/// grown by doubling, the buffer's last copy held the old and the new allocation at once
/// (three times the output) on every scrape. Counting first costs a second serialisation.
fn exact_json(value: &impl Serialize) -> serde_json::Result<Vec<u8>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut out = Vec::with_capacity(count.0);
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

#[derive(Serialize)]
struct Current<'a> {
    version: &'a str,
    resources: usize,
}

#[derive(Serialize)]
struct View<'a, E: Serialize> {
    uptime_ms: f64,
    ready: bool,
    first_response_ms: Option<f64>,
    current: BTreeMap<&'a str, Current<'a>>,
    streams: Streams<'a>,
    totals: Totals<'a>,
    #[serde(flatten)]
    extra: &'a E,
}

struct Streams<'a>(&'a BTreeMap<u64, StreamState>);

impl Serialize for Streams<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(id, s)| StreamView {
            id: *id,
            node: &s.node,
            types: Types(&s.types),
        }))
    }
}

#[derive(Serialize)]
struct StreamView<'a> {
    id: u64,
    node: &'a str,
    types: Types<'a>,
}

struct Types<'a>(&'a [(Cow<'static, str>, TypeState)]);

impl Serialize for Types<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&(Cow<'static, str>, TypeState)> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        serializer.collect_map(sorted.into_iter().map(|(t, ts)| {
            let acked = TypeView {
                acked_version: &ts.acked_version,
                last_ack_ms: ts.last_ack_ms,
            };
            (t.as_ref(), acked)
        }))
    }
}

#[derive(Serialize)]
struct TypeView<'a> {
    acked_version: &'a str,
    last_ack_ms: Option<f64>,
}

struct Totals<'a>(&'a BTreeMap<Cow<'static, str>, TypeTotals>);

impl Serialize for Totals<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(t, v)| (t.as_ref(), v)))
    }
}

#[cfg(test)]
mod tests {
    use contour_xds::store::StreamKind;
    use serde_json::Value;

    use super::*;

    fn sent(stream_id: u64, nonce: &str) -> XdsEvent {
        XdsEvent::ResponseSent {
            stream_id,
            type_url: type_url::ROUTE.into(),
            version: "v1".into(),
            nonce: nonce.into(),
            resources: 1,
            removed: 0,
            bytes: 100,
        }
    }

    fn ack(stream_id: u64, nonce: &str) -> XdsEvent {
        XdsEvent::Ack {
            stream_id,
            type_url: type_url::ROUTE.into(),
            version: "v1".into(),
            nonce: nonce.into(),
            node: "envoy-1".into(),
        }
    }

    #[test]
    fn renders_streams_totals_and_extra_fields() {
        let store = SnapshotStore::new();
        let debug = XdsDebug::spawn(&store, Instant::now());
        for id in [1, 2] {
            let (kind, service) = (StreamKind::Sotw, "test");
            debug.record(&XdsEvent::StreamOpened {
                stream_id: id,
                kind,
                service,
            });
        }
        debug.record(&sent(1, "n1"));
        debug.record(&ack(1, "n1"));
        debug.record(&sent(2, "n2"));

        let extra = serde_json::json!({"first_build_ms": 12.5, "build_ms": null});
        let body = debug.render(&store, &extra);
        assert_eq!(
            body.capacity(),
            body.len(),
            "rendered into a buffer of its size"
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["first_build_ms"], 12.5);
        assert!(v["build_ms"].is_null());
        assert_eq!(v["ready"], false);
        assert!(v["current"][type_url::ROUTE]["resources"].is_u64());
        let streams = v["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0]["id"], 1);
        assert_eq!(streams[0]["node"], "envoy-1");
        assert_eq!(streams[0]["types"][type_url::ROUTE]["acked_version"], "v1");
        assert!(streams[0]["types"][type_url::ROUTE]["last_ack_ms"].is_f64());
        assert_eq!(streams[1]["types"][type_url::ROUTE]["acked_version"], "");
        let totals = &v["totals"][type_url::ROUTE];
        assert_eq!(totals["responses"], 2);
        assert_eq!(totals["bytes"], 200);
        assert_eq!(totals["acks"], 1);
        assert_eq!(totals["ack_latency_ms"].as_array().unwrap().len(), 1);
    }
}
