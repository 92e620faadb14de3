//! `cargo xtask bench`: throughput and latency of the real `reader-jira` binary against a
//! Kafka broker (Tansu by default) and the sandbox Case API served from this process, all
//! measured in one run so that ratios hold on a noisy machine (issue 7):
//!
//! 1. raw limit: a bare rdkafka consumer reading the filter-path topic, doing nothing;
//! 2. filter path: the reader on that same topic (every event rejected in PreFilter);
//! 3. apply path, 1 ms sandbox latency: `kafka.max_in_flight=1` vs the default, with the
//!    per-case update sequence checked in the sandbox;
//! 4. latency at a paced rate (end-to-end histogram of the reader's `/metrics`);
//! 5. peak RSS (`VmHWM`) of the reader draining a backlog;
//! 6. settings + metadata RPCs per 1,000 events at steady state (sandbox counters).
//!
//! Prints a table and writes `target/bench/summary.json`. A figure that could not be measured
//! is reported as "not measured: why", never estimated.

use crate::stack::{self, Metrics, Reader, peak_rss_kib};
use anyhow::{Context, Result, bail};
use case_sandbox::{Rpc, ServerHandle, Store};
use kafka_runtime::testing::{MockBroker, TANSU_BIN_ENV, TansuBroker, TestBroker};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thirdparty_core::{CaseId, OrgId};

/// The Jira site (account) every configured bench event comes from (`fixtures/jira/seed.json`).
const ACCOUNT: &str = "4f9c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f";
/// Org 1's integration user: its events are sync-cycle echoes, rejected in PreFilter.
const INTEGRATION_USER: &str = "712020:7d3e5b1a-2c4f-4a6e-8b9d-0f1e2d3c4b5a";
/// A regular Jira user (not an integration user).
const HUMAN_USER: &str = "5f1a7c3e9b2d4e0011a2b3c7";
/// Jira project 10000 maps to `proj-support` (bidirectional) in the seed.
const CONFIGURED_PROJECT: &str = "10000";
/// A Jira project with no metadata row in org 1.
const UNCONFIGURED_PROJECT: &str = "99999";
/// Unconfigured organisations used by the filter path (each costs one metadata load).
const UNCONFIGURED_ORGS: u64 = 50;
const LATENCY_METRIC: &str = "case_case_third_party_reader_end_to_end_latency";
const PROCESSED: &str = "dd_case_third_party_reader_changelog_processed";
const FILTERED: &str = "dd_case_third_party_reader_jira_filtered";
const DECODING_FAILED: &str = "dd_case_third_party_reader_decoding_failed";
/// A wait fails when its counter does not move for this long.
const STALL: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);

/// Which broker the bench runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerKind {
    /// A Tansu broker process (`TANSU_BIN`, else installed by `cargo xtask tansu`).
    Tansu,
    /// librdkafka's in-process mock cluster: small runs only (it keeps at most 100k
    /// messages or 5 MiB per partition).
    Mock,
}

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
    /// Run the `reader-jira` found in this directory instead of building one (e.g. the
    /// instrumented build of `cargo xtask pgo`, or a PGO-optimized one to compare).
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
    let bin_dir = match &args.reader_bin_dir {
        Some(dir) => {
            let dir = root.join(dir);
            if !dir.join("reader-jira").is_file() {
                bail!(
                    "--reader-bin-dir {}: no reader-jira binary there; build one or drop the flag",
                    dir.display()
                );
            }
            println!("bench: reader-jira from {}", dir.display());
            dir
        }
        None => {
            println!(
                "bench: building reader-jira ({})…",
                if args.debug { "debug" } else { "release" }
            );
            stack::build_readers_with(root, &["reader-jira"], !args.debug)?
        }
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(bench(root, &bin_dir, args))
}

/// One measured figure, or why it was not measured.
#[derive(Debug, Clone)]
enum Figure {
    Value(f64),
    NotMeasured(String),
}

impl Figure {
    fn json(&self) -> Value {
        match self {
            Self::Value(v) if v.is_finite() => json!(v),
            Self::Value(_) => json!({ "not_measured": "no finite value (+Inf bucket)" }),
            Self::NotMeasured(why) => json!({ "not_measured": why }),
        }
    }

    fn show(&self, unit: &str) -> String {
        match self {
            Self::Value(v) if v.is_infinite() => format!("> last bucket {unit}"),
            Self::Value(v) if *v >= 100.0 => format!("{v:.0} {unit}"),
            Self::Value(v) => format!("{v:.2} {unit}"),
            Self::NotMeasured(why) => format!("not measured: {why}"),
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(*v),
            Self::NotMeasured(_) => None,
        }
    }
}

fn ratio(a: &Figure, b: &Figure) -> Figure {
    match (a.value(), b.value()) {
        (Some(a), Some(b)) if b > 0.0 => Figure::Value(a / b),
        _ => Figure::NotMeasured("a term of the ratio was not measured".into()),
    }
}

/// The outcome of one reader run over a topic.
#[derive(Debug, Default)]
struct ReaderRun {
    events: u64,
    msgs_per_s: f64,
    seconds: f64,
    /// Events already handled when the rate window opened (excluded from it).
    before_window: u64,
    cpu_seconds: Option<f64>,
    peak_rss_kib: Option<u64>,
    metrics: Metrics,
    committed_ok: bool,
    exit_ok: bool,
    settings_metadata_rpcs: u64,
    rpcs: BTreeMap<String, u64>,
}

impl ReaderRun {
    fn json(&self) -> Value {
        json!({
            "events": self.events,
            "msgs_per_s": self.msgs_per_s,
            "window_seconds": self.seconds,
            "handled_before_window": self.before_window,
            "reader_cpu_seconds": self.cpu_seconds,
            "reader_cpu_us_per_event": self.cpu_seconds.map(|c| c * 1e6 / self.events.max(1) as f64),
            "reader_peak_rss_mib": self.peak_rss_kib.map(|k| k as f64 / 1024.0),
            "processed": self.metrics.sum(PROCESSED, &[]),
            "filtered": self.metrics.by_label(FILTERED, "reason"),
            "decoding_failed": self.metrics.sum(DECODING_FAILED, &[]),
            "committed_offsets_match_produced": self.committed_ok,
            "exited_0_on_sigterm": self.exit_ok,
            "settings_metadata_rpcs": self.settings_metadata_rpcs,
            "sandbox_rpcs": self.rpcs,
        })
    }
}

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
    book: std::sync::Mutex<CaseBook>,
}

