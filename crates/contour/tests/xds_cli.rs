//! `contour cli`, the debug xDS client, against a running `contour serve`: it prints what is
//! served and follows changes (state of the world and delta), NACKs when asked (contour counts
//! the NACK), and talks mTLS with the certificates of `contour certgen`.

mod common;

use std::process::Command;

use common::{CONVERGE, Ports, certgen, contour_bin, serve_args, simple_proxy};
use contour_testkit::{EchoBackend, ManifestDir, Process, http_get, poll_until, service_yaml};

/// A manifests directory with one Service and one HTTPProxy for `fqdn`.
async fn cluster(fqdn: &str) -> (ManifestDir, EchoBackend) {
    let app = EchoBackend::start("app").await.unwrap();
    let dir = ManifestDir::new().unwrap();
    dir.write(
        "svc.yaml",
        &service_yaml("default", "app", 80, "http", &[&app]),
    )
    .unwrap();
    dir.write("p.yaml", &simple_proxy("p", fqdn, "app"))
        .unwrap();
    (dir, app)
}

/// Waits until contour's xDS port accepts connections.
async fn wait_listening(port: u16, contour: &Process) {
    poll_until(CONVERGE, "the xDS port to open", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", contour.log_tail(30)));
}

fn cli(args: &[&str]) -> Process {
    let mut all = vec!["cli"];
    all.extend_from_slice(args);
    Process::spawn(contour_bin(), all, &[]).unwrap()
}

async fn expect_output(p: &mut Process, needle: &str) {
    p.wait_for_log(needle, CONVERGE)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", p.log_tail(40)));
}

#[tokio::test]
async fn prints_and_follows_what_contour_serves() {
    let (dir, _app) = cluster("cli.example.com").await;
    let ports = Ports::fresh();
    let contour = Process::spawn(contour_bin(), serve_args(dir.path(), &ports), &[]).unwrap();
    wait_listening(ports.xds, &contour).await;
    let addr = format!("127.0.0.1:{}", ports.xds);

    // State of the world: the route configuration, decoded, then its next version after an edit.
    let mut rds = cli(&["rds", "--contour", &addr]);
    expect_output(&mut rds, "\"cli.example.com\"").await;
    expect_output(&mut rds, "name: \"ingress_http\"").await;
    dir.write("p.yaml", &simple_proxy("p", "edited.example.com", "app"))
        .unwrap();
    expect_output(&mut rds, "\"edited.example.com\"").await;

    // Delta, flags after the kind, named resources only; nested configurations are decoded.
    let mut lds = cli(&["lds", "ingress_http", "--delta", "--contour", &addr]);
    expect_output(&mut lds, "# ingress_http (version").await;
    expect_output(&mut lds, "HttpConnectionManager {").await;
    assert!(!lds.log().contains("value: ["), "nested Any left undecoded");

    // --nack: contour sees the NACK.
    let mut cds = cli(&["cds", "--nack", "--contour", &addr]);
    expect_output(&mut cds, "Cluster {").await;
    poll_until(CONVERGE, "contour to count the NACK", || async {
        let r = http_get(ports.debug, "127.0.0.1", "/debug/xds")
            .await
            .ok()?;
        let xds: serde_json::Value = r.json().ok()?;
        let nacks: u64 = xds["totals"]
            .as_object()?
            .iter()
            .filter(|(t, _)| t.contains("Cluster"))
            .filter_map(|(_, v)| v["nacks"].as_u64())
            .sum();
        (nacks > 0).then_some(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn mutual_tls_with_certgen_certificates() {
    let (dir, _app) = cluster("mtls-cli.example.com").await;
    let certs = tempfile::tempdir().unwrap();
    certgen(certs.path());
    let file = |f: &str| certs.path().join(f).display().to_string();
    let ports = Ports::fresh();
    let mut args = serve_args(dir.path(), &ports);
    args.retain(|a| a != "--insecure");
    for (flag, f) in [
        ("--contour-cafile", "cacert.pem"),
        ("--contour-cert-file", "contourcert.pem"),
        ("--contour-key-file", "contourkey.pem"),
    ] {
        args.extend([flag.to_string(), file(f)]);
    }
    let contour = Process::spawn(contour_bin(), args, &[]).unwrap();
    wait_listening(ports.xds, &contour).await;
    let addr = format!("127.0.0.1:{}", ports.xds);

    let (ca, cert, key) = (
        file("cacert.pem"),
        file("envoycert.pem"),
        file("envoykey.pem"),
    );
    let mut ok = cli(&[
        "rds",
        "--contour",
        &addr,
        "--cafile",
        &ca,
        "--cert-file",
        &cert,
        "--key-file",
        &key,
    ]);
    expect_output(&mut ok, "\"mtls-cli.example.com\"").await;

    // Without a client certificate the server refuses; half the TLS flags is a usage error.
    let refused = Command::new(contour_bin())
        .args(["cli", "rds", "--contour", &addr])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a plaintext client must be refused"
    );
    let partial = Command::new(contour_bin())
        .args(["cli", "rds", "--contour", &addr, "--cafile", &ca])
        .output()
        .unwrap();
    assert!(!partial.status.success());
    assert!(
        String::from_utf8_lossy(&partial.stderr).contains("all three TLS parameters"),
        "{}",
        String::from_utf8_lossy(&partial.stderr)
    );
}
