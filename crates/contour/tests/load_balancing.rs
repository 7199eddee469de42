//! Load balancing, health checks, slow start and upstream HTTP/2 (h2c) through real Envoy.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Env, proxy_yaml};
use contour_testkit::{EchoBackend, Request, poll_until, service_yaml};

/// The backends that answered `n` requests built by `req`.
async fn seen(env: &Env, n: usize, req: impl Fn() -> Request) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for _ in 0..n {
        let r = req().send(env.ports.http).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        out.insert(r.backend().unwrap_or_default().to_string());
    }
    out
}

/// `lb_policy` of every dynamic cluster, by name prefix `default/pool/80/`.
async fn lb_policies(env: &Env) -> BTreeSet<String> {
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_active_clusters")
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for c in dump["configs"].as_array().cloned().unwrap_or_default() {
        let cluster = &c["cluster"];
        if cluster["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("default/pool/80/")
        {
            out.insert(
                cluster["lb_policy"]
                    .as_str()
                    .unwrap_or("ROUND_ROBIN")
                    .to_string(),
            );
        }
    }
    out
}

#[tokio::test]
async fn strategies_and_request_hashing() {
    let (a, b) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
    );
    let route = |prefix: &str, lb: &str| {
        format!(
            "  - conditions: [{{prefix: {prefix}}}]\n    services: [{{name: pool, port: 80}}]\n    loadBalancerPolicy: {lb}\n"
        )
    };
    let routes = [
        route("/rr", "{strategy: RoundRobin}"),
        route("/random", "{strategy: Random}"),
        route("/wlr", "{strategy: WeightedLeastRequest}"),
        route("/cookie", "{strategy: Cookie}"),
        route("/hash-header", "{strategy: RequestHash, requestHashPolicies: [{headerHashOptions: {headerName: x-user}}]}"),
        route("/hash-query", "{strategy: RequestHash, requestHashPolicies: [{queryParameterHashOptions: {parameterName: user}}]}"),
        route("/hash-ip", "{strategy: RequestHash, requestHashPolicies: [{hashSourceIP: true}]}"),
    ]
    .concat();
    let spec = format!("  virtualhost: {{fqdn: lb.example.com}}\n  routes:\n{routes}");
    let env = Env::start(&[
        (
            "svc.yaml",
            service_yaml("default", "pool", 80, "http", &[&a, &b]),
        ),
        ("proxy.yaml", proxy_yaml("default", "lb", &spec)),
    ])
    .await;
    let h = "lb.example.com";
    env.wait_status(h, "/hash-ip", 200).await;
    let both: BTreeSet<String> = ["a", "b"].map(String::from).into();
    for path in ["/rr", "/random", "/wlr"] {
        assert_eq!(
            seen(&env, 40, || Request::get(h, path)).await,
            both,
            "{path}"
        );
    }
    let want: BTreeSet<String> = ["LEAST_REQUEST", "RANDOM", "RING_HASH", "ROUND_ROBIN"]
        .map(String::from)
        .into();
    assert_eq!(lb_policies(&env).await, want);

    // Cookie: the first answer sets X-Contour-Session-Affinity; sending it back sticks.
    let r = env.get(h, "/cookie").await.unwrap();
    let cookie = r.header("set-cookie").expect("affinity cookie").to_string();
    assert!(
        cookie.starts_with("X-Contour-Session-Affinity="),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let sticky = seen(&env, 20, || {
        Request::get(h, "/cookie").header("cookie", &pair)
    })
    .await;
    assert_eq!(sticky.len(), 1, "{sticky:?}");

    // Request hashing: the same key always reaches the same backend; keys spread.
    let mut by_header = BTreeSet::new();
    let mut by_query = BTreeSet::new();
    for i in 0..16 {
        let key = format!("user-{i}");
        let hb = seen(&env, 4, || {
            Request::get(h, "/hash-header").header("x-user", &key)
        })
        .await;
        assert_eq!(hb.len(), 1, "header key {key}: {hb:?}");
        by_header.extend(hb);
        let path = format!("/hash-query?user={key}");
        let qb = seen(&env, 4, || Request::get(h, &path)).await;
        assert_eq!(qb.len(), 1, "query key {key}: {qb:?}");
        by_query.extend(qb);
    }
    assert_eq!(by_header, both);
    assert_eq!(by_query, both);
    assert_eq!(
        seen(&env, 20, || Request::get(h, "/hash-ip")).await.len(),
        1
    );
}

/// How long Envoy may take to re-check an unhealthy endpoint: a cluster that has not carried
/// traffic when a check completes schedules the next one after Envoy's `no_traffic_interval`
/// (60s; upstream Contour leaves it unset too), so the first re-check comes after a minute.
const HEALTH_RECHECK: Duration = Duration::from_secs(90);

#[tokio::test]
async fn health_check_removes_and_restores_an_endpoint() {
    let (up, down) = (
        EchoBackend::start("up").await.unwrap(),
        EchoBackend::start("down").await.unwrap(),
    );
    // `down` fails its first check (and every request) from the start.
    down.set_status(503);
    let spec = r#"  virtualhost: {fqdn: hc.example.com}
  routes:
  - conditions: [{prefix: /hc}]
    services: [{name: hc, port: 80}]
    healthCheckPolicy: {path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1}
"#;
    let env = Env::start(&[
        (
            "svc.yaml",
            service_yaml("default", "hc", 80, "http", &[&up, &down]),
        ),
        ("proxy.yaml", proxy_yaml("default", "hc", spec)),
    ])
    .await;
    let h = "hc.example.com";
    env.wait_backend(h, "/hc", "up").await;
    // The failing endpoint gets no traffic.
    let mut got = BTreeSet::new();
    for _ in 0..20 {
        got.insert(env.who(h, "/hc").await);
    }
    assert_eq!(got, BTreeSet::from(["up".to_string()]));
    // It passes its next check and is back in rotation.
    down.set_status(0);
    poll_until(HEALTH_RECHECK, "`down` to come back", || async {
        (env.who(h, "/hc").await == "down").then_some(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn slow_start_and_h2c() {
    let (ss, grpc, annotated) = (
        EchoBackend::start("slowstart").await.unwrap(),
        EchoBackend::start("h2c").await.unwrap(),
        EchoBackend::start("annotated").await.unwrap(),
    );
    let spec = r#"  virtualhost: {fqdn: proto.example.com}
  routes:
  - conditions: [{prefix: /slow}]
    services: [{name: ss, port: 80, slowStartPolicy: {window: 5s, aggression: "1.5", minWeightPercent: 20}}]
  - conditions: [{prefix: /h2c}]
    services: [{name: h2, port: 80, protocol: h2c}]
  - conditions: [{prefix: /annotated}]
    services: [{name: annotated, port: 80}]
"#;
    let annotated_svc = service_yaml("default", "annotated", 80, "http", &[&annotated]).replacen(
        "  namespace: default\n",
        "  namespace: default\n  annotations: {projectcontour.io/upstream-protocol.h2c: http}\n",
        1,
    );
    let svcs = [
        service_yaml("default", "ss", 80, "http", &[&ss]),
        service_yaml("default", "h2", 80, "http", &[&grpc]),
        annotated_svc,
    ]
    .join("---\n");
    let env = Env::start(&[
        ("svc.yaml", svcs),
        ("proxy.yaml", proxy_yaml("default", "p", spec)),
    ])
    .await;
    let h = "proto.example.com";

    // Slow start: traffic flows, and Envoy holds the slow-start config.
    env.wait_backend(h, "/slow", "slowstart").await;
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_active_clusters")
        .await
        .unwrap();
    let text = dump.to_string();
    assert!(
        text.contains("slow_start_window"),
        "no slow start in {text:.2000}"
    );
    assert!(text.contains("contour.slowstart.aggression"));

    // h2c: Envoy speaks HTTP/2 in clear text to the backend, via services[].protocol or the
    // Service annotation.
    env.wait_backend(h, "/h2c", "h2c").await;
    let r = env.get(h, "/h2c").await.unwrap();
    assert_eq!(r.echo().unwrap().version, "HTTP/2.0");
    env.wait_backend(h, "/annotated", "annotated").await;
    let r = env.get(h, "/annotated").await.unwrap();
    assert_eq!(r.echo().unwrap().version, "HTTP/2.0");
}
