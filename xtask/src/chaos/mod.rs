//! `cargo xtask chaos`: fault scenarios against the real `reader-jira` release binary, a Tansu
//! broker and the sandbox Case API served from this process. A Jira scenario harness, not a
//! per-flavor one: its events, oracle and seeded cases are Jira's (the flavor-generic fault
//! paths live in the shared runtime, so one flavor exercises them); it does not iterate the
//! discovered flavors.
//!
//! Scenarios (`--scenario N|all`):
//! 1. `kill -9` of the reader at random moments (seeded RNG, the seed is printed), restarted
//!    each time;
//! 2. a Case API outage mid-stream: the reader retries, exits non-zero without committing
//!    after its (shortened) retry budget, and this command restarts it like a supervisor
//!    would (a restart loop with back-off);
//! 3. three readers of one group joining and leaving (SIGTERM) during the stream;
//! 4. the broker unreachable mid-stream: every client connection is cut and refused for a
//!    while by a TCP proxy in front of Tansu (this Tansu build has no local persistent
//!    storage engine, so restarting the process would lose the topic), readiness is watched;
//! 5. a concurrent writer edits the same cases through `Store::edit_case` while the reader
//!    applies Jira changes;
//! 6. a poison storm: invalid JSON, wrong types, 10 MB messages, 10k-deep nesting, invalid
//!    UTF-8 and huge numbers mixed with good events; every poison record must be parked in
//!    the dead-letter topic (the 10 MB one truncated, saying so) unless it decodes.
//!
//! After each scenario ONE oracle runs (each check returns its violations): every produced
//! record is accounted for (applied — visible in the sandbox — or filtered with its reason,
//! read from the readers' JSON logs, or — not applicable: a decode failure, a permanent
//! error — its copy in the scenario's dead-letter topic, which the readers write with
//! `kafka.dead_letter = true`; a log line alone is not a copy); no idempotency key
//! gave two side effects (no duplicate timeline cell, no doubled or lost update: each case's
//! version advanced by exactly its applied updates); the committed offsets equal the produced
//! count per partition at the end and never passed an unaccounted record at a kill; a fresh
//! event produced after the fault healed is applied within a deadline; every SIGTERM ends
//! with exit 0 within the grace period. Figures go to stdout and `target/chaos/summary.json`;
//! the command fails when any oracle does.
//!
//! Layout: this file holds the options and the run loop; [`scenarios`] one file per
//! scenario behind [`scenarios::ScenarioKind`]; [`run`](mod@run) the shared run of a scenario,
//! [`supervisor`] its readers, [`plan`] its records, [`produce`] producing them, [`proxy`] the
//! broker proxy, [`logbook`] the readers' decision logs (and [`testkit::dead_letter`] the
//! parked copies), [`oracle`] the checks and
//! [`report`] the figures.

mod logbook;
mod oracle;
mod plan;
mod produce;
mod proxy;
mod report;
mod run;
mod scenarios;
mod supervisor;

use crate::stack;
use crate::workload::{self, BrokerKind};
use anyhow::{Context, Result, bail};
use case_sandbox::{ServerHandle, Store};
use plan::Templates;
use proxy::Proxy;
use report::Report;
use scenarios::ScenarioKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::TANSU_BIN_ENV;
use testkit::broker::{AnyBroker, TestBroker};
use testkit::clock::now_ms;
use testkit::sandbox::serve_store;

/// The readers' log filter: the per-event decision lines of `observability` explicitly, so
/// the oracle does not depend on the default level.
const LOG_FILTER: &str = "info,observability=debug";
/// How long SIGTERM may take (the readers get `kafka.shutdown_grace_ms` = 10 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
const SHUTDOWN_GRACE_MS: &str = "10000";

/// Options of `cargo xtask chaos`.
#[derive(clap::Args, Debug, Clone)]
pub struct ChaosArgs {
    /// Which scenario: 1–6, or `all`.
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Events per scenario (default 100,000; 4,000 with --short).
    #[arg(long)]
    pub events: Option<u64>,
    /// The CI variant: fewer events and kills, a 10 s outage, every scenario in a few minutes.
    #[arg(long)]
    pub short: bool,
    /// Seed of the random moments and event mix (default: from the clock; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Kills in scenario 1 (default 20; 5 with --short).
    #[arg(long)]
    pub kills: Option<u32>,
    /// Case API outage of scenario 2, seconds (default 60; 10 with --short).
    #[arg(long)]
    pub outage_secs: Option<u64>,
    /// Broker unreachable time of scenario 4, seconds (default 30; 10 with --short).
    #[arg(long)]
    pub broker_down_secs: Option<u64>,
    /// Producer rate, events/s, so faults land mid-stream (default 2,000; 400 with --short;
    /// 0 = as fast as the broker takes them).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Partitions of every chaos topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Cases the events of one scenario are spread over (scenario 5 uses a tenth of them).
    #[arg(long, default_value_t = 500)]
    pub cases: u64,
    /// The broker: Tansu (default; scenario 4 needs it) or librdkafka's in-process mock
    /// cluster (a cross-check of broker-specific behaviour; small runs only).
    #[arg(long, value_enum, default_value_t = BrokerKind::Tansu)]
    pub broker: BrokerKind,
    /// Peak RSS above which scenario 6 fails, MiB.
    #[arg(long, default_value_t = 256)]
    pub rss_limit_mib: u64,
}

