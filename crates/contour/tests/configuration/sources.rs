//! Where the configuration comes from: ContourConfiguration from the manifests directory,
//! upstream's example file, and refusals before anything starts.

use std::time::{Duration, Instant};

use contour_testkit::{Process, Request, connect_refused, poll_until};

use crate::common::{Ports, contour_bin, serve_args};
use crate::{ConfigFile, start_web};

/// `--contour-config-name`: the named ContourConfiguration in the manifests directory is
/// applied (flags are ignored) and reported `Valid` at /debug/status.
#[tokio::test]
async fn contour_configuration_from_the_manifests_directory() {
    // Flags are ignored in this mode: the resource names the harness's ports itself.
    let p = Ports::fresh();
    let cc = format!(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ContourConfiguration\nmetadata: {{name: contour, namespace: projectcontour}}\nspec:\n  xdsServer: {{address: 127.0.0.1, port: {xds}, tls: {{insecure: true}}}}\n  metrics: {{address: 127.0.0.1, port: {m}}}\n  health: {{address: 127.0.0.1, port: {m}}}\n  debug: {{address: 127.0.0.1, port: {d}}}\n  envoy:\n    http: {{address: 127.0.0.1, port: {h}, accessLog: /dev/null}}\n    metrics: {{address: 127.0.0.1, port: {s}}}\n    health: {{address: 127.0.0.1, port: {s}}}\n    listener: {{serverHeaderTransformation: pass_through}}\n    network: {{numTrustedHops: 1, adminPort: {a}}}\n",
        xds = p.xds,
        m = p.metrics,
        d = p.debug,
        h = p.http,
        s = p.stats,
        a = contour_testkit::free_port(),
    );
    let args = vec!["--contour-config-name".to_string(), "contour".to_string()];
    let (env, _web) = crate::start_web_on(&args, &[("contour-config.yaml", cc)], p).await;
    let r = Request::get("web.example.com", "/")
        .header("x-forwarded-for", "203.0.113.7")
        .send(env.ports.http)
        .await
        .unwrap();
    assert_eq!(r.header("server"), None, "pass_through from the resource");
    let echo = r.echo().unwrap();
    assert_eq!(
        echo.headers
            .get("x-envoy-external-address")
            .map(String::as_str),
        Some("203.0.113.7")
    );
    let status = env.debug_status().await;
    let cc = status
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ContourConfiguration")
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(cc["name"], "contour");
    assert_eq!(cc["status"]["conditions"][0]["type"], "Valid");
    assert_eq!(cc["status"]["conditions"][0]["status"], "True");
}

/// Runs `contour serve` with a configuration file; it must exit non-zero quickly, before
/// opening any port. Returns its output.
async fn refused(config: &str) -> String {
    let cfg = ConfigFile::new(config);
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::fresh();
    let mut args = serve_args(dir.path(), &ports);
    args.extend(cfg.args());
    let started = Instant::now();
    let mut p = Process::spawn(contour_bin(), &args, &[]).unwrap();
    let status = p.wait_exit(Duration::from_secs(10)).await.unwrap();
    let out = p.log();
    assert!(!status.success(), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(connect_refused(ports.metrics) && connect_refused(ports.xds));
    println!("refused in {:?}: {}", started.elapsed(), out.trim());
    out
}

#[tokio::test]
async fn unknown_key_exits_non_zero_naming_key_and_line() {
    let out = refused("accesslog-format: envoy\ntimeouts:\n  idle-timeout: 5s\n").await;
    assert!(out.contains("timeouts.idle-timeout (line 3)"), "{out}");
    assert!(out.contains("unknown field"), "{out}");
}

#[tokio::test]
async fn bad_value_exits_non_zero_naming_key_and_line() {
    let out = refused("compression:\n  algorithm: lz4\n").await;
    assert!(out.contains("compression.algorithm (line 2)"), "{out}");
    let out = refused("json-fields:\n  - \"x=%NOT_AN_OPERATOR%\"\n").await;
    assert!(out.contains("json-fields (line 1)"), "{out}");
    assert!(out.contains("NOT_AN_OPERATOR"), "{out}");
}

/// Upstream's shipped example ConfigMap content starts Contour unchanged.
#[tokio::test]
async fn upstream_example_file_is_accepted() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/contour/upstream-example.yaml"
    );
    let (env, _web) = start_web(&["--config-path".into(), path.into()], &[]).await;
    assert_eq!(env.who("web.example.com", "/").await, "web");
    poll_until(Duration::from_secs(5), "contour to log the file", || {
        std::future::ready(
            env.contour
                .log()
                .contains("read configuration file")
                .then_some(()),
        )
    })
    .await
    .unwrap();
}
