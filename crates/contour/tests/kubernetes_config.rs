//! `--contour-config-name` in Kubernetes mode: the ContourConfiguration is read from the API
//! server, its settings are applied (here: every address and port), and the leader writes its
//! `Valid` condition.

mod kube_env;

use contour_testkit::{
    ApiServer, Process, ProcessSpec, free_port, http_get, poll_until, wait_for_backend,
};
use kube_env::{CONVERGE, contour_bin, proxy, start_envoy};
use serde_json::json;

#[tokio::test]
async fn contour_configuration_is_read_from_the_api_and_reported_valid() {
    let (server, tmp, _one) = kube_env::api_with_backend_one().await;
    server.apply(proxy("p", "app.example.com", "one")).unwrap();
    let (xds, http, metrics, stats) = (free_port(), free_port(), free_port(), free_port());
    let local = |port: u16| json!({"address": "127.0.0.1", "port": port});
    let cc = server
        .apply(json!({"apiVersion": "projectcontour.io/v1alpha1", "kind": "ContourConfiguration",
            "metadata": {"name": "contour", "namespace": "projectcontour"},
            "spec": {
                "xdsServer": {"address": "127.0.0.1", "port": xds, "tls": {"insecure": true}},
                "metrics": local(metrics), "health": local(metrics), "debug": local(free_port()),
                "envoy": {
                    "http": {"address": "127.0.0.1", "port": http, "accessLog": "/dev/null"},
                    "https": {"address": "127.0.0.1", "port": free_port(), "accessLog": "/dev/null"},
                    "metrics": local(stats), "health": local(stats),
                    "network": {"adminPort": free_port()},
                }}}))
        .unwrap();
    let generation = cc["metadata"]["generation"].clone();
    let kubeconfig = server.write_kubeconfig(tmp.path(), "contour").unwrap();
    // No port flag: everything comes from the resource.
    let _contour = Process::start(
        ProcessSpec::new(contour_bin())
            .name("contour-cc")
            .args([
                "serve".to_string(),
                "--kubeconfig".to_string(),
                kubeconfig.display().to_string(),
                "--contour-config-name".to_string(),
                "contour".to_string(),
                "--disable-leader-election".to_string(),
            ])
            .env("CONTOUR_NAMESPACE", "projectcontour"),
    )
    .unwrap();
    let _envoy = start_envoy(tmp.path(), xds).await.unwrap();
    wait_for_backend(http, "app.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();
    assert_eq!(
        http_get(metrics, "127.0.0.1", "/healthz")
            .await
            .unwrap()
            .status,
        200
    );

    let valid = poll_until(CONVERGE, "Valid condition", || async {
        let cc = server.get(
            "projectcontour.io/v1alpha1",
            "ContourConfiguration",
            "projectcontour",
            "contour",
        )?;
        let conds = cc["status"]["conditions"].as_array()?.clone();
        conds.into_iter().find(|c| c["type"] == "Valid")
    })
    .await
    .unwrap();
    assert_eq!(valid["status"], "True");
    assert_eq!(valid["reason"], "Valid");
    assert_eq!(valid["message"], "Valid ContourConfiguration");
    assert_eq!(valid["observedGeneration"], generation);
}

#[test]
fn a_missing_contour_configuration_stops_startup() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(tmp.path(), "contour").unwrap();
    let out = std::process::Command::new(contour_bin())
        .args(["serve", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(["--contour-config-name", "absent", "--insecure"])
        .env("CONTOUR_NAMESPACE", "projectcontour")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error getting contour configuration projectcontour/absent"),
        "{err}"
    );
}

/// The rate-limit flags reach the Kubernetes client (the bucket itself is tested in
/// `crates/k8s`); contour still syncs and serves through it.
#[tokio::test]
async fn client_rate_limit_flags_take_effect() {
    let (server, tmp, _one) = kube_env::api_with_backend_one().await;
    server.apply(proxy("p", "app.example.com", "one")).unwrap();
    let mut contour = kube_env::Replica::start(
        &server,
        tmp.path(),
        "limited",
        &[
            "--disable-leader-election",
            "--kubernetes-client-qps",
            "50",
            "--kubernetes-client-burst",
            "7",
        ],
    )
    .unwrap();
    contour
        .process
        .wait_for_log("Kubernetes client rate limited", CONVERGE)
        .await
        .unwrap();
    let log = contour.process.log();
    let line = log
        .lines()
        .find(|l| l.contains("Kubernetes client rate limited"))
        .unwrap();
    assert!(
        line.contains("qps=50") && line.contains("burst=7"),
        "{line}"
    );
    assert!(!log.contains("flag accepted but not implemented"), "{log}");
    let _envoy = start_envoy(tmp.path(), contour.xds).await.unwrap();
    wait_for_backend(contour.http, "app.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();
}

/// contour.yaml's `kubeconfig` key picks the API server when no `--kubeconfig` flag is given
/// (there is no `~/.kube/config` or in-cluster environment to fall back on here).
#[tokio::test]
async fn the_kubeconfig_file_key_is_used_without_the_flag() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(tmp.path(), "contour").unwrap();
    let config = tmp.path().join("contour.yaml");
    std::fs::write(&config, format!("kubeconfig: {}\n", kubeconfig.display())).unwrap();
    let (metrics, xds) = (free_port(), free_port());
    let contour = Process::start(
        ProcessSpec::new(contour_bin())
            .args(["serve", "--insecure", "--disable-leader-election", "-c"])
            .args([config.display().to_string()])
            .args([
                "--xds-port",
                &xds.to_string(),
                "--http-port",
                &metrics.to_string(),
            ])
            .args(["--health-port", &metrics.to_string()])
            .args(["--debug-http-port", &free_port().to_string()])
            .env("HOME", tmp.path()),
    )
    .unwrap();
    poll_until(CONVERGE, "/healthz to reach the API server", || async {
        let r = http_get(metrics, "127.0.0.1", "/healthz").await.ok()?;
        (r.status == 200).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", contour.log_tail(30)));
}
