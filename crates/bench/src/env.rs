//! The benchmark's processes: echo backends, the release `contour serve --manifests`, real Envoy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use contour_testkit::{EchoBackend, Envoy, EnvoyOptions, Process, free_port, http_get};
use serde_json::Value;

pub struct Ports {
    pub http: u16,
    pub xds: u16,
    pub metrics: u16,
    pub debug: u16,
    pub stats: u16,
}

pub struct BenchEnv {
    pub dir: tempfile::TempDir,
    pub tmp: tempfile::TempDir,
    pub ports: Ports,
    pub contour: Process,
    pub envoy: Option<Envoy>,
    pub echo_a: EchoBackend,
    pub echo_b: EchoBackend,
    /// `--http-route-scopes` given to contour.
    pub route_scopes: Option<u16>,
}

/// The `contour` binary next to this benchmark's executable (built by `cargo build --release`).
/// How often [`BenchEnv::wait_xds`] asks contour.
const XDS_POLL: Duration = Duration::from_millis(50);

pub fn contour_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("contour");
    if !bin.exists() {
        let status = std::process::Command::new("cargo")
            .args(["build", "--release", "-p", "contour"])
            .status()
            .context("building contour")?;
        if !status.success() {
            bail!("cargo build --release -p contour failed");
        }
    }
    Ok(bin)
}

/// Writes `content` to `dir/rel` atomically (temp file + rename), as editors and kubectl do.
pub fn write_file(dir: &Path, rel: &str, content: &str) -> anyhow::Result<()> {
    let path = dir.join(rel);
    let parent = path.parent().context("file has a parent")?;
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

fn contour_args(dir: &Path, p: &Ports, route_scopes: Option<u16>) -> Vec<String> {
    let mut args = vec![
        "serve".to_string(),
        "--manifests".into(),
        dir.display().to_string(),
    ];
    for (flag, value) in [
        ("--xds-port", p.xds.to_string()),
        ("--envoy-service-http-address", "127.0.0.1".into()),
        ("--envoy-service-http-port", p.http.to_string()),
        ("--stats-address", "127.0.0.1".into()),
        ("--stats-port", p.stats.to_string()),
        ("--http-address", "127.0.0.1".into()),
        ("--http-port", p.metrics.to_string()),
        ("--health-address", "127.0.0.1".into()),
        ("--health-port", p.metrics.to_string()),
        ("--debug-http-port", p.debug.to_string()),
        ("--envoy-http-access-log", "/dev/null".into()),
        ("--envoy-https-access-log", "/dev/null".into()),
    ] {
        args.push(flag.into());
        args.push(value);
    }
    if let Some(n) = route_scopes {
        args.extend(["--http-route-scopes".to_string(), n.to_string()]);
    }
    args.push("--insecure".into());
    args
}

impl BenchEnv {
    /// Writes the cluster and starts contour (not Envoy yet).
    pub async fn start(
        files: &[(String, String)],
        with_probes: bool,
        route_scopes: Option<u16>,
    ) -> anyhow::Result<BenchEnv> {
        let echo_a = EchoBackend::start("a").await?;
        let echo_b = EchoBackend::start("b").await?;
        let dir = tempfile::tempdir()?;
        let probes = if with_probes {
            crate::probes::manifests(&echo_a, &echo_b)
        } else {
            Vec::new()
        };
        for (rel, yaml) in files.iter().chain(&probes) {
            write_file(dir.path(), rel, yaml)?;
        }
        let ports = Ports {
            http: free_port(),
            xds: free_port(),
            metrics: free_port(),
            debug: free_port(),
            stats: free_port(),
        };
        let contour = Process::spawn(
            contour_bin()?,
            contour_args(dir.path(), &ports, route_scopes),
            &[("CONTOUR_LOG", "warn")],
        )?;
        Ok(BenchEnv {
            dir,
            tmp: tempfile::tempdir()?,
            ports,
            contour,
            envoy: None,
            echo_a,
            echo_b,
            route_scopes,
        })
    }

    /// The route configuration that holds the probes' route host: `ingress_http`, or its
    /// scope's.
    pub fn route_config_name(&self) -> String {
        match self.route_scopes {
            None => "ingress_http".to_string(),
            Some(n) => contour_envoy::scopes::scope_route_config_name(
                contour_envoy::scopes::scope_of_host(crate::probes::ROUTE_HOST, n),
            ),
        }
    }

    pub async fn debug_xds(&self) -> anyhow::Result<Value> {
        http_get(self.ports.debug, "127.0.0.1", "/debug/xds")
            .await?
            .json()
    }

    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = http_get(self.ports.metrics, "127.0.0.1", "/metrics")
            .await?
            .text();
        contour_testkit::metric_value(&text, name)
            .with_context(|| format!("metric {name} not found"))
    }

    /// Polls `/debug/xds` until `f` returns Some.
    ///
    /// Every figure read this way is a timestamp contour recorded itself (`first_build_ms`, the
    /// ACK times), so the polling interval does not change it; polling every 5 ms took CPU from
    /// the two cores contour was measured on, hence 50 ms.
    pub async fn wait_xds<T>(
        &self,
        timeout: Duration,
        what: &str,
        f: impl Fn(&Value) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(v) = self.debug_xds().await
                && let Some(t) = f(&v)
            {
                return Ok(t);
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.contour.log_tail(30)
                );
            }
            tokio::time::sleep(XDS_POLL).await;
        }
    }

    /// Writes a bootstrap and starts Envoy.
    pub fn start_envoy(&mut self) -> anyhow::Result<()> {
        let bootstrap = self.tmp.path().join("envoy.json");
        let admin = self.tmp.path().join("admin.sock");
        let out = std::process::Command::new(contour_bin()?)
            .arg("bootstrap")
            .arg(&bootstrap)
            .args(["--xds-port", &self.ports.xds.to_string(), "--admin-address"])
            .arg(&admin)
            .output()?;
        if !out.status.success() {
            bail!(
                "contour bootstrap: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.envoy = Some(Envoy::start(EnvoyOptions::new(bootstrap, admin))?);
        Ok(())
    }
}

/// Peak resident set size of a process, in MB (`VmHWM`).
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    rss_mb(pid, "VmHWM")
}

/// A size from `/proc/PID/status` (`VmRSS`, `VmHWM`...), in MB.
pub fn rss_mb(pid: u32, field: &str) -> Option<f64> {
    let bytes = contour_testkit::proc_status_bytes(pid, field)?;
    Some(bytes as f64 / (1024.0 * 1024.0))
}

/// True when, for every xDS type holding resources, some stream has ACKed the current version.
pub fn all_acked(xds: &Value) -> bool {
    let Some(current) = xds["current"].as_object() else {
        return false;
    };
    let streams = xds["streams"].as_array().cloned().unwrap_or_default();
    current.iter().all(|(ty, cur)| {
        cur["resources"].as_u64() == Some(0)
            || streams
                .iter()
                .any(|s| s["types"][ty]["acked_version"] == cur["version"])
    })
}

/// The latest ACK time (ms since contour started) over every stream and type.
pub fn last_ack_ms(xds: &Value) -> Option<f64> {
    let streams = xds["streams"].as_array()?;
    streams
        .iter()
        .filter_map(|s| s["types"].as_object())
        .flat_map(|t| t.values().filter_map(|v| v["last_ack_ms"].as_f64()))
        .reduce(f64::max)
}
