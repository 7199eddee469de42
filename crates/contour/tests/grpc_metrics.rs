//! Upstream's gRPC server metrics on contour's `/metrics`, counted while real Envoy talks ADS.

mod common;

use common::Env;
use contour_testkit::{http_get, poll_until, series_value};

const ADS: &str = "grpc_method=\"StreamAggregatedResources\",grpc_service=\"envoy.service.discovery.v3.AggregatedDiscoveryService\",grpc_type=\"bidi_stream\"";

async fn series(env: &Env, name: &str, labels: &str) -> Option<f64> {
    let text = http_get(env.ports.metrics, "127.0.0.1", "/metrics")
        .await
        .ok()?
        .text();
    series_value(&text, &format!("{name}{{{labels}}}"))
}

#[tokio::test]
async fn ads_stream_is_counted_and_its_end_handled() {
    let mut env = Env::start(&[]).await;
    // Envoy is ready: it has opened the ADS stream, asked, and been answered.
    for name in [
        "grpc_server_started_total",
        "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total",
    ] {
        let v = series(&env, name, ADS).await.unwrap_or(0.0);
        assert!(v >= 1.0, "{name} = {v}");
    }
    // Every method and code exists from the start, as go-grpc-prometheus initialises them.
    let unary = "grpc_method=\"FetchListeners\",grpc_service=\"envoy.service.listener.v3.ListenerDiscoveryService\",grpc_type=\"unary\"";
    assert_eq!(
        series(&env, "grpc_server_started_total", unary).await,
        Some(0.0)
    );
    let canceled = format!("grpc_code=\"Canceled\",{ADS}");
    assert_eq!(
        series(&env, "grpc_server_handled_total", &canceled).await,
        Some(0.0)
    );

    // Envoy goes away: its stream ends as canceled.
    env.envoy.stop().unwrap();
    poll_until(common::CONVERGE, "the ADS stream handled", || async {
        (series(&env, "grpc_server_handled_total", &canceled).await? >= 1.0).then_some(())
    })
    .await
    .unwrap();
}
