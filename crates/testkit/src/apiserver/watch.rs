//! Watch streams: newline-delimited JSON `{"type": ..., "object": ...}` events over a chunked
//! response, as the real API server sends them.
//!
//! A watch from resourceVersion N replays the retained changes after N and then follows new
//! ones; N older than the last compaction gets one `ERROR` event with a 410 `Status` and the
//! stream ends (the client must relist). `allowWatchBookmarks` adds periodic `BOOKMARK` events
//! carrying the last resourceVersion this stream has seen. A stream ends on `timeoutSeconds`,
//! when the test drops all watches, or when it falls behind the change feed.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::http::Shared;
use super::selector::Selector;
use super::store::Change;
use super::types::ResourceType;

/// What a watch request asked for.
pub struct WatchRequest {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub fields: Selector,
    pub labels: Selector,
    /// `None` (or "0"): start with the current objects as `ADDED` events.
    pub since: Option<u64>,
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: current objects, then a bookmark marking the end of them.
    pub initial_events: bool,
    pub timeout: Option<Duration>,
}

impl WatchRequest {
    fn wants(&self, c: &Change) -> bool {
        c.resource.0 == self.rt.group
            && c.resource.1 == self.rt.plural
            && self.namespace.as_ref().is_none_or(|n| *n == c.namespace)
            && self.fields.matches(&c.object)
            && self.labels.matches(&c.object)
    }
}

fn line(type_: &str, object: &Value) -> Result<Bytes, Infallible> {
    let mut s = serde_json::to_vec(&json!({"type": type_, "object": object})).unwrap_or_default();
    s.push(b'\n');
    Ok(Bytes::from(s))
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Result<Bytes, Infallible> {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"apiVersion": rt.api_version(), "kind": rt.kind, "metadata": meta}),
    )
}

/// Starts a watch and returns the streaming body.
pub fn start(shared: &Arc<Shared>, req: WatchRequest) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    // Subscribe before looking at the outage flag: a drop or outage that races with this
    // request either is seen here or ends the stream later, never neither.
    let drops = shared.drops.subscribe();
    if shared.outage.load(Ordering::SeqCst) {
        return Body::empty();
    }
    let mut first = Vec::new();
    let opened = {
        let store = shared.lock();
        let since = match req.since {
            Some(rv) if rv > 0 && !req.initial_events => rv,
            _ => {
                let page = store.list(
                    &req.rt,
                    req.namespace.as_deref(),
                    &req.fields,
                    &req.labels,
                    None,
                    None,
                );
                first.extend(page.items.iter().map(|o| line("ADDED", o)));
                if req.initial_events {
                    first.push(bookmark(&req.rt, page.rv, true));
                }
                page.rv
            }
        };
        store
            .watch_from(since)
            .map(|(backlog, rx)| (since, backlog, rx))
    };
    let shared = shared.clone();
    match opened {
        Err(e) => {
            let (code, reason, message) = e.code_reason();
            let status = super::http::status_body(code, reason, message);
            let _ = tx.try_send(line("ERROR", &status));
        }
        Ok((since, backlog, changes)) => {
            tokio::spawn(async move {
                shared.watches.fetch_add(1, Ordering::SeqCst);
                run(req, since, first, backlog, (changes, drops), tx, &shared).await;
                shared.watches.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
    Body::from_stream(ReceiverStream::new(rx))
}

async fn run(
    req: WatchRequest,
    since: u64,
    first: Vec<Result<Bytes, Infallible>>,
    backlog: Vec<Arc<Change>>,
    feeds: (broadcast::Receiver<Arc<Change>>, watch::Receiver<u64>),
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    shared: &Shared,
) {
    let (mut changes, mut drops) = feeds;
    let mut seen = since;
    for chunk in first {
        if tx.send(chunk).await.is_err() {
            return;
        }
    }
    for c in backlog {
        seen = seen.max(c.rv);
        if req.wants(&c) && tx.send(line(c.type_, &c.object)).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::sleep(req.timeout.unwrap_or(Duration::from_secs(3600)));
    tokio::pin!(deadline);
    let mut ticks = tokio::time::interval(shared.bookmark_interval);
    ticks.tick().await;
    loop {
        tokio::select! {
            c = changes.recv() => match c {
                Ok(c) if c.rv <= seen => {}
                Ok(c) => {
                    seen = c.rv;
                    if req.wants(&c) && tx.send(line(c.type_, &c.object)).await.is_err() {
                        return;
                    }
                }
                // Fell behind the feed, or the server is stopping: end the stream; the client
                // resumes from the last resourceVersion it saw.
                Err(_) => return,
            },
            _ = ticks.tick(), if req.bookmarks => {
                if tx.send(bookmark(&req.rt, seen, false)).await.is_err() {
                    return;
                }
            }
            _ = drops.changed() => return,
            _ = &mut deadline => return,
            _ = tx.closed() => return,
        }
    }
}
