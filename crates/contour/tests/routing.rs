//! Routing through real Envoy: Ingress and HTTPProxy.

mod common;

use common::Env;
use contour_testkit::{EchoBackend, service_yaml};

fn ingress(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}"
    )
}

fn proxy(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}

#[tokio::test]
async fn ingress_host_and_path_routing() {
    let (a, b, c, d) = (
        EchoBackend::start("a").await.unwrap(),
        EchoBackend::start("b").await.unwrap(),
        EchoBackend::start("c").await.unwrap(),
        EchoBackend::start("dflt").await.unwrap(),
    );
    let services = [
        service_yaml("default", "a", 80, "http", &[&a]),
        service_yaml("default", "b", 8080, "web", &[&b]),
        service_yaml("default", "c", 80, "http", &[&c]),
        service_yaml("default", "dflt", 80, "http", &[&d]),
    ]
    .join("---\n");
    let ing = ingress(
        "routes",
        r#"  defaultBackend: {service: {name: dflt, port: {number: 80}}}
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /prefix, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: b, port: {name: web}}}}
      - {path: "/regex/[0-9]+$", pathType: ImplementationSpecific, backend: {service: {name: c, port: {number: 80}}}}
"#,
    );
    let env = Env::start(&[("services.yaml", services), ("ingress.yaml", ing)]).await;
    env.wait_backend("web.example.com", "/prefix", "a").await;
    let cases = [
        ("web.example.com", "/prefix", "a"),
        ("web.example.com", "/prefix/deeper", "a"),
        // Prefix is a path-segment match: /prefixed is not under /prefix.
        ("web.example.com", "/prefixed", "404"),
        ("web.example.com", "/exact", "b"),
        ("web.example.com", "/exact/more", "404"),
        ("web.example.com", "/regex/123", "c"),
        ("web.example.com", "/regex/abc", "404"),
        // The default backend is the `*` virtual host, as upstream: it serves hosts without
        // rules of their own.
        ("other.example.com", "/anything", "dflt"),
    ];
    for (host, path, want) in cases {
        assert_eq!(env.who(host, path).await, want, "{host}{path}");
    }
}

#[tokio::test]
async fn httpproxy_prefix_exact_and_weights() {
    let (p, e, w1, w2) = (
        EchoBackend::start("prefix").await.unwrap(),
        EchoBackend::start("exact").await.unwrap(),
        EchoBackend::start("w1").await.unwrap(),
        EchoBackend::start("w3").await.unwrap(),
    );
    let services = [
        service_yaml("default", "prefix", 80, "http", &[&p]),
        service_yaml("default", "exact", 80, "http", &[&e]),
        service_yaml("default", "w1", 80, "http", &[&w1]),
        service_yaml("default", "w3", 80, "http", &[&w2]),
    ]
    .join("---\n");
    let root = proxy(
        "default",
        "root",
        r#"  virtualhost: {fqdn: proxy.example.com}
  routes:
  - conditions: [{prefix: /app}]
    services: [{name: prefix, port: 80}]
  - conditions: [{exact: /app/exact}]
    services: [{name: exact, port: 80}]
  - conditions: [{prefix: /split}]
    services: [{name: w1, port: 80, weight: 25}, {name: w3, port: 80, weight: 75}]
"#,
    );
    let env = Env::start(&[("svc.yaml", services), ("proxy.yaml", root)]).await;
    env.wait_backend("proxy.example.com", "/app", "prefix")
        .await;
    assert_eq!(env.who("proxy.example.com", "/app/other").await, "prefix");
    assert_eq!(env.who("proxy.example.com", "/app/exact").await, "exact");
    assert_eq!(env.who("proxy.example.com", "/app/exact/x").await, "prefix");
    assert_eq!(env.who("proxy.example.com", "/nothing").await, "404");

    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    for _ in 0..200 {
        *counts
            .entry(env.who("proxy.example.com", "/split").await)
            .or_default() += 1;
    }
    let (n1, n3) = (
        counts.get("w1").copied().unwrap_or(0),
        counts.get("w3").copied().unwrap_or(0),
    );
    println!("weighted split over 200 requests: w1 (weight 25) = {n1}, w3 (weight 75) = {n3}");
    assert_eq!(n1 + n3, 200, "{counts:?}");
    // Expected 50/150; binomial sd ~6, so these bounds are > 4 sd away.
    assert!((25..=75).contains(&n1), "w1 got {n1} of 200");
}

#[tokio::test]
async fn include_across_namespaces_and_orphans() {
    let (home, team, orphan) = (
        EchoBackend::start("home").await.unwrap(),
        EchoBackend::start("team").await.unwrap(),
        EchoBackend::start("orphan").await.unwrap(),
    );
    let files = [
        (
            "svc.yaml",
            [
                service_yaml("default", "home", 80, "http", &[&home]),
                service_yaml("team", "app", 80, "http", &[&team]),
                service_yaml("lost", "app", 80, "http", &[&orphan]),
            ]
            .join("---\n"),
        ),
        (
            "root.yaml",
            proxy(
                "default",
                "root",
                r#"  virtualhost: {fqdn: inc.example.com}
  routes:
  - services: [{name: home, port: 80}]
  includes:
  - {name: child, namespace: team, conditions: [{prefix: /team}]}
"#,
            ),
        ),
        (
            "child.yaml",
            proxy(
                "team",
                "child",
                r#"  routes:
  - services: [{name: app, port: 80}]
"#,
            ),
        ),
        (
            "orphan.yaml",
            proxy(
                "lost",
                "orphan",
                r#"  routes:
  - conditions: [{prefix: /lost}]
    services: [{name: app, port: 80}]
"#,
            ),
        ),
    ];
    let env = Env::start(&files.map(|(p, y)| (p, y))).await;
    env.wait_backend("inc.example.com", "/team", "team").await;
    assert_eq!(env.who("inc.example.com", "/team/x").await, "team");
    assert_eq!(env.who("inc.example.com", "/").await, "home");
    // The orphan serves nothing: its path falls through to the root's / route.
    assert_eq!(env.who("inc.example.com", "/lost").await, "home");
    assert_eq!(orphan.requests(), 0);

    let status = env.debug_status().await;
    let find = |ns: &str, name: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["namespace"] == ns && s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no status for {ns}/{name}: {status}"))
    };
    assert_eq!(
        find("lost", "orphan")["status"]["currentStatus"],
        "orphaned"
    );
    assert_eq!(find("team", "child")["status"]["currentStatus"], "valid");
    assert_eq!(
        find("default", "root")["status"]["conditions"][0]["reason"],
        "Valid"
    );
}
