//! Restarts through real Envoy: an Envoy restart gets everything again, Envoy keeps serving while
//! contour is down and reconnects when it is back, and an upstream-style (non-ADS) bootstrap works.

mod common;

use std::time::Instant;

use common::{CONVERGE, Env, Mode, backends, ingress_yaml, simple_proxy};
use contour_testkit::{EchoBackend, service_yaml};

/// Envoy's gauge: 1 while its xDS stream to contour is up.
const CONNECTED: &str = "control_plane.connected_state";

#[tokio::test]
async fn restarted_envoy_gets_the_full_configuration_again() {
    let ([_a, _b, _c], services) = backends(["a", "b", "c"]).await;
    let ing = ingress_yaml(
        "ing",
        "  rules:\n  - host: c.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}\n",
    );
    let mut env = Env::start(&[
        ("svc.yaml", services),
        ("a.yaml", simple_proxy("a", "a.example.com", "a")),
        ("b.yaml", simple_proxy("b", "b.example.com", "b")),
        ("ing.yaml", ing),
    ])
    .await;
    let hosts = [
        ("a.example.com", "a"),
        ("b.example.com", "b"),
        ("c.example.com", "c"),
    ];
    for (host, backend) in hosts {
        env.wait_backend(host, "/", backend).await;
    }
    let old_pid = env.envoy.pid();

    let started = Instant::now();
    env.envoy.restart().unwrap();
    env.envoy.wait_ready(CONVERGE).await.unwrap();
    assert_ne!(env.envoy.pid(), old_pid, "Envoy was not restarted");
    for (host, backend) in hosts {
        env.wait_backend(host, "/", backend).await;
    }
    println!(
        "restarted Envoy served every host again {} ms after the restart",
        started.elapsed().as_millis()
    );
    assert_eq!(env.who("nothing.example.com", "/").await, "404");
}

#[tokio::test]
async fn envoy_keeps_serving_while_contour_is_down_and_reconnects() {
    let ([a, _b], services) = backends(["a", "b"]).await;
    let mut env = Env::start(&[
        ("svc.yaml", services),
        ("proxy.yaml", simple_proxy("p", "p.example.com", "a")),
    ])
    .await;
    env.wait_backend("p.example.com", "/", "a").await;
    env.wait_envoy_stat(CONNECTED, 1).await;

    env.contour.kill().unwrap();
    // Envoy has noticed: its xDS stream is down.
    env.wait_envoy_stat(CONNECTED, 0).await;
    let served_before = a.requests();
    for _ in 0..20 {
        assert_eq!(
            env.who("p.example.com", "/").await,
            "a",
            "Envoy stopped serving the last configuration while contour is down"
        );
    }
    assert!(a.requests() >= served_before + 20);

    let started = Instant::now();
    env.contour.restart().unwrap();
    env.dir
        .write("proxy.yaml", &simple_proxy("p", "p.example.com", "b"))
        .unwrap();
    env.wait_backend("p.example.com", "/", "b").await;
    println!(
        "after the contour restart, the edit reached Envoy in {} ms (includes Envoy's xDS retry back-off)",
        started.elapsed().as_millis()
    );
    env.wait_envoy_stat(CONNECTED, 1).await;
}

#[tokio::test]
async fn upstream_style_grpc_bootstrap_routes_and_follows_changes() {
    let ([_a, _b], services) = backends(["a", "b"]).await;
    let env = Env::start_mode(
        &[
            ("svc.yaml", services),
            ("proxy.yaml", simple_proxy("p", "grpc.example.com", "a")),
        ],
        Mode::Grpc,
    )
    .await;
    env.wait_backend("grpc.example.com", "/", "a").await;
    assert_eq!(env.who("grpc.example.com", "/x").await, "a");
    assert_eq!(env.who("other.example.com", "/").await, "404");

    let started = Instant::now();
    env.dir
        .write("proxy.yaml", &simple_proxy("p", "grpc.example.com", "b"))
        .unwrap();
    env.wait_backend("grpc.example.com", "/", "b").await;
    println!(
        "grpc (non-ADS) mode: edit converged in {} ms",
        started.elapsed().as_millis()
    );

    // A new host on a new Service (new virtual host, cluster and endpoints) also arrives.
    let c = EchoBackend::start("c").await.unwrap();
    let second = [
        service_yaml("default", "c", 80, "http", &[&c]),
        simple_proxy("q", "second.example.com", "c"),
    ]
    .join("---\n");
    env.dir.write("second.yaml", &second).unwrap();
    env.wait_backend("second.example.com", "/", "c").await;
    assert_eq!(env.who("grpc.example.com", "/").await, "b");
}
