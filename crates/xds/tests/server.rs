//! End-to-end tests of the xDS server over a real TCP connection with tonic clients.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use contour_xds::{SnapshotStore, XdsEvent, serve, type_url};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_client::ClusterDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::Any;
use envoy_types::pb::google::rpc::Status;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

const DEADLINE: Duration = Duration::from_secs(10);

fn any(type_url: &str, payload: &str) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: payload.as_bytes().to_vec(),
    }
}

fn resources(type_url: &str, items: &[(&str, &str)]) -> BTreeMap<String, Any> {
    items
        .iter()
        .map(|(n, p)| (n.to_string(), any(type_url, p)))
        .collect()
}

fn payloads(resp: &DiscoveryResponse) -> Vec<String> {
    resp.resources
        .iter()
        .map(|a| String::from_utf8(a.value.clone()).unwrap())
        .collect()
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), contour_xds::XdsError>>,
}

async fn start(store: &SnapshotStore) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(store.clone(), listener, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn next<T>(stream: &mut Streaming<T>) -> T {
    within("a response", stream.message())
        .await
        .expect("stream error")
        .expect("stream ended")
}

/// Waits for the first event matching `pred`.
async fn wait_event(
    events: &mut broadcast::Receiver<XdsEvent>,
    pred: impl Fn(&XdsEvent) -> bool,
) -> XdsEvent {
    within("an event", async {
        loop {
            let ev = events.recv().await.expect("event channel");
            if pred(&ev) {
                return ev;
            }
        }
    })
    .await
}

fn sotw_request(type_url: &str, version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: type_url.to_string(),
        version_info: version.to_string(),
        response_nonce: nonce.to_string(),
        node: Some(Node {
            id: "test-envoy".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn sotw_ads_receive_ack_update_nack() {
    let store = SnapshotStore::new();
    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a1")]),
    );
    let mut events = store.events();
    let server = start(&store).await;

    let (tx, mut responses) = open_ads(&server, sotw_request(type_url::CLUSTER, "", "")).await;

    // Not ready yet: the stream waits, then gets the snapshot once ready.
    wait_event(&mut events, |e| matches!(e, XdsEvent::StreamOpened { .. })).await;
    store.set_ready();
    let first = next(&mut responses).await;
    assert_eq!(payloads(&first), ["a1"]);

    tx.send(sotw_request(
        type_url::CLUSTER,
        &first.version_info,
        &first.nonce,
    ))
    .await
    .unwrap();
    let ack = wait_event(&mut events, |e| matches!(e, XdsEvent::Ack { .. })).await;
    assert!(matches!(ack, XdsEvent::Ack { ref node, .. } if node == "test-envoy"));

    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a2"), ("b", "b1")]),
    );
    let second = next(&mut responses).await;
    assert_eq!(payloads(&second), ["a2", "b1"]);
    assert_ne!(second.version_info, first.version_info);

    let mut nack = sotw_request(type_url::CLUSTER, &first.version_info, &second.nonce);
    nack.error_detail = Some(Status {
        code: 3,
        message: "cluster b is broken".into(),
        ..Default::default()
    });
    tx.send(nack).await.unwrap();
    let ev = wait_event(&mut events, |e| matches!(e, XdsEvent::Nack { .. })).await;
    match ev {
        XdsEvent::Nack {
            type_url,
            version,
            nonce,
            message,
            node,
            ..
        } => {
            assert_eq!(type_url, type_url::CLUSTER);
            assert_eq!(version, first.version_info);
            assert_eq!(nonce, second.nonce);
            assert_eq!(message, "cluster b is broken");
            assert_eq!(node, "test-envoy");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(store.stats().nacks, 1);

    // A fixed snapshot goes out after the NACK.
    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a3")]),
    );
    assert_eq!(payloads(&next(&mut responses).await), ["a3"]);

    // Client disconnect: the stream state is dropped.
    drop(tx);
    drop(responses);
    wait_event(&mut events, |e| matches!(e, XdsEvent::StreamClosed { .. })).await;
    stop(server).await;
}

#[tokio::test]
async fn delta_ads_added_changed_removed() {
    let store = SnapshotStore::new();
    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a1"), ("b", "b1")]),
    );
    store.set_ready();
    let mut events = store.events();
    let server = start(&store).await;

    let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(8);
    tx.send(DeltaDiscoveryRequest {
        type_url: type_url::CLUSTER.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut responses = client
        .delta_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let first: DeltaDiscoveryResponse = next(&mut responses).await;
    let names: Vec<_> = first.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);

    tx.send(DeltaDiscoveryRequest {
        type_url: type_url::CLUSTER.into(),
        response_nonce: first.nonce.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    wait_event(&mut events, |e| matches!(e, XdsEvent::Ack { .. })).await;

    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a2"), ("c", "c1")]),
    );
    let second = next(&mut responses).await;
    let names: Vec<_> = second.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(second.removed_resources, ["b"]);
    stop(server).await;
}

#[tokio::test]
async fn per_type_cds_stream_and_type_check() {
    let store = SnapshotStore::new();
    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a1")]),
    );
    store.set_ready();
    let server = start(&store).await;
    let mut client = ClusterDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();

    // An empty type URL is the service's own type.
    let (tx, mut responses) = open_cds(&mut client, sotw_request("", "", "")).await;
    let first = next(&mut responses).await;
    assert_eq!(first.type_url, type_url::CLUSTER);
    assert_eq!(payloads(&first), ["a1"]);
    tx.send(sotw_request(
        type_url::CLUSTER,
        &first.version_info,
        &first.nonce,
    ))
    .await
    .unwrap();
    store.set_type(
        type_url::CLUSTER,
        resources(type_url::CLUSTER, &[("a", "a2")]),
    );
    assert_eq!(payloads(&next(&mut responses).await), ["a2"]);

    // Another type on the CDS service is refused.
    let (_tx2, mut refused) = open_cds(&mut client, sotw_request(type_url::LISTENER, "", "")).await;
    let err = within("the refusal", refused.message()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    stop(server).await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let store = SnapshotStore::new();
    store.set_ready();
    let server = start(&store).await;
    let (_tx, mut responses) = open_ads(&server, sotw_request(type_url::LISTENER, "", "")).await;
    let first = next(&mut responses).await;
    assert!(first.resources.is_empty());
    stop(server).await;
    let end = within("the stream end", responses.message()).await;
    assert!(
        !matches!(end, Ok(Some(_))),
        "no more responses after shutdown"
    );
}

/// Opens a state-of-the-world ADS stream to `server` that has sent `first`, and keeps `tx` for
/// later requests.
async fn open_ads(
    server: &Server,
    first: DiscoveryRequest,
) -> (mpsc::Sender<DiscoveryRequest>, Streaming<DiscoveryResponse>) {
    let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(8);
    tx.send(first).await.unwrap();
    let responses = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, responses)
}

/// Opens a CDS stream that has sent `first` and keeps `tx` for later requests.
async fn open_cds(
    client: &mut ClusterDiscoveryServiceClient<tonic::transport::Channel>,
    first: DiscoveryRequest,
) -> (mpsc::Sender<DiscoveryRequest>, Streaming<DiscoveryResponse>) {
    let (tx, rx) = mpsc::channel(8);
    tx.send(first).await.unwrap();
    let responses = client
        .stream_clusters(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, responses)
}

async fn stop(mut server: Server) {
    let _ = server.stop.take().unwrap().send(());
    within("the server to stop", server.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn per_type_eds_accepts_requests_above_4_mib() {
    use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_client::EndpointDiscoveryServiceClient;
    let store = SnapshotStore::new();
    store.set_type(
        type_url::ENDPOINT,
        resources(type_url::ENDPOINT, &[("wanted", "e1")]),
    );
    store.set_ready();
    let server = start(&store).await;
    let mut client = EndpointDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let mut req = sotw_request(type_url::ENDPOINT, "", "");
    // About 6 MiB of cluster names, as a large cluster would request.
    req.resource_names = (0..60_000)
        .map(|i| format!("{i:0>100}"))
        .chain(["wanted".to_string()])
        .collect();
    let (tx, rx) = mpsc::channel(1);
    tx.send(req).await.unwrap();
    let mut responses = client
        .stream_endpoints(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(payloads(&next(&mut responses).await), ["e1"]);
    stop(server).await;
}

#[tokio::test]
async fn per_type_delta_lds_is_wildcard() {
    use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_client::ListenerDiscoveryServiceClient;
    let store = SnapshotStore::new();
    store.set_type(
        type_url::LISTENER,
        resources(type_url::LISTENER, &[("ingress_http", "l1")]),
    );
    store.set_ready();
    let server = start(&store).await;
    let mut client = ListenerDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(1);
    tx.send(DeltaDiscoveryRequest::default()).await.unwrap();
    let mut responses = client
        .delta_listeners(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let first = next(&mut responses).await;
    assert_eq!(first.type_url, type_url::LISTENER);
    assert_eq!(first.resources[0].name, "ingress_http");
    stop(server).await;
}

#[tokio::test]
async fn fetch_is_unimplemented_and_a_dropped_client_closes_its_stream() {
    let store = SnapshotStore::new();
    store.set_ready();
    let mut events = store.events();
    let server = start(&store).await;
    let mut client = ClusterDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let err = within("the fetch", client.fetch_clusters(sotw_request("", "", "")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);

    let (tx, mut responses) = open_cds(&mut client, sotw_request("", "", "")).await;
    next(&mut responses).await;
    let opened = wait_event(&mut events, |e| matches!(e, XdsEvent::StreamOpened { .. })).await;
    let XdsEvent::StreamOpened { stream_id: id, .. } = opened else {
        unreachable!()
    };
    // The client goes away: the server drops the stream's state.
    drop((responses, client, tx));
    wait_event(&mut events, |e| {
        matches!(e, XdsEvent::StreamClosed { stream_id, node, .. } if *stream_id == id && node == "test-envoy")
    })
    .await;
    stop(server).await;
}

/// Calls `path` as a unary gRPC method with an empty DiscoveryRequest.
async fn call_path(addr: SocketAddr, path: &'static str) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<DiscoveryRequest, DiscoveryResponse>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    let request = tonic::Request::new(DiscoveryRequest::default());
    within(path.as_str(), grpc.unary(request, path.clone(), codec))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn unknown_services_and_methods_are_unimplemented() {
    let store = SnapshotStore::new();
    store.set_ready();
    let server = start(&store).await;
    for path in [
        "/grpc.health.v1.Health/Check",
        "/envoy.service.discovery.v3.AggregatedDiscoveryService/FetchAggregatedResources",
        "/envoy.service.cluster.v3.ClusterDiscoveryService/StreamListeners",
    ] {
        let status = call_path(server.addr, path).await;
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{path}");
    }
    // The server still serves streams afterwards.
    let mut client = ClusterDiscoveryServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let (_tx, mut responses) = open_cds(&mut client, sotw_request("", "", "")).await;
    next(&mut responses).await;
    stop(server).await;
}
