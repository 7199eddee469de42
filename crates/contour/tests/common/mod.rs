//! End-to-end environment: a manifests directory, the real `contour serve`, and a real Envoy
//! bootstrapped by `contour bootstrap`, all on free loopback ports.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use contour_testkit::{
    Envoy, EnvoyOptions, ManifestDir, Process, Response, free_port, http_get, poll_until,
    wait_for_refused,
};

pub const CONVERGE: Duration = Duration::from_secs(20);

pub struct Ports {
    pub http: u16,
    pub https: u16,
    pub xds: u16,
    pub metrics: u16,
    pub debug: u16,
    pub stats: u16,
}

impl Ports {
    /// A fresh set of free loopback ports.
    pub fn fresh() -> Self {
        Self::new()
    }

    fn new() -> Self {
        Ports {
            http: free_port(),
            https: free_port(),
            xds: free_port(),
            metrics: free_port(),
            debug: free_port(),
            stats: free_port(),
        }
    }
}

/// How the generated bootstrap asks for configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ads,
    /// Upstream Contour's shape: per-type gRPC streams, no ADS.
    Grpc,
}

pub struct Env {
    pub dir: ManifestDir,
    pub ports: Ports,
    pub contour: Process,
    pub envoy: Envoy,
    tmp: tempfile::TempDir,
}

pub fn contour_bin() -> &'static str {
    env!("CARGO_BIN_EXE_contour")
}

fn contour_args(dir: &ManifestDir, p: &Ports, extra: &[String]) -> Vec<String> {
    let mut args = serve_args(dir.path(), p);
    // A flag given in `extra` replaces the harness's own value for it.
    let mut i = 0;
    while i + 1 < args.len() {
        if args[i].starts_with("--") && extra.contains(&args[i]) && !args[i + 1].starts_with("--") {
            args.drain(i..i + 2);
        } else {
            i += 1;
        }
    }
    args.extend(extra.iter().cloned());
    args
}

