//! Kubernetes-mode environment: the test API server, `contour serve --kubeconfig` processes
//! (one or more replicas, each with its own ports and bearer token) and a real Envoy.
#![allow(dead_code)]

use std::time::Duration;

use anyhow::Context;
use contour_testkit::{
    ApiServer, EchoBackend, Envoy, EnvoyOptions, Process, free_port, http_get, poll_until,
    service_yaml,
};
use serde_json::{Value, json};

pub const CONVERGE: Duration = Duration::from_secs(20);

pub fn contour_bin() -> &'static str {
    env!("CARGO_BIN_EXE_contour")
}

/// A test API server holding Service `default/one` in front of a new echo backend "one", and a
/// scratch directory for kubeconfigs and Envoy.
pub async fn api_with_backend_one() -> (ApiServer, tempfile::TempDir, EchoBackend) {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let one = EchoBackend::start("one").await.unwrap();
    server
        .apply_yaml(&service_yaml("default", "one", 80, "http", &[&one]))
        .unwrap();
    (server, tmp, one)
}

/// One `contour serve` replica.
pub struct Replica {
    pub user: String,
    pub xds: u16,
    pub http: u16,
    pub https: u16,
    pub metrics: u16,
    pub process: Process,
}

/// Short leader election timings so takeover tests run in seconds.
pub const LEASE: &[&str] = &[
    "--leader-election-lease-duration",
    "3s",
    "--leader-election-renew-deadline",
    "2s",
    "--leader-election-retry-period",
    "200ms",
];

impl Replica {
    /// Starts `contour serve` against `server` as `user`, with `extra` flags.
    pub fn start(
        server: &ApiServer,
        dir: &std::path::Path,
        user: &str,
        extra: &[&str],
    ) -> anyhow::Result<Replica> {
        let kubeconfig = server.write_kubeconfig(dir, user)?;
        let (xds, http, https, metrics) = (free_port(), free_port(), free_port(), free_port());
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
        ];
        for (flag, value) in [
            ("--xds-port", xds.to_string()),
            ("--envoy-service-http-address", "127.0.0.1".into()),
            ("--envoy-service-http-port", http.to_string()),
            ("--envoy-service-https-address", "127.0.0.1".into()),
            ("--envoy-service-https-port", https.to_string()),
            ("--stats-address", "127.0.0.1".into()),
            ("--stats-port", free_port().to_string()),
            ("--http-address", "127.0.0.1".into()),
            ("--http-port", metrics.to_string()),
            ("--health-address", "127.0.0.1".into()),
            ("--health-port", metrics.to_string()),
            ("--debug-http-port", free_port().to_string()),
            ("--envoy-http-access-log", "/dev/null".into()),
        ] {
            args.push(flag.into());
            args.push(value);
        }
        args.push("--insecure".into());
        args.extend(extra.iter().map(|s| s.to_string()));
        let process = Process::start(
            contour_testkit::ProcessSpec::new(contour_bin())
                .name(format!("contour-{user}"))
                .args(args)
                .env("CONTOUR_NAMESPACE", "projectcontour"),
        )?;
        Ok(Replica {
            user: user.into(),
            xds,
            http,
            https,
            metrics,
            process,
        })
    }

    /// HTTP status of `path` on the metrics/health port.
    pub async fn health(&self, path: &str) -> Option<u16> {
        http_get(self.metrics, "127.0.0.1", path)
            .await
            .ok()
            .map(|r| r.status)
    }

    /// A sample's value from `/metrics` (the series whose line starts with `series`).
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let r = http_get(self.metrics, "127.0.0.1", "/metrics").await.ok()?;
        contour_testkit::series_value(&r.text(), series)
    }

    /// `Some` once contour's cache holds exactly `n` Secrets (for polling).
    pub async fn secrets_cached(&self, n: f64) -> Option<()> {
        let seen = self
            .metric("contour_dag_cache_object{kind=\"Secret\"}")
            .await;
        (seen == Some(n)).then_some(())
    }

    /// Resident memory of the process in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        contour_testkit::proc_status_bytes(self.process.pid()?, "VmRSS")
    }
}

/// A real Envoy bootstrapped (per-type gRPC, as upstream) to `xds_port`.
pub async fn start_envoy(tmp: &std::path::Path, xds_port: u16) -> anyhow::Result<Envoy> {
    let bootstrap = tmp.join("envoy.json");
    let admin = tmp.join("admin.sock");
    let out = std::process::Command::new(contour_bin())
        .arg("bootstrap")
        .arg(&bootstrap)
        .args(["--xds-port", &xds_port.to_string(), "--admin-address"])
        .arg(&admin)
        .args(["--xds-mode", "grpc"])
        .output()
        .context("running contour bootstrap")?;
    anyhow::ensure!(
        out.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut envoy = Envoy::start(EnvoyOptions::new(bootstrap, admin))?;
    envoy.wait_ready(CONVERGE).await?;
    Ok(envoy)
}

/// A `kubernetes.io/tls` Secret in `default` with `data` (base64, as the API server stores it).
pub fn tls_secret(name: &str, cert_pem: &str, key_pem: &str) -> Value {
    let b64 =
        |s: &str| serde_json::to_value(k8s_openapi::ByteString(s.as_bytes().to_vec())).unwrap();
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
           "metadata": {"name": name, "namespace": "default"},
           "data": {"tls.crt": b64(cert_pem), "tls.key": b64(key_pem)}})
}

/// GETs of one Secret answered by the API server (reads outside the watch).
pub fn secret_reads(server: &ApiServer, name: &str) -> usize {
    let path = format!("/api/v1/namespaces/default/secrets/{name}");
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

pub fn proxy(name: &str, fqdn: &str, service: &str) -> Value {
    json!({"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"virtualhost": {"fqdn": fqdn}, "routes": [{"services": [{"name": service, "port": 80}]}]}})
}

/// Polls until the stored HTTPProxy's `status.currentStatus` is `want`; returns its status.
pub async fn wait_proxy_status(server: &ApiServer, name: &str, want: &str) -> Value {
    poll_until(
        CONVERGE,
        &format!("HTTPProxy {name} status {want}"),
        || async {
            server
                .get("projectcontour.io/v1", "HTTPProxy", "default", name)
                .map(|p| p["status"].clone())
                .filter(|s| s["currentStatus"] == want)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}
