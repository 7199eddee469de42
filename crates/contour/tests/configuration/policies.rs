//! Route policy from configuration: contour.yaml `policy.*` headers, and the Ingress
//! annotations `response-timeout`, `retry-on`, `num-retries`, `per-try-timeout`,
//! `websocket-routes`.

use std::time::{Duration, Instant};

use contour_testkit::{EchoBackend, Request, service_yaml};

use crate::common::{ingress_yaml, simple_proxy};
use crate::{ConfigFile, start_web};

fn annotated_ingress(
    name: &str,
    host: &str,
    svc: &str,
    annotations: &str,
    paths: &[&str],
) -> String {
    let rules: String = paths
        .iter()
        .map(|p| {
            format!("      - {{path: {p}, pathType: Prefix, backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}}}\n")
        })
        .collect();
    ingress_yaml(
        name,
        &format!("  rules:\n  - host: {host}\n    http:\n      paths:\n{rules}"),
    )
    .replacen(
        &format!("metadata: {{name: {name}, namespace: default}}"),
        &format!("metadata:\n  name: {name}\n  namespace: default\n  annotations:\n{annotations}"),
        1,
    )
}

#[tokio::test]
async fn ingress_annotations_set_timeouts_retries_and_websockets() {
    let slow = EchoBackend::start("slow").await.unwrap();
    slow.set_delay(Duration::from_secs(3));
    let failing = EchoBackend::start("failing").await.unwrap();
    let files = [
        (
            "slow.yaml",
            service_yaml("default", "slow", 80, "http", &[&slow]),
        ),
        (
            "failing.yaml",
            service_yaml("default", "failing", 80, "http", &[&failing]),
        ),
        (
            "timeout-ing.yaml",
            annotated_ingress(
                "timeout",
                "timeout.example.com",
                "slow",
                "    projectcontour.io/response-timeout: 1s\n",
                &["/"],
            ),
        ),
        (
            "retry-ing.yaml",
            annotated_ingress(
                "retry",
                "retry.example.com",
                "failing",
                "    projectcontour.io/retry-on: 5xx\n    projectcontour.io/num-retries: \"2\"\n    projectcontour.io/per-try-timeout: 2s\n    projectcontour.io/websocket-routes: /ws\n",
                &["/", "/ws"],
            ),
        ),
    ];
    let (env, _web) = start_web(&[], &files).await;
    env.wait_backend("retry.example.com", "/", "failing").await;

    // response-timeout: 1s against a backend answering after 3s.
    let started = Instant::now();
    let r = Request::get("timeout.example.com", "/")
        .timeout(Duration::from_secs(10))
        .send(env.ports.http)
        .await
        .unwrap();
    let took = started.elapsed();
    println!("timed out with {} after {took:?}", r.status);
    assert_eq!(r.status, 504);
    assert!(took < Duration::from_millis(2800), "{took:?}");

    // retry-on 5xx, num-retries 2: three attempts in all.
    failing.set_status(503);
    let before = failing.requests();
    let r = Request::get("retry.example.com", "/")
        .send(env.ports.http)
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(failing.requests() - before, 3, "one try and two retries");

    // websocket-routes: /ws gets the upgrade, / does not.
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_route_configs")
        .await
        .unwrap();
    let routes: Vec<serde_json::Value> = dump["configs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["route_config"]["virtual_hosts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|v| v["domains"][0] == "retry.example.com")
        .flat_map(|v| v["routes"].as_array().cloned().unwrap_or_default())
        .collect();
    let upgrades = |path: &str| {
        routes
            .iter()
            .find(|r| r["match"].to_string().contains(&format!("\"{path}\"")))
            .map(|r| r["route"]["upgrade_configs"].clone())
            .unwrap_or_else(|| panic!("no route {path} in {routes:?}"))
    };
    assert_eq!(upgrades("/ws")[0]["upgrade_type"], "websocket");
    assert!(upgrades("/").is_null());
    let retry = &routes[0]["route"]["retry_policy"];
    assert_eq!(retry["num_retries"], 2, "{retry}");
    assert_eq!(retry["per_try_timeout"], "2s");
}

#[tokio::test]
async fn global_header_policy_applies_to_proxies_and_ingresses() {
    let cfg = ConfigFile::new(
        "policy:\n  request-headers:\n    set:\n      x-global: \"%CONTOUR_NAMESPACE%/%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%\"\n    remove: [x-secret]\n  response-headers:\n    set:\n      x-served-by: contour\n  applyToIngress: true\n",
    );
    let files = [(
        "proxy.yaml",
        simple_proxy("web-proxy", "proxy.example.com", "web"),
    )];
    let (env, _web) = start_web(&cfg.args(), &files).await;
    env.wait_backend("proxy.example.com", "/", "web").await;
    for host in ["proxy.example.com", "web.example.com"] {
        let r = Request::get(host, "/")
            .header("x-secret", "s3cret")
            .send(env.ports.http)
            .await
            .unwrap();
        assert_eq!(r.header("x-served-by"), Some("contour"), "{host}");
        let echo = r.echo().unwrap();
        assert_eq!(
            echo.headers.get("x-global").map(String::as_str),
            Some("default/web:80"),
            "{host}"
        );
        assert_eq!(echo.headers.get("x-secret"), None, "{host}");
    }
}
