//! xDS over mTLS between real Envoy and `contour serve`, with certificates from
//! `contour certgen`: Envoy connects (inline files and file-based SDS), a client without a
//! certificate is refused, and rotated files are used without restarting contour.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{CONVERGE, Ports, certgen, contour_bin, serve_args, simple_proxy};
use contour_testkit::certs::Leaf;
use contour_testkit::{
    EchoBackend, Envoy, EnvoyOptions, ManifestDir, Process, TlsRequest, service_yaml,
    wait_for_backend,
};

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap()
}

/// Starts an Envoy bootstrapped with the envoy certificate in `certs`, inline or via SDS files.
async fn envoy(tmp: &Path, name: &str, ports: &Ports, certs: &Path, sds: bool) -> Envoy {
    let bootstrap = tmp.join(format!("{name}.json"));
    let admin = tmp.join(format!("{name}.sock"));
    let mut cmd = Command::new(contour_bin());
    cmd.arg("bootstrap").arg(&bootstrap);
    cmd.args(["--xds-port", &ports.xds.to_string(), "--admin-address"])
        .arg(&admin);
    cmd.arg("--envoy-cafile").arg(certs.join("cacert.pem"));
    cmd.arg("--envoy-cert-file")
        .arg(certs.join("envoycert.pem"));
    cmd.arg("--envoy-key-file").arg(certs.join("envoykey.pem"));
    if sds {
        cmd.arg("--resources-dir")
            .arg(tmp.join(format!("{name}-resources")));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut envoy = Envoy::start(EnvoyOptions::new(bootstrap, admin)).unwrap();
    envoy
        .wait_ready(CONVERGE)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", envoy.log()));
    envoy
}

/// A raw TLS client to the xDS port offering h2, with or without a client certificate.
async fn xds_client(port: u16, cert: Option<Leaf>) -> anyhow::Result<u16> {
    let mut req = TlsRequest::new("contour", "/").alpn(&["h2"]);
    req.client_cert = cert;
    Ok(req.send(port).await?.status())
}

fn leaf(dir: &Path, who: &str) -> Leaf {
    Leaf {
        cert_pem: read(dir, &format!("{who}cert.pem")),
        key_pem: read(dir, &format!("{who}key.pem")),
        serial: rcgen_serial(),
    }
}

fn rcgen_serial() -> rcgen::SerialNumber {
    rcgen::SerialNumber::from(1u64)
}

#[tokio::test]
async fn envoy_over_mtls_with_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let certs: PathBuf = tmp.path().join("certs");
    certgen(&certs);
    // contour reads its own copies, which the test later replaces (rotation).
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    for f in ["cacert.pem", "contourcert.pem", "contourkey.pem"] {
        std::fs::copy(certs.join(f), live.join(f)).unwrap();
    }
    let app = EchoBackend::start("app").await.unwrap();
    let dir = ManifestDir::new().unwrap();
    dir.write(
        "svc.yaml",
        &service_yaml("default", "app", 80, "http", &[&app]),
    )
    .unwrap();
    dir.write("p.yaml", &simple_proxy("p", "mtls.example.com", "app"))
        .unwrap();
    let ports = Ports::fresh();
    let mut args = serve_args(dir.path(), &ports);
    args.retain(|a| a != "--insecure");
    for (flag, f) in [
        ("--contour-cafile", "cacert.pem"),
        ("--contour-cert-file", "contourcert.pem"),
        ("--contour-key-file", "contourkey.pem"),
    ] {
        args.push(flag.into());
        args.push(live.join(f).display().to_string());
    }
    let mut contour = Process::spawn(contour_bin(), args, &[]).unwrap();

    // Envoy with file-based SDS for its client certificate gets configuration and serves.
    let _e1 = envoy(tmp.path(), "sds", &ports, &certs, true).await;
    wait_for_backend(ports.http, "mtls.example.com", "/", "app", CONVERGE)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", contour.log_tail(30)));

    // Clients: the envoy certificate is accepted; no certificate is refused.
    assert!(
        xds_client(ports.xds, Some(leaf(&certs, "envoy")))
            .await
            .is_ok()
    );
    assert!(
        xds_client(ports.xds, None).await.is_err(),
        "a client without a certificate must be refused"
    );

    // Rotate: a whole new CA and certificates, files replaced under the running contour.
    let rotated = tmp.path().join("rotated");
    certgen(&rotated);
    for f in ["cacert.pem", "contourcert.pem", "contourkey.pem"] {
        std::fs::copy(rotated.join(f), live.join(f)).unwrap();
    }
    assert!(
        xds_client(ports.xds, Some(leaf(&certs, "envoy")))
            .await
            .is_err(),
        "the old CA is no longer trusted"
    );
    assert!(
        xds_client(ports.xds, Some(leaf(&rotated, "envoy")))
            .await
            .is_ok()
    );
    // A new Envoy with the rotated certificates (inline this time) connects: no restart.
    let _e2 = envoy(tmp.path(), "inline", &ports, &rotated, false).await;
    assert!(
        contour.is_running(),
        "contour kept running through the rotation"
    );
}

#[test]
fn serve_refuses_plaintext_without_tls_files() {
    let ports = Ports::fresh();
    let mut args = serve_args(Path::new("/nonexistent"), &ports);
    args.retain(|a| a != "--insecure");
    let out = Command::new(contour_bin()).args(&args).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/certs/ca.crt") && err.contains("--insecure"),
        "{err}"
    );

    args.extend(["--contour-cafile".to_string(), "/tmp/ca.pem".to_string()]);
    let out = Command::new(contour_bin()).args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("you must supply all TLS parameters"), "{err}");
}
