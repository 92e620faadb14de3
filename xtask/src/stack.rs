//! The pieces the demo (and later the benchmarks) put together: a Kafka broker, the sandbox
//! Case API in this process, reader binaries as child processes, and their metrics.

use anyhow::{Context, Result, bail};
use case_sandbox::{ServerHandle, Store};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Serves `store` over loopback gRPC from this process.
pub async fn serve_sandbox(store: Store) -> Result<ServerHandle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the sandbox Case API on loopback")?;
    case_sandbox::serve_listener(listener, store, None)
        .await
        .context("starting the sandbox Case API")
}

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("finding a free port")?
        .local_addr()?
        .port())
}

/// One reader process.
pub struct Reader {
    /// `reader-jira-1`, …
    pub name: String,
    /// The flavor.
    pub flavor: &'static str,
    /// Its health/metrics port.
    pub health_port: u16,
    child: Child,
    /// Where its stdout/stderr go.
    pub log: PathBuf,
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
        let health_port = free_port()?;
        let log = log_dir.join(format!("{name}.log"));
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        // No --config: the default path is optional, every setting comes from --set.
        let mut cmd = Command::new(bin_dir.join(format!("reader-{flavor}")));
        cmd.env_remove("CASE_READER_CONFIG")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in settings {
            cmd.arg("--set").arg(format!("{k}={v}"));
        }
        cmd.arg("--set")
            .arg(format!("health.port={health_port}"))
            .arg("--set")
            .arg("health.bind=127.0.0.1")
            .arg("--set")
            .arg("metrics.prometheus=true")
            .arg("run");
        let child = cmd
            .spawn()
            .with_context(|| format!("starting reader-{flavor} from {}", bin_dir.display()))?;
        Ok(Self {
            name: name.to_owned(),
            flavor,
            health_port,
            child,
            log,
        })
    }

    /// Its `/metrics`, parsed; `None` while it does not answer.
    pub fn metrics(&self) -> Option<Metrics> {
        http_get(self.health_port, "/metrics").map(|body| Metrics::parse(&body))
    }

    /// Whether `/readiness` answers 200.
    pub fn ready(&self) -> bool {
        http_status(self.health_port, "/readiness") == Some(200)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The exit status once the process has exited (reaping it), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL (`kill -9`), then reaps the process.
    pub fn kill(&mut self) -> Result<std::process::ExitStatus> {
        self.child
            .kill()
            .with_context(|| format!("sending SIGKILL to {}", self.name))?;
        self.child
            .wait()
            .with_context(|| format!("reaping {}", self.name))
    }

    /// Sends SIGTERM and waits up to `grace` for the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!(
                    "{} did not exit within {grace:?} of SIGTERM; killed it (log: {})",
                    self.name,
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn http_request(port: u16, path: &str) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    http_request(port, path)?
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let response = http_request(port, path)?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Prometheus text, as series → value.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    series: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    /// Parses the Prometheus text format (comments skipped).
    pub fn parse(text: &str) -> Self {
        let mut series = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name_labels, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match name_labels.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.trim_end_matches('}'))),
                None => (name_labels, BTreeMap::new()),
            };
            series.push((name.to_owned(), labels, value));
        }
        Self { series }
    }

    /// The sum of every series named `name` whose labels include `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && filter
                        .iter()
                        .all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Sums of `name` grouped by the value of label `by`.
    pub fn by_label(&self, name: &str, by: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (n, l, v) in &self.series {
            if n == name
                && let Some(key) = l.get(by)
            {
                *out.entry(key.clone()).or_insert(0.0) += v;
            }
        }
        out
    }

    /// Cumulative histogram buckets of `name` (`<name>_bucket`), summed over label sets:
    /// `(upper bound, count)` sorted by bound.
    pub fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let mut by_le: BTreeMap<String, f64> = BTreeMap::new();
        let bucket = format!("{name}_bucket");
        for (n, l, v) in &self.series {
            if *n == bucket
                && let Some(le) = l.get("le")
            {
                *by_le.entry(le.clone()).or_insert(0.0) += v;
            }
        }
        let mut out: Vec<(f64, f64)> = by_le
            .into_iter()
            .filter_map(|(le, v)| {
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((bound, v))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// Merges another reader's metrics into this one.
    pub fn merge(&mut self, other: Metrics) {
        self.series.extend(other.series);
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else {
            break;
        };
        out.insert(
            key.trim_start_matches(',').trim().to_owned(),
            value.to_owned(),
        );
        rest = tail;
    }
    out
}

/// The upper bound of the bucket holding quantile `q` of cumulative `buckets`.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map(|(bound, _)| *bound)
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak resident set size (`VmHWM`) of process `pid`, KiB; `None` when it is gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
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
        cmd.env(kafka_runtime::testing::TANSU_BIN_ENV, tansu);
    }
    crate::run(&mut cmd)?;
    Ok(true)
}

/// A case of org 1 in `proj-support` at version 1, priority P3, status OPEN, linked to the
/// Jira issue `issue_id` (key `<key_prefix>-<issue_id>`) of the site `account`: what the bench
/// and the chaos scenarios seed the sandbox with.
pub fn linked_jira_case(
    case_id: &str,
    title: &str,
    account: &str,
    issue_id: u64,
    key_prefix: &str,
) -> Result<thirdparty_core::Case> {
    let case = serde_json::from_value(serde_json::json!({
        "id": case_id,
        "org_id": 1,
        "version": 1,
        "project_id": "proj-support",
        "title": title,
        "description": "",
        "priority": "P3",
        "status": "OPEN",
        "assignee": null,
        "due_date": null,
        "created_at": "2025-06-01T09:00:00Z",
        "third_party_links": [{
            "integration": "jira",
            "account_id": account,
            "item_id": issue_id.to_string(),
            "item_key": format!("{key_prefix}-{issue_id}"),
        }],
        "field_stamps": {},
    }))?;
    Ok(case)
}
