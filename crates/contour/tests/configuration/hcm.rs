//! HTTP connection manager settings: timeouts, XFF hops, host dot, slashes, server header,
//! compression, access logs.

use std::time::Duration;

use contour_testkit::Request;

use crate::common::Env;
use crate::{ConfigFile, dumped, raw_exchange, start_web};
use contour_testkit::EchoBackend;

/// The file Envoy writes `ingress_http`'s access log to, in its own temporary directory (with
/// the configuration file it was started with).
struct AccessLog {
    _dir: tempfile::TempDir,
    _config: ConfigFile,
    path: std::path::PathBuf,
}

/// [`start_web`] with contour.yaml `config`, the plain listener logging to an [`AccessLog`].
async fn start_logging(config: &str) -> (AccessLog, Env, EchoBackend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let cfg = ConfigFile::new(config);
    let mut args = cfg.args();
    args.extend(["--envoy-http-access-log".into(), path.display().to_string()]);
    let (env, web) = start_web(&args, &[]).await;
    let log = AccessLog {
        _dir: dir,
        _config: cfg,
        path,
    };
    (log, env, web)
}

/// The first line of the access log at `path` that `wanted` accepts, once Envoy has written it.
async fn log_line(path: &std::path::Path, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    contour_testkit::poll_until(crate::CONVERGE, what, || {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        std::future::ready(text.lines().find(|l| wanted(l)).map(str::to_string))
    })
    .await
    .unwrap()
}

const HCM_CONFIG: &str = "\
timeouts:
  connection-idle-timeout: 1s
  request-timeout: 30s
  stream-idle-timeout: 5m
  max-connection-duration: infinity
  delayed-close-timeout: 2s
  connection-shutdown-grace-period: 7s
  connect-timeout: 3s
network:
  num-trusted-hops: 1
  strip-trailing-host-dot: true
disableMergeSlashes: true
serverHeaderTransformation: pass_through
";

/// Timeouts (idle connection closed by Envoy), XFF trusted hops, trailing host dot, merge
/// slashes, server header pass-through and the default gzip compression.
#[tokio::test]
async fn connection_manager_settings_apply() {
    let cfg = ConfigFile::new(HCM_CONFIG);
    let (env, _web) = start_web(&cfg.args(), &[]).await;
    let port = env.ports.http;
    // The timeouts, as Envoy holds them.
    let l = dumped(&env, "dynamic_listeners", "ingress_http").await;
    let hcm = &l["active_state"]["listener"]["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["request_timeout"], "30s");
    assert_eq!(hcm["stream_idle_timeout"], "300s");
    assert_eq!(hcm["drain_timeout"], "7s");
    assert_eq!(hcm["delayed_close_timeout"], "2s");
    assert_eq!(hcm["common_http_protocol_options"]["idle_timeout"], "1s");
    assert!(hcm["common_http_protocol_options"]["max_connection_duration"].is_null());
    let c = dumped(&env, "dynamic_active_clusters", "default/web/80/da39a3ee5e").await;
    assert_eq!(c["cluster"]["connect_timeout"], "3s");

    // connection-idle-timeout: 1s. The idle timer fires after a second; Envoy then drains the
    // connection (connection-shutdown-grace-period 7s) and closes it (delayed-close 2s).
    let request = b"GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n";
    let (reply, closed) = raw_exchange(port, request, Duration::from_secs(20)).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let closed = closed.expect("Envoy kept the idle connection open");
    println!("idle connection closed after {closed:?}");
    assert!(closed >= Duration::from_millis(900), "{closed:?}");
    assert!(closed < Duration::from_secs(14), "{closed:?}");
    env.wait_envoy_stat("http.ingress_http.downstream_cx_idle_timeout", 1)
        .await;

    // num-trusted-hops: 1. The last X-Forwarded-For entry is the client.
    let r = Request::get("web.example.com", "/")
        .header("x-forwarded-for", "203.0.113.7")
        .send(port)
        .await
        .unwrap();
    let echo = r.echo().unwrap();
    assert_eq!(
        echo.headers
            .get("x-envoy-external-address")
            .map(String::as_str),
        Some("203.0.113.7"),
        "{echo:?}"
    );

    // strip-trailing-host-dot: `web.example.com.` matches `web.example.com`.
    let r = Request::get("web.example.com.", "/")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.backend(), Some("web"));

    // disableMergeSlashes: the upstream sees the path as sent.
    let r = Request::get("web.example.com", "//a//b")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.echo().unwrap().path, "//a//b");

    // serverHeaderTransformation: pass_through. The echo backend sends no Server header.
    assert_eq!(r.header("server"), None, "{:?}", r.headers);

    // Default compression: gzip.
    let r = Request::get("web.example.com", "/")
        .header("accept-encoding", "gzip")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
}

