//! `cargo xtask bench`: throughput and latency of the real `reader-jira` binary against a
//! Kafka broker (Tansu by default) and the sandbox Case API served from this process, all
//! measured in one run so that ratios hold on a noisy machine:
//!
//! 1. raw limit: a bare rdkafka consumer reading the filter-path topic, doing nothing;
//! 2. filter path: the reader on that same topic (every event rejected in PreFilter);
//! 3. apply path, 1 ms sandbox latency: `kafka.max_in_flight=1` vs the default, with the
//!    per-case update sequence checked in the sandbox;
//! 4. latency at a paced rate (end-to-end histogram of the reader's `/metrics`);
//! 5. peak RSS (`VmHWM`) of the reader draining a backlog;
//! 6. settings + metadata RPCs per 1,000 events at steady state (sandbox counters);
//! 7. filter path, <flavor>: for every discovered flavor with `fixtures/<flavor>/bench.toml`,
//!    that flavor's reader on events built from one of its fixtures ([`flavor`] defines the
//!    format).
//!
//! Prints a table and writes `target/bench/summary.json`. A figure that could not be measured
//! is reported as "not measured: why", never estimated.
//!
//! Layout: this file holds the options and the sequence of runs; one file per run kind
//! ([`raw`], [`filter`], [`apply`], [`latency`] with the RPC count, [`backlog`], [`flavor`]), [`reader`]
//! the reader run they share, [`events`] the workload, [`produce`] the producer and
//! [`report`] the table and `summary.json`.

mod apply;
mod backlog;
mod events;
mod filter;
mod flavor;
mod latency;
mod produce;
mod raw;
mod reader;
mod report;

use crate::stack;
use crate::workload::{self, BrokerKind};
use anyhow::{Context, Result, bail};
use case_sandbox::{ServerHandle, Store};
use events::{CaseBook, Template, insert_cases};
use observability::names;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use testkit::TANSU_BIN_ENV;
use testkit::broker::TestBroker;
use testkit::clock::now_ms;
use testkit::prometheus::{filtered_name, prometheus_name};
use testkit::sandbox::serve_store;

/// The Prometheus names of the reader metrics the bench reads.
static LATENCY_METRIC: LazyLock<String> =
    LazyLock::new(|| prometheus_name(names::END_TO_END_LATENCY));
static PROCESSED: LazyLock<String> = LazyLock::new(|| prometheus_name(names::CHANGELOG_PROCESSED));
static FILTERED: LazyLock<String> = LazyLock::new(|| filtered_name("jira"));
static DECODING_FAILED: LazyLock<String> =
    LazyLock::new(|| prometheus_name(names::DECODING_FAILED));
/// A wait fails when its counter does not move for this long.
const STALL: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Events of the raw-consumer and filter-path runs (1, 2).
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Events of the apply-path run with the default `kafka.max_in_flight` (3); 0 skips (3).
    #[arg(long, default_value_t = 40_000)]
    pub apply_events: u64,
    /// Events of the apply-path run with `kafka.max_in_flight=1` (3); fewer, it is slow.
    #[arg(long, default_value_t = 6_000)]
    pub sequential_events: u64,
    /// Cases the apply-path and latency events are spread over (one key each).
    #[arg(long, default_value_t = 1_000)]
    pub cases: u64,
    /// Latency injected in every sandbox call during the apply-path runs, in ms.
    #[arg(long, default_value_t = 1)]
    pub apply_latency_ms: u64,
    /// Paced producer rate of the latency run (4), events/s.
    #[arg(long, default_value_t = 2_000)]
    pub rate: u64,
    /// Seconds of paced producing in the latency run (4); 0 skips it (and 6).
    #[arg(long, default_value_t = 20)]
    pub latency_secs: u64,
    /// Seconds at the start of the latency run left out of (4) and (6) (warm-up).
    #[arg(long, default_value_t = 3)]
    pub warmup_secs: u64,
    /// Backlog the reader drains for the peak-RSS figure (5); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    pub backlog: u64,
    /// Events of each flavor's filter-path run (7, flavors with fixtures/<flavor>/bench.toml);
    /// 0 skips (7).
    #[arg(long, default_value_t = 50_000)]
    pub flavor_events: u64,
    /// Partitions of every bench topic.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// The broker.
    #[arg(long, value_enum, default_value_t = BrokerKind::Tansu)]
    pub broker: BrokerKind,
    /// Run debug binaries instead of release ones (faster to build, meaningless figures).
    #[arg(long)]
    pub debug: bool,
    /// Extra reader settings (`key=value`, repeatable), e.g.
    /// `--reader-set kafka.librdkafka.queued.max.messages.kbytes=8192`.
    #[arg(long = "reader-set", value_name = "KEY=VALUE")]
    pub reader_set: Vec<String>,
    /// The readers' `tracing.log_level`.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Run the readers found in this directory instead of building them (e.g. the
    /// instrumented build of `cargo xtask pgo`, or a PGO-optimized one to compare):
    /// `reader-jira`, and the reader of every flavor with a bench.toml unless
    /// `--flavor-events 0`.
    #[arg(long, value_name = "DIR")]
    pub reader_bin_dir: Option<PathBuf>,
    /// Where the summary and reader logs go.
    #[arg(long, value_name = "DIR", default_value = "target/bench")]
    pub out_dir: PathBuf,
}

