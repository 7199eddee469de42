//! The gRPC services: thin adapters that hand each stream to a driver (see `stream`).
//!
//! [`XdsService`] serves the aggregated service (ADS, SotW and delta) and the per-type services
//! (LDS, RDS, CDS, EDS, SDS, RTDS, each with SotW and delta streams). Each is registered on the
//! tonic router as its own named tower service ([`GrpcService`]) rather than as tonic's generated
//! server, so that the message framing is ours (see `grpc`): memory per stream is what its state
//! needs, not the largest message it ever received. Per-type services reject requests for other
//! types. `Fetch*` (REST-style polling) is not supported.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::Status;
use tonic::server::NamedService;

use crate::delta::DeltaStream;
use crate::grpc::Requests;
use crate::sotw::SotwStream;
use crate::store::SnapshotStore;
use crate::stream::{self, StreamContext};
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
    shutdown: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for XdsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdsService").finish_non_exhaustive()
    }
}

impl XdsService {
    pub fn new(store: SnapshotStore) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            store,
            shutdown: Arc::new(shutdown),
        }
    }

    /// Ends every open stream; streams opened afterwards end at once. Used on shutdown, because
    /// xDS streams never finish by themselves and would hold a graceful stop forever.
    pub fn close_streams(&self) {
        self.shutdown.send_replace(true);
    }

    fn context(
        &self,
        service: &'static str,
        only_type: Option<&'static str>,
        limits: Limits,
    ) -> StreamContext {
        StreamContext {
            store: self.store.clone(),
            shutdown: self.shutdown.subscribe(),
            service,
            only_type,
            max_encoding_message_size: limits.max_encoding_message_size,
        }
    }
}

/// One gRPC service of the xDS API: `K` says which.
#[derive(Clone)]
pub struct GrpcService<K> {
    xds: XdsService,
    limits: Limits,
    _kind: std::marker::PhantomData<K>,
}

impl<K> GrpcService<K> {
    pub(crate) fn new(xds: XdsService, limits: Limits) -> Self {
        Self {
            xds,
            limits,
            _kind: std::marker::PhantomData,
        }
    }
}

/// What distinguishes the xDS gRPC services: their name, methods and type.
pub trait ServiceKind: Clone + Send + Sync + 'static {
    /// The gRPC service name, e.g. `envoy.service.cluster.v3.ClusterDiscoveryService`.
    const NAME: &'static str;
    /// The short name used in events and logs, e.g. `cds`.
    const SHORT: &'static str;
    /// The state-of-the-world method, e.g. `StreamClusters`.
    const STREAM: &'static str;
    /// The delta method, e.g. `DeltaClusters`.
    const DELTA: &'static str;
    /// The only type served (per-type services), or `None` for ADS.
    const ONLY_TYPE: Option<&'static str>;
}

impl<K: ServiceKind> NamedService for GrpcService<K> {
    const NAME: &'static str = K::NAME;
}

type HttpResponse = http::Response<tonic::body::Body>;

impl<K: ServiceKind> tower_service::Service<http::Request<tonic::body::Body>> for GrpcService<K> {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Ready<Result<HttpResponse, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let method = req.uri().path().rsplit('/').next().unwrap_or_default();
        let ctx = || self.xds.context(K::SHORT, K::ONLY_TYPE, self.limits);
        let max = self.limits.max_decoding_message_size;
        let response = if method == K::STREAM {
            let requests = Requests::new(req.into_body(), max);
            stream::respond(ctx(), SotwStream::new(), requests)
        } else if method == K::DELTA {
            let requests = Requests::new(req.into_body(), max);
            stream::respond(ctx(), DeltaStream::new(), requests)
        } else if method.starts_with("Fetch") {
            Status::unimplemented("fetch is not supported; use a stream").into_http()
        } else {
            Status::unimplemented(format!("unknown method {method}")).into_http()
        };
        ready(Ok(response))
    }
}

/// Declares one service kind.
macro_rules! kind {
    ($kind:ident, $name:literal, $short:literal, $stream:literal, $delta:literal, $only:expr) => {
        #[doc = concat!("`", $name, "`.")]
        #[derive(Clone, Copy, Debug)]
        pub struct $kind;
        impl ServiceKind for $kind {
            const NAME: &'static str = $name;
            const SHORT: &'static str = $short;
            const STREAM: &'static str = $stream;
            const DELTA: &'static str = $delta;
            const ONLY_TYPE: Option<&'static str> = $only;
        }
    };
}

kind!(
    Ads,
    "envoy.service.discovery.v3.AggregatedDiscoveryService",
    "ads",
    "StreamAggregatedResources",
    "DeltaAggregatedResources",
    None
);
kind!(
    Lds,
    "envoy.service.listener.v3.ListenerDiscoveryService",
    "lds",
    "StreamListeners",
    "DeltaListeners",
    Some(type_url::LISTENER)
);
kind!(
    Rds,
    "envoy.service.route.v3.RouteDiscoveryService",
    "rds",
    "StreamRoutes",
    "DeltaRoutes",
    Some(type_url::ROUTE)
);
kind!(
    Cds,
    "envoy.service.cluster.v3.ClusterDiscoveryService",
    "cds",
    "StreamClusters",
    "DeltaClusters",
    Some(type_url::CLUSTER)
);
kind!(
    Eds,
    "envoy.service.endpoint.v3.EndpointDiscoveryService",
    "eds",
    "StreamEndpoints",
    "DeltaEndpoints",
    Some(type_url::ENDPOINT)
);
kind!(
    Sds,
    "envoy.service.secret.v3.SecretDiscoveryService",
    "sds",
    "StreamSecrets",
    "DeltaSecrets",
    Some(type_url::SECRET)
);
kind!(
    Rtds,
    "envoy.service.runtime.v3.RuntimeDiscoveryService",
    "rtds",
    "StreamRuntime",
    "DeltaRuntime",
    Some(type_url::RUNTIME)
);
