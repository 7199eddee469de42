//! Echo backends: HTTP/1.1 servers that describe the request they received.
//!
//! Each answers `200` with a JSON [`EchoReply`] and the header
//! `x-echo-backend: <name>`, so a test can tell which backend Envoy routed to
//! and what Envoy forwarded (path rewrites, added headers, host rewrites).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::ports::bind_unique;

/// Response header naming the backend that answered.
pub const ECHO_HEADER: &str = "x-echo-backend";

/// Request header asking the backend to add a response header: `name: value`, repeatable
/// (e.g. `x-echo-response-header: set-cookie: sid=1; Path=/`).
pub const RESPONSE_HEADER_REQUEST: &str = "x-echo-response-header";

/// The JSON body of every echo response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoReply {
    pub backend: String,
    pub method: String,
    /// Path and query exactly as received.
    pub path: String,
    pub host: String,
    /// Lower-case header names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// HTTP version the request arrived with (`HTTP/1.1`, `HTTP/2.0`).
    #[serde(default)]
    pub version: String,
}

#[derive(Debug)]
pub(crate) struct Shared {
    name: String,
    requests: AtomicU64,
    /// 0 means "answer normally with 200".
    status: AtomicU16,
    delay_ms: AtomicU64,
    /// The next this-many requests answer `fail_status` (then normal behaviour resumes).
    fail_remaining: AtomicU64,
    fail_status: AtomicU16,
    /// The next this-many requests are delayed by `slow_delay_ms` (then no extra delay).
    slow_remaining: AtomicU64,
    slow_delay_ms: AtomicU64,
    /// Connections currently open, and accepted in total.
    open_connections: AtomicU64,
    total_connections: AtomicU64,
}

/// A running echo backend on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct EchoBackend {
    shared: Arc<Shared>,
    port: u16,
    task: Option<JoinHandle<()>>,
}

impl EchoBackend {
    /// Starts a backend that serves HTTPS (HTTP/1.1, and HTTP/2 when the client offers `h2`)
    /// with `cert`, requiring client certificates signed by `client_ca` when given.
    ///
    /// # Errors
    /// When no local port can be bound or the certificate is unusable.
    pub async fn start_tls(
        name: &str,
        cert: &crate::certs::Leaf,
        client_ca: Option<&str>,
    ) -> anyhow::Result<Self> {
        let listener = bind_unique()?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = TcpListener::from_std(listener)?;
        let shared = Self::shared(name);
        let acceptor = crate::tls::server_acceptor(cert, client_ca)?;
        let task = tokio::spawn(crate::tls::accept_loop_tls(
            listener,
            acceptor,
            Arc::clone(&shared),
        ));
        Ok(Self {
            shared,
            port,
            task: Some(task),
        })
    }

    fn shared(name: &str) -> Arc<Shared> {
        Arc::new(Shared {
            name: name.to_string(),
            requests: AtomicU64::new(0),
            status: AtomicU16::new(0),
            delay_ms: AtomicU64::new(0),
            fail_remaining: AtomicU64::new(0),
            fail_status: AtomicU16::new(0),
            slow_remaining: AtomicU64::new(0),
            slow_delay_ms: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
        })
    }

