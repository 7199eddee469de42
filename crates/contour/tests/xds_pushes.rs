//! What one change sends to a real Envoy through `contour serve --manifests`, counted by type
//! by the xDS server (`/debug/xds` totals), in both bootstrap modes: a route change sends one
//! route configuration response and nothing else; an endpoint change one EDS response.

mod common;

use std::collections::BTreeMap;

use common::{Env, Mode, proxy_yaml};
use contour_testkit::certs::{TestCa, tls_secret_yaml};
use contour_testkit::{EchoBackend, service_yaml};

/// A proxy for `fqdn` sending `/` to `main` and `/alt` to `alt`.
fn routed(name: &str, fqdn: &str, main: &str, alt: &str, tls: Option<&str>) -> String {
    let tls = tls.map_or(String::new(), |s| format!(", tls: {{secretName: {s}}}"));
    proxy_yaml(
        "default",
        name,
        &format!(
            "  virtualhost: {{fqdn: {fqdn}{tls}}}\n  routes:\n  - services: [{{name: {main}, port: 80}}]\n  - conditions: [{{prefix: /alt}}]\n    services: [{{name: {alt}, port: 80}}]\n"
        ),
    )
}

fn sent_between(
    before: &BTreeMap<String, (u64, u64)>,
    after: &BTreeMap<String, (u64, u64)>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(t, (r, _))| (t.clone(), r - before.get(t).map_or(0, |(r0, _)| *r0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

async fn one_route_change(mode: Mode) {
    let (a, b) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
    );
    let ca = TestCa::new("test-ca");
    let leaf = ca.leaf("t.example.com", &["t.example.com"]);
    let services = [
        service_yaml("default", "a", 80, "http", &[&a]),
        service_yaml("default", "b", 80, "http", &[&b]),
    ]
    .join("---\n");
    let files = [
        ("svc.yaml", services),
        (
            "o-svc.yaml",
            service_yaml("default", "o", 80, "http", &[&b]),
        ),
        ("secret.yaml", tls_secret_yaml("default", "t-cert", &leaf)),
        ("p.yaml", routed("p", "p.example.com", "a", "b", None)),
        (
            "t.yaml",
            routed("t", "t.example.com", "a", "b", Some("t-cert")),
        ),
        ("o.yaml", routed("o", "o.example.com", "o", "a", None)),
    ];
    let env = Env::start_mode(&files, mode).await;
    env.wait_backend("p.example.com", "/", "a").await;
    env.wait_backend("o.example.com", "/", "b").await;
    env.wait_envoy_stat("cluster_manager.warming_clusters", 0)
        .await;
    env.wait_envoy_stat("listener_manager.total_listeners_warming", 0)
        .await;
    let before = env.xds_quiet().await;

    // One route changes.
    env.dir
        .write("p.yaml", &routed("p", "p.example.com", "b", "a", None))
        .unwrap();
    env.wait_backend("p.example.com", "/", "b").await;
    let after_route = env.xds_quiet().await;
    // Then one endpoint: once Envoy routes by it, anything the route change caused was sent.
    env.dir
        .write(
            "o-svc.yaml",
            &service_yaml("default", "o", 80, "http", &[&a]),
        )
        .unwrap();
    env.wait_backend("o.example.com", "/", "a").await;
    let after_endpoint = env.xds_quiet().await;

    assert_eq!(
        sent_between(&before, &after_route),
        BTreeMap::from([("RouteConfiguration".to_string(), 1)]),
        "a route change sends one route configuration response"
    );
    assert_eq!(
        sent_between(&after_route, &after_endpoint),
        BTreeMap::from([("ClusterLoadAssignment".to_string(), 1)]),
        "an endpoint change sends one EDS response"
    );
}

#[tokio::test]
async fn route_change_sends_only_routes_ads() {
    one_route_change(Mode::Ads).await;
}

#[tokio::test]
async fn route_change_sends_only_routes_per_type_streams() {
    one_route_change(Mode::Grpc).await;
}
