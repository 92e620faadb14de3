//! `cargo xtask chaos`: fault scenarios against the real `reader-jira` release binary, a Tansu
//! broker and the sandbox Case API served from this process (issue 8).
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
//!    UTF-8 and huge numbers mixed with good events.
//!
//! After each scenario ONE oracle runs (each check returns its violations): every produced
//! record is accounted for (applied — visible in the sandbox — or filtered with its reason,
//! or a decode failure at its offset, read from the readers' JSON logs); no idempotency key
//! gave two side effects (no duplicate timeline cell, no doubled or lost update: each case's
//! version advanced by exactly its applied updates); the committed offsets equal the produced
//! count per partition at the end and never passed an unaccounted record at a kill; a fresh
//! event produced after the fault healed is applied within a deadline; every SIGTERM ends
//! with exit 0 within the grace period. Figures go to stdout and `target/chaos/summary.json`;
//! the command fails when any oracle does.

use crate::bench::BrokerKind;
use crate::stack::{self, Reader};
use anyhow::{Context, Result, bail};
use case_sandbox::{ServerHandle, Store};
use kafka_runtime::testing::{
    MockBroker, TANSU_BIN_ENV, TansuBroker, TestBroker, committed_offsets,
};
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thirdparty_core::{CaseId, FieldUpdate, OrgId, Text};

/// The Jira site every chaos event comes from (`fixtures/jira/seed.json`).
const ACCOUNT: &str = "4f9c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f";
/// A regular Jira user (not an integration user).
const HUMAN_USER: &str = "5f1a7c3e9b2d4e0011a2b3c7";
/// Jira project 10000 maps to `proj-support` (bidirectional, conflicts rejected).
const CONFIGURED_PROJECT: &str = "10000";
/// A Jira project with no metadata row in org 1: its events are filtered
/// `no_matching_metadata`.
const UNCONFIGURED_PROJECT: &str = "99999";
/// What the concurrent writer of scenario 5 sets a case's priority to (no Jira event does).
const WRITER_PRIORITY: &str = "P5";
/// The readers' log filter: the per-event decision lines of `observability` explicitly, so
/// the oracle does not depend on the default level.
const LOG_FILTER: &str = "info,observability=debug";
/// How long SIGTERM may take (the readers get `kafka.shutdown_grace_ms` = 10 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
const SHUTDOWN_GRACE_MS: &str = "10000";
/// A scenario fails when nothing moves for this long.
const STALL: Duration = Duration::from_secs(150);
/// The fresh event after the fault must be applied within this.
const FRESH_DEADLINE: Duration = Duration::from_secs(60);
const TICK: Duration = Duration::from_millis(200);

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
    #[arg(long, value_enum, default_value_t = crate::bench::BrokerKind::Tansu)]
    pub broker: crate::bench::BrokerKind,
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
    fn scenarios(&self) -> Result<Vec<u8>> {
        if self.scenario == "all" {
            return Ok((1..=6).collect());
        }
        let mut out = Vec::new();
        for part in self.scenario.split(',') {
            match part.trim().parse::<u8>() {
                Ok(n @ 1..=6) => out.push(n),
                _ => bail!(
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
    // optimized xtask build, like the bench.
    if stack::rerun_if_needed(root, "chaos", cfg!(debug_assertions), need_tansu)? {
        return Ok(());
    }
    println!("chaos: building reader-jira (release)…");
    let bin_dir = stack::build_readers_with(root, &["reader-jira"], true)?;
    let seed = args
        .seed
        .unwrap_or_else(|| u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0x5eed));
    println!(
        "chaos: seed {seed} (rerun with --seed {seed}), scenarios {scenarios:?}, {} events each",
        args.events()
    );
    let reports = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run_all(root, &bin_dir, args, seed, &scenarios))?;
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

async fn run_all(
    root: &Path,
    bin_dir: &Path,
    args: &ChaosArgs,
    seed: u64,
    scenarios: &[u8],
) -> Result<Vec<Report>> {
    let started = Instant::now();
    let out_dir = root.join("target").join("chaos");
    let run_id = chrono::Utc::now().timestamp_millis();
    let log_dir = out_dir.join(format!("logs-{run_id}"));
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    let fixtures = root.join("fixtures").join("jira");
    let templates = Templates::load(&fixtures.join("payloads"))?;
    let store = Store::load_seed_file(&fixtures.join("seed.json"))?;
    let sandbox: ServerHandle = stack::serve_sandbox(store.clone()).await?;
    let proxy = Proxy::bind().await?;
    let tansu_holder;
    let mock_holder;
    let (broker, bootstrap): (&dyn TestBroker, String) = match args.broker {
        BrokerKind::Tansu => {
            tansu_holder = TansuBroker::start_advertising(proxy.port).context("starting Tansu")?;
            proxy.start(tansu_holder.listen_port());
            println!(
                "chaos: Tansu on 127.0.0.1:{} behind a proxy on 127.0.0.1:{}",
                tansu_holder.listen_port(),
                proxy.port
            );
            (&tansu_holder, format!("127.0.0.1:{}", proxy.port))
        }
        BrokerKind::Mock => {
            mock_holder = MockBroker::start().context("starting librdkafka's mock cluster")?;
            let bootstrap = mock_holder.bootstrap_servers();
            println!(
                "chaos: librdkafka mock cluster on {bootstrap} (no proxy: scenario 4 needs Tansu)"
            );
            (&mock_holder, bootstrap)
        }
    };
    println!(
        "chaos: sandbox Case API on {}, logs in {}",
        sandbox.url(),
        log_dir.display()
    );
    let env = Env {
        args,
        bin_dir: bin_dir.to_path_buf(),
        bootstrap,
        broker,
        proxy: &proxy,
        sandbox_url: sandbox.url(),
        store: store.clone(),
        templates,
        log_dir,
        run_id,
    };
    let mut reports = Vec::new();
    for &n in scenarios {
        store.faults().clear();
        proxy.set_up(true);
        let report = match Scenario::new(&env, n, seed) {
            Ok(mut s) => match s.run().await {
                Ok(()) => s.finish().await,
                Err(e) => {
                    s.violations.push(format!("the scenario aborted: {e:#}"));
                    s.finish().await
                }
            },
            Err(e) => Report::aborted(n, format!("{e:#}")),
        };
        report.print();
        reports.push(report);
        store.faults().clear();
    }
    sandbox.shutdown().await.context("stopping the sandbox")?;
    let summary = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "finished_at": chrono::Utc::now().to_rfc3339(),
        "wall_seconds": started.elapsed().as_secs_f64(),
        "seed": seed,
        "short": args.short,
        "events_per_scenario": args.events(),
        "partitions": args.partitions,
        "cases": args.cases,
        "nproc": std::thread::available_parallelism().map_or(0, usize::from),
        "broker": match args.broker {
            BrokerKind::Tansu => "tansu (memory storage) behind an in-process TCP proxy",
            BrokerKind::Mock => "librdkafka mock cluster",
        },
        "rate_per_s": args.rate(),
        "reader_log_filter": LOG_FILTER,
        "scenarios": reports.iter().map(Report::json).collect::<Vec<_>>(),
        "ok": reports.iter().all(|r| r.violations.is_empty()),
    });
    let path = out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "\nchaos: wrote {} ({:.0?})",
        path.display(),
        started.elapsed()
    );
    Ok(reports)
}

// ---------------------------------------------------------------------------------------
// A seeded RNG (splitmix64): reproducible moments and mixes without a dependency.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// Events

/// The fixture payloads events are made from (compact JSON values).
struct Templates {
    title: Value,
    comment: Value,
    priority: Value,
}

impl Templates {
    fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| -> Result<Value> {
            let path = dir.join(name);
            serde_json::from_slice(
                &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("parsing {}", path.display()))
        };
        Ok(Self {
            title: read("update_title.json")?,
            comment: read("create_comment.json")?,
            priority: read("update_priority.json")?,
        })
    }
}

fn put(value: &mut Value, pointer: &str, new: Value) -> Result<()> {
    let place = value
        .pointer_mut(pointer)
        .with_context(|| format!("the fixture has no {pointer}"))?;
    *place = new;
    Ok(())
}

