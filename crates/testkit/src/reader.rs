//! A reader binary as a child process: start it with its arguments (`--config`, `--set`),
//! capture its logs (in memory, or in a file for long runs), find its health server, probe
//! readiness and metrics, and stop it (SIGTERM with a grace period, or SIGKILL). Killed
//! when dropped, so a failing test or run leaves nothing behind.

use crate::error::{HarnessError, io};
use crate::net::{HttpResponse, get, get_blocking};
use crate::prometheus::Metrics;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The log line the reader prints once its health server listens (field `addr`).
pub const HEALTH_LISTENING: &str = "health server listening";

/// How to start a reader: binary, arguments, environment and where its logs go.
#[derive(Debug, Clone)]
pub struct ReaderSpec {
    label: String,
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    clean_env: bool,
    log_file: Option<PathBuf>,
    health: Option<SocketAddr>,
}

impl ReaderSpec {
    /// Runs `bin` under the name `label` (used in every message), logs kept in memory.
    pub fn new(label: impl Into<String>, bin: impl Into<PathBuf>) -> Self {
        Self {
            label: label.into(),
            bin: bin.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            clean_env: false,
            log_file: None,
            health: None,
        }
    }

    /// Appends command-line arguments (the subcommand, e.g. `run`, goes last).
    #[must_use]
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends `--set key=value`.
    #[must_use]
    pub fn set(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.args.push("--set".to_owned());
        self.args.push(format!("{key}={value}"));
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Removes an inherited environment variable.
    #[must_use]
    pub fn env_remove(mut self, key: impl Into<String>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// Starts from an empty environment (only what [`ReaderSpec::env`] adds).
    #[must_use]
    pub fn clean_env(mut self) -> Self {
        self.clean_env = true;
        self
    }

    /// Sends stdout and stderr straight to `path` instead of memory (long, chatty runs;
    /// other tools can follow the file).
    #[must_use]
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.log_file = Some(path.into());
        self
    }

    /// The health server's address when the caller chose the port; otherwise it is read
    /// from the reader's `health server listening` log line.
    #[must_use]
    pub fn health(mut self, addr: SocketAddr) -> Self {
        self.health = Some(addr);
        self
    }

    /// Starts the process.
    pub fn spawn(self) -> Result<ReaderProcess, HarnessError> {
        ReaderProcess::spawn(self)
    }
}

enum Logs {
    Memory(Arc<Mutex<Vec<String>>>),
    File(PathBuf),
}

/// A running (or exited) reader process.
pub struct ReaderProcess {
    label: String,
    child: Child,
    logs: Logs,
    health: Option<SocketAddr>,
    exit: Option<ExitStatus>,
}

impl std::fmt::Debug for ReaderProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderProcess")
            .field("label", &self.label)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl ReaderProcess {
    /// Starts `spec`.
    pub fn spawn(spec: ReaderSpec) -> Result<Self, HarnessError> {
        let mut command = Command::new(&spec.bin);
        command.args(&spec.args).stdin(Stdio::null());
        if spec.clean_env {
            command.env_clear();
        }
        for key in &spec.env_remove {
            command.env_remove(key);
        }
        command.envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let logs = match &spec.log_file {
            Some(path) => {
                let out = std::fs::File::create(path)
                    .map_err(io(format!("creating {}", path.display())))?;
                let err = out
                    .try_clone()
                    .map_err(io(format!("opening {}", path.display())))?;
                command.stdout(Stdio::from(out)).stderr(Stdio::from(err));
                Logs::File(path.clone())
            }
            None => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                Logs::Memory(Arc::new(Mutex::new(Vec::new())))
            }
        };
        let mut child = command.spawn().map_err(io(format!(
            "starting {} ({}); build it first",
            spec.label,
            spec.bin.display()
        )))?;
        if let Logs::Memory(lines) = &logs {
            if let Some(out) = child.stdout.take() {
                capture(out, "", lines.clone());
            }
            if let Some(err) = child.stderr.take() {
                capture(err, "stderr: ", lines.clone());
            }
        }
        Ok(Self {
            label: spec.label,
            child,
            logs,
            health: spec.health,
            exit: None,
        })
    }

    /// The name given at start.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file, when logs go to one.
    pub fn log_file(&self) -> Option<&Path> {
        match &self.logs {
            Logs::File(path) => Some(path),
            Logs::Memory(_) => None,
        }
    }

