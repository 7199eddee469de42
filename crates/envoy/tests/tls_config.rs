//! The contour.yaml TLS knobs (`default-http-versions`, `tls.fallback-certificate`,
//! `tls.envoy-client-certificate`) through real Envoy: the DAG is built and translated with
//! those settings in `BuildConfig`/`TranslateConfig` and served by the real xDS server, so
//! this holds whichever way the configuration file reaches them.

use std::collections::BTreeMap;

use contour_dag::{BuildConfig, Cache, Kind, LoadAssignment, Object};
use contour_envoy::{BootstrapConfig, HttpVersion, TranslateConfig, bootstrap_json, translate};
use contour_testkit::certs::{Leaf, TestCa, pem_secret_yaml, tls_secret_yaml};
use contour_testkit::{EchoBackend, Envoy, EnvoyOptions, TlsRequest, free_port, poll_until};
use contour_xds::{SnapshotStore, type_url};
use std::time::Duration;

fn obj(yaml: &str) -> Object {
    let v: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    let kind = Kind::from_type(
        v["apiVersion"].as_str().unwrap(),
        v["kind"].as_str().unwrap(),
    )
    .unwrap();
    Object::from_json(kind, v).unwrap()
}

fn service(ns: &str, name: &str, port: u16, annotations: &str) -> Object {
    obj(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}, annotations: {{{annotations}}}}}\nspec:\n  ports: [{{name: p, port: {port}, protocol: TCP}}]\n"
    ))
}

struct Setup {
    cache: Cache,
    build: BuildConfig,
    translate: TranslateConfig,
    /// EDS name → backend port.
    endpoints: BTreeMap<String, u16>,
}

/// Builds, translates and serves `setup`; returns the xDS port and the store.
async fn serve(setup: &Setup) -> (u16, SnapshotStore) {
    let out = contour_dag::build(&setup.cache, &setup.build);
    let res = translate(&out.dag, &setup.translate);
    let eds = setup
        .endpoints
        .iter()
        .map(|(name, port)| {
            let la = LoadAssignment {
                eds_name: name.clone(),
                endpoints: vec![("127.0.0.1".into(), *port)],
                ..Default::default()
            };
            (
                name.clone(),
                contour_envoy::to_any(&contour_envoy::cluster_load_assignment(&la)),
            )
        })
        .collect();
    let store = SnapshotStore::new();
    store.set_types(BTreeMap::from([
        (type_url::SECRET.to_string(), res.secrets),
        (type_url::RUNTIME.to_string(), res.runtimes),
        (type_url::ENDPOINT.to_string(), eds),
        (type_url::CLUSTER.to_string(), res.clusters),
        (type_url::ROUTE.to_string(), res.routes),
        (type_url::LISTENER.to_string(), res.listeners),
    ]));
    store.set_ready();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(contour_xds::serve(
        store.clone(),
        listener,
        std::future::pending(),
    ));
    (port, store)
}

async fn start_envoy(dir: &std::path::Path, xds_port: u16) -> Envoy {
    let admin = dir.join("admin.sock");
    let cfg = BootstrapConfig {
        xds_address: "127.0.0.1".into(),
        xds_port,
        admin_address: admin.display().to_string(),
        ..Default::default()
    };
    let path = dir.join("bootstrap.json");
    std::fs::write(
        &path,
        serde_json::to_string(&bootstrap_json(&cfg).unwrap()).unwrap(),
    )
    .unwrap();
    let mut envoy = Envoy::start(EnvoyOptions::new(path, admin)).unwrap();
    envoy.wait_ready(Duration::from_secs(20)).await.unwrap();
    envoy
}

async fn wait_tls(port: u16, req: &TlsRequest, backend: &str) -> contour_testkit::TlsResponse {
    let what = format!("{} to reach {backend}", req.host);
    poll_until(Duration::from_secs(20), &what, || async move {
        req.send(port)
            .await
            .ok()
            .filter(|r| r.backend() == Some(backend))
    })
    .await
    .unwrap()
}

fn proxy(name: &str, fqdn: &str, tls: &str, service: &str, extra: &str) -> Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  virtualhost: {{fqdn: {fqdn}, tls: {tls}}}\n  routes:\n  - services: [{{name: {service}, port: 443{extra}}}]\n"
    ))
}

