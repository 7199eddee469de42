//! contour.yaml and ContourConfiguration applied to real Envoy: one test per key family,
//! proven by traffic where traffic shows it, else by what Envoy accepted (its config dump).

#[path = "../common/mod.rs"]
mod common;

mod hcm;
mod listeners;
mod policies;
mod sources;
mod upstreams;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{CONVERGE, Env};
use contour_testkit::{EchoBackend, poll_until, service_yaml};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A contour.yaml written to a temporary directory that lives as long as the value.
pub struct ConfigFile {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl ConfigFile {
    /// Writes `text`, giving Envoy's admin listener a free port unless `text` sets one
    /// (concurrent tests cannot all use 9001).
    pub fn new(text: &str) -> ConfigFile {
        let text = if text.contains("admin-port") {
            text.to_string()
        } else if text.contains("network:\n") {
            let port = contour_testkit::free_port();
            text.replacen(
                "network:\n",
                &format!("network:\n  admin-port: {port}\n"),
                1,
            )
        } else {
            format!(
                "{text}network:\n  admin-port: {}\n",
                contour_testkit::free_port()
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contour.yaml");
        std::fs::write(&path, &text).unwrap();
        ConfigFile { _dir: dir, path }
    }

    pub fn args(&self) -> Vec<String> {
        vec!["--config-path".into(), self.path.display().to_string()]
    }
}

/// An Ingress sending every path of `host` to Service `svc` port 80.
pub fn ingress_to(name: &str, host: &str, svc: &str) -> String {
    common::ingress_yaml(
        name,
        &format!(
            "  rules:\n  - host: {host}\n    http:\n      paths:\n      - {{path: /, pathType: Prefix, backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}}}\n"
        ),
    )
}

/// Contour and Envoy with one echo backend `web` behind `web.example.com`, plus `extra`
/// manifests and `args`.
pub async fn start_web(args: &[String], extra: &[(&str, String)]) -> (Env, EchoBackend) {
    start_web_on(args, extra, common::Ports::fresh()).await
}

/// As [`start_web`], on the given ports.
pub async fn start_web_on(
    args: &[String],
    extra: &[(&str, String)],
    ports: common::Ports,
) -> (Env, EchoBackend) {
    let web = EchoBackend::start("web").await.unwrap();
    let mut files = vec![
        (
            "web.yaml",
            service_yaml("default", "web", 80, "http", &[&web]),
        ),
        ("ingress.yaml", ingress_to("web", "web.example.com", "web")),
    ];
    files.extend(extra.iter().cloned());
    let env = Env::start_on(&files, args, ports).await;
    env.wait_backend("web.example.com", "/", "web").await;
    (env, web)
}

/// Sends raw bytes on a new connection and reads until the peer closes it or `limit` passes.
/// Returns what was read and how long until the close (`None`: still open at the limit).
pub async fn raw_exchange(port: u16, bytes: &[u8], limit: Duration) -> (String, Option<Duration>) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return (String::new(), Some(Duration::ZERO));
    };
    if stream.write_all(bytes).await.is_err() {
        return (String::new(), Some(Duration::ZERO));
    }
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (lossy(&out), Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (lossy(&out), None),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The first dynamic listener or cluster named `name` in Envoy's config dump.
pub async fn dumped(env: &Env, resource: &str, name: &str) -> serde_json::Value {
    let what = format!("{resource} {name} in Envoy's config dump");
    poll_until(CONVERGE, &what, || async {
        let dump = env
            .envoy
            .config_dump(&format!("?resource={resource}"))
            .await
            .ok()?;
        dump["configs"].as_array()?.iter().find_map(|c| {
            let inner = c
                .get("active_state")
                .and_then(|s| s.get(kind_key(resource)))
                .or_else(|| c.get(kind_key(resource)))?;
            (inner["name"] == name).then(|| c.clone())
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", env.contour.log_tail(40)))
}

fn kind_key(resource: &str) -> &'static str {
    match resource {
        "dynamic_listeners" => "listener",
        "dynamic_route_configs" => "route_config",
        _ => "cluster",
    }
}
