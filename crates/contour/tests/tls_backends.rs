//! Client certificates, TLS passthrough, TCP proxying and upstream TLS through real Envoy with
//! real TLS clients and TLS backends.

mod common;

use common::{Env, proxy_yaml};
use contour_testkit::certs::{TestCa, pem_secret_yaml, tls_secret_yaml};
use contour_testkit::{EchoBackend, TlsRequest, service_yaml};

fn client_validation_proxy(name: &str, fqdn: &str, validation: &str) -> String {
    proxy_yaml(
        "default",
        name,
        &format!(
            "  virtualhost:\n    fqdn: {fqdn}\n    tls:\n      secretName: server\n      clientValidation: {validation}\n  routes:\n  - services: [{{name: app, port: 80}}]\n"
        ),
    )
}

#[tokio::test]
async fn client_certificates_required_optional_revoked_and_forwarded() {
    let ca = TestCa::new("server-ca");
    let clients = TestCa::new("client-ca");
    let server = ca.leaf(
        "server",
        &["req.example.com", "opt.example.com", "crl.example.com"],
    );
    let (good, revoked) = (
        clients.leaf("good-client", &["good.client"]),
        clients.leaf("bad-client", &["bad.client"]),
    );
    let stranger = TestCa::new("other").leaf("stranger", &["stranger.client"]);
    let app = EchoBackend::start("app").await.unwrap();
    let files = [
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        ("server.yaml", tls_secret_yaml("default", "server", &server)),
        (
            "ca.yaml",
            pem_secret_yaml("default", "client-ca", "ca.crt", &clients.cert_pem),
        ),
        (
            "crl.yaml",
            pem_secret_yaml("default", "crl", "crl.pem", &clients.crl(&[&revoked])),
        ),
        (
            "req.yaml",
            client_validation_proxy(
                "req",
                "req.example.com",
                "{caSecret: client-ca, forwardClientCertificate: {subject: true, dns: true}}",
            ),
        ),
        (
            "opt.yaml",
            client_validation_proxy(
                "opt",
                "opt.example.com",
                "{caSecret: client-ca, optionalClientCertificate: true}",
            ),
        ),
        (
            "crl-p.yaml",
            client_validation_proxy(
                "crlp",
                "crl.example.com",
                "{caSecret: client-ca, crlSecret: crl}",
            ),
        ),
    ];
    let env = Env::start(&files).await;
    let https = env.ports.https;

    // Required: a certificate from the client CA gets through, with XFCC for the backend.
    let r = env
        .wait_tls_backend(
            &TlsRequest::new("req.example.com", "/").client_cert(&good),
            "app",
        )
        .await;
    let xfcc = r
        .response
        .echo()
        .unwrap()
        .headers
        .get("x-forwarded-client-cert")
        .cloned()
        .unwrap_or_default();
    assert!(
        xfcc.contains("Subject=\"CN=good-client\"") && xfcc.contains("DNS=good.client"),
        "XFCC: {xfcc}"
    );
    assert!(
        TlsRequest::new("req.example.com", "/")
            .send(https)
            .await
            .is_err(),
        "no certificate: refused"
    );
    assert!(
        TlsRequest::new("req.example.com", "/")
            .client_cert(&stranger)
            .send(https)
            .await
            .is_err(),
        "unknown CA: refused"
    );

    // Optional: no certificate is fine, a bad one is still refused.
    let r = env
        .wait_tls_backend(&TlsRequest::new("opt.example.com", "/"), "app")
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        TlsRequest::new("opt.example.com", "/")
            .client_cert(&stranger)
            .send(https)
            .await
            .is_err()
    );

    // CRL: the revoked certificate is refused, the other accepted.
    env.wait_tls_backend(
        &TlsRequest::new("crl.example.com", "/").client_cert(&good),
        "app",
    )
    .await;
    assert!(
        TlsRequest::new("crl.example.com", "/")
            .client_cert(&revoked)
            .send(https)
            .await
            .is_err(),
        "revoked: refused"
    );
}

