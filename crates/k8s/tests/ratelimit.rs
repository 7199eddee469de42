//! `--kubernetes-client-qps` / `--kubernetes-client-burst` on a real kube-rs client against the
//! test API server: after the burst, requests are spaced by 1/QPS.

mod common;

use std::time::{Duration, Instant};

use common::Fixture;
use contour_k8s::ClientOptions;

async fn client(f: &Fixture, qps: Option<f32>, burst: Option<u32>) -> kube::Client {
    let path = f.server.write_kubeconfig(f.dir.path(), "limited").unwrap();
    contour_k8s::client(&ClientOptions {
        kubeconfig: Some(path),
        qps,
        burst,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn requests_beyond_the_burst_wait_for_tokens() {
    let f = Fixture::new();
    let limited = client(&f, Some(20.0), Some(2)).await;
    let started = Instant::now();
    for _ in 0..12 {
        limited.apiserver_version().await.unwrap();
    }
    let took = started.elapsed();
    // 2 at once, then 10 more at 20 per second: at least 500 ms.
    assert!(took >= Duration::from_millis(490), "{took:?}");
    let answered = f
        .server
        .requests()
        .iter()
        .filter(|r| r.user == "limited" && r.path == "/version")
        .count();
    assert_eq!(answered, 12);
}
