//! A small HTTP/1.1 client for sending test traffic through Envoy.
//!
//! Every request uses a fresh connection to 127.0.0.1:port, so a test sees
//! the configuration Envoy has at that moment (no pooled connection pinned to
//! an old listener or filter chain).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::echo::{ECHO_HEADER, EchoReply};
use crate::wait::poll_until;

/// Default limit for one request, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A received response, body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// A header's value, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Errors
    /// When the body is not JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("response body is not JSON: {:?}", self.text()))
    }

    /// The body parsed as an echo backend's reply.
    ///
    /// # Errors
    /// When the body is not an echo reply (for example an Envoy error page).
    pub fn echo(&self) -> anyhow::Result<EchoReply> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "not an echo reply (status {}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Name of the echo backend that answered (its `x-echo-backend` header).
    pub fn backend(&self) -> Option<&str> {
        self.header(ECHO_HEADER)
    }
}

/// An HTTP/1.1 request to send to a local port.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub host: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub timeout: Duration,
}

impl Request {
    pub fn new(method: Method, host: &str, path: &str) -> Self {
        Self {
            method,
            host: host.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    pub fn get(host: &str, path: &str) -> Self {
        Self::new(Method::GET, host, path)
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the request on a new connection to 127.0.0.1:`port`.
    ///
    /// # Errors
    /// When connecting fails, the request is malformed, or it takes longer
    /// than its timeout.
    pub async fn send(&self, port: u16) -> anyhow::Result<Response> {
        tokio::time::timeout(self.timeout, self.send_inner(port))
            .await
            .map_err(|_| {
                anyhow!(
                    "{} {} on port {port} timed out after {:?}",
                    self.method,
                    self.path,
                    self.timeout
                )
            })?
    }

    async fn send_inner(&self, port: u16) -> anyhow::Result<Response> {
        let stream = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let conn = tokio::spawn(conn);
        let mut builder = hyper::Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header(hyper::header::HOST, &self.host);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(self.body.clone()))
            .context("building the request")?;
        let response = sender.send_request(request).await;
        let result = match response {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = body.collect().await.context("reading the body")?.to_bytes();
                Ok(Response {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body,
                })
            }
            Err(err) => {
                Err(anyhow!(err).context(format!("{} {} on port {port}", self.method, self.path)))
            }
        };
        conn.abort();
        result
    }
}

/// `GET path` with `Host: host` to 127.0.0.1:`port` on a fresh connection.
///
/// # Errors
/// As for [`Request::send`].
pub async fn http_get(port: u16, host: &str, path: &str) -> anyhow::Result<Response> {
    Request::get(host, path).send(port).await
}

/// True when nothing listens on 127.0.0.1:`port` (the connection is refused).
pub fn connect_refused(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(_) => false,
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionRefused,
    }
}

/// Polls [`connect_refused`] until it holds.
///
/// A listener just closed may still accept for a moment: a process that another thread
/// is forking holds a copy of every open descriptor until it execs.
///
/// # Errors
/// When `timeout` passes first.
pub async fn wait_for_refused(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let what = format!("port {port} to refuse connections");
    poll_until(timeout, &what, || {
        std::future::ready(connect_refused(port).then_some(()))
    })
    .await
}

/// Polls `request` against `port` until `accept` says yes; returns that response.
///
/// # Errors
/// On timeout; the message includes the last response or error seen.
pub async fn wait_for_response(
    port: u16,
    request: &Request,
    timeout: Duration,
    what: &str,
    accept: impl Fn(&Response) -> bool,
) -> anyhow::Result<Response> {
    let last = Mutex::new(String::from("no attempt finished"));
    let accept = &accept;
    let last_ref = &last;
    let outcome = poll_until(timeout, what, || async move {
        let seen = match request
            .clone()
            .timeout(Duration::from_secs(2))
            .send(port)
            .await
        {
            Ok(resp) if accept(&resp) => return Some(resp),
            Ok(resp) => format!(
                "status {} from {:?}: {:.300}",
                resp.status,
                resp.backend(),
                resp.text()
            ),
            Err(err) => format!("{err:#}"),
        };
        *last_ref
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = seen;
        None
    })
    .await;
    match outcome {
        Ok(resp) => Ok(resp),
        Err(err) => {
            let last = last
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            bail!("{err}; last seen: {last}")
        }
    }
}

/// Waits until `GET host path` on `port` answers `status`.
///
/// # Errors
/// As for [`wait_for_response`].
pub async fn wait_for_status(
    port: u16,
    host: &str,
    path: &str,
    status: u16,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let what = format!("GET {host}{path} on port {port} to answer {status}");
    wait_for_response(port, &Request::get(host, path), timeout, &what, |r| {
        r.status == status
    })
    .await
}

/// Waits until `GET host path` on `port` is answered (200) by echo backend `backend`.
///
/// # Errors
/// As for [`wait_for_response`].
pub async fn wait_for_backend(
    port: u16,
    host: &str,
    path: &str,
    backend: &str,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let what = format!("GET {host}{path} on port {port} to reach backend {backend:?}");
    wait_for_response(port, &Request::get(host, path), timeout, &what, |r| {
        r.status == 200 && r.backend() == Some(backend)
    })
    .await
}
