//! Health checks on another port (`services[].healthPort`) and TCP health checks of TCP proxies
//! (`tcpproxy.healthCheckPolicy`) through real Envoy.
//!
//! Each test starts with one healthy endpoint carrying traffic, then adds a second endpoint
//! whose traffic port works but whose health port fails: Envoy health-checks a new host before
//! sending it anything, so the second one gets no traffic until its health port passes. (Adding
//! it after traffic flowed keeps Envoy's 60 s `no_traffic_interval` out of the way.)

mod common;

use std::collections::BTreeSet;

use common::{CONVERGE, Env, proxy_yaml};
use contour_testkit::certs::{TestCa, tls_secret_yaml};
use contour_testkit::{EchoBackend, TlsRequest, endpointslice_ports_doc, free_port, poll_until};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A Service `default/name` with a traffic port `http` (80) and a health port `health` (8080).
fn two_port_service(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  ports:\n  - {{name: http, port: 80, protocol: TCP, targetPort: http}}\n  - {{name: health, port: 8080, protocol: TCP, targetPort: health}}\n"
    )
}

/// The EndpointSlice of one endpoint of `svc` listening on `traffic` and `health`.
fn endpoint(svc: &str, slice: &str, traffic: u16, health: u16) -> String {
    endpointslice_ports_doc(
        "default",
        svc,
        slice,
        &[("http", traffic), ("health", health)],
        &["127.0.0.1"],
        true,
    )
}

/// The health flags Envoy's admin `/clusters` shows for host `127.0.0.1:port`.
async fn health_flags(env: &Env, port: u16) -> Option<String> {
    let (_, text) = env.envoy.admin_get("/clusters").await.ok()?;
    let needle = format!("::127.0.0.1:{port}::health_flags::");
    text.lines()
        .find_map(|l| l.split_once(&needle).map(|(_, flags)| flags.to_string()))
}

/// Polls until Envoy shows host `127.0.0.1:port` with health flags `pred` likes.
async fn wait_flags(env: &Env, port: u16, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let pred = &pred;
    poll_until(CONVERGE, what, || async move {
        health_flags(env, port).await.filter(|f| pred(f))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\nEnvoy log:\n{}", common::tail(&env.envoy.log(), 30)))
}

#[tokio::test]
async fn health_port_decides_an_endpoints_health() {
    let (a, b) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
    );
    let (a_health, b_health) = (
        EchoBackend::start("a-health").await.unwrap(),
        EchoBackend::start("b-health").await.unwrap(),
    );
    // `b` answers traffic (and would pass a check on its traffic port), its health port fails.
    b_health.set_status(503);
    let spec = r#"  virtualhost: {fqdn: hp.example.com}
  routes:
  - services: [{name: app, port: 80, healthPort: 8080}]
    healthCheckPolicy: {path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1}
"#;
    let env = Env::start(&[
        ("svc.yaml", two_port_service("app")),
        (
            "a.yaml",
            endpoint("app", "app-a", a.port(), a_health.port()),
        ),
        ("proxy.yaml", proxy_yaml("default", "hp", spec)),
    ])
    .await;
    let h = "hp.example.com";
    env.wait_backend(h, "/", "a").await;
    assert!(a_health.requests() > 0, "checks go to the health port");

    env.dir
        .write(
            "b.yaml",
            &endpoint("app", "app-b", b.port(), b_health.port()),
        )
        .unwrap();
    let flags = wait_flags(&env, b.port(), "b checked and failed", |f| {
        f.contains("failed_active_hc") && !f.contains("pending_active_hc")
    })
    .await;
    assert!(b_health.requests() > 0, "b was checked on its health port");
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        seen.insert(env.who(h, "/").await);
    }
    assert_eq!(seen, BTreeSet::from(["a".to_string()]), "flags: {flags}");
    assert_eq!(
        b.requests(),
        0,
        "b's traffic port saw neither traffic nor checks"
    );

    // Its health port passes: `b` is back in rotation.
    b_health.set_status(0);
    poll_until(CONVERGE, "b to come back", || async {
        (env.who(h, "/").await == "b").then_some(())
    })
    .await
    .unwrap();
    assert_eq!(
        health_flags(&env, b.port()).await.as_deref(),
        Some("healthy")
    );
}