impl ChaosArgs {
    fn events(&self) -> u64 {
        self.events
            .unwrap_or(if self.short { 4_000 } else { 100_000 })
    }
    fn rate(&self) -> u64 {
        self.rate.unwrap_or(if self.short { 400 } else { 2_000 })
    }
    fn kills(&self) -> u32 {
        self.kills.unwrap_or(if self.short { 5 } else { 20 })
    }
    fn outage(&self) -> Duration {
        Duration::from_secs(self.outage_secs.unwrap_or(if self.short { 10 } else { 60 }))
    }
    fn broker_down(&self) -> Duration {
        Duration::from_secs(
            self.broker_down_secs
                .unwrap_or(if self.short { 10 } else { 30 }),
        )
    }
    fn scenarios(&self) -> Result<Vec<ScenarioKind>> {
        if self.scenario == "all" {
            return Ok(ScenarioKind::ALL.to_vec());
        }
        let mut out = Vec::new();
        for part in self.scenario.split(',') {
            match part
                .trim()
                .parse::<u8>()
                .ok()
                .and_then(ScenarioKind::from_number)
            {
                Some(kind) => out.push(kind),
                None => bail!(
                    "--scenario {}: expected 1–6, a comma-separated list of them, or `all`",
                    self.scenario
                ),
            }
        }
        Ok(out)
    }
}

/// Runs the chaos scenarios.
pub fn run(root: &Path, args: &ChaosArgs) -> Result<()> {
    let scenarios = args.scenarios()?;
    if args.events() < 100 || args.partitions < 1 || args.cases < 10 {
        bail!("--events must be at least 100, --partitions at least 1, --cases at least 10");
    }
    let need_tansu = args.broker == BrokerKind::Tansu && std::env::var_os(TANSU_BIN_ENV).is_none();
    // The harness (producer, sandbox) must not be what limits the readers: it runs from an
    // optimized xtask build, like the bench — except for --short, whose 400 events/s a debug
    // build keeps up with (CI saves the release build of the harness: 140 CPU-s here).
    let need_optimized = cfg!(debug_assertions) && !args.short;
    if stack::rerun_if_needed(root, "chaos", need_optimized, need_tansu)? {
        return Ok(());
    }
    println!("chaos: building reader-jira (release)…");
    let bin_dir = stack::build_readers_with(root, &["reader-jira"], true)?;
    let seed = args
        .seed
        .unwrap_or_else(|| u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0x5eed));
    println!(
        "chaos: seed {seed} (rerun with --seed {seed}), scenarios {:?}, {} events each",
        scenarios.iter().map(|k| k.number()).collect::<Vec<_>>(),
        args.events()
    );
    let reports = workload::block_on(run_all(root, &bin_dir, args, seed, &scenarios))?;
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| !r.violations.is_empty())
        .map(|r| format!("{} ({} violations)", r.name, r.violations.len()))
        .collect();
    if failed.is_empty() {
        println!("\nchaos: every oracle held");
        Ok(())
    } else {
        bail!("the oracle failed in: {}", failed.join(", "))
    }
}

/// What every scenario of one run shares.
struct Env<'a> {
    args: &'a ChaosArgs,
    bin_dir: PathBuf,
    bootstrap: String,
    broker: &'a dyn TestBroker,
    proxy: &'a Proxy,
    sandbox_url: String,
    store: Store,
    templates: Templates,
    log_dir: PathBuf,
    run_id: i64,
}

/// Starts the `--broker`: Tansu behind `proxy` (started here), or the mock cluster; returns
/// it with the bootstrap address clients use.
fn start_broker(kind: BrokerKind, proxy: &Proxy) -> Result<(AnyBroker, String)> {
    let broker = kind.start(Some(proxy.port))?;
    let bootstrap = match &broker {
        AnyBroker::Tansu(tansu) => {
            proxy.start(tansu.listen_port());
            println!(
                "chaos: Tansu on 127.0.0.1:{} behind a proxy on 127.0.0.1:{}",
                tansu.listen_port(),
                proxy.port
            );
            format!("127.0.0.1:{}", proxy.port)
        }
        AnyBroker::Mock(mock) => {
            let bootstrap = mock.bootstrap_servers();
            println!(
                "chaos: librdkafka mock cluster on {bootstrap} (no proxy: scenario 4 needs Tansu)"
            );
            bootstrap
        }
    };
    Ok((broker, bootstrap))
}

async fn run_all(
    root: &Path,
    bin_dir: &Path,
    args: &ChaosArgs,
    seed: u64,
    scenarios: &[ScenarioKind],
) -> Result<Vec<Report>> {
    let started = Instant::now();
    let out_dir = root.join("target").join("chaos");
    let run_id = now_ms();
    let log_dir = out_dir.join(format!("logs-{run_id}"));
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let fixtures = root.join("fixtures").join("jira");
    let templates = Templates::load(&fixtures.join("payloads"))?;
    let store = Store::load_seed_file(&fixtures.join("seed.json"))?;
    let sandbox: ServerHandle = serve_store(store.clone()).await?;
    let proxy = Proxy::bind().await?;
    let (broker, bootstrap) = start_broker(args.broker, &proxy)?;
    println!(
        "chaos: sandbox Case API on {}, logs in {}",
        sandbox.url(),
        log_dir.display()
    );
    let env = Env {
        args,
        bin_dir: bin_dir.to_path_buf(),
        bootstrap,
        broker: &broker,
        proxy: &proxy,
        sandbox_url: sandbox.url(),
        store: store.clone(),
        templates,
        log_dir,
        run_id,
    };
    let mut reports = Vec::new();
    for &kind in scenarios {
        store.faults().clear();
        proxy.set_up(true);
        let report = scenarios::run(kind, &env, seed).await;
        report.print();
        reports.push(report);
        store.faults().clear();
    }
    sandbox.shutdown().await.context("stopping the sandbox")?;
    let path = report::write_summary(&out_dir, args, seed, started, &reports)?;
    println!(
        "\nchaos: wrote {} ({:.0?})",
        path.display(),
        started.elapsed()
    );
    Ok(reports)
}
