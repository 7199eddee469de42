//! A child process owned by a test: output to a log file, killed on drop.
//!
//! Used for Envoy (see [`crate::Envoy`]) and by the end-to-end tests for the
//! `contour` binary. When a test panics while a [`Process`] is alive, the
//! tail of its log is printed to stderr on drop; set `TESTKIT_KEEP_LOGS=1` to
//! keep the log directory and print its path instead of deleting it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::wait::poll_until;

/// What to run; kept so the process can be restarted identically.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Short name used for the log file and in messages.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Added to (not replacing) the test's environment.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
}

impl ProcessSpec {
    pub fn new(program: impl AsRef<Path>) -> Self {
        let program = program.as_ref().to_path_buf();
        let name = program.file_name().map_or_else(
            || "process".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self {
            name,
            program,
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// A running (or stopped) child process with its output in a log file.
#[derive(Debug)]
pub struct Process {
    spec: ProcessSpec,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    log_path: PathBuf,
    starts: u32,
}

impl Process {
    /// Starts `program` with `args` and extra `env`; stdout and stderr go to
    /// one log file in a fresh temp dir.
    ///
    /// # Errors
    /// When the temp dir or log file cannot be made or the program cannot start.
    pub fn spawn<I, S>(
        program: impl AsRef<Path>,
        args: I,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut spec = ProcessSpec::new(program).args(args);
        for (k, v) in env {
            spec = spec.env(k, v);
        }
        Self::start(spec)
    }

    /// Starts the process described by `spec`.
    ///
    /// # Errors
    /// As for [`Process::spawn`].
    pub fn start(spec: ProcessSpec) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("testkit-{}-", spec.name))
            .tempdir()
            .context("creating a log directory")?;
        let log_path = dir.path().join(format!("{}.log", spec.name));
        let mut process = Self {
            spec,
            child: None,
            dir: Some(dir),
            log_path,
            starts: 0,
        };
        process.launch()?;
        Ok(process)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening {}", self.log_path.display()))?;
        if self.starts > 0 {
            writeln!(
                log,
                "=== testkit: restart #{} of {} ===",
                self.starts, self.spec.name
            )?;
        }
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        if let Some(cwd) = &self.spec.cwd {
            cmd.current_dir(cwd);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.spec.program.display()))?;
        tracing::debug!(name = %self.spec.name, pid = child.id(), "started process");
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// The spec this process was started from.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// The OS process id of the current run, if started.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the current run has not exited.
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none() && self.child.is_some()
    }

    /// The exit status of the current run, once it has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Kills the process (SIGKILL) and waits for it. Does nothing if stopped.
    ///
    /// # Errors
    /// When waiting for the child fails.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine; `wait` reaps it either way.
            let _ = child.kill();
            child
                .wait()
                .with_context(|| format!("waiting for {}", self.spec.name))?;
        }
        Ok(())
    }

    /// Sends a signal by name (`TERM`, `INT`, `HUP`, ...) using `kill(1)`.
    ///
    /// # Errors
    /// When the process is not running or `kill` fails.
    pub fn signal(&mut self, signal: &str) -> anyhow::Result<()> {
        let Some(pid) = self.pid().filter(|_| self.exit_status().is_none()) else {
            bail!("{} is not running", self.spec.name);
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed: {status}");
        }
        Ok(())
    }

    /// Waits up to `timeout` for the process to exit on its own.
    ///
    /// # Errors
    /// When it is still running after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let what = format!("{} to exit", self.spec.name);
        poll_until(timeout, &what, || std::future::ready(self.exit_status())).await
    }

    /// Kills the process if running and starts it again with the same spec;
    /// the log continues in the same file after a marker line.
    ///
    /// # Errors
    /// When killing or starting fails.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        self.launch()
    }

    /// Path of the log file (stdout and stderr of every run).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the process has written so far (lossy UTF-8).
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// What the process wrote after byte offset `mark` (lossy UTF-8).
    pub fn log_since(&self, mark: usize) -> String {
        let bytes = fs::read(&self.log_path).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(mark..).unwrap_or_default()).into_owned()
    }

    /// Current log length in bytes: a mark for [`Process::wait_for_log_since`].
    pub fn log_mark(&self) -> usize {
        fs::metadata(&self.log_path).map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX))
    }

    /// Waits until the log contains `needle`.
    ///
    /// # Errors
    /// On timeout, or as soon as the process exits without having logged it;
    /// the error includes the log's tail.
    pub async fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        self.wait_for_log_since(0, needle, timeout).await
    }

    /// Waits until the log written after byte offset `mark` (from
    /// [`Process::log_mark`]) contains `needle`.
    ///
    /// # Errors
    /// As for [`Process::wait_for_log`].
    pub async fn wait_for_log_since(
        &mut self,
        mark: usize,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let what = format!("{:?} in the log of {}", needle, self.spec.name);
        let outcome = poll_until(timeout, &what, || {
            let found = self.log_since(mark).contains(needle);
            let result = if found {
                Some(Ok(()))
            } else {
                self.exit_status().map(Err)
            };
            std::future::ready(result)
        })
        .await;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(status)) => bail!(
                "{} exited ({status}) before logging {needle:?}; log tail:\n{}",
                self.spec.name,
                self.log_tail(40)
            ),
            Err(err) => bail!("{err}; log tail:\n{}", self.log_tail(40)),
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kill();
        let keep = std::env::var_os("TESTKIT_KEEP_LOGS").is_some_and(|v| !v.is_empty() && v != "0");
        if std::thread::panicking() && !keep {
            eprintln!(
                "--- testkit: last lines of {} log ---\n{}\n--- end of {} log ---",
                self.spec.name,
                self.log_tail(60),
                self.spec.name
            );
        }
        if keep && let Some(dir) = self.dir.take() {
            eprintln!(
                "testkit: kept {} log at {}",
                self.spec.name,
                dir.keep().display()
            );
        }
    }
}
