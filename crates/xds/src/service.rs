//! The gRPC services and their routing: each stream is handed to a driver (see `stream`).
//!
//! [`XdsService`] serves the aggregated service (ADS, SotW and delta) and the per-type services
//! (LDS, RDS, CDS, EDS, SDS, RTDS, each with SotW and delta streams), all described by one
//! table ([`SERVICES`]). [`Router`] is the HTTP/2 connection's service: it reads the method from
//! the request path and answers with the stream's body, with no framework in between, so that
//! what a stream costs is its own state (Envoy opens ~14,000 at 10k HTTPProxies): tonic's
//! router, layers and codec would each add a future, a box or a buffer to every stream. The
//! message framing is ours for the same reason (see `grpc`). Per-type services reject requests
//! for other types. `Fetch*` (REST-style polling) is not supported.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use hyper::body::Incoming;
use tonic::Status;

use crate::delta::DeltaStream;
use crate::grpc::Requests;
use crate::metrics::{GrpcMetrics, MethodCounters};
use crate::sotw::SotwStream;
use crate::store::SnapshotStore;
use crate::stream::{self, FrameStream, StreamContext};
use crate::type_url;

/// Message size limits of every stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_decoding_message_size: usize,
    pub max_encoding_message_size: usize,
}

/// All xDS services over one [`SnapshotStore`]. Cheap to clone.
#[derive(Clone)]
pub struct XdsService {
    store: SnapshotStore,
    /// Set by [`Self::close_streams`].
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for XdsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdsService").finish_non_exhaustive()
    }
}

