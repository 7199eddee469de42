//! `/debug/dag` on the debug address of a running `contour serve`.

mod common;

use common::{Env, proxy_yaml, simple_proxy};
use contour_testkit::{EchoBackend, http_get, service_yaml};

#[tokio::test]
async fn debug_dag_serves_the_graph_in_dot() {
    let app = EchoBackend::start("app").await.unwrap();
    let shadow = EchoBackend::start("shadow").await.unwrap();
    let mirrored = proxy_yaml(
        "default",
        "mirrored",
        "  virtualhost: {fqdn: mirror.example.com}\n  routes:\n  - services: [{name: app, port: 80}, {name: shadow, port: 80, mirror: true, weight: 50}]\n",
    );
    let env = Env::start(&[
        (
            "svc.yaml",
            [
                service_yaml("default", "app", 80, "http", &[&app]),
                service_yaml("default", "shadow", 80, "http", &[&shadow]),
            ]
            .join("---\n"),
        ),
        ("proxy.yaml", simple_proxy("web", "web.example.com", "app")),
        ("mirror.yaml", mirrored),
    ])
    .await;
    env.wait_backend("mirror.example.com", "/", "app").await;
    env.wait_backend("web.example.com", "/", "app").await;
    let r = http_get(env.ports.debug, "127.0.0.1", "/debug/dag")
        .await
        .expect("debug dag");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/vnd.graphviz; charset=utf-8")
    );
    let dot = r.text();
    assert!(dot.starts_with("digraph DAG {\nrankdir=\"LR\"\n"), "{dot}");
    assert!(dot.ends_with("}\n"), "{dot}");
    let listener = format!(
        "\"listener/ingress_http\" [shape=record, label=\"{{listener|127.0.0.1:{}}}\"]",
        env.ports.http
    );
    for line in [
        listener.as_str(),
        "\"listener/ingress_http\" -> \"http/web.example.com\"",
        "\"http/web.example.com\" -> \"http/web.example.com/route/prefix:/\"",
        "\"service/default/app:80\" [shape=record, label=\"{service|default/app:80}\"]",
        // The mirror cluster, its service, and the share of requests copied to it.
        "\"cluster/default/shadow/80/da39a3ee5e\" [shape=record, label=\"{cluster|default/shadow/80/da39a3ee5e}\"]",
        "\"cluster/default/shadow/80/da39a3ee5e\" -> \"service/default/shadow:80\"",
        "\"http/mirror.example.com/route/prefix:/\" -> \"cluster/default/shadow/80/da39a3ee5e\" [label=\"mirror 50%\"]",
    ] {
        assert!(dot.lines().any(|l| l == line), "missing {line}\n{dot}");
    }
}
