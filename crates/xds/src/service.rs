//! tonic services: thin adapters that hand each stream to a driver (see `stream`).
//!
//! [`XdsService`] implements the aggregated service (ADS, SotW and delta) and the per-type
//! services (LDS, RDS, CDS, EDS, SDS, RTDS, each with SotW and delta streams). Per-type services
//! reject requests for other types. `fetch_*` (REST-style polling) is not supported.

use std::sync::Arc;

use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_server::ClusterDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_server::EndpointDiscoveryService;
use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_server::ListenerDiscoveryService;
use envoy_types::pb::envoy::service::route::v3::route_discovery_service_server::RouteDiscoveryService;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_server::RuntimeDiscoveryService;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server::SecretDiscoveryService;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use crate::delta::DeltaStream;
use crate::sotw::SotwStream;
use crate::store::SnapshotStore;
use crate::stream::{self, ResponseStream, StreamContext};
use crate::type_url;

type SotwResponses = ResponseStream<DiscoveryResponse>;
type DeltaResponses = ResponseStream<DeltaDiscoveryResponse>;

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

    fn context(&self, service: &'static str, only_type: Option<&'static str>) -> StreamContext {
        StreamContext {
            store: self.store.clone(),
            shutdown: self.shutdown.subscribe(),
            service,
            only_type,
        }
    }

    fn sotw(
        &self,
        service: &'static str,
        only_type: Option<&'static str>,
        req: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<SotwResponses>, Status> {
        let ctx = self.context(service, only_type);
        let responses = stream::spawn(ctx, SotwStream::new(), req.into_inner());
        Ok(Response::new(responses))
    }

    fn delta(
        &self,
        service: &'static str,
        only_type: Option<&'static str>,
        req: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaResponses>, Status> {
        let ctx = self.context(service, only_type);
        let responses = stream::spawn(ctx, DeltaStream::new(), req.into_inner());
        Ok(Response::new(responses))
    }
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for XdsService {
    type StreamAggregatedResourcesStream = SotwResponses;
    type DeltaAggregatedResourcesStream = DeltaResponses;

    async fn stream_aggregated_resources(
        &self,
        req: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<SotwResponses>, Status> {
        self.sotw("ads", None, req)
    }

    async fn delta_aggregated_resources(
        &self,
        req: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaResponses>, Status> {
        self.delta("ads", None, req)
    }
}

/// Implements one per-type service trait: `$stream`/`$delta` serve `$type_url` only.
macro_rules! per_type_service {
    ($trait:ident, $name:literal, $type_url:expr,
     $stream_ty:ident => $stream:ident, $delta_ty:ident => $delta:ident, $fetch:ident) => {
        #[tonic::async_trait]
        impl $trait for XdsService {
            type $stream_ty = SotwResponses;
            type $delta_ty = DeltaResponses;

            async fn $stream(
                &self,
                req: Request<Streaming<DiscoveryRequest>>,
            ) -> Result<Response<SotwResponses>, Status> {
                self.sotw($name, Some($type_url), req)
            }

            async fn $delta(
                &self,
                req: Request<Streaming<DeltaDiscoveryRequest>>,
            ) -> Result<Response<DeltaResponses>, Status> {
                self.delta($name, Some($type_url), req)
            }

            async fn $fetch(
                &self,
                _req: Request<DiscoveryRequest>,
            ) -> Result<Response<DiscoveryResponse>, Status> {
                Err(Status::unimplemented(
                    "fetch is not supported; use a stream",
                ))
            }
        }
    };
}

per_type_service!(ListenerDiscoveryService, "lds", type_url::LISTENER,
    StreamListenersStream => stream_listeners, DeltaListenersStream => delta_listeners, fetch_listeners);
per_type_service!(RouteDiscoveryService, "rds", type_url::ROUTE,
    StreamRoutesStream => stream_routes, DeltaRoutesStream => delta_routes, fetch_routes);
per_type_service!(ClusterDiscoveryService, "cds", type_url::CLUSTER,
    StreamClustersStream => stream_clusters, DeltaClustersStream => delta_clusters, fetch_clusters);
per_type_service!(EndpointDiscoveryService, "eds", type_url::ENDPOINT,
    StreamEndpointsStream => stream_endpoints, DeltaEndpointsStream => delta_endpoints, fetch_endpoints);
per_type_service!(SecretDiscoveryService, "sds", type_url::SECRET,
    StreamSecretsStream => stream_secrets, DeltaSecretsStream => delta_secrets, fetch_secrets);
per_type_service!(RuntimeDiscoveryService, "rtds", type_url::RUNTIME,
    StreamRuntimeStream => stream_runtime, DeltaRuntimeStream => delta_runtime, fetch_runtime);
