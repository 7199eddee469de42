//! Downstream TLS through real Envoy with a real TLS client (rustls): SNI routing, 421,
//! redirects, permitInsecure, Ingress TLS, secret validation, delegation, versions, wildcard
//! hosts, HTTP/2 ALPN, and the secure listener appearing only when there is TLS to serve.

mod common;

use common::{Env, backends, ingress_yaml, proxy_yaml, status_errors};
use contour_testkit::certs::{TestCa, tls_secret_yaml};
use contour_testkit::{EchoBackend, TlsRequest, connect_refused, service_yaml};

fn tls_proxy(ns: &str, name: &str, fqdn: &str, secret: &str, svc: &str) -> String {
    proxy_yaml(
        ns,
        name,
        &format!(
            "  virtualhost: {{fqdn: '{fqdn}', tls: {{secretName: '{secret}'}}}}\n  routes:\n  - services: [{{name: {svc}, port: 80}}]\n  - conditions: [{{prefix: /insecure}}]\n    permitInsecure: true\n    services: [{{name: {svc}, port: 80}}]\n"
        ),
    )
}

#[tokio::test]
async fn sni_routing_421_redirects_and_ingress_tls() {
    let ca = TestCa::new("test-ca");
    let (ca_a, cb) = (
        ca.leaf("a.example.com", &["a.example.com"]),
        ca.leaf("b.example.com", &["b.example.com"]),
    );
    let cc = ca.leaf("c.example.com", &["c.example.com"]);
    let wild = ca.leaf("*.wild.example.com", &["*.wild.example.com"]);
    let ([_a, b, _c, _w], services) = backends(["a", "b", "c", "w"]).await;
    let secrets = [
        tls_secret_yaml("default", "a-cert", &ca_a),
        tls_secret_yaml("default", "b-cert", &cb),
        tls_secret_yaml("default", "c-cert", &cc),
        tls_secret_yaml("default", "wild-cert", &wild),
    ]
    .join("---\n");
    let ingress = ingress_yaml(
        "c",
        "  tls: [{hosts: [c.example.com], secretName: c-cert}]\n  rules:\n  - host: c.example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}]}\n",
    )
    .replace(
        "metadata: {name: c, namespace: default}",
        "metadata: {name: c, namespace: default, annotations: {ingress.kubernetes.io/force-ssl-redirect: 'true', projectcontour.io/tls-minimum-protocol-version: '1.3'}}",
    );
    let files = [
        ("svc.yaml", services),
        ("secrets.yaml", secrets),
        (
            "a.yaml",
            tls_proxy("default", "a", "a.example.com", "a-cert", "a"),
        ),
        (
            "b.yaml",
            tls_proxy("default", "b", "b.example.com", "b-cert", "b"),
        ),
        (
            "w.yaml",
            tls_proxy("default", "w", "*.wild.example.com", "wild-cert", "w"),
        ),
        ("c.yaml", ingress),
    ];
    let env = Env::start(&files).await;
    let https = env.ports.https;

    // SNI picks the certificate and the routes.
    let r = env
        .wait_tls_backend(&TlsRequest::new("a.example.com", "/"), "a")
        .await;
    assert!(
        r.presented(&ca_a),
        "a.example.com must present its own certificate"
    );
    let r = env
        .wait_tls_backend(&TlsRequest::new("b.example.com", "/"), "b")
        .await;
    assert!(r.presented(&cb));

    // 421 when Host and SNI differ; a port or upper case in Host still matches.
    let mismatch = TlsRequest::new("b.example.com", "/").sni(Some("a.example.com"));
    let r = mismatch.send(https).await.unwrap();
    assert_eq!(r.status(), 421, "{}", r.response.text());
    assert_eq!(b.requests(), 1, "the misdirected request must not reach b");
    let mut upper = TlsRequest::new("A.Example.COM:8443", "/").sni(Some("a.example.com"));
    upper.alpn = vec!["http/1.1".into()];
    assert_eq!(upper.send(https).await.unwrap().backend(), Some("a"));
    // Same over HTTP/2 (the default ALPN offers h2 first).
    let r = TlsRequest::new("b.example.com", "/")
        .sni(Some("a.example.com"))
        .alpn(&["h2", "http/1.1"])
        .send(https)
        .await
        .unwrap();
    assert_eq!((r.alpn.as_deref(), r.status()), (Some("h2"), 421));

    // Plain HTTP: 301 to https unless the route permits insecure traffic.
    let r = env.get("a.example.com", "/x").await.unwrap();
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://a.example.com/x"));
    assert_eq!(env.who("a.example.com", "/insecure").await, "a");

    // Ingress TLS with force-ssl-redirect and a TLS 1.3 minimum.
    let r = env
        .wait_tls_backend(&TlsRequest::new("c.example.com", "/"), "c")
        .await;
    assert!(r.presented(&cc));
    assert_eq!(r.version.as_deref(), Some("TLSv1_3"));
    assert!(
        TlsRequest::new("c.example.com", "/")
            .tls12_only()
            .send(https)
            .await
            .is_err(),
        "TLS 1.2 must be refused"
    );
    assert_eq!(env.get("c.example.com", "/").await.unwrap().status, 301);

    // Wildcard host: one label, certificate for the wildcard, 421 across names.
    let r = env
        .wait_tls_backend(&TlsRequest::new("x.wild.example.com", "/"), "w")
        .await;
    assert!(r.presented(&wild));
    let cross = TlsRequest::new("y.wild.example.com", "/").sni(Some("x.wild.example.com"));
    assert_eq!(cross.send(https).await.unwrap().status(), 421);
}

