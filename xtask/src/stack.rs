//! The pieces the demo, the bench and the chaos scenarios put together: the reader binaries
//! (built here), and, from [`testkit`], the sandbox Case API in this process, reader
//! processes and their metrics. The names bench and chaos use are re-exported here.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;
use testkit::reader::{ReaderProcess, ReaderSpec};

pub use testkit::fixtures::linked_jira_case;
pub use testkit::prometheus::{Metrics, quantile};
pub use testkit::reader::peak_rss_kib;
pub use testkit::sandbox::serve_store as serve_sandbox;

/// The broker harness under the path bench and chaos still import it by,
/// `kafka_runtime::testing` (see `main.rs`); new code imports [`testkit`] directly.
pub mod testing {
    pub use testkit::TANSU_BIN_ENV;
    pub use testkit::broker::{MockBroker, TansuBroker, TestBroker};
    pub use testkit::offsets::committed_offsets;
}

/// Builds the reader binaries (debug profile) and returns their directory.
pub fn build_readers(root: &Path) -> Result<PathBuf> {
    build_readers_with(root, &["reader-jira", "reader-servicenow"], false)
}

/// Builds the reader binaries `packages` (release profile when `release`) and returns their
/// directory.
pub fn build_readers_with(root: &Path, packages: &[&str], release: bool) -> Result<PathBuf> {
    let mut cmd = Command::new(crate::cargo());
    cmd.current_dir(root).args(["build", "--quiet"]);
    if release {
        cmd.arg("--release");
    }
    for package in packages {
        cmd.args(["-p", package]);
    }
    crate::run(&mut cmd).context("building the reader binaries")?;
    Ok(root
        .join("target")
        .join(if release { "release" } else { "debug" }))
}

/// One reader process started the way the demo, the bench and the chaos scenarios run it:
/// every setting from `--set` (no config file), the health server on a free loopback port,
/// Prometheus on, stdout and stderr in `<log_dir>/<name>.log`.
pub struct Reader {
    /// `reader-jira-1`, …
    pub name: String,
    /// The flavor.
    pub flavor: &'static str,
    /// Where its stdout/stderr go.
    pub log: PathBuf,
    process: ReaderProcess,
}

impl Reader {
    /// Starts `reader-<flavor>` with `settings` (`--set` pairs), logging to `log_dir`.
    pub fn start(
        bin_dir: &Path,
        flavor: &'static str,
        name: &str,
        settings: &[(&str, String)],
        log_dir: &Path,
    ) -> Result<Self> {
        let health_port = testkit::net::free_port()?;
        let log = log_dir.join(format!("{name}.log"));
        // No --config: the default path is optional, every setting comes from --set.
        let spec = settings
            .iter()
            .fold(
                ReaderSpec::new(name, bin_dir.join(format!("reader-{flavor}")))
                    .env_remove("CASE_READER_CONFIG")
                    .log_file(&log)
                    .health(([127, 0, 0, 1], health_port).into()),
                |spec, (k, v)| spec.set(k, v),
            )
            .set("health.port", health_port)
            .set("health.bind", "127.0.0.1")
            .set("metrics.prometheus", "true")
            .args(["run"]);
        let process = spec
            .spawn()
            .with_context(|| format!("starting reader-{flavor} from {}", bin_dir.display()))?;
        Ok(Self {
            name: name.to_owned(),
            flavor,
            log,
            process,
        })
    }

    /// Its `/metrics`, parsed; `None` while it does not answer.
    pub fn metrics(&self) -> Option<Metrics> {
        self.process.metrics()
    }

    /// Whether `/readiness` answers 200.
    pub fn ready(&self) -> bool {
        self.process.ready()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The exit status once the process has exited (reaping it), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.process.try_exit()
    }

    /// SIGKILL (`kill -9`), then reaps the process.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        Ok(self.process.kill9()?)
    }

    /// Sends SIGTERM and waits up to `grace` for the exit status (killing it past that).
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        Ok(self.process.terminate(grace)?)
    }
}

/// Runs this xtask command again, with the same arguments, from an optimized build
/// (`need_optimized`) and/or with `TANSU_BIN` set to the provisioned broker (`need_tansu`):
/// this process cannot set its own environment without `unsafe`. Returns whether it did
/// (the command's work is then done, by the re-run).
pub fn rerun_if_needed(
    root: &Path,
    label: &str,
    need_optimized: bool,
    need_tansu: bool,
) -> Result<bool> {
    if !need_optimized && !need_tansu {
        return Ok(false);
    }
    let mut cmd = if need_optimized {
        println!("{label}: running the harness from an optimized xtask build…");
        let mut cmd = Command::new(crate::cargo());
        cmd.current_dir(root)
            .args(["run", "--release", "--quiet", "-p", "xtask", "--"]);
        cmd
    } else {
        Command::new(std::env::current_exe().context("locating the xtask binary")?)
    };
    cmd.args(std::env::args_os().skip(1));
    if need_tansu {
        let tansu = crate::tansu::ensure(root)?;
        println!("{label}: Tansu at {} (TANSU_BIN)", tansu.display());
        cmd.env(testkit::TANSU_BIN_ENV, tansu);
    }
    crate::run(&mut cmd)?;
    Ok(true)
}