/// Runs the bench.
pub fn run(root: &Path, args: &BenchArgs) -> Result<()> {
    if args.events == 0 {
        bail!("--events must be at least 1: the raw and filter-path runs read that many events");
    }
    if args.cases == 0 || args.partitions < 1 || args.rate == 0 {
        bail!("--cases, --partitions and --rate must be at least 1");
    }
    let need_tansu = args.broker == BrokerKind::Tansu && std::env::var_os(TANSU_BIN_ENV).is_none();
    // The harness (producer, raw consumer, the sandbox Case API) must not be what bounds the
    // figures: unless --debug, it runs from an optimized build of xtask.
    if stack::rerun_if_needed(
        root,
        "bench",
        cfg!(debug_assertions) && !args.debug,
        need_tansu,
    )? {
        return Ok(());
    }
    let flavors = if args.flavor_events > 0 {
        flavor::FlavorBench::discover(root, xtask::flavors(root)?)?
    } else {
        Vec::new()
    };
    let mut bins = vec!["reader-jira"];
    bins.extend(flavors.iter().map(|b| b.flavor.bin.as_str()));
    bins.dedup();
    let bin_dir = match &args.reader_bin_dir {
        Some(dir) => {
            let dir = root.join(dir);
            if let Some(missing) = bins.iter().find(|b| !dir.join(b).is_file()) {
                bail!(
                    "--reader-bin-dir {}: no {missing} binary there; build it, drop the flag \
                     or pass --flavor-events 0",
                    dir.display()
                );
            }
            println!("bench: {} from {}", bins.join(", "), dir.display());
            dir
        }
        None => {
            println!(
                "bench: building {} ({})…",
                bins.join(", "),
                if args.debug { "debug" } else { "release" }
            );
            stack::build_readers_with(root, &bins, !args.debug)?
        }
    };
    workload::block_on(bench(root, &bin_dir, args, flavors))
}

/// What every run of one bench shares.
struct Bench<'a> {
    args: &'a BenchArgs,
    bin_dir: &'a Path,
    bootstrap: String,
    broker: &'a dyn TestBroker,
    sandbox_url: String,
    store: Store,
    log_dir: PathBuf,
    run_id: String,
    clk_tck: f64,
    book: Mutex<CaseBook>,
    /// The flavors with a filter-path run of their own (7).
    flavors: Vec<flavor::FlavorBench>,
}

impl Bench<'_> {
    fn book(&self) -> Result<MutexGuard<'_, CaseBook>> {
        workload::lock(&self.book, "the case book")
    }
}

async fn bench(
    root: &Path,
    bin_dir: &Path,
    args: &BenchArgs,
    flavors: Vec<flavor::FlavorBench>,
) -> Result<()> {
    let started = Instant::now();
    let out_dir = root.join(&args.out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let machine = report::machine();
    let fixtures = root.join("fixtures").join("jira");
    let template = Template::load(&fixtures.join("payloads").join("update_title.json"))?;

    let store = Store::load_seed_file(&fixtures.join("seed.json"))?;
    for bench in flavors.iter().filter(|b| b.flavor.name != "jira") {
        let seed = bench.flavor.fixtures(root).join("seed.json");
        store.load(
            case_sandbox::Seed::read_file(&seed)
                .with_context(|| format!("seeding {}", seed.display()))?,
        );
    }
    let sandbox: ServerHandle = serve_store(store.clone()).await?;
    let running = args.broker.start(None)?;
    let broker: &dyn TestBroker = &running;
    let bootstrap = broker.bootstrap_servers();
    println!(
        "bench: {:?} broker on {bootstrap}, sandbox Case API on {}, {} partitions per topic",
        args.broker,
        sandbox.url(),
        args.partitions
    );
    let b = Bench {
        args,
        bin_dir,
        bootstrap,
        broker,
        sandbox_url: sandbox.url(),
        store: store.clone(),
        log_dir: out_dir.clone(),
        run_id: now_ms().to_string(),
        clk_tck: reader::clk_tck(),
        book: Mutex::new(CaseBook::new(
            args.cases,
            now_ms()
                - i64::try_from(args.sequential_events + args.apply_events).unwrap_or(0)
                - 120_000,
        )),
        flavors,
    };
    insert_cases(&store, args.cases)?;
    let runs = b.runs(&template).await?;
    sandbox.shutdown().await.context("stopping the sandbox")?;
    report::report(root, &out_dir, args, &machine, started, &runs)
}

impl Bench<'_> {
    /// The runs, in order; a skipped one is `None`.
    async fn runs(&self, template: &Template) -> Result<report::Runs> {
        // (1) + (2): one topic of PreFilter-rejected events, read raw then by the reader.
        let filter = self.filter_runs(template).await?;
        // (3) apply path, sandbox latency injected.
        let apply = self.apply_runs(template).await?;
        // (4) + (6): paced producer, no injected latency.
        let latency = if self.args.latency_secs > 0 {
            Some(self.latency_run(template).await?)
        } else {
            None
        };
        // (5) peak RSS with a backlog.
        let backlog = if self.args.backlog > 0 {
            Some(self.backlog_run(template).await?)
        } else {
            None
        };
        // (7) each flavor's filter path.
        let flavors = self.flavor_runs().await?;
        Ok(report::Runs {
            filter,
            apply,
            latency,
            backlog,
            flavors,
        })
    }
}
