//! Self-tests for the harness pieces that do not need Envoy.

use std::time::Duration;

use contour_testkit::{
    EchoBackend, ManifestDir, Process, Request, connect_refused, endpointslice_doc,
    endpointslice_yaml, free_port, http_get, service_yaml, wait_for_backend, wait_for_refused,
    wait_for_status,
};
use serde::Deserialize;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn echo_describes_the_request() -> anyhow::Result<()> {
    let backend = EchoBackend::start("echo-1").await?;
    assert_eq!(backend.name(), "echo-1");
    let resp = Request::get("svc.example", "/p/q?a=1&b=2")
        .header("X-Custom", "one")
        .header("x-custom", "two")
        .send(backend.port())
        .await?;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.backend(), Some("echo-1"));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let echo = resp.echo()?;
    assert_eq!(echo.backend, "echo-1");
    assert_eq!(echo.path, "/p/q?a=1&b=2");
    assert_eq!(echo.host, "svc.example");
    assert_eq!(
        echo.headers.get("x-custom").map(String::as_str),
        Some("one, two")
    );
    assert_eq!(resp.json()?["method"], "GET");
    assert_eq!(backend.requests(), 1);
    Ok(())
}

#[tokio::test]
async fn echo_status_switch_and_stop() -> anyhow::Result<()> {
    let backend = EchoBackend::start("switchy").await?;
    let port = backend.port();
    backend.set_status(503);
    let resp = http_get(port, "h", "/").await?;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.backend(), Some("switchy"));
    backend.set_status(200);
    wait_for_status(port, "h", "/", 200, WAIT).await?;
    wait_for_backend(port, "h", "/", "switchy", WAIT).await?;
    assert_eq!(backend.requests(), 3);
    assert!(!connect_refused(port));
    backend.stop().await;
    assert!(connect_refused(port));
    Ok(())
}

#[tokio::test]
async fn echo_backends_get_distinct_ports() -> anyhow::Result<()> {
    let a = EchoBackend::start("a").await?;
    let b = EchoBackend::start("b").await?;
    let p = free_port();
    assert_ne!(a.port(), b.port());
    assert!(p != a.port() && p != b.port());
    wait_for_refused(p, WAIT).await?;
    Ok(())
}

#[tokio::test]
async fn wait_for_backend_reports_last_response() -> anyhow::Result<()> {
    let backend = EchoBackend::start("actual").await?;
    let err = wait_for_backend(
        backend.port(),
        "h",
        "/",
        "expected",
        Duration::from_millis(100),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected"), "{err}");
    assert!(
        err.contains("last seen: status 200 from Some(\"actual\")"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn process_logs_kills_and_restarts() -> anyhow::Result<()> {
    let script = "echo started $$; echo to-stderr >&2; exec sleep 30";
    let mut p = Process::spawn("sh", ["-c", script], &[("TESTKIT_X", "1")])?;
    p.wait_for_log("started", WAIT).await?;
    p.wait_for_log("to-stderr", WAIT).await?;
    let first = p.pid();
    assert!(first.is_some() && p.is_running());
    assert!(
        p.log()
            .contains(&format!("started {}", first.unwrap_or_default()))
    );

    let mark = p.log_mark();
    p.restart()?;
    assert_ne!(p.pid(), first);
    p.wait_for_log_since(mark, "started", WAIT).await?;
    assert!(p.log_since(mark).contains("=== testkit: restart #1"));

    p.signal("TERM")?;
    let status = p.wait_exit(WAIT).await?;
    assert!(!status.success());
    assert!(!p.is_running());
    p.kill()?;
    Ok(())
}

#[tokio::test]
async fn wait_for_log_fails_fast_when_the_process_exits() -> anyhow::Result<()> {
    let mut p = Process::spawn("sh", ["-c", "echo bye; exit 3"], &[])?;
    let started = std::time::Instant::now();
    let err = p
        .wait_for_log("never printed", WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exited"), "{err}");
    assert!(err.contains("bye"), "{err}");
    assert!(started.elapsed() < WAIT);
    Ok(())
}

#[test]
fn manifest_dir_writes_atomically_and_removes() -> anyhow::Result<()> {
    let dir = ManifestDir::new()?;
    let path = dir.write("ns/a/svc.yaml", "kind: Service\n")?;
    assert_eq!(path, dir.path().join("ns/a/svc.yaml"));
    assert_eq!(std::fs::read_to_string(&path)?, "kind: Service\n");
    dir.write("ns/a/svc.yaml", "kind: Changed\n")?;
    assert_eq!(std::fs::read_to_string(&path)?, "kind: Changed\n");
    // Only the written file is ever visible in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("ns/a"))?.collect::<Result<_, _>>()?;
    assert_eq!(names.len(), 1);
    dir.remove("ns/a/svc.yaml")?;
    assert!(!path.exists());
    assert!(dir.remove("ns/a/svc.yaml").is_err());
    assert!(dir.write("../escape.yaml", "x").is_err());
    assert!(dir.write("/abs.yaml", "x").is_err());
    assert!(dir.write("", "x").is_err());
    Ok(())
}

fn parse_docs(yaml: &str) -> Vec<serde_json::Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|d| serde_json::Value::deserialize(d).expect("valid YAML"))
        .collect()
}

#[tokio::test]
async fn service_yaml_has_one_slice_per_backend() -> anyhow::Result<()> {
    let a = EchoBackend::start("a").await?;
    let b = EchoBackend::start("b").await?;
    let yaml = service_yaml("default", "echo", 80, "http", &[&a, &b]);
    let docs = parse_docs(&yaml);
    assert_eq!(docs.len(), 3, "{yaml}");
    let svc = &docs[0];
    assert_eq!(svc["kind"], "Service");
    assert_eq!(svc["metadata"]["namespace"], "default");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["name"], "http");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    for (i, (doc, backend)) in docs[1..].iter().zip([&a, &b]).enumerate() {
        assert_eq!(doc["apiVersion"], "discovery.k8s.io/v1");
        assert_eq!(doc["kind"], "EndpointSlice");
        assert_eq!(doc["metadata"]["name"], format!("echo-{i}"));
        assert_eq!(
            doc["metadata"]["labels"]["kubernetes.io/service-name"],
            "echo"
        );
        assert_eq!(doc["addressType"], "IPv4");
        assert_eq!(doc["ports"][0]["name"], "http");
        assert_eq!(doc["ports"][0]["port"], backend.port());
        assert_eq!(doc["ports"][0]["protocol"], "TCP");
        assert_eq!(doc["endpoints"][0]["addresses"][0], "127.0.0.1");
        assert_eq!(doc["endpoints"][0]["conditions"]["ready"], true);
    }
    assert_eq!(
        parse_docs(&service_yaml("default", "none", 80, "http", &[])).len(),
        1
    );

    let slices = parse_docs(&endpointslice_yaml("ns", "echo", "extra", "http", &[&b]));
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0]["metadata"]["name"], "extra-0");
    assert_eq!(slices[0]["ports"][0]["port"], b.port());

    let empty = parse_docs(&endpointslice_doc(
        "ns",
        "echo",
        "gone",
        "http",
        8080,
        &[],
        false,
    ));
    assert_eq!(empty[0]["endpoints"], serde_json::json!([]));
    let not_ready = parse_docs(&endpointslice_doc(
        "ns",
        "echo",
        "nr",
        "http",
        8080,
        &["10.0.0.1"],
        false,
    ));
    assert_eq!(not_ready[0]["endpoints"][0]["conditions"]["ready"], false);
    Ok(())
}