    /// Starts a backend called `name` on a fresh 127.0.0.1 port. Must be
    /// called inside a tokio runtime; the server runs on that runtime.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        let listener = bind_unique()?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = TcpListener::from_std(listener)?;
        let shared = Self::shared(name);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(name, port, "started echo backend");
        Ok(Self {
            shared,
            port,
            task: Some(task),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Answer every request with `status` (still with the JSON body and the
    /// `x-echo-backend` header). `200` restores normal behaviour.
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Delay every answer by `delay` (to exercise timeouts). Zero removes it.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Answer the next `n` requests with `status`, then behave normally again (a backend
    /// that fails the first N times, for retries).
    pub fn fail_next(&self, n: u64, status: u16) {
        self.shared.fail_status.store(status, Ordering::SeqCst);
        self.shared.fail_remaining.store(n, Ordering::SeqCst);
    }

    /// Delay the next `n` requests by `delay`, then answer without that delay again (a
    /// backend slow on its first attempts, for per-try timeouts).
    pub fn slow_next(&self, n: u64, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.slow_delay_ms.store(ms, Ordering::SeqCst);
        self.shared.slow_remaining.store(n, Ordering::SeqCst);
    }

    /// Connections currently open to this backend.
    pub fn open_connections(&self) -> u64 {
        self.shared.open_connections.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn total_connections(&self) -> u64 {
        self.shared.total_connections.load(Ordering::SeqCst)
    }

    /// Stops the server and waits (up to 5 s) until its port refuses connections.
    ///
    /// Dropping the listener is not enough on its own: a process forked by another test
    /// thread holds a copy of every descriptor until it execs, so the port may keep
    /// accepting for a moment after the listener is gone here.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        // The caller's own checks report a port that stays open.
        let _ = crate::http::wait_for_refused(self.port, Duration::from_secs(5)).await;
    }
}

impl Drop for EchoBackend {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in this set: aborting the loop drops them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    shared.total_connections.fetch_add(1, Ordering::SeqCst);
                    shared.open_connections.fetch_add(1, Ordering::SeqCst);
                    let conn_shared = Arc::clone(&shared);
                    let service = service_fn(move |req| handle(Arc::clone(&conn_shared), req));
                    // HTTP/1.1 (with upgrades, for WebSockets) and HTTP/2 with prior knowledge
                    // (h2c), told apart by the connection preface.
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                    shared.open_connections.fetch_sub(1, Ordering::SeqCst);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Adds the response headers asked for with [`RESPONSE_HEADER_REQUEST`].
fn add_requested_headers(request: &hyper::HeaderMap, response: &mut hyper::HeaderMap) {
    for wanted in request.get_all(RESPONSE_HEADER_REQUEST) {
        let Some((name, value)) = wanted.to_str().ok().and_then(|w| w.split_once(':')) else {
            continue;
        };
        let name = hyper::header::HeaderName::from_bytes(name.trim().as_bytes());
        let value = hyper::header::HeaderValue::from_str(value.trim_start());
        if let (Ok(name), Ok(value)) = (name, value) {
            response.append(name, value);
        }
    }
}

/// A WebSocket upgrade: answer 101 and echo every byte back on the upgraded connection (no
/// framing needed: Envoy forwards the upgraded stream as raw bytes).
fn websocket_upgrade(shared: &Shared, req: &mut Request<Incoming>) -> Response<Full<Bytes>> {
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let (mut r, mut w) = tokio::io::split(&mut io);
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&shared.name) {
        h.insert(ECHO_HEADER, v);
    }
    response
}

/// The status to answer with: a scripted failure first, then the fixed status, else 200.
fn next_status(shared: &Shared) -> StatusCode {
    let failing = shared
        .fail_remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let code = if failing {
        shared.fail_status.load(Ordering::SeqCst)
    } else {
        shared.status.load(Ordering::SeqCst)
    };
    match code {
        0 => StatusCode::OK,
        code => StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let is_upgrade = req
        .headers()
        .get(hyper::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if is_upgrade {
        return Ok(websocket_upgrade(&shared, &mut req));
    }
    let version = format!("{:?}", req.version());
    let (parts, body) = req.into_parts();
    // Read the whole body so the connection can be reused.
    let _ = body.collect().await;
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let host = headers
        .get("host")
        .cloned()
        .or_else(|| parts.uri.authority().map(ToString::to_string))
        .unwrap_or_default();
    let reply = EchoReply {
        backend: shared.name.clone(),
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), ToString::to_string),
        host,
        headers,
        version,
    };
    let slow = shared
        .slow_remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let mut delay = shared.delay_ms.load(Ordering::SeqCst);
    if slow {
        delay += shared.slow_delay_ms.load(Ordering::SeqCst);
    }
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let status = next_status(&shared);
    let body = serde_json::to_vec(&reply).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&shared.name) {
        h.insert(ECHO_HEADER, v);
    }
    add_requested_headers(&parts.headers, h);
    Ok(response)
}
