//! `metrics.contour` TLS: contour's own metrics over HTTPS with a server certificate and, with
//! `ca-certificate-path`, required client certificates; files re-read on every handshake.

mod common;

use common::{Ports, contour_bin, serve_args};
use contour_testkit::certs::TestCa;
use contour_testkit::{Process, ProcessSpec, TlsRequest, free_port, http_get, poll_until};

#[tokio::test]
async fn metrics_are_served_over_tls_to_clients_the_ca_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = TestCa::new("metrics-ca");
    let server = ca.leaf("contour", &["contour"]);
    let client = ca.leaf("prometheus", &["prometheus"]);
    let stranger = TestCa::new("other-ca").leaf("prometheus", &["prometheus"]);
    let path = |name: &str, pem: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let (cert, key, ca_file) = (
        path("tls.crt", &server.cert_pem),
        path("tls.key", &server.key_pem),
        path("ca.crt", &ca.cert_pem),
    );
    let metrics = free_port();
    let config = path(
        "contour.yaml",
        &format!(
            "metrics:\n  contour:\n    address: 127.0.0.1\n    port: {metrics}\n    \
             server-certificate-path: {cert}\n    server-key-path: {key}\n    ca-certificate-path: {ca_file}\n"
        ),
    );
    let ports = Ports::fresh();
    std::fs::create_dir(tmp.path().join("manifests")).unwrap();
    let mut args = serve_args(&tmp.path().join("manifests"), &ports);
    args.extend(["-c".to_string(), config]);
    let _contour = Process::start(
        ProcessSpec::new(contour_bin())
            .name("contour-tls")
            .args(args),
    )
    .unwrap();
    // Health stays plaintext on its own port (--health-port); the file moves metrics.
    common::wait_http_ok(ports.metrics, "/healthz", "contour healthy").await;

    let get = TlsRequest::new("contour", "/metrics");
    let resp = poll_until(common::CONVERGE, "metrics over TLS", || async {
        get.clone().client_cert(&client).send(metrics).await.ok()
    })
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.response.text().contains("contour_build_info"));
    assert!(resp.presented(&server));
    assert_eq!(resp.version.as_deref(), Some("TLSv1_3"));

    // No client certificate, or one from another CA: refused.
    assert!(get.clone().send(metrics).await.is_err());
    assert!(
        get.clone()
            .client_cert(&stranger)
            .send(metrics)
            .await
            .is_err()
    );
    // Plaintext HTTP is not served there.
    assert!(http_get(metrics, "127.0.0.1", "/metrics").await.is_err());

    // A rotated certificate is used by the next handshake, without a restart.
    let rotated = ca.leaf("contour", &["contour"]);
    std::fs::write(tmp.path().join("tls.crt"), &rotated.cert_pem).unwrap();
    std::fs::write(tmp.path().join("tls.key"), &rotated.key_pem).unwrap();
    let resp = get
        .clone()
        .client_cert(&client)
        .send(metrics)
        .await
        .unwrap();
    assert!(resp.presented(&rotated));
}
