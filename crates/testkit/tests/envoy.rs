//! Self-test: real Envoy routing to echo backends through a static bootstrap.

use std::path::Path;
use std::time::Duration;

use contour_testkit::{
    EchoBackend, Envoy, EnvoyOptions, connect_refused, free_port, http_get, wait_for_backend,
};
use serde_json::json;

const READY: Duration = Duration::from_secs(20);

/// A bootstrap with the admin on `admin_socket` and one listener on
/// `listener_port` sending everything to a static cluster at 127.0.0.1:`upstream_port`.
fn static_bootstrap(
    admin_socket: &Path,
    listener_port: u16,
    upstream_port: u16,
) -> serde_json::Value {
    json!({
        "admin": {"address": {"pipe": {"path": admin_socket}}},
        "static_resources": {
            "listeners": [{
                "name": "ingress_http",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": listener_port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress_http",
                        "route_config": {"virtual_hosts": [{
                            "name": "all", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "echo"}}]
                        }]},
                        "http_filters": [{
                            "name": "envoy.filters.http.router",
                            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
                        }]
                    }
                }]}]
            }],
            "clusters": [{
                "name": "echo",
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "echo", "endpoints": [{"lb_endpoints": [{"endpoint": {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}
                }}]}]}
            }]
        }
    })
}

struct Setup {
    _dir: tempfile::TempDir,
    envoy: Envoy,
    listener_port: u16,
}

fn start_envoy(backend: &EchoBackend) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let admin = dir.path().join("admin.sock");
    let bootstrap = dir.path().join("bootstrap.json");
    let listener_port = free_port();
    let config = static_bootstrap(&admin, listener_port, backend.port());
    std::fs::write(&bootstrap, serde_json::to_vec_pretty(&config)?)?;
    let envoy = Envoy::start(EnvoyOptions::new(&bootstrap, &admin))?;
    Ok(Setup {
        _dir: dir,
        envoy,
        listener_port,
    })
}

#[tokio::test]
async fn routes_through_envoy_and_serves_again_after_restart() -> anyhow::Result<()> {
    let backend = EchoBackend::start("echo-a").await?;
    let mut s = start_envoy(&backend)?;
    s.envoy.wait_ready(READY).await?;
    assert!(s.envoy.is_running());
    let first_pid = s.envoy.pid();

    let resp = http_get(s.listener_port, "example.com", "/hello?x=1").await?;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.backend(), Some("echo-a"));
    let echo = resp.echo()?;
    assert_eq!(echo.path, "/hello?x=1");
    assert_eq!(echo.host, "example.com");
    assert_eq!(echo.method, "GET");
    assert!(
        echo.headers.contains_key("x-request-id"),
        "Envoy adds x-request-id: {echo:?}"
    );
    assert_eq!(backend.requests(), 1);

    let (status, body) = s.envoy.admin_get("/clusters").await?;
    assert_eq!(status, 200);
    assert!(body.contains("echo::"), "{body}");
    assert!(s.envoy.config_dump("").await?.get("configs").is_some());
    assert_eq!(s.envoy.stat("cluster.echo.upstream_rq_200").await?, Some(1));

    s.envoy.stop()?;
    assert!(!s.envoy.is_running());
    assert!(
        connect_refused(s.listener_port),
        "listener closed after stop"
    );

    s.envoy.restart()?;
    s.envoy.wait_ready(READY).await?;
    assert_ne!(s.envoy.pid(), first_pid);
    wait_for_backend(s.listener_port, "example.com", "/again", "echo-a", READY).await?;
    assert!(
        s.envoy
            .log()
            .contains("=== testkit: restart #1 of envoy ===")
    );
    Ok(())
}

#[tokio::test]
async fn two_envoys_run_side_by_side() -> anyhow::Result<()> {
    let a = EchoBackend::start("left").await?;
    let b = EchoBackend::start("right").await?;
    let mut sa = start_envoy(&a)?;
    let mut sb = start_envoy_tcp_admin(&b)?;
    sa.envoy.wait_ready(READY).await?;
    sb.envoy.wait_ready(READY).await?;
    let (ra, rb) = tokio::join!(
        http_get(sa.listener_port, "a.test", "/a"),
        http_get(sb.listener_port, "b.test", "/b"),
    );
    let (ra, rb) = (ra?, rb?);
    assert_eq!(ra.backend(), Some("left"));
    assert_eq!(rb.backend(), Some("right"));
    assert_eq!(ra.echo()?.path, "/a");
    assert_eq!(rb.echo()?.path, "/b");
    assert_eq!(sb.envoy.admin_get("/ready").await?.0, 200);
    assert_ne!(sa.envoy.pid(), sb.envoy.pid());
    Ok(())
}

#[tokio::test]
async fn upstream_status_is_passed_through() -> anyhow::Result<()> {
    let backend = EchoBackend::start("flaky").await?;
    let mut s = start_envoy(&backend)?;
    s.envoy.wait_ready(READY).await?;
    backend.set_status(503);
    let resp = http_get(s.listener_port, "x.test", "/").await?;
    assert_eq!(resp.status, 503);
    assert_eq!(resp.backend(), Some("flaky"));
    Ok(())
}

#[tokio::test]
async fn bad_bootstrap_fails_fast_with_log() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bootstrap = dir.path().join("bootstrap.json");
    std::fs::write(&bootstrap, r#"{"admin": {"address": {"nonsense": 1}}}"#)?;
    let mut envoy = Envoy::start(EnvoyOptions::new(&bootstrap, dir.path().join("admin.sock")))?;
    let started = std::time::Instant::now();
    let err = envoy.wait_ready(READY).await.unwrap_err().to_string();
    assert!(err.contains("Envoy exited"), "{err}");
    assert!(started.elapsed() < READY);
    Ok(())
}

/// Like [`start_envoy`] but with the admin on a TCP port.
fn start_envoy_tcp_admin(backend: &EchoBackend) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let bootstrap = dir.path().join("bootstrap.json");
    let (listener_port, admin_port) = (free_port(), free_port());
    let mut config = static_bootstrap(Path::new("unused"), listener_port, backend.port());
    config["admin"] =
        json!({"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}});
    std::fs::write(&bootstrap, serde_json::to_vec_pretty(&config)?)?;
    let options = EnvoyOptions {
        bootstrap_path: bootstrap,
        admin_port: Some(admin_port),
        ..EnvoyOptions::default()
    };
    let envoy = Envoy::start(options)?;
    Ok(Setup {
        _dir: dir,
        envoy,
        listener_port,
    })
}
