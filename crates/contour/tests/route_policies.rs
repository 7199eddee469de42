//! HTTPProxy route policies through real Envoy: timeouts (504 from a slow backend, idle
//! connection close), retries (a backend failing the first N times, a per-try timeout cutting a
//! slow first attempt short), header policies with
//! Contour's and Envoy's variables, host and prefix rewrites, redirects, direct responses,
//! internal redirects, mirroring and WebSocket upgrades.

mod common;

use std::time::Duration;

use common::{CONVERGE, Env, proxy_yaml};
use contour_testkit::{EchoBackend, Request, poll_until, service_yaml};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn services(backends: &[&EchoBackend]) -> String {
    backends
        .iter()
        .map(|b| service_yaml("default", b.name(), 80, "http", &[b]))
        .collect::<Vec<_>>()
        .join("---\n")
}

#[tokio::test]
async fn timeouts_and_retries() {
    let names = ["slow", "idle", "conn", "flaky", "never", "teapot"];
    let mut backends = Vec::new();
    for n in names {
        backends.push(EchoBackend::start(n).await.unwrap());
    }
    let [slow, idle, conn, flaky, never, teapot] = &backends[..] else {
        unreachable!()
    };
    let spec = r#"  virtualhost: {fqdn: policy.example.com}
  routes:
  - conditions: [{prefix: /slow}]
    services: [{name: slow, port: 80}]
    timeoutPolicy: {response: 500ms}
  - conditions: [{prefix: /idle}]
    services: [{name: idle, port: 80}]
    timeoutPolicy: {idle: 500ms}
  - conditions: [{prefix: /conn}]
    services: [{name: conn, port: 80}]
    timeoutPolicy: {idleConnection: 1s}
  - conditions: [{prefix: /flaky}]
    services: [{name: flaky, port: 80}]
    retryPolicy: {count: 2, retryOn: [5xx]}
  - conditions: [{prefix: /never}]
    services: [{name: never, port: 80}]
    retryPolicy: {count: -1}
  - conditions: [{prefix: /teapot}]
    services: [{name: teapot, port: 80}]
    retryPolicy: {count: 1, retryOn: [retriable-status-codes], retriableStatusCodes: [418]}
"#;
    let refs: Vec<&EchoBackend> = backends.iter().collect();
    let env = Env::start(&[
        ("svc.yaml", services(&refs)),
        ("proxy.yaml", proxy_yaml("default", "p", spec)),
    ])
    .await;
    let h = "policy.example.com";
    for path in ["/slow", "/idle", "/conn", "/flaky", "/never", "/teapot"] {
        env.wait_status(h, path, 200).await;
    }

    // Response timeout: a backend slower than 500ms gives 504.
    slow.set_delay(Duration::from_secs(3));
    let r = env.get(h, "/slow").await.unwrap();
    assert_eq!(r.status, 504, "{}", r.text());
    // Stream idle timeout: no response bytes for 500ms end the request too.
    idle.set_delay(Duration::from_secs(3));
    let r = env.get(h, "/idle").await.unwrap();
    assert!(
        matches!(r.status, 504 | 408),
        "idle timeout gave {}",
        r.status
    );

    // Idle connection timeout: Envoy closes its upstream connection after 1s without requests
    // (Envoy's default would keep it for an hour).
    let c = &conn;
    poll_until(
        CONVERGE,
        "the upstream connection to close",
        || async move { (c.open_connections() == 0 && c.total_connections() > 0).then_some(()) },
    )
    .await
    .unwrap();

    // Two retries: a backend failing twice succeeds on the third attempt.
    let before = flaky.requests();
    flaky.fail_next(2, 503);
    let r = env.get(h, "/flaky").await.unwrap();
    assert_eq!((r.status, r.backend()), (200, Some("flaky")));
    assert_eq!(flaky.requests() - before, 3);
    // count -1: no retry at all.
    never.fail_next(1, 503);
    assert_eq!(env.get(h, "/never").await.unwrap().status, 503);
    // retriable-status-codes: 418 is retried.
    teapot.fail_next(1, 418);
    assert_eq!(env.get(h, "/teapot").await.unwrap().status, 200);
}