/// The `contour serve` command line the harness uses, for manifests directory `dir` (which
/// need not exist) and ports `p`.
pub fn serve_args(dir: &std::path::Path, p: &Ports) -> Vec<String> {
    let mut args: Vec<String> = vec!["serve".into(), "--manifests".into()];
    args.push(dir.display().to_string());
    for (flag, value) in [
        ("--xds-port", p.xds.to_string()),
        ("--envoy-service-http-address", "127.0.0.1".into()),
        ("--envoy-service-http-port", p.http.to_string()),
        ("--envoy-service-https-address", "127.0.0.1".into()),
        ("--envoy-service-https-port", p.https.to_string()),
        ("--envoy-https-access-log", "/dev/null".into()),
        ("--stats-address", "127.0.0.1".into()),
        ("--stats-port", p.stats.to_string()),
        ("--http-address", "127.0.0.1".into()),
        ("--http-port", p.metrics.to_string()),
        ("--health-address", "127.0.0.1".into()),
        ("--health-port", p.metrics.to_string()),
        ("--debug-http-port", p.debug.to_string()),
        ("--envoy-http-access-log", "/dev/null".into()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    args.push("--insecure".into());
    args
}

fn write_bootstrap(
    tmp: &std::path::Path,
    xds_port: u16,
    mode: Mode,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let bootstrap = tmp.join("envoy.json");
    let admin = tmp.join("admin.sock");
    let out = std::process::Command::new(contour_bin())
        .arg("bootstrap")
        .arg(&bootstrap)
        .args(["--xds-port", &xds_port.to_string(), "--admin-address"])
        .arg(&admin)
        .args(["--xds-mode", if mode == Mode::Ads { "ads" } else { "grpc" }])
        .output()
        .context("running contour bootstrap")?;
    anyhow::ensure!(
        out.status.success(),
        "contour bootstrap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((bootstrap, admin))
}

impl Env {
    /// Writes `files` into a new manifests directory, then starts contour and Envoy and waits
    /// until Envoy is ready (has its first configuration).
    pub async fn start(files: &[(&str, String)]) -> Env {
        Self::start_mode(files, Mode::Ads).await
    }

    pub async fn start_mode(files: &[(&str, String)], mode: Mode) -> Env {
        Self::try_start(files, mode, &[], Ports::new())
            .await
            .expect("start contour and Envoy")
    }

    /// As [`Env::start`], with extra `contour serve` arguments (replacing the harness's value
    /// of any flag they repeat).
    pub async fn start_with_args(files: &[(&str, String)], extra: &[String]) -> Env {
        Self::try_start(files, Mode::Ads, extra, Ports::new())
            .await
            .expect("start contour and Envoy")
    }

    /// As [`Env::start_with_args`], with the bootstrap in `mode`.
    pub async fn start_mode_with_args(
        files: &[(&str, String)],
        mode: Mode,
        extra: &[String],
    ) -> Env {
        Self::try_start(files, mode, extra, Ports::new())
            .await
            .expect("start contour and Envoy")
    }

    /// As [`Env::start_with_args`], on ports chosen by the caller (for configurations that
    /// name their own ports).
    pub async fn start_on(files: &[(&str, String)], extra: &[String], ports: Ports) -> Env {
        Self::try_start(files, Mode::Ads, extra, ports)
            .await
            .expect("start contour and Envoy")
    }

    async fn try_start(
        files: &[(&str, String)],
        mode: Mode,
        extra: &[String],
        ports: Ports,
    ) -> anyhow::Result<Env> {
        let dir = ManifestDir::new()?;
        for (path, yaml) in files {
            dir.write(path, yaml)?;
        }
        let tmp = tempfile::tempdir()?;
        let mut extra = extra.to_vec();
        let own_config = ["--config-path", "--contour-config-name"];
        if !extra.iter().any(|a| own_config.contains(&a.as_str())) {
            // Envoy's read-only admin listener defaults to 127.0.0.1:9001; concurrent tests
            // each need their own port.
            let cfg = tmp.path().join("contour.yaml");
            std::fs::write(&cfg, format!("network:\n  admin-port: {}\n", free_port()))?;
            extra.extend(["--config-path".to_string(), cfg.display().to_string()]);
        }
        let contour = Process::spawn(contour_bin(), contour_args(&dir, &ports, &extra), &[])?;
        let (bootstrap, admin) = write_bootstrap(tmp.path(), ports.xds, mode)?;
        let opts = EnvoyOptions::new(bootstrap, admin);
        let mut envoy = Envoy::start(opts)?;
        envoy.wait_ready(CONVERGE).await?;
        Ok(Env {
            dir,
            ports,
            contour,
            envoy,
            tmp,
        })
    }

    /// xDS responses and ACKs so far, by type short name (`/debug/xds` totals).
    pub async fn xds_totals(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        let xds = http_get(self.ports.debug, "127.0.0.1", "/debug/xds")
            .await
            .unwrap()
            .json()
            .unwrap();
        xds["totals"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(t, v)| {
                let short = t.rsplit('.').next().unwrap().to_string();
                let n = |k: &str| v[k].as_u64().unwrap_or(0);
                (short, (n("responses"), n("acks")))
            })
            .collect()
    }

    /// Waits until every xDS response sent so far is ACKed; returns the totals then.
    pub async fn xds_quiet(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        poll_until(CONVERGE, "every xDS response ACKed", || async {
            let t = self.xds_totals().await;
            t.values().all(|(r, a)| r == a).then_some(t)
        })
        .await
        .unwrap()
    }

    pub async fn get(&self, host: &str, path: &str) -> anyhow::Result<Response> {
        http_get(self.ports.http, host, path).await
    }

    /// Polls until a request answers with `status`; returns how long that took.
    pub async fn wait_status(&self, host: &str, path: &str, status: u16) -> Duration {
        let start = Instant::now();
        let port = self.ports.http;
        let what = format!("{host}{path} to answer {status}");
        poll_until(CONVERGE, &what, || async move {
            let r = http_get(port, host, path).await.ok()?;
            (r.status == status).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", self.contour.log_tail(40)));
        start.elapsed()
    }

    /// Polls until `backend` answers a request; returns how long that took.
    pub async fn wait_backend(&self, host: &str, path: &str, backend: &str) -> Duration {
        let start = Instant::now();
        let port = self.ports.http;
        let what = format!("{host}{path} to reach backend {backend}");
        poll_until(CONVERGE, &what, || async move {
            let r = http_get(port, host, path).await.ok()?;
            (r.status == 200 && r.backend() == Some(backend)).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", self.contour.log_tail(40)));
        start.elapsed()
    }

    /// The backend that answered, or the status code when none did.
    pub async fn who(&self, host: &str, path: &str) -> String {
        match self.get(host, path).await {
            Ok(r) => r
                .backend()
                .map(str::to_string)
                .unwrap_or_else(|| r.status.to_string()),
            Err(e) => format!("error: {e}"),
        }
    }

    /// A sample's value from contour's `/metrics` (first series of that name).
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let url_port = self.ports.metrics;
        let r = http_get(url_port, "127.0.0.1", "/metrics").await.ok()?;
        contour_testkit::metric_value(&r.text(), name)
    }

    /// `/debug/status` as JSON.
    pub async fn debug_status(&self) -> serde_json::Value {
        let r = http_get(self.ports.debug, "127.0.0.1", "/debug/status")
            .await
            .expect("debug status");
        r.json().expect("debug status json")
    }
}

impl Env {
    /// Polls until `req` on the HTTPS port gives a response `accept` likes; returns it.
    pub async fn wait_tls(
        &self,
        req: &contour_testkit::TlsRequest,
        what: &str,
        accept: impl Fn(&contour_testkit::TlsResponse) -> bool,
    ) -> contour_testkit::TlsResponse {
        let port = self.ports.https;
        let accept = &accept;
        poll_until(CONVERGE, what, || async move {
            req.send(port).await.ok().filter(|r| accept(r))
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}\ncontour log:\n{}\nEnvoy log:\n{}",
                self.contour.log_tail(40),
                tail(&self.envoy.log(), 30)
            )
        })
    }

    /// Polls until `req` on the HTTPS port is answered by echo backend `backend`.
    pub async fn wait_tls_backend(
        &self,
        req: &contour_testkit::TlsRequest,
        backend: &str,
    ) -> contour_testkit::TlsResponse {
        let what = format!("https {} (SNI {:?}) to reach {backend}", req.host, req.sni);
        self.wait_tls(req, &what, |r| r.backend() == Some(backend))
            .await
    }

    /// The status of `ns/name` from `/debug/status`, polled until `pred` holds.
    pub async fn wait_proxy_status(
        &self,
        ns: &str,
        name: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let port = self.ports.debug;
        let pred = &pred;
        let what = format!("status of {ns}/{name}");
        poll_until(CONVERGE, &what, || async move {
            let r = http_get(port, "127.0.0.1", "/debug/status").await.ok()?;
            let list = r.json().ok()?;
            let found = list
                .as_array()?
                .iter()
                .find(|s| s["namespace"] == ns && s["name"] == name)?;
            pred(&found["status"]).then(|| found["status"].clone())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", self.contour.log_tail(40)))
    }
}

/// The error sub-conditions of a status as `(type, reason)` pairs.
pub fn status_errors(status: &serde_json::Value) -> Vec<(String, String)> {
    status["conditions"][0]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// An HTTPProxy manifest; `spec` is the YAML under `spec:`, indented two spaces.
pub fn proxy_yaml(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}

/// A networking.k8s.io/v1 Ingress in `default`; `spec` is the YAML under `spec:`.
pub fn ingress_yaml(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: default}}\nspec:\n{spec}"
    )
}

/// A root HTTPProxy `default/name` for `fqdn` sending everything to `service` port 80.
pub fn simple_proxy(name: &str, fqdn: &str, service: &str) -> String {
    proxy_yaml(
        "default",
        name,
        &format!(
            "  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - services: [{{name: {service}, port: 80}}]\n"
        ),
    )
}

impl Env {
    /// Polls until nothing listens on Envoy's HTTP port; returns how long that took.
    pub async fn wait_http_refused(&self) -> Duration {
        let start = Instant::now();
        wait_for_refused(self.ports.http, CONVERGE)
            .await
            .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", self.contour.log_tail(40)));
        start.elapsed()
    }

    /// Polls until the contour log has a line for which `pred` holds; returns that line.
    pub async fn wait_log_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let pred = &pred;
        poll_until(CONVERGE, what, || {
            let log = self.contour.log();
            std::future::ready(log.lines().find(|l| pred(l)).map(str::to_string))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", self.contour.log_tail(60)))
    }

    /// Polls until Envoy's stat `name` has value `want`.
    pub async fn wait_envoy_stat(&self, name: &str, want: u64) -> Duration {
        let start = Instant::now();
        let what = format!("Envoy stat {name} to be {want}");
        let envoy = &self.envoy;
        poll_until(CONVERGE, &what, || async move {
            (envoy.stat(name).await.ok().flatten() == Some(want)).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\nEnvoy log tail:\n{}", tail(&self.envoy.log(), 40)));
        start.elapsed()
    }
}

/// Waits until `GET http://127.0.0.1:<port><path>` answers 200.
pub async fn wait_http_ok(port: u16, path: &str, what: &str) {
    poll_until(CONVERGE, what, || async {
        let r = contour_testkit::http_get(port, "127.0.0.1", path)
            .await
            .ok()?;
        (r.status == 200).then_some(())
    })
    .await
    .unwrap();
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `contour certgen --pem` into `dir`: the CA, contour and envoy certificates and keys.
pub fn certgen(dir: &std::path::Path) {
    let out = std::process::Command::new(contour_bin())
        .args(["certgen", "--pem", "--overwrite"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "cacert.pem",
        "contourcert.pem",
        "contourkey.pem",
        "envoycert.pem",
        "envoykey.pem",
    ] {
        assert!(dir.join(f).exists(), "certgen wrote {f}");
    }
}

/// Echo backends named `names`, and a Service `default/<name>` (port 80, `http`) in front of
/// each, as one manifest.
pub async fn backends<const N: usize>(
    names: [&str; N],
) -> ([contour_testkit::EchoBackend; N], String) {
    let mut started = Vec::with_capacity(N);
    for name in names {
        started.push(contour_testkit::EchoBackend::start(name).await.unwrap());
    }
    let services = names
        .iter()
        .zip(&started)
        .map(|(name, b)| contour_testkit::service_yaml("default", name, 80, "http", &[b]))
        .collect::<Vec<_>>()
        .join("---\n");
    let Ok(started) = started.try_into() else {
        unreachable!("one backend per name");
    };
    (started, services)
}