async fn bench(root: &Path, bin_dir: &Path, args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    let out_dir = root.join(&args.out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let machine = machine();
    let fixtures = root.join("fixtures").join("jira");
    let template = Template::load(&fixtures.join("payloads").join("update_title.json"))?;

    let store = Store::load_seed_file(&fixtures.join("seed.json"))?;
    let sandbox: ServerHandle = stack::serve_sandbox(store.clone()).await?;

    let mock_holder;
    let tansu_holder;
    let broker: &dyn TestBroker = match args.broker {
        BrokerKind::Tansu => {
            tansu_holder = TansuBroker::start().context("starting Tansu")?;
            &tansu_holder
        }
        BrokerKind::Mock => {
            mock_holder = MockBroker::start().context("starting librdkafka's mock cluster")?;
            &mock_holder
        }
    };
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
        run_id: format!("{}", chrono::Utc::now().timestamp_millis()),
        clk_tck: clk_tck(),
        book: std::sync::Mutex::new(CaseBook::new(
            args.cases,
            now_ms()
                - i64::try_from(args.sequential_events + args.apply_events).unwrap_or(0)
                - 120_000,
        )),
    };
    insert_cases(&store, args.cases)?;

    // (1) + (2): one topic of PreFilter-rejected events, read raw then by the reader.
    let filter_topic = b.topic("filter")?;
    let produced = b
        .produce_bulk(&filter_topic, args.events, |i| {
            filter_event(&template, i, args.events)
        })
        .await?;
    println!(
        "bench: produced {} filter-path events ({:.0} B mean, lz4) in {:.1} s ({:.0}/s)",
        produced.count,
        produced.mean_bytes(),
        produced.seconds,
        produced.count as f64 / produced.seconds.max(1e-9)
    );
    let raw = raw_consume(&b.bootstrap, &filter_topic, args.partitions, args.events).await?;
    println!(
        "bench: (1) raw consumer: {:.0} msgs/s ({} msgs in {:.2} s)",
        raw.msgs_per_s, args.events, raw.seconds
    );
    let filter = b
        .reader_run("filter", &filter_topic, &produced, &[])
        .await?;
    println!(
        "bench: (2) filter path: {:.0} msgs/s (ratio to raw {:.2})",
        filter.msgs_per_s,
        filter.msgs_per_s / raw.msgs_per_s.max(1e-9)
    );
    let filter_reasons = filter.metrics.by_label(FILTERED, "reason");
    let filter_only_prefilter = filter_reasons
        .keys()
        .all(|r| r == "no_matching_metadata" || r == "break_synchronization_cycle")
        && filter.metrics.sum(PROCESSED, &[]) == 0.0;

    // (3) apply path, sandbox latency injected.
    b.store
        .faults()
        .set_latency(Duration::from_millis(args.apply_latency_ms));
    let sequential = if args.sequential_events > 0 {
        Some(
            b.apply_run("seq", args.sequential_events, &template, Some("1"))
                .await?,
        )
    } else {
        None
    };
    let concurrent = if args.apply_events > 0 {
        Some(
            b.apply_run("conc", args.apply_events, &template, None)
                .await?,
        )
    } else {
        None
    };
    b.store.faults().set_latency(Duration::ZERO);

    // (4) + (6): paced producer, no injected latency.
    let latency = if args.latency_secs > 0 {
        Some(b.latency_run(&template).await?)
    } else {
        None
    };

    // (5) peak RSS with a backlog.
    let backlog = if args.backlog > 0 {
        let topic = b.topic("backlog")?;
        let produced = b
            .produce_bulk(&topic, args.backlog, |i| {
                filter_event(&template, i, args.backlog)
            })
            .await?;
        println!(
            "bench: produced a backlog of {} events in {:.1} s",
            produced.count, produced.seconds
        );
        Some(b.reader_run("backlog", &topic, &produced, &[]).await?)
    } else {
        None
    };

    sandbox.shutdown().await.context("stopping the sandbox")?;

    // The figures.
    let f_raw = Figure::Value(raw.msgs_per_s);
    let f_filter = Figure::Value(filter.msgs_per_s);
    let f_filter_ratio = ratio(&f_filter, &f_raw);
    let not = |why: &str| Figure::NotMeasured(why.to_owned());
    let (f_seq, seq_order) = match &sequential {
        Some((run, check)) => (Figure::Value(run.msgs_per_s), Some(check)),
        None => (not("--sequential-events 0"), None),
    };
    let (f_conc, conc_order) = match &concurrent {
        Some((run, check)) => (Figure::Value(run.msgs_per_s), Some(check)),
        None => (not("--apply-events 0"), None),
    };
    let f_apply_ratio = ratio(&f_conc, &f_seq);
    let order_kept = [seq_order, conc_order]
        .iter()
        .flatten()
        .all(|c| c.mismatched == 0);
    let (p50, p99, p999, le10, rpcs_per_1000) = match &latency {
        Some(l) => (
            l.quantile(0.5),
            l.quantile(0.99),
            l.quantile(0.999),
            l.fraction_within(10.0),
            l.rpcs_per_1000(),
        ),
        None => {
            let why = || not("--latency-secs 0");
            (why(), why(), why(), why(), why())
        }
    };
    let f_rss = match &backlog {
        Some(run) => match run.peak_rss_kib {
            Some(k) => Figure::Value(k as f64 / 1024.0),
            None => not("/proc/<pid>/status had no VmHWM line"),
        },
        None => not("--backlog 0"),
    };

    let rows: Vec<(&str, String, &str)> = vec![
        (
            "1 raw rdkafka consumer",
            f_raw.show("msgs/s"),
            "(the limit)",
        ),
        ("2 filter path (PreFilter)", f_filter.show("msgs/s"), ""),
        ("  ratio to raw", f_filter_ratio.show("×"), "≥ 0.70"),
        (
            "3 apply, max_in_flight=1",
            f_seq.show("msgs/s"),
            "(the seed's model)",
        ),
        ("  apply, default in-flight", f_conc.show("msgs/s"), ""),
        ("  ratio default / 1", f_apply_ratio.show("×"), "≥ 20"),
        (
            "  per-case order kept",
            if sequential.is_none() && concurrent.is_none() {
                "not measured: no apply run".to_owned()
            } else if order_kept {
                "yes".to_owned()
            } else {
                "NO".to_owned()
            },
            "yes",
        ),
        ("4 latency p50 (bucket ≤)", p50.show("ms"), ""),
        ("  latency p99 (bucket ≤)", p99.show("ms"), "≤ 10"),
        ("  latency p999 (bucket ≤)", p999.show("ms"), ""),
        (
            "  share of events ≤ 10 ms",
            match le10.value() {
                Some(v) => format!("{:.2} %", v * 100.0),
                None => le10.show(""),
            },
            "≥ 99 %",
        ),
        ("5 peak RSS, backlog", f_rss.show("MiB"), "≤ 64"),
        (
            "6 settings+metadata RPCs/1000",
            rpcs_per_1000.show("per 1,000 events"),
            "≤ 5",
        ),
    ];
    println!(
        "\n== bench summary ({:?} broker, {} partitions, {} CPUs, {})",
        args.broker,
        args.partitions,
        machine.get("nproc").cloned().unwrap_or(Value::Null),
        machine
            .get("cpu_model")
            .and_then(Value::as_str)
            .unwrap_or("unknown CPU")
    );
    println!("{:<32} {:<28} target", "measurement", "figure");
    for (name, figure, target) in &rows {
        println!("{name:<32} {figure:<28} {target}");
    }
    println!(
        "events: raw/filter {}, apply {} (max_in_flight=1) / {} (default) with {} ms sandbox latency, latency {} events/s × {} s, backlog {}",
        args.events,
        args.sequential_events,
        args.apply_events,
        args.apply_latency_ms,
        args.rate,
        args.latency_secs,
        args.backlog
    );
    if !filter_only_prefilter {
        println!("WARNING: the filter path saw reasons outside PreFilter: {filter_reasons:?}");
    }
    if let Some(l) = &latency {
        println!(
            "latency buckets (ms, cumulative, after warm-up): {}",
            l.buckets
                .iter()
                .map(|(le, c)| format!("≤{le}:{c}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    let summary = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "started_at": chrono::Utc::now().to_rfc3339(),
        "wall_seconds": started.elapsed().as_secs_f64(),
        "machine": machine,
        "git_head": git_head(root),
        "broker": format!("{:?}", args.broker).to_lowercase(),
        "profile": if args.debug { "debug" } else { "release" },
        "partitions": args.partitions,
        "reader_settings": args.reader_set,
        "reader_log_level": args.log_level,
        "events": {
            "raw_and_filter": args.events,
            "apply_sequential": args.sequential_events,
            "apply_default": args.apply_events,
            "cases": args.cases,
            "latency_rate_per_s": args.rate,
            "latency_seconds": args.latency_secs,
            "latency_warmup_seconds": args.warmup_secs,
            "backlog": args.backlog,
            "mean_event_bytes": produced.mean_bytes(),
        },
        "figures": {
            "raw_consumer_msgs_per_s": f_raw.json(),
            "filter_path_msgs_per_s": f_filter.json(),
            "filter_to_raw_ratio": f_filter_ratio.json(),
            "apply_sequential_msgs_per_s": f_seq.json(),
            "apply_default_msgs_per_s": f_conc.json(),
            "apply_default_to_sequential_ratio": f_apply_ratio.json(),
            "apply_per_case_order_kept": if sequential.is_none() && concurrent.is_none() { json!({"not_measured": "no apply run"}) } else { json!(order_kept) },
            "latency_p50_ms_bucket_upper_bound": p50.json(),
            "latency_p99_ms_bucket_upper_bound": p99.json(),
            "latency_p999_ms_bucket_upper_bound": p999.json(),
            "latency_share_within_10ms": le10.json(),
            "backlog_peak_rss_mib": f_rss.json(),
            "settings_metadata_rpcs_per_1000_events": rpcs_per_1000.json(),
        },
        "targets": {
            "filter_to_raw_ratio": ">= 0.70",
            "apply_default_to_sequential_ratio": ">= 20",
            "latency_p99_ms": "<= 10",
            "backlog_peak_rss_mib": "<= 64",
            "settings_metadata_rpcs_per_1000_events": "<= 5",
        },
        "runs": {
            "produce_filter": produced.json(),
            "raw": { "msgs_per_s": raw.msgs_per_s, "seconds": raw.seconds, "bytes": raw.bytes },
            "filter": filter.json(),
            "filter_only_prefilter_reasons": filter_only_prefilter,
            "apply_sequential": sequential.as_ref().map(|(r, c)| json!({"run": r.json(), "order": c.json()})),
            "apply_default": concurrent.as_ref().map(|(r, c)| json!({"run": r.json(), "order": c.json()})),
            "latency": latency.as_ref().map(LatencyRun::json),
            "backlog": backlog.as_ref().map(ReaderRun::json),
        },
        "notes": [
            "Every throughput window opens at the first poll (every 50 ms) that sees a handled event and closes at the first that sees all of them: reader start-up and group join are excluded.",
            "Latency quantiles are the upper bounds of the reader's Prometheus buckets (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000… ms): a p99 of 10 means p99 ≤ 10 ms, nothing finer.",
            "Broker, sandbox, producer, raw consumer and reader share this machine's CPUs.",
        ],
    });
    let path = out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "\nbench: wrote {} in {:.0?} total",
        path.display(),
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Events

/// `fixtures/jira/payloads/update_title.json` compacted, with slots for the varied fields.
struct Template {
    /// Literal text around the slots: `parts.len() == slots.len() + 1`.
    parts: Vec<String>,
    slots: Vec<Slot>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Org,
    Timestamp,
    User,
    IssueId,
    IssueKey,
    Project,
    ChangelogId,
    From,
    To,
    Summary,
}

const SLOTS: [Slot; 10] = [
    Slot::Org,
    Slot::Timestamp,
    Slot::User,
    Slot::IssueId,
    Slot::IssueKey,
    Slot::Project,
    Slot::ChangelogId,
    Slot::From,
    Slot::To,
    Slot::Summary,
];

/// The values of one event.
struct EventValues {
    org: u64,
    timestamp_ms: i64,
    user: String,
    issue_id: u64,
    project: &'static str,
    changelog_id: u64,
    from: String,
    to: String,
}

impl Template {
    fn load(path: &Path) -> Result<Self> {
        let mut value: Value = serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        let marker = |slot: Slot| Value::from(format!("@@SLOT{}@@", slot as usize));
        let mut put = |pointer: &str, slot: Slot| -> Result<()> {
            let place = value
                .pointer_mut(pointer)
                .with_context(|| format!("{} has no {pointer}", path.display()))?;
            *place = marker(slot);
            Ok(())
        };
        put("/orgId", Slot::Org)?;
        put("/webhook/timestamp", Slot::Timestamp)?;
        put("/webhook/user/accountId", Slot::User)?;
        put("/webhook/issue/id", Slot::IssueId)?;
        put("/webhook/issue/key", Slot::IssueKey)?;
        put("/webhook/issue/fields/project/id", Slot::Project)?;
        put("/webhook/changelog/id", Slot::ChangelogId)?;
        put("/webhook/changelog/items/0/fromString", Slot::From)?;
        put("/webhook/changelog/items/0/toString", Slot::To)?;
        put("/webhook/issue/fields/summary", Slot::Summary)?;
        let text = serde_json::to_string(&value)?;
        let mut parts = Vec::new();
        let mut slots = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("\"@@SLOT") {
            let (before, after) = rest.split_at(start);
            let Some(end) = after.find("@@\"").filter(|e| *e > 7) else {
                bail!("malformed slot marker in the template");
            };
            let index: usize = after
                .get(7..end)
                .and_then(|n| n.parse().ok())
                .context("malformed slot index in the template")?;
            let slot = *SLOTS.get(index).context("unknown slot index")?;
            parts.push(before.to_owned());
            slots.push(slot);
            rest = after.get(end + 3..).unwrap_or_default();
        }
        parts.push(rest.to_owned());
        if slots.len() != SLOTS.len() {
            bail!(
                "expected {} slots in the template, found {}",
                SLOTS.len(),
                slots.len()
            );
        }
        Ok(Self { parts, slots })
    }

    /// The record (key, value) of one event. Values are ASCII without quotes or escapes.
    fn render(&self, v: &EventValues) -> (String, Vec<u8>) {
        let mut out =
            String::with_capacity(self.parts.iter().map(String::len).sum::<usize>() + 256);
        for (i, part) in self.parts.iter().enumerate() {
            out.push_str(part);
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            match slot {
                Slot::Org => out.push_str(&v.org.to_string()),
                Slot::Timestamp => out.push_str(&v.timestamp_ms.to_string()),
                Slot::User => quoted(&mut out, &v.user),
                Slot::IssueId => quoted(&mut out, &v.issue_id.to_string()),
                Slot::IssueKey => quoted(&mut out, &format!("BEN-{}", v.issue_id)),
                Slot::Project => quoted(&mut out, v.project),
                Slot::ChangelogId => quoted(&mut out, &v.changelog_id.to_string()),
                Slot::From => quoted(&mut out, &v.from),
                Slot::To | Slot::Summary => quoted(&mut out, &v.to),
            }
        }
        (format!("{}:{}", v.org, v.issue_id), out.into_bytes())
    }
}

fn quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Event `i` of `n` rejected in PreFilter, round-robin: an unconfigured Jira project of org 1
/// (`no_matching_metadata`), an echo of org 1's integration user on a configured project
/// (`break_synchronization_cycle`), an unconfigured organisation (`no_matching_metadata`
/// after one metadata load per organisation).
fn filter_event(template: &Template, i: u64, n: u64) -> (String, Vec<u8>) {
    let base = now_ms() - i64::try_from(n).unwrap_or(i64::MAX / 2);
    let (org, project, user) = match i % 3 {
        0 => (1, UNCONFIGURED_PROJECT, HUMAN_USER),
        1 => (1, CONFIGURED_PROJECT, INTEGRATION_USER),
        _ => (
            1_000 + (i / 3) % UNCONFIGURED_ORGS,
            CONFIGURED_PROJECT,
            HUMAN_USER,
        ),
    };
    template.render(&EventValues {
        org,
        timestamp_ms: base + i64::try_from(i).unwrap_or(0),
        user: user.to_owned(),
        issue_id: 900_000 + i % 5_000,
        project,
        changelog_id: 50_000_000 + i,
        from: format!("Filter bench {} rev {}", i % 5_000, i / 5_000),
        to: format!("Filter bench {} rev {}", i % 5_000, i / 5_000 + 1),
    })
}

/// The Jira issue id of bench case `j`.
fn issue_id(j: u64) -> u64 {
    1_000_000 + j
}

fn case_id(j: u64) -> CaseId {
    CaseId::from(format!("bench-{j}"))
}

fn title(j: u64, rev: u64) -> String {
    format!("Bench case {j} rev {rev}")
}

/// What the apply-path events did to the bench cases so far: every event moves one case's
/// title to its next revision, with an event time later than every earlier one.
struct CaseBook {
    /// Current title revision per case (= events sent for it).
    revs: Vec<u64>,
    next_ts: i64,
    next_changelog: u64,
}

impl CaseBook {
    fn new(cases: u64, first_ts: i64) -> Self {
        Self {
            revs: vec![0; usize::try_from(cases).unwrap_or(0)],
            next_ts: first_ts,
            next_changelog: 100_000_000,
        }
    }

    /// Event `i` of a run: case `i % cases` gets its next title revision. `now` (latency run)
    /// stamps it with the wall clock, else the next synthetic (past) event time.
    fn event(&mut self, template: &Template, i: u64, now: bool) -> (String, Vec<u8>) {
        let cases = self.revs.len().max(1) as u64;
        let j = i % cases;
        let rev = match self.revs.get_mut(usize::try_from(j).unwrap_or(0)) {
            Some(r) => {
                *r += 1;
                *r
            }
            None => 1,
        };
        let ts = if now {
            now_ms().max(self.next_ts)
        } else {
            self.next_ts
        };
        self.next_ts = ts + 1;
        self.next_changelog += 1;
        template.render(&EventValues {
            org: 1,
            timestamp_ms: ts,
            user: HUMAN_USER.to_owned(),
            issue_id: issue_id(j),
            project: CONFIGURED_PROJECT,
            changelog_id: self.next_changelog,
            from: title(j, rev - 1),
            to: title(j, rev),
        })
    }
}

/// Inserts the bench cases (org 1, `proj-support`, each linked to its Jira issue) at version
/// 1 with title revision 0.
fn insert_cases(store: &Store, cases: u64) -> Result<()> {
    for j in 0..cases {
        let id = issue_id(j);
        let case = stack::linked_jira_case(case_id(j).as_str(), &title(j, 0), ACCOUNT, id, "BEN")
            .context("building a bench case")?;
        store.insert_case(case);
    }
    Ok(())
}

/// Version and title revision of every bench case (`None`: the case is missing).
fn case_states(store: &Store, book: &CaseBook) -> Vec<Option<u64>> {
    (0..book.revs.len() as u64)
        .map(|j| store.case(OrgId(1), &case_id(j)).map(|c| c.version.0))
        .collect()
}

/// The per-case order check of one apply run.
#[derive(Debug, Default)]
struct OrderCheck {
    cases: u64,
    /// Cases whose version did not advance by exactly their event count, or whose title is
    /// not their last revision.
    mismatched: u64,
    first_mismatch: Option<String>,
}

impl OrderCheck {
    fn json(&self) -> Value {
        json!({
            "cases_checked": self.cases,
            "cases_mismatched": self.mismatched,
            "first_mismatch": self.first_mismatch,
            "rule": "each case's version advanced by exactly its number of events in the run and its title is its last revision (an event applied out of order would have been filtered as out_of_order_event, or left an older title)",
        })
    }
}

/// Checks every bench case against `book` after a run that started at `versions_before` and
/// revisions `revs_before`.
fn check_order(
    store: &Store,
    book: &CaseBook,
    versions_before: &[Option<u64>],
    revs_before: &[u64],
) -> OrderCheck {
    let mut check = OrderCheck::default();
    for (j, rev) in book.revs.iter().enumerate() {
        let before_rev = revs_before.get(j).copied().unwrap_or(0);
        let count = rev.saturating_sub(before_rev);
        if count == 0 {
            continue;
        }
        check.cases += 1;
        let j64 = j as u64;
        let before = versions_before.get(j).copied().flatten();
        let problem = match (store.case(OrgId(1), &case_id(j64)), before) {
            (Some(case), Some(before)) => {
                if case.version.0 != before + count {
                    Some(format!(
                        "case bench-{j}: version {} after {count} events from version {before}",
                        case.version.0
                    ))
                } else if case.title.expose() != title(j64, *rev) {
                    Some(format!("case bench-{j}: title is not revision {rev}"))
                } else {
                    None
                }
            }
            _ => Some(format!("case bench-{j} is missing")),
        };
        if let Some(p) = problem {
            check.mismatched += 1;
            check.first_mismatch.get_or_insert(p);
        }
    }
    check
}

// ---------------------------------------------------------------------------------------
// Producing and raw consuming

#[derive(Debug, Default, Clone)]
struct Produced {
    count: u64,
    bytes: u64,
    seconds: f64,
    /// Next offset per partition after the last delivered record (expected committed offset).
    ends: BTreeMap<i32, i64>,
}

impl Produced {
    fn mean_bytes(&self) -> f64 {
        self.bytes as f64 / self.count.max(1) as f64
    }

    fn record(&mut self, partition: i32, offset: i64) {
        let end = self.ends.entry(partition).or_insert(0);
        *end = (*end).max(offset + 1);
    }

    fn json(&self) -> Value {
        json!({
            "count": self.count,
            "mean_bytes": self.mean_bytes(),
            "seconds": self.seconds,
            "per_partition_end_offsets": self.ends,
        })
    }
}

fn producer(bootstrap: &str, linger_ms: &str) -> Result<FutureProducer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", "lz4")
        .set("linger.ms", linger_ms)
        .set("message.timeout.ms", "120000")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .context("creating the bench producer")
}

async fn settle(
    pending: &mut VecDeque<DeliveryFuture>,
    keep: usize,
    out: &mut Produced,
) -> Result<()> {
    while pending.len() > keep {
        let Some(future) = pending.pop_front() else {
            break;
        };
        let delivery = future
            .await
            .map_err(|_| anyhow::anyhow!("the producer dropped a delivery report"))?
            .map_err(|(e, _)| anyhow::anyhow!("producing a bench event failed: {e}"))?;
        out.record(delivery.partition, delivery.offset);
    }
    Ok(())
}

async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &[u8],
    pending: &mut VecDeque<DeliveryFuture>,
    out: &mut Produced,
) -> Result<()> {
    let mut record = FutureRecord::<str, [u8]>::to(topic).key(key).payload(value);
    loop {
        match producer.send_result(record) {
            Ok(future) => {
                pending.push_back(future);
                out.count += 1;
                out.bytes += value.len() as u64;
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                let keep = pending.len() / 2;
                settle(pending, keep, out).await?;
                if pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Err((e, _)) => bail!("producing to {topic} failed: {e}"),
        }
    }
}

impl Bench<'_> {
    fn book(&self) -> Result<std::sync::MutexGuard<'_, CaseBook>> {
        self.book
            .lock()
            .map_err(|_| anyhow::anyhow!("the case book lock was poisoned"))
    }

    fn topic(&self, what: &str) -> Result<String> {
        let topic = format!("bench_{what}_{}", self.run_id);
        self.broker
            .create_topic(&topic, self.args.partitions)
            .with_context(|| format!("creating topic {topic}"))?;
        Ok(topic)
    }

    /// Produces `count` events from `event(i)` as fast as the broker takes them.
    async fn produce_bulk(
        &self,
        topic: &str,
        count: u64,
        mut event: impl FnMut(u64) -> (String, Vec<u8>),
    ) -> Result<Produced> {
        let producer = producer(&self.bootstrap, "5")?;
        let started = Instant::now();
        let mut out = Produced::default();
        let mut pending = VecDeque::new();
        for i in 0..count {
            let (key, value) = event(i);
            send(&producer, topic, &key, &value, &mut pending, &mut out).await?;
            if pending.len() >= 100_000 {
                settle(&mut pending, 50_000, &mut out).await?;
            }
        }
        settle(&mut pending, 0, &mut out).await?;
        out.seconds = started.elapsed().as_secs_f64();
        Ok(out)
    }

    fn reader_settings(&self, topic: &str, group: &str) -> Vec<(&'static str, String)> {
        vec![
            ("kafka.brokers", self.bootstrap.clone()),
            ("kafka.topic", topic.to_owned()),
            ("kafka.group_id", group.to_owned()),
            ("case_api.endpoint", self.sandbox_url.clone()),
            ("kafka.auto_offset_reset", "earliest".to_owned()),
            ("kafka.session_timeout_ms", "10000".to_owned()),
            ("kafka.shutdown_grace_ms", "20000".to_owned()),
            ("tracing.log_level", self.args.log_level.clone()),
        ]
    }

    fn start_reader(
        &self,
        name: &str,
        topic: &str,
        extra: &[(&'static str, String)],
    ) -> Result<(Reader, String)> {
        let group = format!("bench-{name}-{}", self.run_id);
        let mut settings: Vec<(&str, String)> = self.reader_settings(topic, &group);
        settings.extend(extra.iter().cloned());
        for pair in &self.args.reader_set {
            let Some((k, v)) = pair.split_once('=') else {
                bail!("--reader-set {pair}: expected KEY=VALUE");
            };
            settings.push((k, v.to_owned()));
        }
        let reader = Reader::start(
            self.bin_dir,
            "jira",
            &format!("bench-reader-{name}"),
            &settings,
            &self.log_dir,
        )?;
        Ok((reader, group))
    }

    /// Starts a reader on `topic` (already holding `produced`), measures its rate over the
    /// handled-event counter, checks its committed offsets and stops it.
    async fn reader_run(
        &self,
        name: &str,
        topic: &str,
        produced: &Produced,
        extra: &[(&'static str, String)],
    ) -> Result<ReaderRun> {
        let (mut reader, group) = self.start_reader(name, topic, extra)?;
        let rpcs_before = self.store.call_counts();
        let target = produced.count;
        let mut window: Option<(Instant, u64)> = None;
        let mut last = (Instant::now(), 0u64);
        let (end, metrics) = loop {
            if !reader.running() {
                bail!("{} exited early; see {}", reader.name, reader.log.display());
            }
            if let Some(m) = reader.metrics() {
                let handled = handled(&m);
                let now = Instant::now();
                if handled > 0 && window.is_none() {
                    window = Some((now, handled));
                }
                if handled >= target {
                    break (now, m);
                }
                if handled != last.1 {
                    last = (now, handled);
                }
            }
            if last.0.elapsed() > STALL {
                bail!(
                    "{}: handled stuck at {}/{target} for {STALL:?}; see {}",
                    reader.name,
                    last.1,
                    reader.log.display()
                );
            }
            tokio::time::sleep(POLL).await;
        };
        let (start, before_window) = window.unwrap_or((end, target));
        let seconds = end.duration_since(start).as_secs_f64();
        let msgs_per_s = if seconds > 0.0 {
            (target - before_window) as f64 / seconds
        } else {
            0.0
        };
        let cpu_seconds = cpu_seconds(reader.pid(), self.clk_tck);
        let peak_rss_kib = peak_rss_kib(reader.pid());
        let rpcs_after = self.store.call_counts();
        let committed_ok = self.wait_committed(&group, topic, produced).await?;
        let status = reader.terminate(Duration::from_secs(40))?;
        let rpcs = rpc_delta(&rpcs_before, &rpcs_after);
        let settings_metadata_rpcs = settings_metadata(&rpcs);
        println!(
            "bench: {name}: {target} events in {seconds:.2} s window → {msgs_per_s:.0} msgs/s; reader CPU {} s, peak RSS {} MiB; committed offsets {}",
            cpu_seconds.map_or("?".into(), |c| format!("{c:.1}")),
            peak_rss_kib.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
            if committed_ok {
                "= produced"
            } else {
                "DID NOT reach produced"
            }
        );
        Ok(ReaderRun {
            events: target,
            msgs_per_s,
            seconds,
            before_window,
            cpu_seconds,
            peak_rss_kib,
            metrics,
            committed_ok,
            exit_ok: status.success(),
            settings_metadata_rpcs,
            rpcs: rpcs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        })
    }

    /// Waits (auto-commit runs every 5 s) until the group's committed offsets reach the
    /// produced ends; false when they do not within 20 s.
    async fn wait_committed(&self, group: &str, topic: &str, produced: &Produced) -> Result<bool> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let committed = kafka_runtime::testing::committed_offsets(
                &self.bootstrap,
                group,
                topic,
                self.args.partitions,
            )
            .await?;
            let ok = produced
                .ends
                .iter()
                .all(|(p, end)| committed.get(p).copied().flatten() == Some(*end));
            if ok {
                return Ok(true);
            }
            if Instant::now() > deadline {
                eprintln!(
                    "bench: committed offsets of {group} on {topic}: {committed:?}, produced ends {:?}",
                    produced.ends
                );
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn apply_run(
        &self,
        name: &str,
        events: u64,
        template: &Template,
        max_in_flight: Option<&str>,
    ) -> Result<(ReaderRun, OrderCheck)> {
        let topic = self.topic(name)?;
        let (versions_before, revs_before) = {
            let book = self.book()?;
            (case_states(&self.store, &book), book.revs.clone())
        };
        // Generate under the lock, produce outside it.
        let generated: Vec<(String, Vec<u8>)> = {
            let mut book = self.book()?;
            (0..events)
                .map(|i| book.event(template, i, false))
                .collect()
        };
        let mut it = generated.into_iter();
        let produced = self
            .produce_bulk(&topic, events, |_| it.next().unwrap_or_default())
            .await?;
        let extra: Vec<(&'static str, String)> = max_in_flight
            .map(|m| vec![("kafka.max_in_flight", m.to_owned())])
            .unwrap_or_default();
        let run = self.reader_run(name, &topic, &produced, &extra).await?;
        let check = check_order(&self.store, &*self.book()?, &versions_before, &revs_before);
        println!(
            "bench: (3) apply {name} (max_in_flight {}): {:.0} msgs/s, processed {}, filtered {:?}, order: {}/{} cases mismatched{}",
            max_in_flight.unwrap_or("default"),
            run.msgs_per_s,
            run.metrics.sum(PROCESSED, &[]),
            run.metrics.by_label(FILTERED, "reason"),
            check.mismatched,
            check.cases,
            check
                .first_mismatch
                .as_ref()
                .map_or(String::new(), |m| format!(" (first: {m})"))
        );
        Ok((run, check))
    }

    async fn latency_run(&self, template: &Template) -> Result<LatencyRun> {
        let topic = self.topic("latency")?;
        let (versions_before, revs_before) = {
            let book = self.book()?;
            (case_states(&self.store, &book), book.revs.clone())
        };
        let (mut reader, group) = self.start_reader("latency", &topic, &[])?;
        let producer = producer(&self.bootstrap, "0")?;
        let mut out = Produced::default();
        let mut pending = VecDeque::new();
        // A probe event (a sync-cycle echo, filtered) proves the reader consumes before the
        // clock starts.
        let (key, value) = filter_event(template, 1, 1);
        send(&producer, &topic, &key, &value, &mut pending, &mut out).await?;
        settle(&mut pending, 0, &mut out).await?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if !reader.running() {
                bail!("{} exited early; see {}", reader.name, reader.log.display());
            }
            if reader.metrics().is_some_and(|m| handled(&m) >= 1) {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not handle the probe event within 90 s; see {}",
                    reader.name,
                    reader.log.display()
                );
            }
            tokio::time::sleep(POLL).await;
        }
        let total = self.args.rate * self.args.latency_secs;
        let per_tick = (self.args.rate / 100).max(1);
        let tick = Duration::from_secs_f64(per_tick as f64 / self.args.rate as f64);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let warmup = Duration::from_secs(self.args.warmup_secs);
        let mut snapshot: Option<(Metrics, BTreeMap<Rpc, u64>)> = None;
        let mut i = 0u64;
        while i < total {
            interval.tick().await;
            for _ in 0..per_tick.min(total - i) {
                let (key, value) = self.book()?.event(template, i, true);
                send(&producer, &topic, &key, &value, &mut pending, &mut out).await?;
                i += 1;
            }
            if snapshot.is_none() && started.elapsed() >= warmup {
                let metrics = reader.metrics().with_context(|| {
                    format!(
                        "{} serves no /metrics; see {}",
                        reader.name,
                        reader.log.display()
                    )
                })?;
                snapshot = Some((metrics, self.store.call_counts()));
            }
        }
        let produce_seconds = started.elapsed().as_secs_f64();
        settle(&mut pending, 0, &mut out).await?;
        let target = total + 1;
        let mut last = (Instant::now(), 0u64);
        let metrics = loop {
            if let Some(m) = reader.metrics() {
                let h = handled(&m);
                if h >= target {
                    break m;
                }
                if h != last.1 {
                    last = (Instant::now(), h);
                }
            }
            if last.0.elapsed() > STALL {
                bail!(
                    "{}: handled stuck at {}/{target}; see {}",
                    reader.name,
                    last.1,
                    reader.log.display()
                );
            }
            tokio::time::sleep(POLL).await;
        };
        let rpcs_after = self.store.call_counts();
        let committed_ok = self.wait_committed(&group, &topic, &out).await?;
        let peak_rss_kib = peak_rss_kib(reader.pid());
        let status = reader.terminate(Duration::from_secs(40))?;
        let check = check_order(&self.store, &*self.book()?, &versions_before, &revs_before);
        let (before, rpcs_before) = snapshot.unwrap_or_default();
        let full = metrics.buckets(LATENCY_METRIC);
        let early = before.buckets(LATENCY_METRIC);
        let buckets: Vec<(f64, f64)> = full
            .iter()
            .map(|(le, c)| {
                let e = early.iter().find(|(l, _)| l == le).map_or(0.0, |(_, c)| *c);
                (*le, c - e)
            })
            .collect();
        let window_events = handled(&metrics).saturating_sub(handled(&before));
        let rpcs = rpc_delta(&rpcs_before, &rpcs_after);
        let run = LatencyRun {
            events: total,
            produce_seconds,
            achieved_rate: total as f64 / produce_seconds.max(1e-9),
            window_events,
            buckets,
            settings_metadata_rpcs: settings_metadata(&rpcs),
            rpcs: rpcs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            processed: metrics.sum(PROCESSED, &[]),
            filtered: metrics.by_label(FILTERED, "reason"),
            committed_ok,
            exit_ok: status.success(),
            peak_rss_kib,
            order: check,
        };
        println!(
            "bench: (4) latency: {total} events at {:.0}/s; p50 ≤ {} ms, p99 ≤ {} ms; {:.2} settings+metadata RPCs per 1,000 events",
            run.achieved_rate,
            run.quantile(0.5).show(""),
            run.quantile(0.99).show(""),
            run.rpcs_per_1000().value().unwrap_or(f64::NAN),
        );
        Ok(run)
    }
}

struct LatencyRun {
    events: u64,
    produce_seconds: f64,
    achieved_rate: f64,
    window_events: u64,
    /// Cumulative (upper bound ms, count) after the warm-up.
    buckets: Vec<(f64, f64)>,
    settings_metadata_rpcs: u64,
    rpcs: BTreeMap<String, u64>,
    processed: f64,
    filtered: BTreeMap<String, f64>,
    committed_ok: bool,
    exit_ok: bool,
    peak_rss_kib: Option<u64>,
    order: OrderCheck,
}

impl LatencyRun {
    fn quantile(&self, q: f64) -> Figure {
        match stack::quantile(&self.buckets, q) {
            Some(v) => Figure::Value(v),
            None => Figure::NotMeasured("no latency samples after the warm-up".into()),
        }
    }

    fn fraction_within(&self, ms: f64) -> Figure {
        let total = self.buckets.last().map_or(0.0, |(_, c)| *c);
        match self.buckets.iter().find(|(le, _)| (*le - ms).abs() < 1e-9) {
            Some((_, c)) if total > 0.0 => Figure::Value(c / total),
            Some(_) => Figure::NotMeasured("no latency samples after the warm-up".into()),
            None => Figure::NotMeasured(format!("the histogram has no {ms} ms bucket")),
        }
    }

    fn rpcs_per_1000(&self) -> Figure {
        if self.window_events == 0 {
            return Figure::NotMeasured("no event handled after the warm-up".into());
        }
        Figure::Value(self.settings_metadata_rpcs as f64 * 1000.0 / self.window_events as f64)
    }

    fn json(&self) -> Value {
        json!({
            "events": self.events,
            "produce_seconds": self.produce_seconds,
            "achieved_rate_per_s": self.achieved_rate,
            "events_after_warmup": self.window_events,
            "buckets_after_warmup_ms_cumulative": self.buckets.iter().map(|(le, c)| json!([if le.is_finite() { json!(le) } else { json!("+Inf") }, c])).collect::<Vec<_>>(),
            "settings_metadata_rpcs_after_warmup": self.settings_metadata_rpcs,
            "sandbox_rpcs_after_warmup": self.rpcs,
            "processed": self.processed,
            "filtered": self.filtered,
            "committed_offsets_match_produced": self.committed_ok,
            "exited_0_on_sigterm": self.exit_ok,
            "reader_peak_rss_mib": self.peak_rss_kib.map(|k| k as f64 / 1024.0),
            "order": self.order.json(),
        })
    }
}

fn handled(m: &Metrics) -> u64 {
    let total = m.sum(PROCESSED, &[]) + m.sum(FILTERED, &[]) + m.sum(DECODING_FAILED, &[]);
    // Counters are whole numbers well inside f64's exact range.
    total.max(0.0) as u64
}

fn rpc_delta(before: &BTreeMap<Rpc, u64>, after: &BTreeMap<Rpc, u64>) -> BTreeMap<Rpc, u64> {
    after
        .iter()
        .map(|(rpc, n)| {
            (
                *rpc,
                n.saturating_sub(before.get(rpc).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn settings_metadata(rpcs: &BTreeMap<Rpc, u64>) -> u64 {
    [
        Rpc::GetProjectSettings,
        Rpc::ListIntegrationMetadata,
        Rpc::ListIntegrationOrgs,
    ]
    .iter()
    .map(|r| rpcs.get(r).copied().unwrap_or(0))
    .sum()
}

/// The raw limit: a bare consumer assigned every partition from the beginning, counting.
struct RawRun {
    msgs_per_s: f64,
    seconds: f64,
    bytes: u64,
}

async fn raw_consume(bootstrap: &str, topic: &str, partitions: i32, count: u64) -> Result<RawRun> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || -> Result<RawRun> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", format!("bench-raw-{}", now_ms()))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .context("creating the raw consumer")?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .context("building the raw consumer's assignment")?;
        }
        consumer
            .assign(&tpl)
            .context("assigning the raw consumer")?;
        let mut seen = 0u64;
        let mut bytes = 0u64;
        let mut first: Option<Instant> = None;
        let mut last_progress = Instant::now();
        while seen < count {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    first.get_or_insert_with(Instant::now);
                    seen += 1;
                    bytes += message.payload().map_or(0, |p| p.len() as u64);
                    last_progress = Instant::now();
                }
                Some(Err(e)) => bail!("the raw consumer failed: {e}"),
                None => {
                    if last_progress.elapsed() > STALL {
                        bail!(
                            "the raw consumer got {seen}/{count} messages, then none for {STALL:?}"
                        );
                    }
                }
            }
        }
        let seconds = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
        Ok(RawRun {
            msgs_per_s: if seconds > 0.0 {
                count.saturating_sub(1) as f64 / seconds
            } else {
                0.0
            },
            seconds,
            bytes,
        })
    })
    .await
    .context("the raw consumer thread failed")?
}

// ---------------------------------------------------------------------------------------
// The machine and processes

/// User + system CPU time of `pid`, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32, clk_tck: f64) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck)
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn machine() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "nproc".into(),
        json!(std::thread::available_parallelism().map_or(0, usize::from)),
    );
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|r| r.trim_start_matches([' ', '\t', ':']).trim().to_owned());
    m.insert("cpu_model".into(), json!(model));
    let mem_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    m.insert("memory_mib".into(), json!(mem_kib.map(|k| k / 1024)));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    m.insert(
        "loadavg_at_start".into(),
        json!(
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    m.insert("os".into(), json!(std::env::consts::OS));
    m
}

fn git_head(root: &Path) -> Option<String> {
    std::process::Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
}