#[tokio::test]
async fn secure_listener_follows_tls_objects_and_bad_secrets_are_contained() {
    let ca = TestCa::new("test-ca");
    let good = ca.leaf("good.example.com", &["good.example.com"]);
    let other = ca.leaf("other", &["other.example.com"]);
    let app = EchoBackend::start("app").await.unwrap();
    let plain = proxy_yaml(
        "default",
        "plain",
        "  virtualhost: {fqdn: plain.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n",
    );
    let files = [
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        ("plain.yaml", plain),
    ];
    let env = Env::start(&files).await;
    env.wait_backend("plain.example.com", "/", "app").await;
    // Nothing secure: Envoy does not listen on the HTTPS port.
    assert!(
        connect_refused(env.ports.https),
        "no TLS objects, no secure listener"
    );

    // A key that does not match its certificate: invalid with upstream's reason, not served.
    let mut broken = good.clone();
    broken.key_pem = other.key_pem.clone();
    env.dir
        .write(
            "bad-secret.yaml",
            &tls_secret_yaml("default", "bad", &broken),
        )
        .unwrap();
    env.dir
        .write(
            "bad.yaml",
            &tls_proxy("default", "bad", "bad.example.com", "bad", "app"),
        )
        .unwrap();
    let st = env
        .wait_proxy_status("default", "bad", |s| s["currentStatus"] == "invalid")
        .await;
    assert_eq!(
        status_errors(&st),
        vec![("TLSError".into(), "SecretNotValid".into())]
    );
    assert!(
        st["conditions"][0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{st}"
    );

    // The first valid TLS host opens the listener; the broken one stays out.
    env.dir
        .write(
            "good-secret.yaml",
            &tls_secret_yaml("default", "good", &good),
        )
        .unwrap();
    env.dir
        .write(
            "good.yaml",
            &tls_proxy("default", "good", "good.example.com", "good", "app"),
        )
        .unwrap();
    env.wait_tls_backend(&TlsRequest::new("good.example.com", "/"), "app")
        .await;
    assert!(
        TlsRequest::new("bad.example.com", "/")
            .send(env.ports.https)
            .await
            .is_err()
    );
    // Its plain-HTTP side is not served either: nothing half-configured.
    assert_eq!(env.get("bad.example.com", "/").await.unwrap().status, 404);
}

#[tokio::test]
async fn delegation_allowed_and_refused() {
    let ca = TestCa::new("test-ca");
    let cert = ca.leaf("team.example.com", &["team.example.com"]);
    let app = EchoBackend::start("team-app").await.unwrap();
    let files = [
        ("svc.yaml", service_yaml("team", "app", 80, "http", &[&app])),
        ("secret.yaml", tls_secret_yaml("certs", "shared", &cert)),
        (
            "proxy.yaml",
            tls_proxy("team", "p", "team.example.com", "certs/shared", "app"),
        ),
    ];
    let env = Env::start(&files).await;
    let st = env
        .wait_proxy_status("team", "p", |s| s["currentStatus"] == "invalid")
        .await;
    assert_eq!(
        status_errors(&st),
        vec![("TLSError".into(), "DelegationNotPermitted".into())]
    );
    assert!(
        TlsRequest::new("team.example.com", "/")
            .send(env.ports.https)
            .await
            .is_err()
    );

    // A delegation to another namespace changes nothing; one to `team` makes it valid.
    let delegation = |targets: &str| {
        format!(
            "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\nmetadata: {{name: d, namespace: certs}}\nspec:\n  delegations:\n  - {{secretName: shared, targetNamespaces: {targets}}}\n"
        )
    };
    env.dir
        .write("delegation.yaml", &delegation("[elsewhere]"))
        .unwrap();
    env.dir
        .write("delegation.yaml", &delegation("[team]"))
        .unwrap();
    env.wait_proxy_status("team", "p", |s| s["currentStatus"] == "valid")
        .await;
    let r = env
        .wait_tls_backend(&TlsRequest::new("team.example.com", "/"), "team-app")
        .await;
    assert!(r.presented(&cert));

    // Withdrawing the delegation withdraws the certificate.
    env.dir
        .write("delegation.yaml", &delegation("[elsewhere]"))
        .unwrap();
    env.wait_proxy_status("team", "p", |s| s["currentStatus"] == "invalid")
        .await;
}

#[tokio::test]
async fn http2_is_negotiated_by_default() {
    let ca = TestCa::new("test-ca");
    let cert = ca.leaf("h2.example.com", &["h2.example.com"]);
    let app = EchoBackend::start("app").await.unwrap();
    let files = [
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        ("secret.yaml", tls_secret_yaml("default", "cert", &cert)),
        (
            "proxy.yaml",
            tls_proxy("default", "p", "h2.example.com", "cert", "app"),
        ),
    ];
    let env = Env::start(&files).await;
    let req = TlsRequest::new("h2.example.com", "/").alpn(&["h2", "http/1.1"]);
    let r = env.wait_tls_backend(&req, "app").await;
    assert_eq!(r.alpn.as_deref(), Some("h2"));
    let r = TlsRequest::new("h2.example.com", "/")
        .send(env.ports.https)
        .await
        .unwrap();
    assert_eq!(r.alpn.as_deref(), Some("http/1.1"));
}
