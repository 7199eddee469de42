//! Upstream Contour's gRPC server metrics (go-grpc-prometheus): `grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_msg_received_total` and
//! `grpc_server_msg_sent_total`, labelled `grpc_type`, `grpc_service`, `grpc_method` (and
//! `grpc_code` for handled), pre-initialised to zero for every xDS method as
//! `InitializeMetrics` does.
//!
//! A tower layer around the tonic router: it reads the method from the request path, counts
//! gRPC messages by their 5-byte length prefixes in the request and response bodies, and the
//! status from the `grpc-status` trailer. A stream whose response body is dropped before its
//! trailers (Envoy went away) is counted as `Canceled`, as a Go server sees it.

use std::pin::Pin;
use std::task::{Context, Poll};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tonic::codegen::{Body, Bytes, Service, http};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// go-grpc-prometheus labels (alphabetical, as the Go client writes them). Borrowed from the
/// method table: every stream carries its labels (Envoy opens ~14,000 at 10k HTTPProxies).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub grpc_method: &'static str,
    pub grpc_service: &'static str,
    pub grpc_type: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandledLabels {
    pub grpc_code: &'static str,
    pub grpc_method: &'static str,
    pub grpc_service: &'static str,
    pub grpc_type: &'static str,
}

/// The four counter families.
#[derive(Debug, Clone, Default)]
pub struct GrpcMetrics {
    pub started: Family<MethodLabels, Counter>,
    pub handled: Family<HandledLabels, Counter>,
    pub msg_received: Family<MethodLabels, Counter>,
    pub msg_sent: Family<MethodLabels, Counter>,
}

/// Every method the xDS server registers, by service.
const METHODS: [(&str, &[&str]); 7] = [
    (
        "envoy.service.discovery.v3.AggregatedDiscoveryService",
        &["StreamAggregatedResources", "DeltaAggregatedResources"],
    ),
    (
        "envoy.service.listener.v3.ListenerDiscoveryService",
        &["StreamListeners", "DeltaListeners", "FetchListeners"],
    ),
    (
        "envoy.service.route.v3.RouteDiscoveryService",
        &["StreamRoutes", "DeltaRoutes", "FetchRoutes"],
    ),
    (
        "envoy.service.cluster.v3.ClusterDiscoveryService",
        &["StreamClusters", "DeltaClusters", "FetchClusters"],
    ),
    (
        "envoy.service.endpoint.v3.EndpointDiscoveryService",
        &["StreamEndpoints", "DeltaEndpoints", "FetchEndpoints"],
    ),
    (
        "envoy.service.secret.v3.SecretDiscoveryService",
        &["StreamSecrets", "DeltaSecrets", "FetchSecrets"],
    ),
    (
        "envoy.service.runtime.v3.RuntimeDiscoveryService",
        &["StreamRuntime", "DeltaRuntime", "FetchRuntime"],
    ),
];

/// gRPC status codes by number, named as Go's `codes.Code.String()`.
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

fn grpc_type(method: &str) -> &'static str {
    if method.starts_with("Fetch") {
        "unary"
    } else {
        "bidi_stream"
    }
}

/// The labels of a request path `/<service>/<method>` naming a registered method.
fn labels_of(path: &str) -> Option<MethodLabels> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let (service, methods) = METHODS.iter().find(|(s, _)| *s == service)?;
    let method = methods.iter().find(|m| **m == method)?;
    Some(MethodLabels {
        grpc_method: method,
        grpc_service: service,
        grpc_type: grpc_type(method),
    })
}

fn handled_labels(m: &MethodLabels, code: &'static str) -> HandledLabels {
    HandledLabels {
        grpc_code: code,
        grpc_method: m.grpc_method,
        grpc_service: m.grpc_service,
        grpc_type: m.grpc_type,
    }
}

impl GrpcMetrics {
    /// New counters, zero for every method (and every code of `handled`).
    pub fn new() -> Self {
        let m = GrpcMetrics::default();
        for (service, methods) in METHODS {
            for method in methods {
                let Some(l) = labels_of(&format!("/{service}/{method}")) else {
                    continue;
                };
                let _ = m.started.get_or_create(&l);
                let _ = m.msg_received.get_or_create(&l);
                let _ = m.msg_sent.get_or_create(&l);
                for code in CODES {
                    let _ = m.handled.get_or_create(&handled_labels(&l, code));
                }
            }
        }
        m
    }

    /// Registers the families under upstream's names (the client adds `_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server.",
            self.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            self.handled.clone(),
        );
        registry.register(
            "grpc_server_msg_received",
            "Total number of RPC stream messages received on the server.",
            self.msg_received.clone(),
        );
        registry.register(
            "grpc_server_msg_sent",
            "Total number of gRPC stream messages sent by the server.",
            self.msg_sent.clone(),
        );
    }
}

/// The tower layer; without metrics it only re-boxes bodies.
#[derive(Debug, Clone, Default)]
pub struct GrpcMetricsLayer {
    metrics: Option<GrpcMetrics>,
}

