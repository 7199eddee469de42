//! Kubernetes mode end to end: the test API server, `contour serve --kubeconfig`, real Envoy.

mod kube_env;

use std::time::{Duration, Instant};

use contour_testkit::{
    ApiServer, EchoBackend, http_get, poll_until, service_yaml, wait_for_backend,
};
use kube_env::{CONVERGE, LEASE, Replica, proxy, start_envoy, wait_proxy_status};
use serde_json::json;

#[tokio::test]
async fn objects_through_the_api_reach_envoy_and_statuses_appear() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (
        EchoBackend::start("one").await.unwrap(),
        EchoBackend::start("two").await.unwrap(),
    );
    server
        .apply_yaml(&service_yaml("default", "one", 80, "http", &[&one]))
        .unwrap();
    server
        .apply_yaml(&service_yaml("default", "two", 80, "http", &[&two]))
        .unwrap();
    server.apply(proxy("p", "app.example.com", "one")).unwrap();
    let mut contour = Replica::start(
        &server,
        tmp.path(),
        "contour",
        &["--ingress-status-address", "192.0.2.7"],
    )
    .unwrap();
    let envoy = start_envoy(tmp.path(), contour.xds).await.unwrap();
    let port = contour.http;
    wait_for_backend(port, "app.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();

    // Status written back, with the static load-balancer address.
    let st = wait_proxy_status(&server, "p", "valid").await;
    assert_eq!(st["conditions"][0]["type"], "Valid");
    assert_eq!(st["loadBalancer"]["ingress"][0]["ip"], "192.0.2.7");
    assert_eq!(contour.health("/healthz").await, Some(200));

    // Changed through the API.
    server.apply(proxy("p", "app.example.com", "two")).unwrap();
    wait_for_backend(port, "app.example.com", "/", "two", CONVERGE)
        .await
        .unwrap();

    // A dropped watch resumes; an expired resourceVersion relists without dropping routes.
    server.drop_watches();
    server.apply(proxy("q", "q.example.com", "one")).unwrap();
    wait_for_backend(port, "q.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();
    server.compact();
    server.drop_watches();
    server.apply(proxy("r", "r.example.com", "two")).unwrap();
    wait_for_backend(port, "r.example.com", "/", "two", CONVERGE)
        .await
        .unwrap();
    assert_eq!(
        http_get(port, "app.example.com", "/")
            .await
            .unwrap()
            .backend(),
        Some("two")
    );

    // An invalid proxy gets an invalid status.
    let mut bad = proxy("bad", "app.example.com", "one");
    bad["metadata"]["name"] = json!("bad");
    server.apply(bad).unwrap();
    let st = wait_proxy_status(&server, "bad", "invalid").await;
    assert!(
        st["conditions"][0]["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{st}"
    );

    // Losing the API server: /healthz fails, xDS keeps serving, and changes flow once it is back.
    server.set_outage(true);
    poll_until(CONVERGE, "healthz 503", || async {
        (contour.health("/healthz").await == Some(503)).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(
        http_get(port, "q.example.com", "/")
            .await
            .unwrap()
            .backend(),
        Some("one")
    );
    assert!(contour.process.is_running());
    server.set_outage(false);
    server.delete("projectcontour.io/v1", "HTTPProxy", "default", "q");
    poll_until(CONVERGE, "q.example.com removed", || async {
        (http_get(port, "q.example.com", "/").await.ok()?.status == 404).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(contour.health("/healthz").await, Some(200));
    assert!(
        contour
            .metric("contour_status_update_success_total{kind=\"HTTPProxy\"}")
            .await
            .unwrap_or(0.0)
            >= 3.0
    );
    drop(envoy);
}

#[tokio::test]
async fn only_the_leader_writes_and_the_other_takes_over_within_the_lease() {
    let (server, tmp, _one) = kube_env::api_with_backend_one().await;
    server.apply(proxy("p", "app.example.com", "one")).unwrap();
    let mut a = Replica::start(&server, tmp.path(), "a", LEASE).unwrap();
    wait_proxy_status(&server, "p", "valid").await;
    let mut b = Replica::start(&server, tmp.path(), "b", LEASE).unwrap();
    // Both replicas serve xDS.
    let envoy_b = start_envoy(&tmp.path().join("b").tap_mkdir(), b.xds)
        .await
        .unwrap();
    wait_for_backend(b.http, "app.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();

    server
        .apply(proxy("q", "q.example.com", "missing"))
        .unwrap();
    let st = wait_proxy_status(&server, "q", "invalid").await;
    assert_eq!(st["conditions"][0]["status"], "False");
    wait_status_writes(&server, "a", 2).await;
    assert_eq!(server.status_writes_by("b"), 0, "the follower never writes");

    // A stopped leader releases the lease: b takes over well within the lease duration.
    a.process.signal("TERM").unwrap();
    let stopped = Instant::now();
    a.process.wait_exit(CONVERGE).await.unwrap();
    server.apply(proxy("r", "r.example.com", "one")).unwrap();
    wait_proxy_status(&server, "r", "valid").await;
    let took = stopped.elapsed();
    println!(
        "takeover after SIGTERM: first status by the new leader {took:?} after the stop (lease 3s)"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    wait_status_writes(&server, "b", 1).await;
    wait_for_backend(b.http, "r.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();

    // A crashed leader cannot release: a follower takes over once the lease has expired.
    let c = Replica::start(&server, tmp.path(), "c", LEASE).unwrap();
    poll_until(CONVERGE, "c to be running and following", || async {
        (c.metric("contour_dagrebuild_total").await? >= 1.0).then_some(())
    })
    .await
    .unwrap();
    b.process.kill().unwrap();
    let killed = Instant::now();
    server.apply(proxy("s", "s.example.com", "one")).unwrap();
    wait_proxy_status(&server, "s", "valid").await;
    let took = killed.elapsed();
    println!(
        "takeover after SIGKILL: first status by the new leader {took:?} after the crash (lease 3s, retry 200ms)"
    );
    assert!(
        took < Duration::from_secs(3) + Duration::from_millis(1500),
        "{took:?}"
    );
    wait_status_writes(&server, "c", 1).await;
    drop(envoy_b);
}

/// Waits until `user` has made at least `n` successful status writes. The test server stores a
/// write before it logs the request, so a status can be seen before its write is counted.
async fn wait_status_writes(server: &ApiServer, user: &str, n: usize) {
    poll_until(
        CONVERGE,
        &format!("{n} status writes by {user}"),
        || async { (server.status_writes_by(user) >= n).then_some(()) },
    )
    .await
    .unwrap();
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

/// 40,000 Helm release Secrets are filtered by the API server (field selector): contour's
/// memory barely moves, whether they exist at startup or appear while it runs.
#[tokio::test]
async fn helm_release_secrets_cost_no_memory() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let payload = "H4sIAAAAAAAC".repeat(400); // ~4.8 kB, like a small compressed Helm release
    let add = |from: usize, to: usize| {
        for i in from..to {
            server
                .apply(json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                    "metadata": {"name": format!("sh.helm.release.v1.app{i}.v1"), "namespace": format!("team{}", i % 50),
                                 "labels": {"owner": "helm", "name": format!("app{i}")}},
                    "data": {"release": payload}}))
                .unwrap();
        }
    };
    let tls = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": "default"}, "data": {"tls.crt": "cGVt", "tls.key": "a2V5"}})
    };

    let baseline = Replica::start(
        &server,
        tmp.path(),
        "baseline",
        &["--disable-leader-election"],
    )
    .unwrap();
    server.apply(tls("marker-0")).unwrap();
    poll_until(CONVERGE, "baseline synced", || baseline.secrets_cached(1.0))
        .await
        .unwrap();
    let before = baseline.rss_bytes().unwrap();

    add(0, 40_000);
    // Cache metrics are recorded by builds: a proxy using marker-1 makes its arrival build.
    let mut p = proxy("p", "app.example.com", "one");
    p["spec"]["virtualhost"]["tls"] = json!({"secretName": "marker-1"});
    server.apply(p).unwrap();
    server.apply(tls("marker-1")).unwrap();
    poll_until(Duration::from_secs(60), "marker-1 seen", || {
        baseline.secrets_cached(2.0)
    })
    .await
    .unwrap();
    let after = baseline.rss_bytes().unwrap();

    // A replica started with the 40,000 Secrets already there.
    let fresh =
        Replica::start(&server, tmp.path(), "fresh", &["--disable-leader-election"]).unwrap();
    poll_until(Duration::from_secs(60), "fresh synced", || {
        fresh.secrets_cached(2.0)
    })
    .await
    .unwrap();
    let fresh_rss = fresh.rss_bytes().unwrap();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let growth = after.saturating_sub(before);
    let startup = fresh_rss.saturating_sub(before);
    println!(
        "40,000 Helm release Secrets: RSS {:.1} MiB -> {:.1} MiB while running (+{:.1} MiB); \
         a replica started with them: {:.1} MiB (+{:.1} MiB over the baseline)",
        mib(before),
        mib(after),
        mib(growth),
        mib(fresh_rss),
        mib(startup)
    );
    assert_eq!(server.count("v1", "Secret"), 40_002);
    assert!(growth < 20 << 20, "grew by {:.1} MiB", mib(growth));
    assert!(
        startup < 20 << 20,
        "started {:.1} MiB above the baseline",
        mib(startup)
    );
}

/// `contour certgen --kube` (the certgen Job of examples/contour) writes the Secrets through the
/// API, and replaces them only with `--overwrite`.
#[test]
fn certgen_kube_creates_and_overwrites_secrets() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(tmp.path(), "certgen").unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(kube_env::contour_bin())
            .args(["certgen", "--kube", "--kubeconfig"])
            .arg(&kubeconfig)
            .args([
                "--namespace",
                "projectcontour",
                "--secrets-format",
                "compact",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run(&[]);
    assert!(first.contains("secret/contourcert created"), "{first}");
    let cert = |name: &str| {
        server.get("v1", "Secret", "projectcontour", name).unwrap()["data"]["tls.crt"].clone()
    };
    let before = cert("envoycert");
    assert!(before.is_string());
    let again = run(&[]);
    assert!(again.contains("secret/envoycert already exists"), "{again}");
    assert_eq!(cert("envoycert"), before);
    let over = run(&["--overwrite"]);
    assert!(over.contains("secret/envoycert updated"), "{over}");
    assert_ne!(cert("envoycert"), before);
}
