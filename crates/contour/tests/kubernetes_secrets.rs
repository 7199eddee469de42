//! Kubernetes mode keeps certificate material only for referenced Secrets: an unreferenced TLS
//! Secret's data is dropped, read again through the API when a proxy starts using it, and
//! served over TLS through real Envoy.

mod kube_env;

use std::time::Duration;

use contour_testkit::certs::TestCa;
use contour_testkit::{ApiServer, TlsRequest, poll_until, wait_for_backend};
use kube_env::{CONVERGE, Replica, proxy, secret_reads, start_envoy, tls_secret};
use serde_json::json;

#[tokio::test]
async fn a_secret_referenced_later_is_read_again_and_served_over_tls() {
    let (server, tmp, _one) = kube_env::api_with_backend_one().await;
    let ca = TestCa::new("test-ca");
    let leaf = ca.leaf("secure.example.com", &["secure.example.com"]);
    server
        .apply(tls_secret("cert", &leaf.cert_pem, &leaf.key_pem))
        .unwrap();
    server
        .apply(proxy("plain", "plain.example.com", "one"))
        .unwrap();
    let contour = Replica::start(
        &server,
        tmp.path(),
        "contour",
        &["--disable-leader-election"],
    )
    .unwrap();
    let _envoy = start_envoy(tmp.path(), contour.xds).await.unwrap();
    wait_for_backend(contour.http, "plain.example.com", "/", "one", CONVERGE)
        .await
        .unwrap();
    poll_until(CONVERGE, "the Secret cached", || {
        contour.secrets_cached(1.0)
    })
    .await
    .unwrap();
    assert_eq!(secret_reads(&server, "cert"), 0, "listed, not read");

    // A proxy starts using the Secret: its data, dropped at listing, is read again.
    let mut secure = proxy("secure", "secure.example.com", "one");
    secure["spec"]["virtualhost"]["tls"] = json!({"secretName": "cert"});
    server.apply(secure).unwrap();
    let resp = poll_until(CONVERGE, "HTTPS through Envoy", || async {
        let r = TlsRequest::new("secure.example.com", "/")
            .send(contour.https)
            .await
            .ok()?;
        (r.status() == 200).then_some(r)
    })
    .await
    .unwrap();
    assert_eq!(resp.backend(), Some("one"));
    assert!(
        resp.presented(&leaf),
        "Envoy presents the Secret's certificate"
    );
    assert_eq!(
        secret_reads(&server, "cert"),
        1,
        "the data was not held: contour had to read the Secret"
    );
}

/// 10,000 unreferenced TLS Secrets of ~3 kB: only their names and types are kept.
#[tokio::test]
async fn unreferenced_tls_secrets_cost_little_memory() {
    const N: usize = 10_000;
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::new("bulk-ca");
    let leaf = ca.leaf("bulk.example.com", &["bulk.example.com"]);
    // ~3 kB per Secret: a certificate with a padded chain, and its key.
    let chain = format!("{}{}", leaf.cert_pem, ca.cert_pem).repeat(2);
    let baseline = Replica::start(
        &server,
        tmp.path(),
        "baseline",
        &["--disable-leader-election"],
    )
    .unwrap();
    server.apply(proxy("p", "app.example.com", "one")).unwrap();
    server
        .apply(tls_secret("marker-0", &chain, &leaf.key_pem))
        .unwrap();
    poll_until(CONVERGE, "baseline synced", || baseline.secrets_cached(1.0))
        .await
        .unwrap();
    let before = baseline.rss_bytes().unwrap();
    for i in 0..N {
        let mut s = tls_secret(&format!("bulk-{i}"), &chain, &leaf.key_pem);
        s["metadata"]["namespace"] = json!(format!("team{}", i % 50));
        server.apply(s).unwrap();
    }
    let size = serde_json::to_vec(&tls_secret("x", &chain, &leaf.key_pem))
        .unwrap()
        .len();
    // Cache metrics are recorded by builds: a referenced Secret, arriving after the others on
    // the same watch, makes its arrival build.
    let mut p = proxy("p", "app.example.com", "one");
    p["spec"]["virtualhost"]["tls"] = json!({"secretName": "marker-1"});
    server.apply(p).unwrap();
    server
        .apply(tls_secret("marker-1", &leaf.cert_pem, &leaf.key_pem))
        .unwrap();
    poll_until(Duration::from_secs(120), "every Secret seen", || {
        baseline.secrets_cached((N + 2) as f64)
    })
    .await
    .unwrap();
    let after = baseline.rss_bytes().unwrap();
    let fresh =
        Replica::start(&server, tmp.path(), "fresh", &["--disable-leader-election"]).unwrap();
    poll_until(Duration::from_secs(120), "fresh synced", || {
        fresh.secrets_cached((N + 2) as f64)
    })
    .await
    .unwrap();
    let fresh_rss = fresh.rss_bytes().unwrap();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let growth = after.saturating_sub(before);
    let startup = fresh_rss.saturating_sub(before);
    println!(
        "{N} unreferenced TLS Secrets of {size} bytes ({:.1} MiB of Secrets): RSS {:.1} MiB -> {:.1} MiB \
         while running (+{:.1} MiB); a replica started with them: {:.1} MiB (+{:.1} MiB over the baseline)",
        mib((size * N) as u64),
        mib(before),
        mib(after),
        mib(growth),
        mib(fresh_rss),
        mib(startup)
    );
    assert!(growth < 20 << 20, "grew by {:.1} MiB", mib(growth));
    assert!(startup < 20 << 20, "started {:.1} MiB above", mib(startup));
}
