//! Graceful drain with real Envoy: `contour envoy shutdown` fails Envoy's health check, waits
//! for the in-flight request to finish, then writes the ready file that
//! `contour envoy shutdown-manager`'s `/shutdown` (Envoy's preStop hook) waits for.

mod common;

use std::time::Duration;

use common::{CONVERGE, Env, contour_bin, simple_proxy};
use contour_testkit::{EchoBackend, Process, free_port, http_get, poll_until, service_yaml};

#[tokio::test]
async fn requests_in_flight_during_shutdown_complete() {
    let slow = EchoBackend::start("slow").await.unwrap();
    let env = Env::start(&[
        (
            "svc.yaml",
            service_yaml("default", "slow", 80, "http", &[&slow]),
        ),
        ("proxy.yaml", simple_proxy("p", "drain.example.com", "slow")),
    ])
    .await;
    env.wait_backend("drain.example.com", "/", "slow").await;
    let tmp = tempfile::tempdir().unwrap();
    let ready_file = tmp.path().join("ok");
    let manager_port = free_port();
    let mut manager = Process::spawn(
        contour_bin(),
        [
            "envoy",
            "shutdown-manager",
            "--serve-port",
            &manager_port.to_string(),
            "--ready-file",
        ]
        .map(String::from)
        .into_iter()
        .chain([ready_file.display().to_string()]),
        &[],
    )
    .unwrap();
    common::wait_http_ok(manager_port, "/healthz", "shutdown-manager /healthz").await;
    // Envoy's preStop hook: blocks until the drain is over.
    let pre_stop =
        tokio::spawn(async move { http_get(manager_port, "127.0.0.1", "/shutdown").await });

    // A request that takes 3 s is in flight when the shutdown starts.
    slow.set_delay(Duration::from_secs(3));
    let port = env.ports.http;
    let in_flight = tokio::spawn(async move { http_get(port, "drain.example.com", "/").await });
    env.wait_envoy_stat("http.ingress_http.downstream_rq_active", 1)
        .await;

    let admin = env
        .envoy
        .options()
        .admin_socket
        .clone()
        .expect("admin socket");
    let mut shutdown = Process::spawn(
        contour_bin(),
        [
            "envoy".to_string(),
            "shutdown".into(),
            "--admin-address".into(),
            admin.display().to_string(),
            "--check-interval".into(),
            "100ms".into(),
            "--ready-file".into(),
            ready_file.display().to_string(),
        ],
        &[],
    )
    .unwrap();
    // Envoy's health check fails at once (`/ready` on the stats listener answers 503)...
    let stats = env.ports.stats;
    poll_until(CONVERGE, "Envoy /ready to fail", || async {
        (http_get(stats, "127.0.0.1", "/ready").await.ok()?.status == 503).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", shutdown.log()));
    // ...but the drain is not over while the request is in flight.
    if in_flight.is_finished() {
        panic!(
            "in-flight finished early: {:?}\nshutdown log: {}",
            in_flight.await,
            shutdown.log()
        );
    }
    assert!(
        !ready_file.exists(),
        "ready file written while a request is in flight"
    );
    assert!(!pre_stop.is_finished());

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status, 200);
    assert_eq!(response.backend(), Some("slow"));
    let status = shutdown.wait_exit(CONVERGE).await.unwrap();
    assert!(status.success(), "{}", shutdown.log());
    assert!(ready_file.exists());
    let pre_stop = tokio::time::timeout(CONVERGE, pre_stop)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pre_stop.status, 200);
    manager.kill().unwrap();
}
