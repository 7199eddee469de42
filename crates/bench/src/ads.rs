//! Lightweight ADS clients: each subscribes like an Envoy (LDS, CDS and SRDS wildcard, RDS
//! the route configuration that holds the probes' host: `ingress_http`, or its scope), ACKs
//! every response and records when each new route configuration arrives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const SCOPED_ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";

/// Envoy's default HTTP/2 stream and connection windows.
const ENVOY_WINDOW: u32 = 256 * 1024 * 1024;

/// The latest route configuration version a client holds, and when it arrived.
type RouteSeen = (String, Option<Instant>);

/// Per client: the latest route configuration it received.
#[derive(Clone, Default)]
pub struct Clients {
    routes: Arc<Mutex<Vec<RouteSeen>>>,
}

fn request(type_url: &str, names: &[String], id: usize) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: type_url.to_string(),
        resource_names: names.to_vec(),
        node: Some(Node {
            id: format!("bench-client-{id}"),
            cluster: "bench".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a client needs of a `DiscoveryResponse` to ACK it. The resources (field 2) are
/// received in full but skipped rather than copied: the clients stand for Envoys on other
/// machines, and decoding 200 copies of a 6 MB route configuration on the benchmark's two cores
/// would measure the clients, not the server.
#[derive(Clone, PartialEq, prost::Message)]
struct ResponseHead {
    #[prost(string, tag = "1")]
    version_info: String,
    #[prost(string, tag = "4")]
    type_url: String,
    #[prost(string, tag = "5")]
    nonce: String,
}

/// Opens a SotW ADS stream whose responses are decoded as [`ResponseHead`].
async fn open_ads(
    channel: tonic::transport::Channel,
    requests: mpsc::Receiver<DiscoveryRequest>,
) -> anyhow::Result<tonic::Streaming<ResponseHead>> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(usize::MAX);
    grpc.ready().await.context("ADS channel not ready")?;
    let path = http::uri::PathAndQuery::from_static(
        "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    );
    let codec = tonic_prost::ProstCodec::<DiscoveryRequest, ResponseHead>::default();
    let request = tonic::Request::new(ReceiverStream::new(requests));
    Ok(grpc.streaming(request, path, codec).await?.into_inner())
}

fn ack(resp: &ResponseHead, names: &[String]) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: resp.type_url.clone(),
        version_info: resp.version_info.clone(),
        response_nonce: resp.nonce.clone(),
        resource_names: names.to_vec(),
        ..Default::default()
    }
}

impl Clients {
    /// Connects `n` clients to `xds_port`, each subscribed to route configuration `route`, and
    /// waits until each has it.
    pub async fn start(n: usize, xds_port: u16, route: &str) -> anyhow::Result<Clients> {
        let clients = Clients {
            routes: Arc::new(Mutex::new(vec![(String::new(), None); n])),
        };
        for id in 0..n {
            // Envoy's HTTP/2 defaults (256 MiB windows): with tonic's 64 kB a 6 MB route
            // configuration would need a hundred window updates, which no Envoy waits for.
            let channel =
                tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{xds_port}"))?
                    .initial_stream_window_size(Some(ENVOY_WINDOW))
                    .initial_connection_window_size(Some(ENVOY_WINDOW))
                    .connect()
                    .await
                    .context("connecting an ADS client")?;
            let (tx, rx) = mpsc::channel(16);
            let route = [route.to_string()];
            for (t, names) in [
                (LISTENER, &[][..]),
                (CLUSTER, &[][..]),
                (SCOPED_ROUTE, &[][..]),
                (ROUTE, &route[..]),
            ] {
                tx.send(request(t, names, id)).await?;
            }
            let mut stream = open_ads(channel, rx).await?;
            let routes = clients.routes.clone();
            tokio::spawn(async move {
                while let Ok(Some(resp)) = stream.message().await {
                    let names: &[String] = if resp.type_url == ROUTE { &route } else { &[] };
                    if resp.type_url == ROUTE
                        && let Ok(mut r) = routes.lock()
                    {
                        r[id] = (resp.version_info.clone(), Some(Instant::now()));
                    }
                    if tx.send(ack(&resp, names)).await.is_err() {
                        break;
                    }
                }
            });
        }
        let c = clients.clone();
        contour_testkit::poll_until(
            Duration::from_secs(60),
            "every ADS client to get routes",
            || {
                let c = c.clone();
                async move { c.all_have_routes().then_some(()) }
            },
        )
        .await?;
        Ok(clients)
    }

    fn all_have_routes(&self) -> bool {
        self.routes
            .lock()
            .map(|r| r.iter().all(|(v, _)| !v.is_empty()))
            .unwrap_or(false)
    }

    /// The current route versions.
    pub fn versions(&self) -> Vec<String> {
        self.routes
            .lock()
            .map(|r| r.iter().map(|(v, _)| v.clone()).collect())
            .unwrap_or_default()
    }

    /// Waits until every client's route version differs from `before`; returns the time from
    /// `since` until the last client got it, and from the first client to the last one (the
    /// server's fan-out alone, without the build).
    pub async fn wait_all_changed(
        &self,
        before: &[String],
        since: Instant,
        timeout: Duration,
    ) -> anyhow::Result<(Duration, Duration)> {
        let deadline = Instant::now() + timeout;
        loop {
            let done = self.routes.lock().ok().and_then(|r| {
                let (mut first, mut last) = (None::<Instant>, since);
                for ((v, at), old) in r.iter().zip(before) {
                    if v == old {
                        return None;
                    }
                    let at = at.unwrap_or(since);
                    last = last.max(at);
                    first = Some(first.map_or(at, |f| f.min(at)));
                }
                let spread = last.duration_since(first.unwrap_or(last));
                Some((last.duration_since(since), spread))
            });
            if let Some(d) = done {
                return Ok(d);
            }
            if Instant::now() > deadline {
                anyhow::bail!("not every ADS client got the route change within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}
