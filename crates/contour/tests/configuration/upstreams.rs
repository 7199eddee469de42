//! Upstream settings: circuit breakers (global and Service annotations), cluster keys,
//! runtime settings over RTDS, ExternalName Services.

use std::time::Duration;

use contour_testkit::{EchoBackend, Request, service_yaml};

use crate::{ConfigFile, dumped, ingress_to, start_web};

/// A Service with circuit breaker annotations: with one request allowed at a time and no
/// queue, concurrent requests overflow and Envoy answers 503 `x-envoy-overloaded`.
#[tokio::test]
async fn circuit_breaker_trips() {
    let slow = EchoBackend::start("slow").await.unwrap();
    slow.set_delay(Duration::from_millis(1500));
    let svc = service_yaml("default", "slow", 80, "http", &[&slow]).replacen(
        "  namespace: default\n",
        "  namespace: default\n  annotations:\n    projectcontour.io/max-requests: \"1\"\n    projectcontour.io/max-pending-requests: \"1\"\n",
        1,
    );
    let cfg = ConfigFile::new(
        "cluster:\n  circuit-breakers:\n    max-connections: 7\n    max-retries: 2\n  per-connection-buffer-limit-bytes: 32768\n  max-requests-per-connection: 50\n",
    );
    let files = [
        ("slow.yaml", svc),
        (
            "slow-ing.yaml",
            ingress_to("slow", "slow.example.com", "slow"),
        ),
    ];
    let (env, _web) = start_web(&cfg.args(), &files).await;
    env.wait_backend("slow.example.com", "/", "slow").await;
    let port = env.ports.http;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        set.spawn(async move {
            Request::get("slow.example.com", "/")
                .timeout(Duration::from_secs(15))
                .send(port)
                .await
                .unwrap()
        });
    }
    let mut replies = Vec::new();
    while let Some(r) = set.join_next().await {
        replies.push(r.unwrap());
    }
    let overloaded = replies
        .iter()
        .filter(|r| r.status == 503 && r.header("x-envoy-overloaded") == Some("true"))
        .count();
    let ok = replies.iter().filter(|r| r.status == 200).count();
    println!("4 concurrent requests: {ok} answered, {overloaded} overflowed");
    assert!(overloaded >= 1, "no request overflowed");
    assert!(ok >= 1, "no request got through");
    // Global defaults fill in what the annotations leave unset; cluster keys apply.
    let c = &dumped(
        &env,
        "dynamic_active_clusters",
        "default/slow/80/da39a3ee5e",
    )
    .await["cluster"];
    let t = &c["circuit_breakers"]["thresholds"][0];
    assert_eq!(t["max_requests"], 1);
    assert_eq!(t["max_pending_requests"], 1);
    assert_eq!(t["max_connections"], 7);
    assert_eq!(t["max_retries"], 2);
    assert_eq!(c["per_connection_buffer_limit_bytes"], 32768);
    let opts = &c["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
    assert_eq!(
        opts["common_http_protocol_options"]["max_requests_per_connection"],
        50
    );
}

/// `runtime-settings` and the managed listener keys reach Envoy's runtime over RTDS.
#[tokio::test]
async fn runtime_keys_are_visible_in_envoy() {
    let cfg = ConfigFile::new(
        "runtime-settings:\n  contour.test.custom: \"42\"\n  http.max_requests_per_io_cycle: \"99\"\nlistener:\n  max-requests-per-io-cycle: 7\n  max-connections-per-listener: 100\n",
    );
    let (env, _web) = start_web(&cfg.args(), &[]).await;
    let (status, body) = env.envoy.admin_get("/runtime").await.unwrap();
    assert_eq!(status, 200);
    let runtime: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entry = |k: &str| runtime["entries"][k]["final_value"].clone();
    assert_eq!(entry("contour.test.custom"), "42");
    // Managed keys win over the user's value for the same key.
    assert_eq!(entry("http.max_requests_per_io_cycle"), "7");
    assert_eq!(
        entry("envoy.resource_limits.listener.ingress_http.connection_limit"),
        "100"
    );
    let re2 = entry("re2.max_program_size.error_level");
    // Envoy prints numbers with six significant digits.
    assert_eq!(re2, "1.04858e+06");
}