impl XdsService {
    pub fn new(store: SnapshotStore) -> Self {
        Self {
            store,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Ends every open stream; streams opened afterwards end at once. Used on shutdown, because
    /// xDS streams never finish by themselves and would hold a graceful stop forever.
    pub fn close_streams(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.store.wakers().wake_all();
    }

    fn context(
        &self,
        spec: &'static ServiceSpec,
        limits: Limits,
        counters: Option<Arc<MethodCounters>>,
    ) -> StreamContext {
        StreamContext {
            store: self.store.clone(),
            closed: Arc::clone(&self.closed),
            spec,
            max_encoding_message_size: limits.max_encoding_message_size,
            counters,
        }
    }
}

/// One gRPC service of the xDS API.
pub(crate) struct ServiceSpec {
    /// The gRPC service name, e.g. `envoy.service.cluster.v3.ClusterDiscoveryService`.
    pub name: &'static str,
    /// The short name used in events and logs, e.g. `cds`.
    pub short: &'static str,
    /// The state-of-the-world method, e.g. `StreamClusters`.
    pub stream: &'static str,
    /// The delta method, e.g. `DeltaClusters`.
    pub delta: &'static str,
    /// The REST-style method (answered as unimplemented), e.g. `FetchClusters`.
    pub fetch: Option<&'static str>,
    /// The only type served (per-type services), or `None` for ADS.
    pub only_type: Option<&'static str>,
}

/// Declares one service.
macro_rules! spec {
    ($name:literal, $short:literal, $stream:literal, $delta:literal, $fetch:expr, $only:expr) => {
        ServiceSpec {
            name: $name,
            short: $short,
            stream: $stream,
            delta: $delta,
            fetch: $fetch,
            only_type: $only,
        }
    };
}

/// Every service the xDS server registers.
pub(crate) const SERVICES: [ServiceSpec; 8] = [
    spec!(
        "envoy.service.discovery.v3.AggregatedDiscoveryService",
        "ads",
        "StreamAggregatedResources",
        "DeltaAggregatedResources",
        None,
        None
    ),
    spec!(
        "envoy.service.listener.v3.ListenerDiscoveryService",
        "lds",
        "StreamListeners",
        "DeltaListeners",
        Some("FetchListeners"),
        Some(type_url::LISTENER)
    ),
    spec!(
        "envoy.service.route.v3.RouteDiscoveryService",
        "rds",
        "StreamRoutes",
        "DeltaRoutes",
        Some("FetchRoutes"),
        Some(type_url::ROUTE)
    ),
    spec!(
        "envoy.service.cluster.v3.ClusterDiscoveryService",
        "cds",
        "StreamClusters",
        "DeltaClusters",
        Some("FetchClusters"),
        Some(type_url::CLUSTER)
    ),
    spec!(
        "envoy.service.endpoint.v3.EndpointDiscoveryService",
        "eds",
        "StreamEndpoints",
        "DeltaEndpoints",
        Some("FetchEndpoints"),
        Some(type_url::ENDPOINT)
    ),
    spec!(
        "envoy.service.secret.v3.SecretDiscoveryService",
        "sds",
        "StreamSecrets",
        "DeltaSecrets",
        Some("FetchSecrets"),
        Some(type_url::SECRET)
    ),
    spec!(
        "envoy.service.route.v3.ScopedRoutesDiscoveryService",
        "srds",
        "StreamScopedRoutes",
        "DeltaScopedRoutes",
        Some("FetchScopedRoutes"),
        Some(type_url::SCOPED_ROUTE)
    ),
    spec!(
        "envoy.service.runtime.v3.RuntimeDiscoveryService",
        "rtds",
        "StreamRuntime",
        "DeltaRuntime",
        Some("FetchRuntime"),
        Some(type_url::RUNTIME)
    ),
];

/// The service of every HTTP/2 connection: routes a request by its path to a stream. Cheap to
/// clone (one per connection).
#[derive(Clone)]
pub(crate) struct Router {
    xds: XdsService,
    limits: Limits,
    metrics: Option<GrpcMetrics>,
}

impl Router {
    pub(crate) fn new(xds: XdsService, limits: Limits, metrics: Option<GrpcMetrics>) -> Self {
        Self {
            xds,
            limits,
            metrics,
        }
    }

    fn route(&self, req: http::Request<Incoming>) -> http::Response<GrpcBody> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return Status::unimplemented(format!("unknown path {path}")).into_http();
        };
        let Some(spec) = SERVICES.iter().find(|s| s.name == service) else {
            return Status::unimplemented(format!("unknown service {service}")).into_http();
        };
        let counters = self
            .metrics
            .as_ref()
            .and_then(|m| m.method(service, method));
        if let Some(c) = &counters {
            c.started();
        }
        if method == spec.stream || method == spec.delta {
            let ctx = self.xds.context(spec, self.limits, counters);
            let body = tonic::body::Body::new(body);
            let max = self.limits.max_decoding_message_size;
            let frames = if method == spec.stream {
                stream::respond(ctx, SotwStream::new(), Requests::new(body, max))
            } else {
                stream::respond(ctx, DeltaStream::new(), Requests::new(body, max))
            };
            return streaming(frames);
        }
        let unsupported = if Some(method) == spec.fetch {
            Status::unimplemented("fetch is not supported; use a stream")
        } else {
            Status::unimplemented(format!("unknown method {method}"))
        };
        if let Some(c) = &counters {
            c.handled(unsupported.code());
        }
        unsupported.into_http()
    }
}

impl hyper::service::Service<http::Request<Incoming>> for Router {
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        ready(Ok(self.route(req)))
    }
}

/// A gRPC response body: a stream's messages and trailers, or nothing (trailers-only).
#[derive(Default)]
pub(crate) enum GrpcBody {
    Stream(FrameStream),
    #[default]
    Empty,
}

impl Body for GrpcBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match self.get_mut() {
            GrpcBody::Stream(frames) => futures::Stream::poll_next(frames.as_mut(), cx),
            GrpcBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GrpcBody::Empty)
    }
}

/// A streaming gRPC response.
fn streaming(frames: FrameStream) -> http::Response<GrpcBody> {
    let mut response = http::Response::new(GrpcBody::Stream(frames));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}