impl GrpcMetricsLayer {
    pub fn new(metrics: Option<GrpcMetrics>) -> Self {
        GrpcMetricsLayer { metrics }
    }
}

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetricsService<S> {
    inner: S,
    metrics: Option<GrpcMetrics>,
}

type ResponseFuture<E> =
    Pin<Box<dyn std::future::Future<Output = Result<http::Response<tonic::body::Body>, E>> + Send>>;

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for GrpcMetricsService<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + Unpin + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let counted = self
            .metrics
            .clone()
            .and_then(|m| labels_of(req.uri().path()).map(|l| (m, l)));
        let Some((metrics, labels)) = counted else {
            let fut = self.inner.call(req);
            return Box::pin(async move { Ok(fut.await?.map(tonic::body::Body::new)) });
        };
        metrics.started.get_or_create(&labels).inc();
        let received = metrics.msg_received.get_or_create(&labels).clone();
        let req = req.map(|b| tonic::body::Body::new(Counted::new(b, received, None)));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let mut handled = Handled {
                handled: metrics.handled.clone(),
                labels,
                done: false,
            };
            // A trailers-only response carries its status in the headers.
            if let Some(code) = resp.headers().get("grpc-status") {
                handled.record(code.to_str().unwrap_or_default());
            }
            let sent = metrics.msg_sent.get_or_create(&labels).clone();
            Ok(resp.map(|b| tonic::body::Body::new(Counted::new(b, sent, Some(handled)))))
        })
    }
}

/// Records the end of one RPC once.
struct Handled {
    handled: Family<HandledLabels, Counter>,
    labels: MethodLabels,
    done: bool,
}

impl Handled {
    fn record(&mut self, status: &str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let code = status
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| CODES.get(n))
            .copied()
            .unwrap_or("Unknown");
        self.handled
            .get_or_create(&handled_labels(&self.labels, code))
            .inc();
    }
}

impl Drop for Handled {
    fn drop(&mut self) {
        self.record("1");
    }
}

/// Counts gRPC messages by their length prefixes (1 flag byte, 4 length bytes).
#[derive(Debug, Default)]
struct Frames {
    header: [u8; 5],
    have: usize,
    remaining: usize,
}

impl Frames {
    /// Messages whose prefix completes in `data`.
    fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut started = 0;
        while !data.is_empty() {
            if self.remaining > 0 {
                let take = self.remaining.min(data.len());
                self.remaining -= take;
                data = &data[take..];
                continue;
            }
            let take = (5 - self.have).min(data.len());
            self.header[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have == 5 {
                started += 1;
                let len = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                self.remaining = len as usize;
                self.have = 0;
            }
        }
        started
    }
}

/// A body whose messages are counted; a response body also records the status.
struct Counted<B> {
    inner: B,
    frames: Frames,
    counter: Counter,
    handled: Option<Handled>,
}

impl<B> Counted<B> {
    fn new(inner: B, counter: Counter, handled: Option<Handled>) -> Self {
        Counted {
            inner,
            frames: Frames::default(),
            counter,
            handled,
        }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let this = &mut *self;
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = this.frames.feed(data);
                    this.counter.inc_by(n);
                } else if let (Some(status), Some(h)) = (
                    frame.trailers_ref().and_then(|t| t.get("grpc-status")),
                    this.handled.as_mut(),
                ) {
                    h.record(status.to_str().unwrap_or_default());
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            out.push(0);
            out.extend_from_slice(&(p.len() as u32).to_be_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    #[test]
    fn frames_are_counted_across_any_split() {
        let bytes = framed(&[b"hello", b"", b"a much longer message body"]);
        for split in 1..bytes.len() {
            let mut f = Frames::default();
            let n: u64 = bytes.chunks(split).map(|c| f.feed(c)).sum();
            assert_eq!(n, 3, "split {split}");
        }
    }

    #[test]
    fn paths_of_registered_methods_only() {
        let l = labels_of(
            "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
        )
        .unwrap();
        assert_eq!(l.grpc_type, "bidi_stream");
        let l = labels_of("/envoy.service.listener.v3.ListenerDiscoveryService/FetchListeners")
            .unwrap();
        assert_eq!(l.grpc_type, "unary");
        assert!(labels_of("/grpc.health.v1.Health/Check").is_none());
        assert!(labels_of("/envoy.service.discovery.v3.AggregatedDiscoveryService/Nope").is_none());
    }

    #[test]
    fn handled_codes_use_go_names_and_record_once() {
        let m = GrpcMetrics::new();
        let labels =
            labels_of("/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes").unwrap();
        let mut h = Handled {
            handled: m.handled.clone(),
            labels,
            done: false,
        };
        h.record("12");
        drop(h);
        let get = |code| {
            m.handled
                .get_or_create(&handled_labels(&labels, code))
                .get()
        };
        assert_eq!(get("Unimplemented"), 1);
        assert_eq!(get("Canceled"), 0, "recorded once");
        drop(Handled {
            handled: m.handled.clone(),
            labels,
            done: false,
        });
        assert_eq!(get("Canceled"), 1, "dropped before a status: canceled");
    }
}