/// `perTryTimeout`: a backend slow on its first attempt only. With a per-try timeout the slow
/// attempt is cut short and retried, well within the route timeout; without one, the same
/// retry policy waits for the slow attempt until the route times out.
#[tokio::test]
async fn per_try_timeout_retries_a_slow_attempt() {
    let (quick, waits) = (
        EchoBackend::start("pertry").await.unwrap(),
        EchoBackend::start("noper").await.unwrap(),
    );
    let spec = r#"  virtualhost: {fqdn: pertry.example.com}
  routes:
  - conditions: [{prefix: /pertry}]
    services: [{name: pertry, port: 80}]
    timeoutPolicy: {response: 2s}
    retryPolicy: {count: 2, perTryTimeout: 300ms}
  - conditions: [{prefix: /noper}]
    services: [{name: noper, port: 80}]
    timeoutPolicy: {response: 2s}
    retryPolicy: {count: 2}
"#;
    let env = Env::start(&[
        ("svc.yaml", services(&[&quick, &waits])),
        ("proxy.yaml", proxy_yaml("default", "p", spec)),
    ])
    .await;
    let h = "pertry.example.com";
    env.wait_status(h, "/pertry", 200).await;
    env.wait_status(h, "/noper", 200).await;

    quick.slow_next(1, Duration::from_secs(5));
    let started = std::time::Instant::now();
    let r = env.get(h, "/pertry").await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        (r.status, r.backend()),
        (200, Some("pertry")),
        "{}",
        r.text()
    );
    assert!(
        took < Duration::from_secs(2),
        "within the route timeout: {took:?}"
    );
    assert!(took >= Duration::from_millis(300), "took {took:?}");

    waits.slow_next(1, Duration::from_secs(5));
    let started = std::time::Instant::now();
    let r = env.get(h, "/noper").await.unwrap();
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(took >= Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn headers_rewrites_and_actions() {
    let (app, target, main, shadow) = (
        EchoBackend::start("app").await.unwrap(),
        EchoBackend::start("target").await.unwrap(),
        EchoBackend::start("main").await.unwrap(),
        EchoBackend::start("shadow").await.unwrap(),
    );
    let spec = r#"  virtualhost: {fqdn: policy.example.com}
  routes:
  - conditions: [{prefix: /headers}]
    services:
    - name: app
      port: 80
      requestHeadersPolicy:
        set: [{name: x-svc, value: "%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%"}]
    requestHeadersPolicy:
      set:
      - {name: x-ns, value: "%CONTOUR_NAMESPACE%"}
      - {name: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}
      - {name: x-copied, value: "%REQ(x-in)%"}
      - {name: x-literal, value: "100% %UNKNOWN%"}
      remove: [x-drop]
    responseHeadersPolicy:
      set: [{name: x-resp, value: "yes"}]
      remove: [content-type]
  - conditions: [{prefix: /host-literal}]
    services: [{name: app, port: 80}]
    requestHeadersPolicy: {set: [{name: Host, value: rewritten.example.com}]}
  - conditions: [{prefix: /host-dynamic}]
    services: [{name: app, port: 80}]
    requestHeadersPolicy: {set: [{name: host, value: "%REQ(x-target-host)%"}]}
  - conditions: [{prefix: /rewrite}]
    services: [{name: app, port: 80}]
    pathRewritePolicy: {replacePrefix: [{replacement: /new}]}
  - conditions: [{prefix: /redirect}]
    requestRedirectPolicy: {scheme: https, hostname: other.example.com, port: 8443, statusCode: 307, prefix: /moved}
  - conditions: [{prefix: /direct}]
    directResponsePolicy: {statusCode: 418, body: short and stout}
  - conditions: [{prefix: /internal}]
    services: [{name: app, port: 80}]
    internalRedirectPolicy: {maxInternalRedirects: 2, redirectResponseCodes: [302]}
  - conditions: [{prefix: /target}]
    services: [{name: target, port: 80}]
  - conditions: [{prefix: /mirror}]
    services: [{name: main, port: 80}, {name: shadow, port: 80, mirror: true}]
  - conditions: [{prefix: /ws}]
    services: [{name: app, port: 80}]
    enableWebsockets: true
"#;
    let env = Env::start(&[
        ("svc.yaml", services(&[&app, &target, &main, &shadow])),
        ("proxy.yaml", proxy_yaml("default", "p", spec)),
    ])
    .await;
    let h = "policy.example.com";
    env.wait_status(h, "/headers", 200).await;
    let port = env.ports.http;

    let r = Request::get(h, "/headers")
        .header("x-in", "copied-value")
        .header("x-drop", "gone")
        .send(port)
        .await
        .unwrap();
    let echo = r.echo().unwrap();
    assert_eq!(echo.headers["x-ns"], "default");
    assert_eq!(echo.headers["x-svc"], "app:80");
    assert_eq!(echo.headers["x-client"], "127.0.0.1");
    assert_eq!(echo.headers["x-copied"], "copied-value");
    // Any other % is literal.
    assert_eq!(echo.headers["x-literal"], "100% %UNKNOWN%");
    assert!(!echo.headers.contains_key("x-drop"));
    assert_eq!(r.header("x-resp"), Some("yes"));
    assert_eq!(r.header("content-type"), None);

    let echo = env.get(h, "/host-literal").await.unwrap().echo().unwrap();
    assert_eq!(echo.host, "rewritten.example.com");
    let r = Request::get(h, "/host-dynamic")
        .header("x-target-host", "from-header.example.com")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.echo().unwrap().host, "from-header.example.com");

    // replacePrefix: /rewrite → /new, and /rewrite/a → /new/a (not /new//a).
    assert_eq!(
        env.get(h, "/rewrite/a").await.unwrap().echo().unwrap().path,
        "/new/a"
    );
    assert_eq!(
        env.get(h, "/rewrite").await.unwrap().echo().unwrap().path,
        "/new"
    );

    let r = env.get(h, "/redirect/x").await.unwrap();
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("location"),
        Some("https://other.example.com:8443/moved/x")
    );
    let r = env.get(h, "/direct").await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (418, "short and stout"));

    // Envoy follows the backend's 302 itself; the client sees the target's answer.
    app.fail_next(1, 302);
    let r = Request::get(h, "/internal")
        .header(
            "x-echo-response-header",
            "location: http://policy.example.com/target/x",
        )
        .send(port)
        .await
        .unwrap();
    assert_eq!((r.status, r.backend()), (200, Some("target")));
    assert_eq!(r.echo().unwrap().path, "/target/x");

    // The mirror sees the request; the client gets the main backend's answer.
    let r = env.get(h, "/mirror").await.unwrap();
    assert_eq!(r.backend(), Some("main"));
    let s = &shadow;
    poll_until(CONVERGE, "the mirror to see the request", || async move {
        (s.requests() > 0).then_some(())
    })
    .await
    .unwrap();

    assert_eq!(websocket_echo(port, h, "/ws", b"ping").await, b"ping");
}

/// Upgrades `path` to a WebSocket through Envoy and returns what comes back for `payload`.
async fn websocket_echo(port: u16, host: &str, path: &str, payload: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut byte))
            .await
            .expect("upgrade response in time")
            .unwrap();
        assert!(
            n == 1,
            "connection closed: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s.write_all(payload).await.unwrap();
    let mut got = vec![0u8; payload.len()];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
        .await
        .expect("echo in time")
        .unwrap();
    got
}