/// What a record is and what must become of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Moves case `case`'s title to revision `rev` (unique to this event).
    Title { case: u32, rev: u32 },
    /// Adds one timeline cell to case `case`, idempotency key `jira:<comment id>`.
    Comment { case: u32 },
    /// Moves case `case`'s priority from P3 to P1 (scenario 5).
    Priority { case: u32 },
    /// A configured-looking event of an unconfigured Jira project: filtered
    /// `no_matching_metadata`.
    Unconfigured,
    /// Bad input: acknowledged as a decode failure (or, for a decodable one, any outcome).
    Poison(Poison),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Poison {
    InvalidJson,
    WrongTypes,
    TenMegabytes,
    DeepNesting,
    InvalidUtf8,
    HugeNumbers,
}

impl Poison {
    const ALL: [Poison; 6] = [
        Self::InvalidJson,
        Self::WrongTypes,
        Self::TenMegabytes,
        Self::DeepNesting,
        Self::InvalidUtf8,
        Self::HugeNumbers,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::WrongTypes => "wrong_types",
            Self::TenMegabytes => "10mb",
            Self::DeepNesting => "deep_nesting",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::HugeNumbers => "huge_numbers",
        }
    }
}

/// The plan of one scenario: every record's kind, in production order.
struct Plan {
    /// Distinguishes this scenario's ids (changelog ids, comment ids, issue ids, case ids).
    scenario: u8,
    kinds: Vec<Kind>,
    cases: u32,
    base_ts: i64,
}

impl Plan {
    /// `events` records: mostly title updates and comments over `cases` cases, 5 % of an
    /// unconfigured project, plus `poison_share` poison and (scenario 5) one priority event
    /// per tenth case.
    fn new(scenario: u8, events: u64, cases: u32, rng: &mut Rng, poison_share: f64) -> Self {
        let mut kinds = Vec::with_capacity(usize::try_from(events).unwrap_or(0));
        let mut revs = vec![0u32; cases as usize];
        let mut ten_mb_left = if poison_share > 0.0 {
            if events >= 20_000 { 3 } else { 1 }
        } else {
            0
        };
        let priority_at: HashSet<u64> = if scenario == 5 {
            (0..cases)
                .filter(|c| c % 10 == 0)
                .map(|_| rng.below(events))
                .collect()
        } else {
            HashSet::new()
        };
        let mut priority_case = 0u32;
        for i in 0..events {
            if priority_at.contains(&i) && priority_case < cases {
                kinds.push(Kind::Priority {
                    case: priority_case,
                });
                priority_case += 10;
                continue;
            }
            let roll = rng.unit();
            let case = u32::try_from(rng.below(u64::from(cases))).unwrap_or(0);
            let kind = if roll < poison_share {
                let mut p = Poison::ALL
                    .get(rng.below(Poison::ALL.len() as u64) as usize)
                    .copied()
                    .unwrap_or(Poison::InvalidJson);
                if p == Poison::TenMegabytes {
                    if ten_mb_left == 0 {
                        p = Poison::InvalidJson;
                    } else {
                        ten_mb_left -= 1;
                    }
                }
                Kind::Poison(p)
            } else if roll < poison_share + 0.05 {
                Kind::Unconfigured
            } else if roll < poison_share + 0.35 {
                Kind::Comment { case }
            } else {
                let rev = match revs.get_mut(case as usize) {
                    Some(r) => {
                        *r += 1;
                        *r
                    }
                    None => 1,
                };
                Kind::Title { case, rev }
            };
            kinds.push(kind);
        }
        // At least one 10 MB record in a poison run.
        if ten_mb_left > 0
            && let Some(k) = kinds
                .iter_mut()
                .find(|k| matches!(k, Kind::Poison(Poison::InvalidJson)))
        {
            *k = Kind::Poison(Poison::TenMegabytes);
        }
        Self {
            scenario,
            kinds,
            cases,
            base_ts: now_ms() - 50_000_000,
        }
    }

    fn issue_id(&self, case: u32) -> u64 {
        u64::from(self.scenario) * 10_000_000 + 2_000_000 + u64::from(case)
    }
    fn case_id(&self, case: u32) -> CaseId {
        CaseId::from(format!("chaos-s{}-{case}", self.scenario))
    }
    fn title(&self, case: u32, rev: u32) -> String {
        format!("Chaos s{} case {case} rev {rev}", self.scenario)
    }
    fn changelog_id(&self, i: u64) -> u64 {
        u64::from(self.scenario) * 1_000_000_000 + i
    }
    fn comment_id(&self, i: u64) -> u64 {
        u64::from(self.scenario) * 1_000_000_000 + 500_000_000 + i
    }

    /// The event id the reader logs for record `i` (None for undecodable poison).
    fn event_id(&self, i: u64, kind: Kind) -> Option<String> {
        match kind {
            Kind::Title { .. } | Kind::Unconfigured => {
                Some(format!("jira:{}:summary", self.changelog_id(i)))
            }
            Kind::Priority { .. } => Some(format!("jira:{}:priority", self.changelog_id(i))),
            Kind::Comment { .. } => Some(format!("jira:comment:{}", self.comment_id(i))),
            Kind::Poison(Poison::HugeNumbers) => {
                Some(format!("jira:{}:summary", self.changelog_id(i)))
            }
            Kind::Poison(_) => None,
        }
    }

    /// The timeline cell idempotency key of comment record `i`.
    fn cell_key(&self, i: u64) -> String {
        format!("jira:{}", self.comment_id(i))
    }

    /// Record `i` of `kind`: (key, value).
    fn render(&self, t: &Templates, i: u64, kind: Kind) -> Result<(String, Vec<u8>)> {
        let ts = self.base_ts + i64::try_from(i).unwrap_or(0);
        let issue = |v: &mut Value, case: u32, project: &str| -> Result<()> {
            let id = self.issue_id(case);
            put(v, "/orgId", json!(1))?;
            put(v, "/webhook/timestamp", json!(ts))?;
            put(v, "/webhook/issue/id", json!(id.to_string()))?;
            put(v, "/webhook/issue/key", json!(format!("CHS-{id}")))?;
            put(v, "/webhook/issue/fields/project/id", json!(project))
        };
        let title = |case: u32, rev: u32, project: &str| -> Result<Value> {
            let mut v = t.title.clone();
            issue(&mut v, case, project)?;
            put(&mut v, "/webhook/user/accountId", json!(HUMAN_USER))?;
            put(
                &mut v,
                "/webhook/changelog/id",
                json!(self.changelog_id(i).to_string()),
            )?;
            put(
                &mut v,
                "/webhook/changelog/items/0/fromString",
                json!(self.title(case, rev.saturating_sub(1))),
            )?;
            put(
                &mut v,
                "/webhook/changelog/items/0/toString",
                json!(self.title(case, rev)),
            )?;
            put(
                &mut v,
                "/webhook/issue/fields/summary",
                json!(self.title(case, rev)),
            )?;
            Ok(v)
        };
        let value: Vec<u8> = match kind {
            Kind::Title { case, rev } => {
                serde_json::to_vec(&title(case, rev, CONFIGURED_PROJECT)?)?
            }
            Kind::Unconfigured => serde_json::to_vec(&title(
                u32::try_from(i % 1000).unwrap_or(0) + 900_000,
                1,
                UNCONFIGURED_PROJECT,
            )?)?,
            Kind::Comment { case } => {
                let mut v = t.comment.clone();
                issue(&mut v, case, CONFIGURED_PROJECT)?;
                let cid = self.comment_id(i).to_string();
                put(&mut v, "/webhook/comment/id", json!(cid))?;
                put(
                    &mut v,
                    "/webhook/comment/body",
                    json!(format!("Chaos comment {cid}: reproduced on staging.")),
                )?;
                serde_json::to_vec(&v)?
            }
            Kind::Priority { case } => {
                let mut v = t.priority.clone();
                issue(&mut v, case, CONFIGURED_PROJECT)?;
                put(&mut v, "/webhook/user/accountId", json!(HUMAN_USER))?;
                put(
                    &mut v,
                    "/webhook/changelog/id",
                    json!(self.changelog_id(i).to_string()),
                )?;
                put(&mut v, "/webhook/changelog/items/0/from", json!("3"))?;
                put(
                    &mut v,
                    "/webhook/changelog/items/0/fromString",
                    json!("Medium"),
                )?;
                put(&mut v, "/webhook/changelog/items/0/to", json!("1"))?;
                put(
                    &mut v,
                    "/webhook/changelog/items/0/toString",
                    json!("Highest"),
                )?;
                serde_json::to_vec(&v)?
            }
            Kind::Poison(p) => self.poison(t, i, p)?,
        };
        let case = match kind {
            Kind::Title { case, .. } | Kind::Comment { case } | Kind::Priority { case } => {
                self.issue_id(case)
            }
            _ => 900_000 + i % 1000,
        };
        Ok((format!("1:{case}"), value))
    }

