//! Listener settings: PROXY protocol, the static admin/stats/health listeners, metrics TLS and
//! the `listener.*` keys.

use std::time::Duration;

use contour_testkit::{free_port, http_get};

use crate::{ConfigFile, dumped, raw_exchange, start_web};

/// `--use-proxy-protocol`: a PROXY v1 header is accepted and gives the client address; a
/// connection without one gets no answer.
#[tokio::test]
async fn proxy_protocol_is_accepted() {
    let web = contour_testkit::EchoBackend::start("web").await.unwrap();
    let files = [
        (
            "web.yaml",
            contour_testkit::service_yaml("default", "web", 80, "http", &[&web]),
        ),
        (
            "ingress.yaml",
            crate::ingress_to("web", "web.example.com", "web"),
        ),
    ];
    let env = crate::common::Env::start_with_args(&files, &["--use-proxy-protocol".into()]).await;
    let port = env.ports.http;
    let with_header = b"PROXY TCP4 198.51.100.9 127.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n";
    let reply =
        contour_testkit::poll_until(crate::CONVERGE, "a 200 through PROXY protocol", || async {
            let (reply, _) = raw_exchange(port, with_header, Duration::from_secs(5)).await;
            reply.starts_with("HTTP/1.1 200").then_some(reply)
        })
        .await
        .unwrap();
    assert!(
        reply.contains("\"x-forwarded-for\":\"198.51.100.9\""),
        "{reply}"
    );
    let without = b"GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n";
    let (reply, closed) = raw_exchange(port, without, Duration::from_secs(10)).await;
    assert!(!reply.contains("200 OK"), "{reply}");
    assert!(
        closed.is_some(),
        "connection without PROXY header stayed open"
    );
}

/// `network.admin-port`, `metrics.envoy` on its own port (separate `stats` and `health`
/// listeners) and the `listener.*` keys.
#[tokio::test]
async fn static_listeners_and_listener_settings() {
    let (admin, metrics) = (free_port(), free_port());
    let cfg = ConfigFile::new(&format!(
        "network:\n  admin-port: {admin}\nmetrics:\n  envoy:\n    address: 127.0.0.1\n    port: {metrics}\n\
         listener:\n  connection-balancer: exact\n  max-requests-per-connection: 1\n  per-connection-buffer-limit-bytes: 65536\n  socket-options:\n    tos: 64\n  http2-max-concurrent-streams: 50\n  max-connections-to-accept-per-socket-event: 4\n"
    ));
    let (env, _web) = start_web(&cfg.args(), &[]).await;
    // envoy-admin: read-only admin on 127.0.0.1.
    let r = http_get(admin, "localhost", "/server_info").await.unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("\"state\""), "{}", r.text());
    let post = b"POST /quitquitquit HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let (reply, _) = raw_exchange(admin, post, Duration::from_secs(10)).await;
    assert!(
        reply.starts_with("HTTP/1.1 404"),
        "admin writes must not be routed: {reply}"
    );
    // metrics on their own port, /ready on the stats (health) port only.
    let stats = http_get(metrics, "localhost", "/stats/prometheus")
        .await
        .unwrap();
    assert_eq!(stats.status, 200);
    assert_eq!(
        http_get(metrics, "localhost", "/ready")
            .await
            .unwrap()
            .status,
        404
    );
    let ready = http_get(env.ports.stats, "localhost", "/ready")
        .await
        .unwrap();
    assert_eq!(ready.status, 200);
    assert_eq!(
        http_get(env.ports.stats, "localhost", "/stats")
            .await
            .unwrap()
            .status,
        404
    );
    // max-requests-per-connection: 1. Envoy closes after the first response.
    let two = b"GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\nGET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n";
    let (reply, closed) = raw_exchange(env.ports.http, two, Duration::from_secs(10)).await;
    assert_eq!(reply.matches("HTTP/1.1 200").count(), 1, "{reply}");
    assert!(closed.is_some(), "connection stayed open");
    // The rest, as Envoy holds it.
    let l = &dumped(&env, "dynamic_listeners", "ingress_http").await["active_state"]["listener"];
    assert_eq!(l["per_connection_buffer_limit_bytes"], 65536);
    assert!(
        l["connection_balance_config"]["exact_balance"].is_object(),
        "{l}"
    );
    assert_eq!(l["max_connections_to_accept_per_socket_event"], 4);
    let tos = l["socket_options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["description"] == "Set IPv4 TOS field" && o["int_value"] == "64");
    assert!(tos, "{}", l["socket_options"]);
    let hcm = &l["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["http2_protocol_options"]["max_concurrent_streams"], 50);
}

/// `metrics.envoy` with a certificate: `/stats` over TLS on the metrics port, `/ready` over
/// plain HTTP on the health port.
#[tokio::test]
async fn envoy_metrics_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(status.status.success(), "{status:?}");
    let metrics = free_port();
    let cfg = ConfigFile::new(&format!(
        "metrics:\n  envoy:\n    address: 127.0.0.1\n    port: {metrics}\n    server-certificate-path: {}\n    server-key-path: {}\n",
        cert.display(),
        key.display()
    ));
    let (env, _web) = start_web(&cfg.args(), &[]).await;
    let url = format!("https://127.0.0.1:{metrics}/stats/prometheus");
    let out = contour_testkit::poll_until(crate::CONVERGE, "metrics over TLS", || {
        let out = std::process::Command::new("curl")
            .args([
                "-sk",
                "--max-time",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{ssl_verify_result}",
                &url,
            ])
            .output()
            .ok();
        std::future::ready(
            out.map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .filter(|s| s.starts_with("200")),
        )
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}\nEnvoy log:\n{}",
            crate::common::tail(&env.envoy.log(), 30)
        )
    });
    println!("curl over TLS: {out}");
    // Plain HTTP on the metrics port gets no answer.
    assert!(http_get(metrics, "localhost", "/stats").await.is_err());
    assert_eq!(
        http_get(env.ports.stats, "localhost", "/ready")
            .await
            .unwrap()
            .status,
        200
    );
}