#[tokio::test]
async fn fallback_certificate_http1_only_and_envoy_client_certificate() {
    let ca = TestCa::new("ca");
    let (site, fallback, envoy_client, backend_cert): (Leaf, Leaf, Leaf, Leaf) = (
        ca.leaf("site", &["site.example.com", "mtls.example.com"]),
        ca.leaf("fallback", &["fallback.example.com"]),
        ca.leaf("envoy", &["envoy"]),
        ca.leaf("backend", &["backend.internal"]),
    );
    let plain = EchoBackend::start("plain").await.unwrap();
    // This backend only talks to clients with a certificate from `ca`.
    let strict = EchoBackend::start_tls("strict", &backend_cert, Some(&ca.cert_pem))
        .await
        .unwrap();
    let delegation = "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\nmetadata: {name: fb, namespace: admin}\nspec:\n  delegations:\n  - {secretName: fallback, targetNamespaces: ['*']}\n";
    let mut cache = Cache::default();
    for o in [
        obj(&tls_secret_yaml("default", "site", &site)),
        obj(&tls_secret_yaml("admin", "fallback", &fallback)),
        obj(&tls_secret_yaml("admin", "envoy-client", &envoy_client)),
        obj(&pem_secret_yaml("default", "ca", "ca.crt", &ca.cert_pem)),
        obj(delegation),
        service("default", "plain", 443, ""),
        service(
            "default",
            "strict",
            443,
            "projectcontour.io/upstream-protocol.tls: '443'",
        ),
        proxy(
            "site",
            "site.example.com",
            "{secretName: site, enableFallbackCertificate: true}",
            "plain",
            "",
        ),
        proxy(
            "mtls",
            "mtls.example.com",
            "{secretName: site}",
            "strict",
            ", validation: {caSecret: ca, subjectName: backend.internal}",
        ),
    ] {
        cache.insert(o);
    }
    let https = free_port();
    let setup = Setup {
        cache,
        build: BuildConfig {
            https_address: "127.0.0.1".into(),
            https_port: https,
            http_address: "127.0.0.1".into(),
            http_port: free_port(),
            fallback_certificate: Some(("admin".into(), "fallback".into())),
            envoy_client_certificate: Some(("admin".into(), "envoy-client".into())),
            ..Default::default()
        },
        translate: TranslateConfig {
            default_http_versions: vec![HttpVersion::Http1],
            stats_address: "127.0.0.1".into(),
            stats_port: free_port(),
            http_access_log_path: "/dev/null".into(),
            https_access_log_path: "/dev/null".into(),
            ..Default::default()
        },
        endpoints: BTreeMap::from([
            ("default/plain/p".to_string(), plain.port()),
            ("default/strict/p".to_string(), strict.port()),
        ]),
    };
    let (xds, _store) = serve(&setup).await;
    let tmp = tempfile::tempdir().unwrap();
    let _envoy = start_envoy(tmp.path(), xds).await;

    // HTTP/2 switched off: offering h2 still gets HTTP/1.1.
    let r = wait_tls(
        https,
        &TlsRequest::new("site.example.com", "/").alpn(&["h2", "http/1.1"]),
        "plain",
    )
    .await;
    assert_eq!(r.alpn.as_deref(), Some("http/1.1"));
    assert!(r.presented(&site));
    // No SNI, and an unknown SNI: the fallback certificate and the fallback-enabled routes.
    for sni in [None, Some("unknown.example.com")] {
        let req = TlsRequest::new("site.example.com", "/").sni(sni);
        let r = wait_tls(https, &req, "plain").await;
        assert!(
            r.presented(&fallback),
            "SNI {sni:?} gets the fallback certificate"
        );
    }
    // Envoy presents tls.envoy-client-certificate to a backend that requires one.
    wait_tls(https, &TlsRequest::new("mtls.example.com", "/"), "strict").await;
}

#[test]
fn fallback_certificate_reasons() {
    let ca = TestCa::new("ca");
    let site = ca.leaf("site", &["site.example.com"]);
    let mut cache = Cache::default();
    cache.insert(obj(&tls_secret_yaml("default", "site", &site)));
    cache.insert(obj(&tls_secret_yaml("admin", "fallback", &site)));
    cache.insert(proxy(
        "p",
        "site.example.com",
        "{secretName: site, enableFallbackCertificate: true}",
        "x",
        "",
    ));
    cache.insert(proxy(
        "cv",
        "cv.example.com",
        "{secretName: site, enableFallbackCertificate: true, clientValidation: {caSecret: site}}",
        "x",
        "",
    ));
    let reason = |cfg: &BuildConfig, name: &str| {
        let out = contour_dag::build(&cache, cfg);
        out.status
            .get("default", name)
            .unwrap()
            .errors
            .iter()
            .map(|e| e.reason.clone())
            .collect::<Vec<_>>()
    };
    let none = BuildConfig::default();
    assert_eq!(reason(&none, "p"), ["FallbackNotPresent"]);
    let configured = BuildConfig {
        fallback_certificate: Some(("admin".into(), "fallback".into())),
        ..Default::default()
    };
    assert_eq!(reason(&configured, "p"), ["FallbackNotDelegated"]);
    assert_eq!(reason(&configured, "cv"), ["TLSIncompatibleFeatures"]);
}