/// A port that refuses connections until opened, then accepts (and drops) every connection:
/// what a TCP health check sees as failing, then passing.
struct TcpGate {
    port: u16,
    task: Option<JoinHandle<()>>,
}

impl TcpGate {
    fn closed() -> Self {
        TcpGate {
            port: free_port(),
            task: None,
        }
    }

    async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.task = Some(tokio::spawn(async move {
            loop {
                let _ = listener.accept().await;
            }
        }));
    }
}

impl Drop for TcpGate {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// The backends that answered `n` new TLS connections to `host`.
async fn tcp_backends(env: &Env, host: &str, n: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for _ in 0..n {
        let r = TlsRequest::new(host, "/").send(env.ports.https).await;
        let who = r.map_or_else(
            |e| format!("error: {e}"),
            |r| r.backend().unwrap_or("none").to_string(),
        );
        out.insert(who);
    }
    out
}

#[tokio::test]
async fn tcp_health_check_excludes_and_restores_an_endpoint() {
    let ca = TestCa::new("ca");
    let front = ca.leaf("front", &["tcp.example.com"]);
    let (a, b) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
    );
    let mut a_gate = TcpGate::closed();
    a_gate.open().await;
    let mut b_gate = TcpGate::closed();
    let spec = r#"  virtualhost: {fqdn: tcp.example.com, tls: {secretName: front}}
  tcpproxy:
    healthCheckPolicy: {intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1}
    services: [{name: tcpapp, port: 80, healthPort: 8080}]
"#;
    let env = Env::start(&[
        ("svc.yaml", two_port_service("tcpapp")),
        ("front.yaml", tls_secret_yaml("default", "front", &front)),
        ("a.yaml", endpoint("tcpapp", "tcp-a", a.port(), a_gate.port)),
        ("proxy.yaml", proxy_yaml("default", "tcp", spec)),
    ])
    .await;
    let h = "tcp.example.com";
    env.wait_tls_backend(&TlsRequest::new(h, "/"), "a").await;
    // Envoy's cluster carries a TCP health check.
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_active_clusters")
        .await
        .unwrap();
    let checks: Vec<_> = dump["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["cluster"]["health_checks"].as_array())
        .flatten()
        .collect();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(checks[0].get("tcp_health_check").is_some(), "{checks:?}");
    assert_eq!(checks[0]["interval"], "1s");

    // `b` serves, but its health port refuses connections.
    env.dir
        .write(
            "b.yaml",
            &endpoint("tcpapp", "tcp-b", b.port(), b_gate.port),
        )
        .unwrap();
    let flags = wait_flags(&env, b.port(), "b checked and failed", |f| {
        f.contains("failed_active_hc") && !f.contains("pending_active_hc")
    })
    .await;
    assert_eq!(
        tcp_backends(&env, h, 20).await,
        BTreeSet::from(["a".to_string()]),
        "flags: {flags}"
    );
    assert_eq!(b.requests(), 0);

    // Its health port accepts connections: `b` gets connections again.
    b_gate.open().await;
    // (Admin shows the host healthy a moment before the worker's host set has it.)
    wait_flags(&env, b.port(), "b healthy", |f| f == "healthy").await;
    let both = BTreeSet::from(["a".to_string(), "b".to_string()]);
    let (env_ref, both) = (&env, &both);
    poll_until(CONVERGE, "connections to reach a and b", || async move {
        let seen = tcp_backends(env_ref, h, 4).await;
        (&seen == both).then_some(())
    })
    .await
    .unwrap();
}
