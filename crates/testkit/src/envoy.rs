//! An Envoy process for tests: the real binary, one worker, its own log.
//!
//! Every instance runs with `--disable-hot-restart --use-dynamic-base-id`, so
//! parallel Envoys never share memory or a base id and a killed Envoy leaves
//! nothing behind in `/dev/shm`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::Method;

use crate::admin::{AdminAddress, parse_stat};
use crate::envoy_bin::require_envoy;
use crate::process::{Process, ProcessSpec};
use crate::wait::poll_until;

/// How to run an Envoy.
#[derive(Debug, Clone, Default)]
pub struct EnvoyOptions {
    /// Bootstrap file (JSON or YAML) passed with `-c`.
    pub bootstrap_path: PathBuf,
    /// The admin's Unix socket, if the bootstrap puts the admin on a pipe.
    pub admin_socket: Option<PathBuf>,
    /// The admin's TCP port on 127.0.0.1, if the bootstrap uses one.
    pub admin_port: Option<u16>,
    /// `--log-level`; when `None`, `TESTKIT_ENVOY_LOG_LEVEL` or else `warn`.
    pub log_level: Option<String>,
    /// Appended to the command line.
    pub extra_args: Vec<String>,
}

impl EnvoyOptions {
    /// Options for `bootstrap_path` with the admin on the Unix socket `admin_socket`.
    pub fn new(bootstrap_path: impl Into<PathBuf>, admin_socket: impl Into<PathBuf>) -> Self {
        Self {
            bootstrap_path: bootstrap_path.into(),
            admin_socket: Some(admin_socket.into()),
            ..Self::default()
        }
    }

    fn admin(&self) -> Option<AdminAddress> {
        match (&self.admin_socket, self.admin_port) {
            (Some(socket), _) => Some(AdminAddress::Unix(socket.clone())),
            (None, Some(port)) => Some(AdminAddress::Tcp(port)),
            (None, None) => None,
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-c".to_string(),
            self.bootstrap_path.display().to_string(),
            "--disable-hot-restart".to_string(),
            "--use-dynamic-base-id".to_string(),
            "--concurrency".to_string(),
            "1".to_string(),
            "--drain-time-s".to_string(),
            "1".to_string(),
            "--log-level".to_string(),
            self.log_level.clone().unwrap_or_else(default_log_level),
        ];
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A running Envoy; killed (and waited for) on drop.
#[derive(Debug)]
pub struct Envoy {
    options: EnvoyOptions,
    process: Process,
}

impl Envoy {
    /// Starts Envoy with `options`. Returns once the process is started; call
    /// [`Envoy::wait_ready`] to wait for it to serve.
    ///
    /// # Errors
    /// When Envoy cannot be found (see [`crate::envoy_bin`]) or started.
    pub fn start(options: EnvoyOptions) -> anyhow::Result<Self> {
        let bin = require_envoy()?;
        if !options.bootstrap_path.is_file() {
            bail!(
                "Envoy bootstrap {} does not exist",
                options.bootstrap_path.display()
            );
        }
        remove_stale_socket(options.admin_socket.as_deref())?;
        let spec = ProcessSpec::new(bin).name("envoy").args(options.args());
        let process = Process::start(spec)?;
        Ok(Self { options, process })
    }

    pub fn options(&self) -> &EnvoyOptions {
        &self.options
    }

    /// The underlying process (log, signals, exit status).
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Everything Envoy has logged, across restarts.
    pub fn log(&self) -> String {
        self.process.log()
    }

    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Kills Envoy and waits for it to exit.
    ///
    /// # Errors
    /// When waiting for the process fails.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.process.kill()
    }

    /// Stops Envoy if running and starts it again with the same options.
    ///
    /// # Errors
    /// When stopping or starting fails.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.kill()?;
        remove_stale_socket(self.options.admin_socket.as_deref())?;
        self.process.restart()
    }

    fn admin(&self) -> anyhow::Result<AdminAddress> {
        self.options
            .admin()
            .context("EnvoyOptions has neither admin_socket nor admin_port")
    }

    /// `GET path` on the admin: `(status, body)`.
    ///
    /// # Errors
    /// When the admin is not configured or cannot be reached.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        self.admin()?.request(Method::GET, path).await
    }

    /// `POST path` on the admin (for example `/healthcheck/fail`).
    ///
    /// # Errors
    /// As for [`Envoy::admin_get`].
    pub async fn admin_post(&self, path: &str) -> anyhow::Result<(u16, String)> {
        self.admin()?.request(Method::POST, path).await
    }

    /// `/config_dump` parsed as JSON (append `?resource=...` etc. via `query`).
    ///
    /// # Errors
    /// When the admin fails or answers something other than 200 with JSON.
    pub async fn config_dump(&self, query: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.admin_get(&format!("/config_dump{query}")).await?;
        if status != 200 {
            bail!("/config_dump{query} answered {status}: {body}");
        }
        serde_json::from_str(&body).context("parsing /config_dump")
    }

    /// The current value of counter or gauge `name`, `None` if Envoy has no such stat.
    ///
    /// # Errors
    /// When the admin fails.
    pub async fn stat(&self, name: &str) -> anyhow::Result<Option<u64>> {
        let (status, body) = self
            .admin_get(&format!("/stats?filter={}", query_escape(name)))
            .await?;
        if status != 200 {
            bail!("/stats answered {status}: {body}");
        }
        parse_stat(&body, name)
    }

    /// Polls admin `/ready` until it answers 200.
    ///
    /// # Errors
    /// On timeout, or at once if Envoy exits; the error carries the log's tail.
    pub async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let admin = self.admin()?;
        let process = &mut self.process;
        let outcome = poll_until(timeout, "Envoy admin /ready to answer 200", || {
            let exited = process.exit_status();
            let admin = admin.clone();
            async move {
                if let Some(status) = exited {
                    return Some(Err(status));
                }
                match admin.request(Method::GET, "/ready").await {
                    Ok((200, _)) => Some(Ok(())),
                    _ => None,
                }
            }
        })
        .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(status)) => bail!(
                "Envoy exited ({status}); log tail:\n{}",
                self.process.log_tail(40)
            ),
            Err(err) => bail!("{err}; Envoy log tail:\n{}", self.process.log_tail(40)),
        }
    }
}

fn default_log_level() -> String {
    std::env::var("TESTKIT_ENVOY_LOG_LEVEL")
        .ok()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "warn".to_string())
}

fn remove_stale_socket(socket: Option<&Path>) -> anyhow::Result<()> {
    if let Some(socket) = socket {
        match std::fs::remove_file(socket) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("removing {}", socket.display())),
        }
    }
    Ok(())
}

/// Percent-encodes everything but unreserved characters, for a query value.
fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
