//! What the demo, codegen, the bench and the chaos scenarios need beyond [`testkit`]: the
//! reader binaries built by cargo and found in its target directory, a reader started the
//! way these commands run it, and the re-run of xtask from an optimized build.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;
use testkit::prometheus::Metrics;
use testkit::reader::{ReaderProcess, ReaderSpec};

/// Builds the reader binaries of every flavor (debug profile) and returns their directory.
pub fn build_readers(root: &Path) -> Result<PathBuf> {
    let flavors = xtask::flavors(root)?;
    let packages: Vec<&str> = flavors.iter().map(|f| f.package.as_str()).collect();
    build_readers_with(root, &packages, false)
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
    Ok(
        target_dir(root, std::env::var_os("CARGO_TARGET_DIR")).join(if release {
            "release"
        } else {
            "debug"
        }),
    )
}

/// Cargo's target directory for a build run in `root`: `cargo_target_dir` (the value of
/// `CARGO_TARGET_DIR`; a relative one is relative to `root`), else `<root>/target`.
pub(crate) fn target_dir(root: &Path, cargo_target_dir: Option<OsString>) -> PathBuf {
    match cargo_target_dir {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// One reader process started the way the demo, the bench and the chaos scenarios run it:
/// every setting from `--set` (no config file), the health server on a free loopback port,
/// Prometheus on, stdout and stderr in `<log_dir>/<name>.log`.
pub struct Reader {
    /// `reader-jira-1`, …
    pub name: String,
    /// The flavor.
    pub flavor: String,
    /// Where its stdout/stderr go.
    pub log: PathBuf,
    process: ReaderProcess,
}

impl Reader {
    /// Starts `reader-<flavor>` with `settings` (`--set` pairs), logging to `log_dir`.
    pub fn start(
        bin_dir: &Path,
        flavor: &str,
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
            flavor: flavor.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::target_dir;
    use std::path::Path;

    #[test]
    fn the_target_dir_follows_cargo_target_dir_else_root_target() {
        let root = Path::new("/repo");
        assert_eq!(target_dir(root, None), Path::new("/repo/target"));
        assert_eq!(target_dir(root, Some("".into())), Path::new("/repo/target"));
        assert_eq!(
            target_dir(root, Some("/tmp/custom".into())),
            Path::new("/tmp/custom")
        );
        assert_eq!(
            target_dir(root, Some("build/out".into())),
            Path::new("/repo/build/out")
        );
    }
}
