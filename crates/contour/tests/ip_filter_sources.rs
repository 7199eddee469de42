//! IP filters' two sources told apart through real Envoy: with `network.num-trusted-hops: 1` in
//! contour.yaml, a `Remote` rule acts on the client address from X-Forwarded-For while a
//! `Peer` rule acts on the TCP peer (127.0.0.1 here), whatever X-Forwarded-For says.

mod common;

use common::{CONVERGE, Env, proxy_yaml};
use contour_testkit::{EchoBackend, Request, free_port, service_yaml, wait_for_response};

/// A root for `fqdn` whose host carries `policy` (`ipAllowPolicy: [...]` or `ipDenyPolicy`).
fn filtered(name: &str, fqdn: &str, policy: &str) -> String {
    proxy_yaml(
        "default",
        name,
        &format!(
            "  virtualhost:\n    fqdn: {fqdn}\n    {policy}\n  routes:\n  - services: [{{name: app, port: 80}}]\n"
        ),
    )
}

/// The status of `host` `/` with `x-forwarded-for: xff` (none when empty).
async fn status(env: &Env, host: &str, xff: &str) -> u16 {
    let mut req = Request::get(host, "/");
    if !xff.is_empty() {
        req = req.header("x-forwarded-for", xff);
    }
    req.send(env.ports.http).await.expect("request").status
}

#[tokio::test]
async fn peer_and_remote_sources_with_a_trusted_hop() {
    let app = EchoBackend::start("app").await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("contour.yaml");
    let yaml = format!(
        "network:\n  num-trusted-hops: 1\n  admin-port: {}\n",
        free_port()
    );
    std::fs::write(&cfg, yaml).unwrap();
    let files = [
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        (
            "remote-allow.yaml",
            filtered(
                "remote-allow",
                "remote-allow.example.com",
                "ipAllowPolicy: [{source: Remote, cidr: 203.0.113.0/24}]",
            ),
        ),
        (
            "peer-allow.yaml",
            filtered(
                "peer-allow",
                "peer-allow.example.com",
                "ipAllowPolicy: [{source: Peer, cidr: 127.0.0.1}]",
            ),
        ),
        (
            "remote-deny.yaml",
            filtered(
                "remote-deny",
                "remote-deny.example.com",
                "ipDenyPolicy: [{source: Remote, cidr: 127.0.0.0/8}]",
            ),
        ),
        (
            "peer-deny.yaml",
            filtered(
                "peer-deny",
                "peer-deny.example.com",
                "ipDenyPolicy: [{source: Peer, cidr: 127.0.0.0/8}]",
            ),
        ),
    ];
    let args = ["--config-path".to_string(), cfg.display().to_string()];
    let env = Env::start_with_args(&files, &args).await;
    let ready = Request::get("peer-allow.example.com", "/");
    wait_for_response(
        env.ports.http,
        &ready,
        CONVERGE,
        "peer-allow to answer",
        |r| r.status == 200,
    )
    .await
    .unwrap();

    // (host, X-Forwarded-For, expected status). The trusted hop makes the last XFF entry the
    // remote address; without XFF the remote address is the peer.
    let cases = [
        // Remote allow: decided by X-Forwarded-For.
        ("remote-allow.example.com", "203.0.113.7", 200),
        ("remote-allow.example.com", "198.51.100.1", 403),
        ("remote-allow.example.com", "", 403),
        // Peer allow: the TCP peer is 127.0.0.1, whatever X-Forwarded-For says.
        ("peer-allow.example.com", "198.51.100.1", 200),
        ("peer-allow.example.com", "203.0.113.7", 200),
        // Remote deny of loopback: a forwarded client gets through, a direct one does not.
        ("remote-deny.example.com", "203.0.113.7", 200),
        ("remote-deny.example.com", "", 403),
        // Peer deny of loopback: denied even when X-Forwarded-For names another client.
        ("peer-deny.example.com", "203.0.113.7", 403),
        ("peer-deny.example.com", "", 403),
    ];
    let mut got = Vec::new();
    for (host, xff, _) in cases {
        got.push((host, xff, status(&env, host, xff).await));
    }
    assert_eq!(got, cases.to_vec());
}