    /// Every log line so far (in memory: stdout as is, stderr prefixed `stderr: `).
    pub fn lines(&self) -> Vec<String> {
        match &self.logs {
            Logs::Memory(lines) => lines.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            Logs::File(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The last `n` log lines under a header naming the reader, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines();
        let start = lines.len().saturating_sub(n);
        format!(
            "--- last {} line(s) of {} (pid {}) ---\n{}",
            lines.len() - start,
            self.label,
            self.pid(),
            lines.get(start..).unwrap_or_default().join("\n")
        )
    }

    /// The exit status once the process has exited (reaping it), `None` while it runs.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// An error (with the log tail) if the process exited while the caller was doing `what`.
    pub fn check_running(&mut self, what: &str) -> Result<(), HarnessError> {
        match self.try_exit() {
            None => Ok(()),
            Some(status) => Err(self.failure(format!("exited with {status} while {what}"))),
        }
    }

    /// A [`HarnessError::Reader`] saying `what` happened, with the last 60 log lines.
    pub fn failure(&self, what: impl std::fmt::Display) -> HarnessError {
        HarnessError::Reader {
            reader: self.label.clone(),
            detail: format!("{what}\n{}", self.tail(60)),
        }
    }

    /// The health server's address: the one given at start, else the `addr` of the
    /// `health server listening` log line so far.
    pub fn health(&self) -> Option<SocketAddr> {
        self.health.or_else(|| {
            self.lines().iter().find_map(|line| {
                let v: Value = serde_json::from_str(line).ok()?;
                (v.get("message")? == HEALTH_LISTENING)
                    .then(|| v.get("addr")?.as_str()?.parse::<SocketAddr>().ok())
                    .flatten()
            })
        })
    }

    /// Waits up to `limit` for the health server's address.
    pub async fn health_addr(&mut self, limit: Duration) -> Result<SocketAddr, HarnessError> {
        let started = Instant::now();
        loop {
            if let Some(addr) = self.health() {
                self.health = Some(addr);
                return Ok(addr);
            }
            self.check_running("waiting for the health server")?;
            if started.elapsed() > limit {
                return Err(self.failure(format!(
                    "logged no `{HEALTH_LISTENING}` line within {limit:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One quick probe: whether `GET /readiness` answers 200 now (blocking, ≤ 2.5 s).
    pub fn ready(&self) -> bool {
        self.get_now("/readiness").is_some_and(|r| r.status == 200)
    }

    /// Polls `GET /readiness` until it answers 200, up to `limit`.
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        let health = self.health_addr(limit).await?;
        let started = Instant::now();
        loop {
            if let Ok(HttpResponse { status: 200, .. }) = get(health, "/readiness").await {
                return Ok(());
            }
            self.check_running("waiting for readiness")?;
            if started.elapsed() > limit {
                return Err(self.failure(format!(
                    "did not become ready within {limit:?} (GET /readiness never answered 200)"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Its `/metrics` now, parsed; `None` while it does not answer 200 with valid text
    /// (blocking, ≤ 2.5 s).
    pub fn metrics(&self) -> Option<Metrics> {
        let response = self.get_now("/metrics")?;
        (response.status == 200)
            .then(|| Metrics::parse(&response.body).ok())
            .flatten()
    }

    fn get_now(&self, path: &str) -> Option<HttpResponse> {
        let addr = self.health()?;
        get_blocking(
            addr,
            path,
            Duration::from_millis(500),
            Duration::from_secs(2),
        )
        .ok()
    }

    /// Polls `condition` every 20 ms until it holds, failing after `limit` with `what` and
    /// the log tail; fails early if the process exits.
    pub async fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        mut condition: impl FnMut() -> bool,
    ) -> Result<(), HarnessError> {
        let started = Instant::now();
        while !condition() {
            self.check_running(what)?;
            if started.elapsed() > limit {
                return Err(self.failure(format!("timed out after {limit:?} waiting for {what}")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Sends SIGTERM (through `sh`'s `kill` builtin: no unsafe code needed).
    pub fn sigterm(&self) -> Result<(), HarnessError> {
        let pid = self.pid().to_string();
        let status = Command::new("sh")
            .args(["-c", "kill -s TERM \"$1\"", "sh", &pid])
            .status()
            .map_err(io("running `sh -c kill`"))?;
        if status.success() {
            Ok(())
        } else {
            Err(self.failure(format!("kill -s TERM {pid} failed: {status}")))
        }
    }

    /// SIGKILL (`kill -9`), then reaps the process.
    pub fn kill9(&mut self) -> Result<ExitStatus, HarnessError> {
        if let Some(status) = self.try_exit() {
            return Ok(status);
        }
        self.child
            .kill()
            .map_err(io(format!("sending SIGKILL to {}", self.label)))?;
        let status = self
            .child
            .wait()
            .map_err(io(format!("reaping {}", self.label)))?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Waits for the process to exit, up to `limit`; `None` if it still runs.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_exit() {
                // Let the capture threads read the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits (blocking) up to `grace` for the exit status; past it the
    /// process is killed and this is an error.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus, HarnessError> {
        if let Some(status) = self.try_exit() {
            return Ok(status);
        }
        if let Err(e) = self.sigterm() {
            // It may have exited between the check above and the signal.
            return self.try_exit().ok_or(e);
        }
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.try_exit() {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.kill9();
                let log = self
                    .log_file()
                    .map(|p| format!(" (log: {})", p.display()))
                    .unwrap_or_default();
                return Err(self.failure(format!(
                    "did not exit within {grace:?} of SIGTERM; killed it{log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Peak resident set size (`VmHWM`) of the process, KiB; `None` once it is gone.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid())
    }
}

impl Drop for ReaderProcess {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn capture(
    stream: impl Read + Send + 'static,
    prefix: &'static str,
    into: Arc<Mutex<Vec<String>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            into.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("{prefix}{line}"));
        }
    });
}

/// Peak resident set size (`VmHWM`) of process `pid`, KiB; `None` when it is gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// What a finished command printed.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `bin args…` to completion with a clean environment plus `env` (off the async
/// runtime's threads, so an in-process sandbox keeps serving).
pub async fn run_command(
    bin: &str,
    args: &[String],
    env: &[(&str, &str)],
) -> Result<CliOutput, HarnessError> {
    let bin = bin.to_owned();
    let args = args.to_vec();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(&bin)
            .args(&args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .output()
            .map_err(io(format!("running {bin}")))?;
        Ok(CliOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    })
    .await
    .map_err(crate::error::joined("running a command"))?
}

/// Turns `&str` arguments into owned ones.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