/// Defaults: `Server: envoy` overwritten, merge slashes on, idle timeout 60s.
#[tokio::test]
async fn defaults_overwrite_server_header_and_merge_slashes() {
    let (env, _web) = start_web(&[], &[]).await;
    let r = Request::get("web.example.com", "//a//b")
        .send(env.ports.http)
        .await
        .unwrap();
    assert_eq!(r.header("server"), Some("envoy"));
    assert_eq!(r.echo().unwrap().path, "/a/b");
    // No trusted hops: the client is the TCP peer, whatever X-Forwarded-For says.
    let echo = Request::get("web.example.com", "/")
        .header("x-forwarded-for", "203.0.113.7")
        .send(env.ports.http)
        .await
        .unwrap()
        .echo()
        .unwrap();
    assert_eq!(
        echo.headers
            .get("x-envoy-external-address")
            .map(String::as_str),
        Some("127.0.0.1")
    );
    let l = dumped(&env, "dynamic_listeners", "ingress_http").await;
    let hcm = &l["active_state"]["listener"]["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["common_http_protocol_options"]["idle_timeout"], "60s");
}

/// accesslog-format json with custom fields, accesslog-level error, brotli compression.
#[tokio::test]
async fn json_access_log_carries_configured_fields_at_error_level() {
    let (log, env, _web) = start_logging(
        "accesslog-format: json\naccesslog-level: error\njson-fields:\n  - \"@timestamp\"\n  - method\n  - path\n  - response_code\n  - \"custom=%REQ(X-CUSTOM)%\"\ncompression:\n  algorithm: brotli\n",
    )
    .await;
    let port = env.ports.http;
    // brotli instead of gzip.
    let r = Request::get("web.example.com", "/ok")
        .header("accept-encoding", "br")
        .header("x-custom", "fine")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("br"));
    // A 404 is an error: logged. The 200 before it is not.
    let r = Request::get("nowhere.example.com", "/missing")
        .header("x-custom", "hello")
        .send(port)
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let line = log_line(&log.path, "a 404 access log line", |l| l.contains("404")).await;
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    println!("access log line: {line}");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/missing");
    assert_eq!(entry["response_code"], 404);
    assert_eq!(entry["custom"], "hello");
    assert!(entry["@timestamp"].is_string());
    assert!(
        entry.get("authority").is_none(),
        "only configured fields: {entry}"
    );
    let text = std::fs::read_to_string(&log.path).unwrap();
    assert!(
        !text.contains("/ok"),
        "a 200 was logged at level error: {text}"
    );
}

/// accesslog-format-string replaces Envoy's default text format.
#[tokio::test]
async fn access_log_format_string_is_used() {
    let (log, _env, _web) = start_logging(
        "accesslog-format-string: \"CUSTOM %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%\\n\"\n",
    )
    .await;
    let line = log_line(&log.path, "a custom access log line", |l| {
        l.starts_with("CUSTOM")
    })
    .await;
    assert_eq!(line, "CUSTOM GET / 200 Ingress");
}

/// The `contour_config_*` JSON fields log the object a route came from; Envoy gets that
/// metadata on its routes only when a format reads it.
#[tokio::test]
async fn json_access_log_names_the_source_object() {
    let (log, env, _web) = start_logging(
        "accesslog-format: json\njson-fields:\n  - path\n  - contour_config_kind\n  - contour_config_namespace\n  - contour_config_name\n",
    )
    .await;
    let r = Request::get("web.example.com", "/named")
        .send(env.ports.http)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let line = log_line(&log.path, "the /named access log line", |l| {
        l.contains("/named")
    })
    .await;
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["contour_config_kind"], "Ingress", "{line}");
    assert_eq!(entry["contour_config_namespace"], "default", "{line}");
    assert_eq!(entry["contour_config_name"], "web", "{line}");
}

/// With a format that does not read route metadata (Envoy's default here), the routes Envoy
/// holds carry none: about three quarters of a plain route's bytes at scale.
#[tokio::test]
async fn routes_carry_no_metadata_nobody_reads() {
    let (env, _web) = start_web(&[], &[]).await;
    let rc = dumped(&env, "dynamic_route_configs", "ingress_http").await;
    let routes = &rc["route_config"]["virtual_hosts"][0]["routes"];
    assert!(routes[0]["route"].is_object(), "{rc}");
    assert!(routes[0].get("metadata").is_none(), "{rc}");
    let cfg = ConfigFile::new(
        "accesslog-format-string: \"%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%\\n\"\n",
    );
    let (env, _web) = start_web(&cfg.args(), &[]).await;
    let rc = dumped(&env, "dynamic_route_configs", "ingress_http").await;
    let md = &rc["route_config"]["virtual_hosts"][0]["routes"][0]["metadata"];
    assert_eq!(
        md["filter_metadata"]["envoy.access_loggers.file"]["io.projectcontour.name"], "web",
        "{rc}"
    );
}