#[tokio::test]
async fn passthrough_tcpproxy_termination_and_include() {
    let ca = TestCa::new("ca");
    let backend_cert = ca.leaf("backend", &["pass.example.com"]);
    let front = ca.leaf("front", &["tcp.example.com", "inc.example.com"]);
    let tls_backend = EchoBackend::start_tls("tls-backend", &backend_cert, None)
        .await
        .unwrap();
    let plain = EchoBackend::start("plain").await.unwrap();
    let included = EchoBackend::start("included").await.unwrap();
    let services = [
        service_yaml("default", "tlsapp", 443, "https", &[&tls_backend]),
        service_yaml("default", "plain", 80, "http", &[&plain]),
        service_yaml("team", "inc", 80, "http", &[&included]),
    ]
    .join("---\n");
    let pass = proxy_yaml(
        "default",
        "pass",
        "  virtualhost: {fqdn: pass.example.com, tls: {passthrough: true}}\n  tcpproxy:\n    services: [{name: tlsapp, port: 443}]\n",
    );
    let tcp = proxy_yaml(
        "default",
        "tcp",
        "  virtualhost: {fqdn: tcp.example.com, tls: {secretName: front}}\n  tcpproxy:\n    services: [{name: plain, port: 80}]\n",
    );
    let root = proxy_yaml(
        "default",
        "inc",
        "  virtualhost: {fqdn: inc.example.com, tls: {secretName: front}}\n  tcpproxy:\n    include: {name: child, namespace: team}\n",
    );
    let child = proxy_yaml(
        "team",
        "child",
        "  tcpproxy:\n    services: [{name: inc, port: 80}]\n",
    );
    let files = [
        ("svc.yaml", services),
        ("front.yaml", tls_secret_yaml("default", "front", &front)),
        ("pass.yaml", pass),
        ("tcp.yaml", tcp),
        ("root.yaml", root),
        ("child.yaml", child),
    ];
    let env = Env::start(&files).await;
    // Passthrough: the backend terminates TLS and presents its own certificate.
    let r = env
        .wait_tls_backend(
            &TlsRequest::new("pass.example.com", "/").alpn(&["h2", "http/1.1"]),
            "tls-backend",
        )
        .await;
    assert!(
        r.presented(&backend_cert),
        "passthrough must show the backend's certificate"
    );
    assert_eq!(
        r.alpn.as_deref(),
        Some("h2"),
        "ALPN is the backend's to answer"
    );
    // TCP proxy with termination: Envoy's certificate, bytes to a plain backend.
    let r = env
        .wait_tls_backend(&TlsRequest::new("tcp.example.com", "/"), "plain")
        .await;
    assert!(r.presented(&front));
    env.wait_tls_backend(&TlsRequest::new("inc.example.com", "/"), "included")
        .await;
    let st = env
        .wait_proxy_status("team", "child", |s| s["currentStatus"] == "valid")
        .await;
    assert_eq!(st["currentStatus"], "valid");
}

#[tokio::test]
async fn upstream_tls_validation_passes_and_fails() {
    let ca = TestCa::new("backend-ca");
    let cert = ca.leaf("backend", &["backend.internal"]);
    let front = ca.leaf(
        "front",
        &[
            "ok.example.com",
            "bad.example.com",
            "h2.example.com",
            "ing.example.com",
        ],
    );
    let backend = EchoBackend::start_tls("secure-backend", &cert, None)
        .await
        .unwrap();
    let svc = service_yaml("default", "secure", 443, "https", &[&backend]);
    let annotated = service_yaml("default", "annotated", 443, "https", &[&backend]).replacen(
        "metadata:\n",
        "metadata:\n  annotations: {projectcontour.io/upstream-protocol.tls: '443'}\n",
        1,
    );
    let upstream = |name: &str, fqdn: &str, protocol: &str, san: &str| {
        proxy_yaml(
            "default",
            name,
            &format!(
                "  virtualhost: {{fqdn: {fqdn}, tls: {{secretName: front}}}}\n  routes:\n  - services:\n    - name: secure\n      port: 443\n      protocol: {protocol}\n      validation: {{caSecret: backend-ca, subjectName: {san}}}\n"
            ),
        )
    };
    let ing = common::ingress_yaml(
        "ing",
        "  rules:\n  - host: ing.example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: annotated, port: {number: 443}}}}]}\n",
    );
    let files = [
        ("svc.yaml", format!("{svc}---\n{annotated}")),
        ("front.yaml", tls_secret_yaml("default", "front", &front)),
        (
            "ca.yaml",
            pem_secret_yaml("default", "backend-ca", "ca.crt", &ca.cert_pem),
        ),
        (
            "ok.yaml",
            upstream("ok", "ok.example.com", "tls", "backend.internal"),
        ),
        (
            "bad.yaml",
            upstream("bad", "bad.example.com", "tls", "someone.else"),
        ),
        (
            "h2.yaml",
            upstream("h2", "h2.example.com", "h2", "backend.internal"),
        ),
        ("ing.yaml", ing),
    ];
    let env = Env::start(&files).await;
    env.wait_tls_backend(&TlsRequest::new("ok.example.com", "/"), "secure-backend")
        .await;
    env.wait_tls_backend(&TlsRequest::new("h2.example.com", "/"), "secure-backend")
        .await;
    // Wrong subject name: Envoy refuses the backend's certificate.
    let r = env
        .wait_tls(
            &TlsRequest::new("bad.example.com", "/"),
            "bad SAN to fail",
            |r| r.status() == 503,
        )
        .await;
    assert_eq!(r.backend(), None);
    // Ingress backend with the upstream-protocol.tls annotation (no validation).
    env.wait_backend("ing.example.com", "/", "secure-backend")
        .await;
}
