//! Many ADS clients on one server: a change reaches every client once, only for the type that
//! changed, and a client that stops reading delays nobody else.

use std::collections::BTreeMap;
use std::time::Duration;

use contour_xds::{SnapshotStore, XdsStats, serve, type_url};
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

const DEADLINE: Duration = Duration::from_secs(20);

/// What Envoy asks contour for: wildcard LDS and CDS, named RDS, EDS and SDS.
const SUBSCRIPTIONS: [(&str, &[&str]); 5] = [
    (type_url::LISTENER, &[]),
    (type_url::CLUSTER, &[]),
    (type_url::ROUTE, &["ingress_http", "https/a"]),
    (type_url::ENDPOINT, &["a", "b"]),
    (type_url::SECRET, &["s"]),
];

fn any(type_url: &str, payload: Vec<u8>) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: payload,
    }
}

fn content(route: &[u8]) -> BTreeMap<String, BTreeMap<String, Any>> {
    let one = |t: &str, items: &[(&str, &[u8])]| {
        let res = items
            .iter()
            .map(|(n, p)| (n.to_string(), any(t, p.to_vec())))
            .collect();
        (t.to_string(), res)
    };
    BTreeMap::from([
        one(
            type_url::LISTENER,
            &[("ingress_http", b"l1"), ("ingress_https", b"l2")],
        ),
        one(type_url::CLUSTER, &[("a", b"ca"), ("b", b"cb")]),
        one(
            type_url::ROUTE,
            &[("ingress_http", route), ("https/a", b"ra")],
        ),
        one(type_url::ENDPOINT, &[("a", b"ea"), ("b", b"eb")]),
        one(type_url::SECRET, &[("s", b"sa")]),
    ])
}

async fn start(store: &SnapshotStore) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(store.clone(), listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn request(type_url: &str, names: &[&str]) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: type_url.to_string(),
        resource_names: names.iter().map(|n| n.to_string()).collect(),
        ..Default::default()
    }
}

/// Opens an ADS stream on its own connection and subscribes like Envoy.
async fn open(addr: &str) -> (mpsc::Sender<DiscoveryRequest>, Streaming<DiscoveryResponse>) {
    let mut client = AggregatedDiscoveryServiceClient::connect(addr.to_string())
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(16);
    for (t, names) in SUBSCRIPTIONS {
        tx.send(request(t, names)).await.unwrap();
    }
    let stream = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, stream)
}

/// A client that reads and ACKs everything; publishes the route version it holds.
async fn live_client(addr: &str) -> watch::Receiver<String> {
    let (tx, mut stream) = open(addr).await;
    let (seen_tx, seen) = watch::channel(String::new());
    tokio::spawn(async move {
        while let Ok(Some(resp)) = stream.message().await {
            let names = SUBSCRIPTIONS
                .iter()
                .find(|(t, _)| *t == resp.type_url)
                .map_or(&[][..], |(_, n)| n);
            let ack = DiscoveryRequest {
                version_info: resp.version_info.clone(),
                response_nonce: resp.nonce.clone(),
                ..request(&resp.type_url, names)
            };
            if resp.type_url == type_url::ROUTE {
                seen_tx.send_replace(resp.version_info.clone());
            }
            if tx.send(ack).await.is_err() {
                break;
            }
        }
    });
    seen
}

/// Waits until every client holds route version `version`.
async fn all_have(clients: &mut [watch::Receiver<String>], version: &str) {
    tokio::time::timeout(DEADLINE, async {
        for c in clients.iter_mut() {
            c.wait_for(|v| v == version).await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("every client to get route version {version}"));
}

fn route_version(store: &SnapshotStore) -> String {
    store.snapshot().get(type_url::ROUTE).version().to_string()
}

/// Responses sent per type since `before`.
fn sent_since(before: &XdsStats, after: &XdsStats) -> BTreeMap<String, u64> {
    after
        .responses_by_type
        .iter()
        .map(|(t, n)| (t.clone(), n - before.responses_by_type.get(t).unwrap_or(&0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Waits until the server has seen as many ACKs as it sent responses.
async fn all_acked(store: &SnapshotStore) {
    tokio::time::timeout(DEADLINE, async {
        loop {
            let s = store.stats();
            if s.acks == s.responses_sent {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("every response ACKed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_change_reaches_each_client_once_and_nothing_else_is_sent() {
    let store = SnapshotStore::new();
    store.set_types(content(b"r1"));
    store.set_ready();
    let (addr, _stop) = start(&store).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(live_client(&addr).await);
    }
    all_have(&mut clients, &route_version(&store)).await;
    all_acked(&store).await;
    let before = store.stats();
    assert_eq!(before.responses_sent, 50 * 5, "one first response per type");

    // The event loop hands the whole route type over, as after a build.
    let routes = content(b"r2").remove(type_url::ROUTE).unwrap();
    assert!(store.set_type(type_url::ROUTE, routes.clone()));
    all_have(&mut clients, &route_version(&store)).await;
    all_acked(&store).await;
    // Identical input: no change, nothing sent.
    assert!(!store.set_types(content(b"r2")));
    // A later endpoint change, once ACKed, bounds anything the route change might have caused.
    let mut eds = content(b"r2").remove(type_url::ENDPOINT).unwrap();
    eds.insert("a".into(), any(type_url::ENDPOINT, b"ea2".to_vec()));
    assert!(store.set_type(type_url::ENDPOINT, eds));
    tokio::time::timeout(DEADLINE, async {
        while store.stats().responses_by_type.get(type_url::ENDPOINT) < Some(&100) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the endpoint change sent");
    all_acked(&store).await;
    let sent = sent_since(&before, &store.stats());
    assert_eq!(
        sent,
        BTreeMap::from([
            (type_url::ROUTE.to_string(), 50),
            (type_url::ENDPOINT.to_string(), 50)
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_delays_no_other() {
    let store = SnapshotStore::new();
    // Large route configurations, so that a client that does not read fills its windows and
    // the server's buffers for it within a few pushes.
    let big = |i: u8| vec![i; 1 << 20];
    store.set_types(content(&big(0)));
    store.set_ready();
    let (addr, _stop) = start(&store).await;
    // Subscribed, then never read again (the stream is kept open).
    let (_stuck_tx, _stuck_stream) = open(&addr).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(live_client(&addr).await);
    }
    all_have(&mut clients, &route_version(&store)).await;
    for i in 1..=40 {
        let routes = content(&big(i)).remove(type_url::ROUTE).unwrap();
        assert!(store.set_type(type_url::ROUTE, routes));
        let started = tokio::time::Instant::now();
        all_have(&mut clients, &route_version(&store)).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "push {i} took {:?}",
            started.elapsed()
        );
    }
    // The stopped client really was stuck: the server could not hand it every push.
    let routes_sent = store.stats().responses_by_type[type_url::ROUTE];
    assert!(routes_sent < 6 * 41, "{routes_sent} route responses sent");
}