    fn poison(&self, t: &Templates, i: u64, p: Poison) -> Result<Vec<u8>> {
        Ok(match p {
            Poison::InvalidJson => {
                format!("{{\"orgId\":1,\"webhook\":{{\"timestamp\":{i},\"issue\":{{\"id\":")
                    .into_bytes()
            }
            Poison::WrongTypes => serde_json::to_vec(&json!({
                "orgId": {"id": "one"},
                "jiraAccountId": 42,
                "webhook": ["timestamp", i, {"issue": "SUP-1"}],
            }))?,
            Poison::TenMegabytes => {
                // Valid JSON start, 10 MB of text, never closed.
                let mut v = format!("{{\"orgId\":1,\"jiraAccountId\":\"{ACCOUNT}\",\"webhook\":{{\"comment\":{{\"body\":\"").into_bytes();
                v.resize(10 * 1024 * 1024, b'x');
                v
            }
            Poison::DeepNesting => {
                let depth = 10_000;
                let mut v = Vec::with_capacity(depth * 8 + 64);
                v.extend_from_slice(b"{\"orgId\":1,\"webhook\":");
                for _ in 0..depth {
                    v.extend_from_slice(b"{\"a\":[");
                }
                v.extend_from_slice(b"1");
                for _ in 0..depth {
                    v.extend_from_slice(b"]}");
                }
                v.push(b'}');
                v
            }
            Poison::InvalidUtf8 => {
                let mut v = serde_json::to_vec(&t.comment)?;
                // Raw 0xff 0xfe bytes inside the first string value.
                if let Some(pos) = v.windows(7).position(|w| w == b"\"orgId\"") {
                    v.splice(pos + 1..pos + 1, [0xff, 0xfe, 0xc3, 0x28]);
                } else {
                    v.extend_from_slice(&[0xff, 0xfe]);
                }
                v
            }
            Poison::HugeNumbers => {
                // A title event whose org id and timestamp do not fit any integer type.
                let case = 0;
                let mut v = t.title.clone();
                put(
                    &mut v,
                    "/webhook/issue/id",
                    json!(self.issue_id(case).to_string()),
                )?;
                put(
                    &mut v,
                    "/webhook/changelog/id",
                    json!(self.changelog_id(i).to_string()),
                )?;
                let text = serde_json::to_string(&v)?;
                let text = text.replacen(
                    "\"orgId\":1",
                    "\"orgId\":184467440737095516161844674407370955161600000000",
                    1,
                );
                text.replacen("\"timestamp\":", "\"timestamp\":1e999999,\"x\":", 1)
                    .into_bytes()
            }
        })
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Inserts the plan's cases (org 1, `proj-support`, linked to their Jira issues) at version 1,
/// title revision 0, priority P3.
fn insert_cases(store: &Store, plan: &Plan) -> Result<()> {
    for j in 0..plan.cases {
        let id = plan.issue_id(j);
        let case = stack::linked_jira_case(
            plan.case_id(j).as_str(),
            &plan.title(j, 0),
            ACCOUNT,
            id,
            "CHS",
        )
        .context("building a chaos case")?;
        store.insert_case(case);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Producing

/// Where each record landed, filled in by the producer task.
#[derive(Default)]
struct Deliveries {
    /// Per record index: (partition, offset), once delivered.
    at: Vec<Option<(i32, i64)>>,
    /// Records whose production failed, with why.
    failed: Vec<(u64, String)>,
    done: bool,
}

impl Deliveries {
    fn ends(&self) -> BTreeMap<i32, i64> {
        let mut ends = BTreeMap::new();
        for (p, o) in self.at.iter().flatten() {
            let e = ends.entry(*p).or_insert(0);
            *e = (*e).max(o + 1);
        }
        ends
    }
    fn delivered(&self) -> u64 {
        self.at.iter().flatten().count() as u64
    }
}

fn producer(bootstrap: &str) -> Result<FutureProducer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "300000")
        .set("message.max.bytes", "16000000")
        .set("queue.buffering.max.messages", "20000")
        .set("queue.buffering.max.kbytes", "262144")
        .create()
        .context("creating the chaos producer")
}

/// Produces `records` (index, key, value) and records their deliveries.
async fn produce_records(
    producer: &FutureProducer,
    topic: &str,
    records: Vec<(u64, String, Vec<u8>)>,
    deliveries: &Mutex<Deliveries>,
) -> Result<()> {
    let mut pending = Vec::with_capacity(records.len());
    for (i, key, value) in records {
        let mut record = FutureRecord::<str, [u8]>::to(topic)
            .key(key.as_str())
            .payload(value.as_slice());
        loop {
            match producer.send_result(record) {
                Ok(f) => {
                    pending.push((i, f));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => {
                    lock(deliveries)?.failed.push((i, e.to_string()));
                    break;
                }
            }
        }
    }
    for (i, f) in pending {
        let result = f.await;
        let mut d = lock(deliveries)?;
        match result {
            Ok(Ok(delivery)) => {
                if let Some(slot) = d.at.get_mut(usize::try_from(i).unwrap_or(usize::MAX)) {
                    *slot = Some((delivery.partition, delivery.offset));
                }
            }
            Ok(Err((e, _))) => d.failed.push((i, e.to_string())),
            Err(_) => d.failed.push((i, "delivery report dropped".into())),
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| anyhow::anyhow!("a chaos lock was poisoned"))
}

// ---------------------------------------------------------------------------------------
// A TCP proxy in front of Tansu: the broker "restarts" for clients when it cuts them.

struct Proxy {
    port: u16,
    listener: Mutex<Option<tokio::net::TcpListener>>,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn bind() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the broker proxy")?;
        Ok(Self {
            port: listener.local_addr()?.port(),
            listener: Mutex::new(Some(listener)),
            up: Arc::new(AtomicBool::new(true)),
            conns: Arc::new(Mutex::new(Vec::new())),
        })
    }

    fn start(&self, upstream: u16) {
        let Some(listener) = self.listener.lock().ok().and_then(|mut l| l.take()) else {
            return;
        };
        let up = self.up.clone();
        let conns = self.conns.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut c) = conns.lock() {
                    c.retain(|h| !h.is_finished());
                    c.push(task.abort_handle());
                }
            }
        });
    }

    /// Up: connections pass. Down: every open connection is cut, new ones are closed at once.
    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up && let Ok(mut c) = self.conns.lock() {
            for h in c.drain(..) {
                h.abort();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The readers' JSON logs

#[derive(Default)]
struct LogBook {
    files: Vec<(PathBuf, u64)>,
    applied: HashMap<String, u32>,
    filtered: HashMap<String, Vec<String>>,
    permanent: HashMap<String, u32>,
    decode_failed: HashMap<(i32, i64), u32>,
    retry_needed: u64,
    state_conflict: u64,
    version_mismatch: u64,
    panics: Vec<String>,
    errors: u64,
}

impl LogBook {
    fn add(&mut self, path: PathBuf) {
        self.files.push((path, 0));
    }

    /// Reads every complete line added since the last call.
    fn refresh(&mut self) -> Result<()> {
        let mut lines = Vec::new();
        for (path, pos) in &mut self.files {
            let Ok(mut f) = std::fs::File::open(&*path) else {
                continue;
            };
            f.seek(SeekFrom::Start(*pos))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            *pos += complete as u64;
            let text =
                String::from_utf8_lossy(buf.get(..complete).unwrap_or_default()).into_owned();
            lines.extend(text.lines().map(str::to_owned));
        }
        for line in lines {
            self.line(&line);
        }
        Ok(())
    }

    fn line(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            if line.contains("panicked at") {
                self.panics.push(line.chars().take(300).collect());
            }
            return;
        };
        if v.get("level").and_then(Value::as_str) == Some("ERROR") {
            self.errors += 1;
        }
        let id = v.get("event_id").and_then(Value::as_str).map(str::to_owned);
        match v.get("outcome").and_then(Value::as_str) {
            Some("processed") => {
                if let Some(id) = id {
                    *self.applied.entry(id).or_insert(0) += 1;
                }
            }
            Some("filtered") => {
                let reason = v
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                match reason.as_str() {
                    "state_conflict" => self.state_conflict += 1,
                    "case_version_mismatch" => self.version_mismatch += 1,
                    _ => {}
                }
                if let Some(id) = id {
                    self.filtered.entry(id).or_default().push(reason);
                }
            }
            Some("permanent_error") => {
                if let Some(id) = id {
                    *self.permanent.entry(id).or_insert(0) += 1;
                }
            }
            Some("decode_failed") => {
                let p = v.get("partition").and_then(Value::as_i64);
                let o = v.get("offset").and_then(Value::as_i64);
                if let (Some(p), Some(o)) = (p, o) {
                    *self
                        .decode_failed
                        .entry((i32::try_from(p).unwrap_or(-1), o))
                        .or_insert(0) += 1;
                }
            }
            Some("retry_needed") => self.retry_needed += 1,
            _ => {}
        }
    }

    /// Per reader run: seconds from its first log line to its first event outcome (group
    /// join + assignment + first handling), from the log timestamps.
    fn start_to_first_outcome_s(&self) -> Vec<f64> {
        let ts = |line: &str| -> Option<chrono::DateTime<chrono::Utc>> {
            let v: Value = serde_json::from_str(line).ok()?;
            chrono::DateTime::parse_from_rfc3339(v.get("timestamp")?.as_str()?)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let mut out = Vec::new();
        for (path, _) in &self.files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let start = text.lines().find_map(ts);
            let first = text
                .lines()
                .filter(|l| l.contains("\"outcome\""))
                .find_map(ts);
            if let (Some(a), Some(b)) = (start, first) {
                out.push((b - a).num_milliseconds() as f64 / 1000.0);
            }
        }
        out
    }

    fn has_outcome(&self, id: &str) -> bool {
        self.applied.contains_key(id)
            || self.filtered.contains_key(id)
            || self.permanent.contains_key(id)
    }

    fn filtered_by_reason(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for reasons in self.filtered.values() {
            for r in reasons {
                *out.entry(r.clone()).or_insert(0) += 1;
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// The readers

/// One supervised reader "pod": restarted when it exits (unless stopped on purpose).
struct Slot {
    name: String,
    reader: Option<Reader>,
    runs: u32,
    /// Restarts after an exit of its own (crash loop), not after a kill by the harness.
    crash_restarts: u32,
    kill_restarts: u32,
    nonzero_exits: Vec<String>,
    restart_at: Option<Instant>,
    backoff: Duration,
    started_at: Instant,
    supervise: bool,
}

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

/// A scenario in progress.
struct Scenario<'a> {
    env: &'a Env<'a>,
    n: u8,
    name: &'static str,
    rng: Rng,
    plan: Plan,
    topic: String,
    group: String,
    extra: Vec<(&'static str, String)>,
    slots: Vec<Slot>,
    logs: LogBook,
    deliveries: Arc<Mutex<Deliveries>>,
    producer_task: Option<tokio::task::JoinHandle<Result<()>>>,
    violations: Vec<String>,
    started: Instant,
    peak_rss_kib: u64,
    kills: u32,
    sigterms: u32,
    /// Fault heals not yet followed by a new effect: (when, progress then).
    heals: Vec<(Instant, u64)>,
    recover_s: Vec<f64>,
    fresh_s: Option<f64>,
    writer: WriterBook,
    writer_shared: Arc<Mutex<WriterBook>>,
    writer_stop: Arc<AtomicBool>,
    writer_task: Option<tokio::task::JoinHandle<()>>,
    update_calls_before: u64,
    notes: Vec<String>,
    readiness: Vec<(f64, bool)>,
    initial_versions: Vec<u64>,
    lost: u64,
    duplicated: u64,
}

#[derive(Default)]
struct WriterBook {
    edits: Vec<u64>,
    last_description: Vec<Option<String>>,
    priority_set: Vec<bool>,
    total: u64,
}

const NAMES: [&str; 6] = [
    "1 kill -9 at random moments",
    "2 Case API outage + restart loop",
    "3 three readers join and leave",
    "4 broker unreachable mid-stream",
    "5 concurrent writer (version conflicts)",
    "6 poison storm",
];

impl<'a> Scenario<'a> {
    fn new(env: &'a Env<'a>, n: u8, seed: u64) -> Result<Self> {
        let args = env.args;
        let mut rng = Rng(seed ^ (u64::from(n) << 56));
        let cases = if n == 5 {
            (args.cases / 10).max(10)
        } else {
            args.cases
        };
        let cases = u32::try_from(cases).context("--cases is too large")?;
        let poison = if n == 6 { 0.05 } else { 0.0 };
        let plan = Plan::new(n, args.events(), cases, &mut rng, poison);
        insert_cases(&env.store, &plan)?;
        let initial_versions = (0..cases)
            .map(|j| {
                env.store
                    .case(OrgId(1), &plan.case_id(j))
                    .map_or(0, |c| c.version.0)
            })
            .collect();
        let topic = format!("chaos_s{n}_{}", env.run_id);
        env.broker
            .create_topic(&topic, args.partitions)
            .with_context(|| format!("creating topic {topic}"))?;
        let mut extra = Vec::new();
        if n == 2 {
            // A retry budget shorter than the outage: the reader gives up and exits non-zero.
            extra.extend([
                ("kafka.retry_max_attempts", "2".to_owned()),
                ("kafka.retry_initial_backoff_ms", "200".to_owned()),
                ("kafka.retry_max_backoff_ms", "1000".to_owned()),
                ("case_api.retry_max_attempts", "3".to_owned()),
                ("case_api.retry_max_elapsed_ms", "1500".to_owned()),
                ("case_api.deadline_ms", "1000".to_owned()),
            ]);
        }
        let name = NAMES.get(usize::from(n) - 1).copied().unwrap_or("?");
        println!(
            "\n== scenario {name}: {} records on {topic}",
            plan.kinds.len()
        );
        let len = plan.kinds.len();
        let c = cases as usize;
        Ok(Self {
            env,
            n,
            name,
            rng,
            topic: topic.clone(),
            group: format!("chaos-s{n}-{}", env.run_id),
            extra,
            slots: Vec::new(),
            logs: LogBook::default(),
            deliveries: Arc::new(Mutex::new(Deliveries {
                at: vec![None; len],
                ..Deliveries::default()
            })),
            producer_task: None,
            violations: Vec::new(),
            started: Instant::now(),
            peak_rss_kib: 0,
            kills: 0,
            sigterms: 0,
            heals: Vec::new(),
            recover_s: Vec::new(),
            fresh_s: None,
            writer: WriterBook::default(),
            writer_shared: Arc::new(Mutex::new(WriterBook {
                edits: vec![0; c],
                last_description: vec![None; c],
                priority_set: vec![false; c],
                total: 0,
            })),
            writer_stop: Arc::new(AtomicBool::new(false)),
            writer_task: None,
            update_calls_before: env.store.calls(case_sandbox::Rpc::UpdateCase),
            notes: Vec::new(),
            readiness: Vec::new(),
            initial_versions,
            lost: 0,
            duplicated: 0,
            plan,
        })
    }

    fn settings(&self) -> Vec<(&'static str, String)> {
        let mut s = vec![
            ("kafka.brokers", self.env.bootstrap.clone()),
            ("kafka.topic", self.topic.clone()),
            ("kafka.group_id", self.group.clone()),
            ("case_api.endpoint", self.env.sandbox_url.clone()),
            ("kafka.auto_offset_reset", "earliest".to_owned()),
            ("kafka.session_timeout_ms", "6000".to_owned()),
            ("kafka.drain_timeout_ms", "3000".to_owned()),
            ("kafka.shutdown_grace_ms", SHUTDOWN_GRACE_MS.to_owned()),
            (
                "kafka.librdkafka.auto.commit.interval.ms",
                "1000".to_owned(),
            ),
            ("tracing.log_level", LOG_FILTER.to_owned()),
        ];
        s.extend(self.extra.iter().cloned());
        s
    }

    /// Starts (or restarts) the reader of slot `i`.
    fn launch(&mut self, i: usize) -> Result<()> {
        let settings = self.settings();
        let Some(slot) = self.slots.get_mut(i) else {
            bail!("no reader slot {i}");
        };
        slot.runs += 1;
        let name = format!("s{}-{}-run{}", self.n, slot.name, slot.runs);
        let reader = Reader::start(
            &self.env.bin_dir,
            "jira",
            &name,
            &settings,
            &self.env.log_dir,
        )?;
        self.logs.add(reader.log.clone());
        slot.reader = Some(reader);
        slot.restart_at = None;
        slot.started_at = Instant::now();
        Ok(())
    }

    fn add_reader(&mut self, name: &str) -> Result<usize> {
        self.slots.push(Slot {
            name: name.to_owned(),
            reader: None,
            runs: 0,
            crash_restarts: 0,
            kill_restarts: 0,
            nonzero_exits: Vec::new(),
            restart_at: None,
            backoff: Duration::from_secs(1),
            started_at: Instant::now(),
            supervise: true,
        });
        let i = self.slots.len() - 1;
        self.launch(i)?;
        Ok(i)
    }

    /// Starts the producer task: every planned record, as fast as the broker takes them.
    fn start_producing(&mut self) -> Result<()> {
        let producer = producer(&self.env.bootstrap)?;
        let topic = self.topic.clone();
        let deliveries = self.deliveries.clone();
        let kinds = self.plan.kinds.clone();
        let plan = Plan {
            scenario: self.plan.scenario,
            kinds: Vec::new(),
            cases: self.plan.cases,
            base_ts: self.plan.base_ts,
        };
        let templates = Templates {
            title: self.env.templates.title.clone(),
            comment: self.env.templates.comment.clone(),
            priority: self.env.templates.priority.clone(),
        };
        let rate = self.env.args.rate();
        let chunk_len = if rate == 0 { 2_000 } else { 50 };
        self.producer_task = Some(tokio::spawn(async move {
            let started = Instant::now();
            let mut chunk = Vec::new();
            for (i, kind) in kinds.iter().enumerate() {
                let (key, value) = plan.render(&templates, i as u64, *kind)?;
                chunk.push((i as u64, key, value));
                if chunk.len() >= chunk_len {
                    produce_records(&producer, &topic, std::mem::take(&mut chunk), &deliveries)
                        .await?;
                    if rate > 0 {
                        let due = Duration::from_secs_f64((i + 1) as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
            produce_records(&producer, &topic, chunk, &deliveries).await?;
            lock(&deliveries)?.done = true;
            Ok(())
        }));
        Ok(())
    }

    /// Effects visible in the sandbox for this scenario's cases: version bumps (minus the
    /// concurrent writer's) plus timeline cells.
    fn progress(&self) -> u64 {
        let mut bumps = 0u64;
        for (j, initial) in self.initial_versions.iter().enumerate() {
            let j32 = u32::try_from(j).unwrap_or(0);
            if let Some(c) = self.env.store.case(OrgId(1), &self.plan.case_id(j32)) {
                bumps += c.version.0.saturating_sub(*initial);
            }
        }
        let prefix = format!("chaos-s{}-", self.n);
        let cells = self
            .env
            .store
            .timeline_cells()
            .iter()
            .filter(|c| c.cell.case_id.as_str().starts_with(&prefix))
            .count() as u64;
        let writer = self.writer_shared.lock().map_or(0, |w| w.total);
        (bumps + cells).saturating_sub(writer)
    }

    /// Effects the whole plan gives when every record is applied once.
    fn expected_effects(&self) -> u64 {
        self.plan
            .kinds
            .iter()
            .filter(|k| matches!(k, Kind::Title { .. } | Kind::Comment { .. }))
            .count() as u64
    }

    /// Supervisor tick: restarts exited readers (crash loop with back-off), samples RSS.
    fn supervise(&mut self) -> Result<()> {
        let mut to_launch = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(reader) = slot.reader.as_mut() {
                if let Some(kib) = stack::peak_rss_kib(reader.pid()) {
                    self.peak_rss_kib = self.peak_rss_kib.max(kib);
                }
                if let Some(status) = reader.exit_status() {
                    let log = reader.log.display().to_string();
                    slot.reader = None;
                    if !status.success() {
                        slot.nonzero_exits.push(format!("{status} ({log})"));
                    }
                    if slot.supervise {
                        if slot.started_at.elapsed() > Duration::from_secs(60) {
                            slot.backoff = Duration::from_secs(1);
                        }
                        slot.restart_at = Some(Instant::now() + slot.backoff);
                        slot.backoff = (slot.backoff * 2).min(Duration::from_secs(8));
                        slot.crash_restarts += 1;
                    }
                }
            }
            if slot.reader.is_none() && slot.restart_at.is_some_and(|t| Instant::now() >= t) {
                to_launch.push(i);
            }
        }
        for i in to_launch {
            self.launch(i)?;
        }
        Ok(())
    }

    async fn committed(&self) -> Result<BTreeMap<i32, Option<i64>>> {
        Ok(committed_offsets(
            &self.env.bootstrap,
            &self.group,
            &self.topic,
            self.env.args.partitions,
        )
        .await?)
    }

    /// Waits until `progress()` reaches `target`, supervising; fails on a stall.
    async fn wait_progress(&mut self, target: u64) -> Result<()> {
        let mut last = (Instant::now(), self.progress());
        loop {
            self.supervise()?;
            let p = self.progress();
            self.note_progress(p);
            if p >= target {
                return Ok(());
            }
            if p != last.1 {
                last = (Instant::now(), p);
            }
            if last.0.elapsed() > STALL {
                bail!("progress stuck at {p}/{target} effects for {STALL:?}");
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// Records the recovery time of every heal that progress `p` has passed since.
    fn note_progress(&mut self, p: u64) {
        let now = Instant::now();
        let mut pending = Vec::new();
        for (heal, at) in self.heals.drain(..) {
            if p > at {
                self.recover_s.push(now.duration_since(heal).as_secs_f64());
            } else {
                pending.push((heal, at));
            }
        }
        self.heals = pending;
    }

    /// Starts the concurrent writer of scenario 5: about 1,000 edits/s of random cases'
    /// descriptions, and once per tenth case, at a random moment, its priority.
    fn start_writer(&mut self) {
        let store = self.env.store.clone();
        let book = self.writer_shared.clone();
        let stop = self.writer_stop.clone();
        let mut rng = Rng(self.rng.next());
        let cases = self.plan.cases;
        let n = self.n;
        self.writer_task = Some(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..5 {
                    let j = u32::try_from(rng.below(u64::from(cases))).unwrap_or(0);
                    let ju = j as usize;
                    let Ok(mut w) = book.lock() else { return };
                    let update = if j % 10 == 0
                        && !w.priority_set.get(ju).copied().unwrap_or(true)
                        && rng.below(40) == 0
                    {
                        if let Some(p) = w.priority_set.get_mut(ju) {
                            *p = true;
                        }
                        FieldUpdate::Priority(Some(WRITER_PRIORITY.to_owned()))
                    } else {
                        let text = format!("writer edit {}", w.total);
                        if let Some(d) = w.last_description.get_mut(ju) {
                            *d = Some(text.clone());
                        }
                        FieldUpdate::Description(Text::new(text))
                    };
                    let id = CaseId::from(format!("chaos-s{n}-{j}"));
                    if store.edit_case(OrgId(1), &id, update).is_some() {
                        w.total += 1;
                        if let Some(e) = w.edits.get_mut(ju) {
                            *e += 1;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }

    /// Stops the concurrent writer and takes its book for the oracle.
    async fn stop_writer(&mut self) {
        self.writer_stop.store(true, Ordering::SeqCst);
        let Some(task) = self.writer_task.take() else {
            return;
        };
        let _ = task.await;
        if let Ok(mut w) = self.writer_shared.lock() {
            self.writer = std::mem::take(&mut *w);
        }
    }

    /// Kills slot `i` with SIGKILL, checks the committed offsets against what is visible,
    /// and restarts it.
    async fn kill_and_restart(&mut self, i: usize) -> Result<()> {
        if let Some(reader) = self.slots.get_mut(i).and_then(|s| s.reader.as_mut()) {
            if let Some(kib) = stack::peak_rss_kib(reader.pid()) {
                self.peak_rss_kib = self.peak_rss_kib.max(kib);
            }
            reader.kill()?;
        }
        self.kills += 1;
        if let Some(slot) = self.slots.get_mut(i) {
            slot.reader = None;
            slot.kill_restarts += 1;
        }
        self.check_committed_not_past_unfinished().await?;
        self.heals.push((Instant::now(), self.progress()));
        self.launch(i)
    }

    /// At this instant, every record below each partition's committed offset must be
    /// accounted for (its outcome logged or its effect visible).
    async fn check_committed_not_past_unfinished(&mut self) -> Result<()> {
        let committed = self.committed().await?;
        self.logs.refresh()?;
        let cells = self.cell_keys();
        let d = lock(&self.deliveries)?;
        let mut bad = Vec::new();
        for (i, at) in d.at.iter().enumerate() {
            let Some((p, o)) = at else { continue };
            let Some(Some(c)) = committed.get(p) else {
                continue;
            };
            if o < c {
                let kind = self.plan.kinds.get(i).copied();
                if let Some(kind) = kind
                    && !self.accounted(i as u64, kind, (*p, *o), &cells)
                {
                    bad.push(format!("{p}/{o} ({kind:?})"));
                }
            }
        }
        drop(d);
        if !bad.is_empty() {
            self.violations.push(format!(
                "committed offsets {committed:?} passed {} records with no outcome and no visible effect, e.g. {}",
                bad.len(),
                bad.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(())
    }

    fn cell_keys(&self) -> HashMap<String, u32> {
        let prefix = format!("chaos-s{}-", self.n);
        let mut out = HashMap::new();
        for c in self.env.store.timeline_cells() {
            if c.cell.case_id.as_str().starts_with(&prefix) {
                *out.entry(c.cell.idempotency_key.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    fn accounted(&self, i: u64, kind: Kind, at: (i32, i64), cells: &HashMap<String, u32>) -> bool {
        let id = self.plan.event_id(i, kind);
        let logged = id.as_deref().is_some_and(|id| self.logs.has_outcome(id));
        match kind {
            Kind::Comment { .. } => logged || cells.contains_key(&self.plan.cell_key(i)),
            Kind::Unconfigured => id.as_deref().is_some_and(|id| {
                self.logs
                    .filtered
                    .get(id)
                    .is_some_and(|r| r.iter().any(|r| r == "no_matching_metadata"))
            }),
            Kind::Title { .. } | Kind::Priority { .. } => logged,
            Kind::Poison(_) => logged || self.logs.decode_failed.contains_key(&at),
        }
    }

    // -----------------------------------------------------------------------------------
    // The scenarios

    async fn run(&mut self) -> Result<()> {
        if self.n == 5 {
            self.env
                .store
                .faults()
                .set_latency(Duration::from_millis(2));
            self.start_writer();
        }
        self.add_reader("a")?;
        if self.n == 3 {
            // The other two join later.
        }
        self.start_producing()?;
        let total = self.expected_effects().max(1);
        let at = |f: f64| ((total as f64) * f) as u64;
        match self.n {
            1 => {
                let kills = self.env.args.kills();
                let mut moments: Vec<f64> =
                    (0..kills).map(|_| 0.03 + 0.9 * self.rng.unit()).collect();
                moments.sort_by(f64::total_cmp);
                println!(
                    "chaos: kill moments (share of effects applied): {}",
                    moments
                        .iter()
                        .map(|m| format!("{m:.3}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                for m in moments {
                    // The restarted reader applies something before the next kill (when
                    // anything is left), so every kill lands on a working reader.
                    let now = self.progress();
                    if now < total {
                        self.wait_progress(now + 1).await?;
                    }
                    self.wait_progress(at(m)).await?;
                    let jitter = Duration::from_millis(self.rng.below(300));
                    tokio::time::sleep(jitter).await;
                    self.kill_and_restart(0).await?;
                }
            }
            2 => {
                self.wait_progress(at(0.3)).await?;
                let outage = self.env.args.outage();
                println!("chaos: Case API outage of {outage:?} from now");
                self.env.store.faults().outage(outage);
                let ends = Instant::now() + outage;
                while Instant::now() < ends {
                    self.supervise()?;
                    tokio::time::sleep(TICK).await;
                }
                self.heals.push((Instant::now(), self.progress()));
                let crashes: u32 = self.slots.iter().map(|s| s.crash_restarts).sum();
                if crashes == 0 {
                    self.violations.push(format!(
                        "the reader did not exit during the {outage:?} outage although its retry budget (2 attempts, 1.5 s per call) is shorter"
                    ));
                }
                for slot in &self.slots {
                    for exit in &slot.nonzero_exits {
                        self.notes.push(format!("exit during the outage: {exit}"));
                    }
                }
            }
            3 => {
                // Each joining reader must be ready (in the group) before the next step: a
                // reader that is sent SIGTERM before it installed its handler dies of the
                // signal, which is not what this scenario is about (see the report).
                self.wait_ready(0).await?;
                self.wait_progress(at(0.15)).await?;
                let b = self.add_reader("b")?;
                self.wait_ready(b).await?;
                self.wait_progress(at(0.3)).await?;
                let c = self.add_reader("c")?;
                self.wait_ready(c).await?;
                self.wait_progress(at(0.45)).await?;
                self.sigterm(b)?;
                self.wait_progress(at(0.6)).await?;
                if let Some(s) = self.slots.get_mut(b) {
                    s.supervise = true;
                }
                self.launch(b)?;
                self.wait_ready(b).await?;
                self.wait_progress(at(0.75)).await?;
                self.sigterm(0)?;
                self.heals.push((Instant::now(), self.progress()));
            }
            4 => {
                if self.env.args.broker != BrokerKind::Tansu {
                    bail!(
                        "scenario 4 cuts the broker through the proxy in front of Tansu: run it with --broker tansu"
                    );
                }
                self.wait_progress(at(0.3)).await?;
                let down = self.env.args.broker_down();
                println!("chaos: broker unreachable for {down:?} from now");
                self.env.proxy.set_up(false);
                let t0 = Instant::now();
                let ends = t0 + down;
                while Instant::now() < ends {
                    self.supervise()?;
                    self.sample_readiness(t0);
                    tokio::time::sleep(TICK).await;
                }
                self.env.proxy.set_up(true);
                self.heals.push((Instant::now(), self.progress()));
                let back = Instant::now() + Duration::from_secs(60);
                while Instant::now() < back {
                    self.supervise()?;
                    self.sample_readiness(t0);
                    if self.readiness.last().is_some_and(|(_, r)| *r) {
                        break;
                    }
                    tokio::time::sleep(TICK).await;
                }
                let went_false = self.readiness.iter().any(|(_, r)| !r);
                let back_true = self.readiness.last().is_some_and(|(_, r)| *r);
                let restarted: u32 = self.slots.iter().map(|s| s.crash_restarts).sum();
                if !(went_false || restarted > 0) {
                    self.violations.push(format!(
                        "readiness stayed true during the {down:?} broker outage and the reader did not restart"
                    ));
                }
                if !back_true {
                    self.violations
                        .push("readiness did not come back within 60 s of the broker".into());
                }
            }
            _ => {}
        }
        self.wait_done().await?;
        if self.n == 5 {
            self.stop_writer().await;
            self.env.store.faults().set_latency(Duration::ZERO);
        }
        self.fresh_event().await?;
        Ok(())
    }

    /// Waits until the reader of slot `i` answers `/readiness` 200 (at most 60 s).
    async fn wait_ready(&mut self, i: usize) -> Result<()> {
        let t0 = Instant::now();
        loop {
            self.supervise()?;
            let slot = self.slots.get(i).context("no such reader slot")?;
            if slot.reader.as_ref().is_some_and(Reader::ready) {
                return Ok(());
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("reader {} was not ready within 60 s", slot.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn sample_readiness(&mut self, t0: Instant) {
        if let Some(r) = self.slots.first().and_then(|s| s.reader.as_ref()) {
            self.readiness.push((t0.elapsed().as_secs_f64(), r.ready()));
        }
    }

    /// SIGTERM to slot `i` (a reader leaving the group): exit 0 within the grace period.
    fn sigterm(&mut self, i: usize) -> Result<()> {
        let Some(slot) = self.slots.get_mut(i) else {
            bail!("no reader slot {i}");
        };
        slot.supervise = false;
        slot.restart_at = None;
        if let Some(mut reader) = slot.reader.take() {
            if let Some(kib) = stack::peak_rss_kib(reader.pid()) {
                self.peak_rss_kib = self.peak_rss_kib.max(kib);
            }
            self.sigterms += 1;
            let started = Instant::now();
            match reader.terminate(SHUTDOWN_GRACE) {
                Ok(status) if status.success() => {}
                Ok(status) => self.violations.push(format!(
                    "{} exited {status} on SIGTERM (log: {})",
                    reader.name,
                    reader.log.display()
                )),
                Err(e) => self.violations.push(format!("{e:#}")),
            }
            self.notes.push(format!(
                "{} stopped by SIGTERM in {:.1} s",
                reader.name,
                started.elapsed().as_secs_f64()
            ));
        }
        Ok(())
    }

    /// Waits until production finished and the committed offsets equal the produced ends.
    async fn wait_done(&mut self) -> Result<()> {
        let mut last = (Instant::now(), self.progress(), BTreeMap::new());
        loop {
            self.supervise()?;
            let (done, ends) = {
                let d = lock(&self.deliveries)?;
                (d.done, d.ends())
            };
            let p = self.progress();
            self.note_progress(p);
            let committed = self.committed().await.unwrap_or_default();
            if done
                && !ends.is_empty()
                && ends
                    .iter()
                    .all(|(part, end)| committed.get(part).copied().flatten() == Some(*end))
            {
                return Ok(());
            }
            if p != last.1 || committed != last.2 {
                last = (Instant::now(), p, committed);
            }
            if last.0.elapsed() > STALL {
                bail!(
                    "stalled for {STALL:?}: effects {p}, committed {:?}, produced ends {ends:?} (production finished: {done})",
                    last.2
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// After the fault: one more comment, which must be applied within the deadline.
    async fn fresh_event(&mut self) -> Result<()> {
        let i = self.plan.kinds.len() as u64;
        let kind = Kind::Comment { case: 0 };
        self.plan.kinds.push(kind);
        lock(&self.deliveries)?.at.push(None);
        let (key, value) = self.plan.render(&self.env.templates, i, kind)?;
        let producer = producer(&self.env.bootstrap)?;
        let t0 = Instant::now();
        produce_records(
            &producer,
            &self.topic,
            vec![(i, key, value)],
            &self.deliveries,
        )
        .await?;
        let cell_key = self.plan.cell_key(i);
        loop {
            self.supervise()?;
            if self.cell_keys().contains_key(&cell_key) {
                self.fresh_s = Some(t0.elapsed().as_secs_f64());
                break;
            }
            if t0.elapsed() > FRESH_DEADLINE {
                self.violations.push(format!(
                    "the fresh event produced after the fault was not applied within {FRESH_DEADLINE:?}"
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its offset must be committed too.
        self.wait_done().await
    }

    /// Stops every reader (SIGTERM), then runs the oracle.
    async fn finish(&mut self) -> Report {
        for i in 0..self.slots.len() {
            if let Err(e) = self.sigterm(i) {
                self.violations.push(format!("{e:#}"));
            }
        }
        if let Some(task) = self.producer_task.take() {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => self.violations.push(format!("the producer failed: {e:#}")),
                Ok(Err(e)) => self
                    .violations
                    .push(format!("the producer task failed: {e}")),
                Err(_) => self
                    .violations
                    .push("the producer had not finished at the end".into()),
            }
        }
        self.stop_writer().await;
        if let Err(e) = self.oracle().await {
            self.violations
                .push(format!("the oracle could not run: {e:#}"));
        }
        self.report()
    }

    async fn oracle(&mut self) -> Result<()> {
        self.logs.refresh()?;
        let cells = self.cell_keys();
        let committed = self.committed().await?;
        let (at, failed, ends) = {
            let d = lock(&self.deliveries)?;
            (d.at.clone(), d.failed.clone(), d.ends())
        };
        // Production.
        for (i, why) in failed.iter().take(5) {
            let kind = self.plan.kinds.get(*i as usize);
            self.notes
                .push(format!("record {i} ({kind:?}) was not produced: {why}"));
        }
        let ten_mb_failed = failed.iter().any(|(i, _)| {
            matches!(
                self.plan.kinds.get(*i as usize),
                Some(Kind::Poison(Poison::TenMegabytes))
            )
        });
        if !failed.is_empty() && (failed.len() > 1 || !ten_mb_failed) {
            self.violations.push(format!(
                "{} records could not be produced (see notes)",
                failed.len()
            ));
        }
        // 1. Every produced record accounted for.
        let mut lost = Vec::new();
        for (i, kind) in self.plan.kinds.iter().enumerate() {
            let Some(Some(pos)) = at.get(i) else { continue };
            if !self.accounted(i as u64, *kind, *pos, &cells) {
                lost.push(format!("#{i} {kind:?} at {}/{}", pos.0, pos.1));
            }
        }
        // 2. No idempotency key with two side effects.
        let mut duplicated = Vec::new();
        for (id, n) in &self.logs.applied {
            if *n > 1 {
                duplicated.push(format!("{id} applied {n} times"));
            }
        }
        for (key, n) in &cells {
            if *n > 1 {
                duplicated.push(format!("timeline cell key {key} created {n} times"));
            }
        }
        let produced_keys: HashSet<String> = self
            .plan
            .kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| matches!(k, Kind::Comment { .. }))
            .map(|(i, _)| self.plan.cell_key(i as u64))
            .collect();
        for key in cells.keys() {
            if !produced_keys.contains(key) {
                duplicated.push(format!("timeline cell {key} matches no produced comment"));
            }
        }
        // Per case: version advanced by exactly the applied updates, the right final values.
        let mut applied_per_case = vec![0u64; self.plan.cases as usize];
        let mut max_rev = vec![0u32; self.plan.cases as usize];
        let mut priority_applied = vec![false; self.plan.cases as usize];
        for (i, kind) in self.plan.kinds.iter().enumerate() {
            let delivered = matches!(at.get(i), Some(Some(_)));
            let (case, rev) = match kind {
                Kind::Title { case, rev } => (*case, Some(*rev)),
                Kind::Priority { case } => (*case, None),
                _ => continue,
            };
            let id = self.plan.event_id(i as u64, *kind).unwrap_or_default();
            // Without the concurrent writer every delivered update must apply once (its log
            // line may be lost to a kill -9 between the write and the line: count it as
            // applied when delivered). With the writer, the logs (complete: no kill) decide.
            let applied = if self.n == 5 {
                self.logs.applied.contains_key(&id)
            } else {
                delivered
            };
            if applied {
                if let Some(a) = applied_per_case.get_mut(case as usize) {
                    *a += 1;
                }
                if let (Some(rev), Some(m)) = (rev, max_rev.get_mut(case as usize)) {
                    *m = (*m).max(rev);
                }
                if rev.is_none()
                    && let Some(p) = priority_applied.get_mut(case as usize)
                {
                    *p = true;
                }
            }
        }
        let mut bad_cases = Vec::new();
        for j in 0..self.plan.cases {
            let ju = j as usize;
            let Some(case) = self.env.store.case(OrgId(1), &self.plan.case_id(j)) else {
                bad_cases.push(format!("case {j} is missing"));
                continue;
            };
            let initial = self.initial_versions.get(ju).copied().unwrap_or(0);
            let writer = self.writer.edits.get(ju).copied().unwrap_or(0);
            let expected = initial + applied_per_case.get(ju).copied().unwrap_or(0) + writer;
            let delta = case.version.0 as i64 - expected as i64;
            if delta > 0 {
                duplicated.push(format!(
                    "case {j}: version {} but {expected} expected (updates doubled)",
                    case.version.0
                ));
            } else if delta < 0 {
                lost.push(format!(
                    "case {j}: version {} but {expected} expected (updates lost)",
                    case.version.0
                ));
            }
            let rev = max_rev.get(ju).copied().unwrap_or(0);
            if case.title.expose() != self.plan.title(j, rev) {
                bad_cases.push(format!("case {j}: the title is not revision {rev}"));
            }
            if let Some(Some(d)) = self.writer.last_description.get(ju)
                && case.description.expose() != d
            {
                bad_cases.push(format!(
                    "case {j}: the concurrent writer's last description edit was overwritten"
                ));
            }
            if self.writer.priority_set.get(ju).copied().unwrap_or(false) {
                if case.priority.as_deref() != Some(WRITER_PRIORITY) {
                    bad_cases.push(format!(
                        "case {j}: priority {:?}, the concurrent writer set {WRITER_PRIORITY}: a reader update overwrote it",
                        case.priority
                    ));
                }
            } else if priority_applied.get(ju).copied().unwrap_or(false)
                && case.priority.as_deref() != Some("P1")
            {
                bad_cases.push(format!("case {j}: the applied priority P1 is not visible"));
            }
        }
        // 3. Committed offsets == produced count per partition.
        let mut offsets_ok = true;
        for (p, end) in &ends {
            if committed.get(p).copied().flatten() != Some(*end) {
                offsets_ok = false;
            }
        }
        if !offsets_ok {
            self.violations.push(format!(
                "committed offsets {committed:?} != produced ends {ends:?}"
            ));
        }
        // Crashes where none are expected.
        let crashes: u32 = self.slots.iter().map(|s| s.crash_restarts).sum();
        if matches!(self.n, 1 | 3 | 5 | 6) && crashes > 0 {
            let exits: Vec<String> = self
                .slots
                .iter()
                .flat_map(|s| s.nonzero_exits.iter().cloned())
                .collect();
            self.violations.push(format!(
                "{crashes} unexpected reader exits: {}",
                exits.join("; ")
            ));
        }
        if !self.logs.panics.is_empty() {
            self.violations.push(format!(
                "a reader panicked: {}",
                self.logs.panics.first().cloned().unwrap_or_default()
            ));
        }
        if self.n == 6 && self.peak_rss_kib > self.env.args.rss_limit_mib * 1024 {
            self.violations.push(format!(
                "peak RSS {:.0} MiB above the {} MiB bound",
                self.peak_rss_kib as f64 / 1024.0,
                self.env.args.rss_limit_mib
            ));
        }
        if !lost.is_empty() {
            self.violations.push(format!(
                "{} records/updates lost (no outcome, no effect), e.g. {}",
                lost.len(),
                lost.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
            ));
        }
        if !duplicated.is_empty() {
            self.violations.push(format!(
                "{} duplicated side effects, e.g. {}",
                duplicated.len(),
                duplicated
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if !bad_cases.is_empty() {
            self.violations.push(format!(
                "{} cases with wrong final values, e.g. {}",
                bad_cases.len(),
                bad_cases
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        self.lost = lost.len() as u64;
        self.duplicated = duplicated.len() as u64;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Figures

/// What one scenario did and whether its oracle held.
struct Report {
    n: u8,
    name: String,
    figures: serde_json::Map<String, Value>,
    violations: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn aborted(n: u8, why: String) -> Self {
        Self {
            n,
            name: NAMES
                .get(usize::from(n).saturating_sub(1))
                .copied()
                .unwrap_or("?")
                .to_owned(),
            figures: serde_json::Map::new(),
            violations: vec![format!("the scenario could not start: {why}")],
            notes: Vec::new(),
        }
    }

    fn print(&self) {
        println!("-- scenario {}: {}", self.n, self.name);
        for (k, v) in &self.figures {
            println!("   {k:<34} {v}");
        }
        for note in &self.notes {
            println!("   note: {note}");
        }
        if self.violations.is_empty() {
            println!("   ORACLE: ok");
        } else {
            for v in &self.violations {
                println!("   VIOLATION: {v}");
            }
        }
    }

    fn json(&self) -> Value {
        json!({
            "scenario": self.n,
            "name": self.name,
            "figures": self.figures,
            "violations": self.violations,
            "notes": self.notes,
            "ok": self.violations.is_empty(),
        })
    }
}

impl Scenario<'_> {
    fn report(&mut self) -> Report {
        let (produced, failed) = match lock(&self.deliveries) {
            Ok(d) => (d.delivered(), d.failed.len()),
            Err(_) => (0, 0),
        };
        let restarts: u32 = self
            .slots
            .iter()
            .map(|s| s.crash_restarts + s.kill_restarts)
            .sum();
        let crash_restarts: u32 = self.slots.iter().map(|s| s.crash_restarts).sum();
        let nonzero: usize = self.slots.iter().map(|s| s.nonzero_exits.len()).sum();
        let poison = self
            .plan
            .kinds
            .iter()
            .filter(|k| matches!(k, Kind::Poison(_)))
            .count();
        let mut f = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_owned(), v);
        };
        put("events_produced", json!(produced));
        put("events_not_produced", json!(failed));
        put(
            "readers_started",
            json!(self.slots.iter().map(|s| s.runs).sum::<u32>()),
        );
        put("restarts", json!(restarts));
        put("kills_sigkill", json!(self.kills));
        put("crash_loop_restarts", json!(crash_restarts));
        put("nonzero_exits", json!(nonzero));
        put("sigterm_stops", json!(self.sigterms));
        put("lost", json!(self.lost));
        put("duplicated", json!(self.duplicated));
        put(
            "max_rss_mib",
            json!((self.peak_rss_kib as f64 / 1024.0 * 10.0).round() / 10.0),
        );
        put(
            "start_to_first_outcome_s_max",
            max_tenths(
                self.logs.start_to_first_outcome_s(),
                "no reader handled anything",
            ),
        );
        put(
            "time_to_new_effect_after_heal_s_max",
            max_tenths(self.recover_s.iter().copied(), "no fault healed"),
        );
        put(
            "fresh_event_applied_after_s",
            self.fresh_s
                .map_or(json!("not applied"), |v| json!((v * 100.0).round() / 100.0)),
        );
        put(
            "applied_log_lines",
            json!(
                self.logs
                    .applied
                    .values()
                    .map(|n| u64::from(*n))
                    .sum::<u64>()
            ),
        );
        put("filtered_by_reason", json!(self.logs.filtered_by_reason()));
        put("decode_failures", json!(self.logs.decode_failed.len()));
        put("poison_records", json!(poison));
        let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
        for k in &self.plan.kinds {
            if let Kind::Poison(p) = k {
                *by_kind.entry(p.name()).or_insert(0) += 1;
            }
        }
        if !by_kind.is_empty() {
            put("poison_by_kind", json!(by_kind));
        }
        put("permanent_errors", json!(self.logs.permanent.len()));
        put("retry_needed_lines", json!(self.logs.retry_needed));
        put("state_conflicts", json!(self.logs.state_conflict));
        put("case_version_mismatches", json!(self.logs.version_mismatch));
        put("error_log_lines", json!(self.logs.errors));
        if self.n == 5 {
            put("concurrent_writer_edits", json!(self.writer.total));
            put(
                "writer_priority_edits",
                json!(self.writer.priority_set.iter().filter(|p| **p).count()),
            );
        }
        put(
            "update_case_rpc_calls",
            json!(
                self.env
                    .store
                    .calls(case_sandbox::Rpc::UpdateCase)
                    .saturating_sub(self.update_calls_before)
            ),
        );
        if self.n == 4 {
            let went_false = self.readiness.iter().any(|(_, r)| !r);
            let first_false = self.readiness.iter().find(|(_, r)| !r).map(|(t, _)| *t);
            let back = self
                .readiness
                .iter()
                .skip_while(|(_, r)| *r)
                .find(|(_, r)| *r)
                .map(|(t, _)| *t);
            put(
                "readiness",
                json!({ "went_false": went_false, "false_after_s": first_false, "true_again_after_s": back }),
            );
        }
        put(
            "wall_seconds",
            json!((self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
        );
        Report {
            n: self.n,
            name: self.name.to_owned(),
            figures: f,
            violations: std::mem::take(&mut self.violations),
            notes: std::mem::take(&mut self.notes),
        }
    }
}

/// The largest of `seconds`, rounded to tenths, or `missing` when there is none.
fn max_tenths(seconds: impl IntoIterator<Item = f64>, missing: &str) -> Value {
    seconds
        .into_iter()
        .reduce(f64::max)
        .map_or(json!(missing), |v| json!((v * 10.0).round() / 10.0))
}
