//! Configuration lifecycle through real Envoy: the listener appears and disappears with the
//! virtual hosts, edits and deletes converge without restarts, and endpoint-only changes skip
//! the DAG rebuild.

mod common;

use std::time::{Duration, Instant};

use common::{Env, backends, ingress_yaml, simple_proxy};
use contour_testkit::{EchoBackend, connect_refused, endpointslice_yaml, service_yaml};

#[tokio::test]
async fn listener_follows_the_existence_of_virtual_hosts() {
    let ([_a, _b], services) = backends(["a", "b"]).await;
    let env = Env::start(&[("svc.yaml", services)]).await;

    // Envoy is ready (it has its first configuration), yet with no Ingress or HTTPProxy there
    // is no listener at all.
    assert!(
        connect_refused(env.ports.http),
        "the HTTP port {} accepts connections with no virtual hosts",
        env.ports.http
    );

    let started = Instant::now();
    env.dir
        .write("proxy.yaml", &simple_proxy("p", "p.example.com", "a"))
        .unwrap();
    env.wait_backend("p.example.com", "/", "a").await;
    println!(
        "listener opened (first HTTPProxy) in {} ms",
        started.elapsed().as_millis()
    );
    env.dir
        .write(
            "ingress.yaml",
            &ingress_yaml(
                "ing",
                "  rules:\n  - host: i.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}\n",
            ),
        )
        .unwrap();
    env.wait_backend("i.example.com", "/", "b").await;

    // Removing the proxy leaves the Ingress: the listener stays and serves it.
    env.dir.remove("proxy.yaml").unwrap();
    env.wait_status("p.example.com", "/", 404).await;
    assert_eq!(env.who("i.example.com", "/").await, "b");

    // Removing the last one closes the listener.
    env.dir.remove("ingress.yaml").unwrap();
    let closed = env.wait_http_refused().await;
    println!(
        "listener closed (last Ingress removed) in {} ms",
        closed.as_millis()
    );
}

#[tokio::test]
async fn edits_and_deletes_converge_without_restart() {
    let ([_a, _b, _keep], services) = backends(["a", "b", "keep"]).await;
    let mut env = Env::start(&[
        ("svc.yaml", services),
        ("edit.yaml", simple_proxy("edit", "edit.example.com", "a")),
        (
            "keep.yaml",
            simple_proxy("keep", "keep.example.com", "keep"),
        ),
    ])
    .await;
    env.wait_backend("edit.example.com", "/", "a").await;
    assert_eq!(env.who("keep.example.com", "/").await, "keep");
    let (contour_pid, envoy_pid) = (env.contour.pid(), env.envoy.pid());

    let started = Instant::now();
    env.dir
        .write("edit.yaml", &simple_proxy("edit", "edit.example.com", "b"))
        .unwrap();
    env.wait_backend("edit.example.com", "/", "b").await;
    let edit = started.elapsed();
    println!("edit converged in {} ms", edit.as_millis());
    assert_eq!(env.who("keep.example.com", "/").await, "keep");

    let started = Instant::now();
    env.dir.remove("edit.yaml").unwrap();
    env.wait_status("edit.example.com", "/", 404).await;
    let delete = started.elapsed();
    println!("delete converged in {} ms", delete.as_millis());
    assert_eq!(env.who("keep.example.com", "/").await, "keep");

    // Neither process was restarted to get there.
    assert_eq!(env.contour.pid(), contour_pid);
    assert_eq!(env.envoy.pid(), envoy_pid);
    assert!(env.contour.is_running(), "contour exited");
    assert!(env.envoy.is_running(), "Envoy exited");
}

#[tokio::test]
async fn endpointslice_change_moves_traffic_without_a_rebuild() {
    let (a, b) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
    );
    let env = Env::start(&[
        // The Service alone; its EndpointSlice lives in a file of its own.
        ("svc.yaml", service_yaml("default", "app", 80, "http", &[])),
        (
            "slice.yaml",
            endpointslice_yaml("default", "app", "app", "http", &[&a]),
        ),
        ("proxy.yaml", simple_proxy("app", "app.example.com", "app")),
    ])
    .await;
    env.wait_backend("app.example.com", "/", "a").await;
    let rebuilds = env
        .metric("contour_dagrebuild_total")
        .await
        .expect("contour_dagrebuild_total");
    let eds_updates = env.metric("contour_eds_update_total").await.unwrap_or(0.0);

    // Same slice (app-0), now pointing at b.
    let started = Instant::now();
    env.dir
        .write(
            "slice.yaml",
            &endpointslice_yaml("default", "app", "app", "http", &[&b]),
        )
        .unwrap();
    env.wait_backend("app.example.com", "/", "b").await;
    println!(
        "endpoint change converged in {} ms",
        started.elapsed().as_millis()
    );
    if let Some(after) = env.metric("contour_eds_update_total").await {
        assert!(
            after > eds_updates,
            "contour_eds_update_total did not grow: {eds_updates} -> {after}"
        );
    }

    // Proving a negative needs a window: a rebuild would be scheduled at most the holdoff's
    // 100 ms (500 ms at worst) after the event, so watch the counter for a second.
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(1) {
        let now = env
            .metric("contour_dagrebuild_total")
            .await
            .expect("contour_dagrebuild_total");
        assert_eq!(
            now, rebuilds,
            "an EndpointSlice-only change rebuilt the DAG"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every request now goes to b.
    for _ in 0..10 {
        assert_eq!(env.who("app.example.com", "/").await, "b");
    }
}