fn external_service(name: &str, target: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: ExternalName\n  externalName: \"{target}\"\n  ports:\n  - {{name: http, port: 80, protocol: TCP}}\n"
    )
}

/// `enableExternalNameService`: an ExternalName Service becomes a DNS cluster, but one that
/// points at Envoy itself (localhost names, loopback, link-local, unspecified) is refused and
/// the Ingress routes to it are dropped (404), as upstream.
#[tokio::test]
async fn external_name_to_localhost_is_refused() {
    let cfg =
        ConfigFile::new("enableExternalNameService: true\ncluster:\n  dns-lookup-family: v4\n");
    let mut owned: Vec<(String, String)> = Vec::new();
    for (name, target) in [
        ("to-localhost", "localhost."),
        ("to-loopback", "127.0.0.1"),
        ("to-metadata", "169.254.169.254"),
        ("allowed", "upstream.example.invalid"),
    ] {
        owned.push((format!("{name}.yaml"), external_service(name, target)));
        let host = format!("{name}.example.com");
        owned.push((format!("{name}-ing.yaml"), ingress_to(name, &host, name)));
    }
    let all: Vec<(&str, String)> = owned.iter().map(|(n, y)| (n.as_str(), y.clone())).collect();
    let (env, _web) = start_web(&cfg.args(), &all).await;
    // As upstream, the Ingress route to a refused Service is dropped: nothing matches.
    env.wait_status("allowed.example.com", "/", 503).await;
    for host in ["to-localhost", "to-loopback", "to-metadata"] {
        assert_eq!(
            env.get(&format!("{host}.example.com"), "/")
                .await
                .unwrap()
                .status,
            404
        );
    }
    env.wait_log_line("the refusal logged", |l| {
        l.contains("ignoring ExternalName service") && l.contains("to-localhost")
    })
    .await;
    let c = &dumped(
        &env,
        "dynamic_active_clusters",
        "default/allowed/80/da39a3ee5e",
    )
    .await["cluster"];
    assert_eq!(c["type"], "STRICT_DNS");
    assert_eq!(c["dns_lookup_family"], "V4_ONLY");
    let addr = &c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"];
    assert_eq!(addr["address"], "upstream.example.invalid");
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_active_clusters")
        .await
        .unwrap();
    let text = dump.to_string();
    for refused in ["to-localhost", "to-loopback", "to-metadata"] {
        assert!(
            !text.contains(&format!("default/{refused}/")),
            "{refused} reached Envoy"
        );
    }
}

/// ExternalName Services off (the default): an Ingress path to one is dropped (404) while the
/// Ingress's other paths are served; an HTTPProxy service to one is `ServiceUnresolvedReference`
/// with upstream's message and its route answers 503.
#[tokio::test]
async fn external_name_disabled_drops_ingress_route_and_reports_httpproxy() {
    let mixed = crate::common::ingress_yaml(
        "mixed",
        "  rules:\n  - host: mixed.example.com\n    http:\n      paths:\n      - {path: /ok, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n      - {path: /ext, pathType: Prefix, backend: {service: {name: ext, port: {number: 80}}}}\n",
    );
    let proxy = crate::common::proxy_yaml(
        "default",
        "p",
        "  virtualhost: {fqdn: proxy.example.com}\n  routes:\n  - services: [{name: ext, port: 80}]\n",
    );
    let extra = [
        (
            "ext.yaml",
            external_service("ext", "upstream.example.invalid"),
        ),
        ("mixed.yaml", mixed),
        ("proxy.yaml", proxy),
    ];
    let (env, _web) = start_web(&[], &extra).await;
    env.wait_backend("mixed.example.com", "/ok", "web").await;
    assert_eq!(
        env.get("mixed.example.com", "/ext").await.unwrap().status,
        404
    );
    env.wait_status("proxy.example.com", "/", 503).await;
    let st = env
        .wait_proxy_status("default", "p", |s| s["currentStatus"] == "invalid")
        .await;
    let e = &st["conditions"][0]["errors"][0];
    assert_eq!(e["reason"], "ServiceUnresolvedReference");
    assert_eq!(
        e["message"],
        "Spec.Routes unresolved service reference: default/ext is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting"
    );
}
