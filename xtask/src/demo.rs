//! `cargo xtask demo`: the whole job on an embedded default. librdkafka's in-process mock
//! cluster, the sandbox Case API (seeded from every flavor's `fixtures/<flavor>/seed.json`),
//! and for every discovered flavor the records its `fixtures/<flavor>/demo.toml` describes
//! ([`spec`]: sources, replicas, compression) consumed by that many real `reader-<flavor>`
//! binaries sharing one group; then a summary (one section per flavor) and the cases
//! before/after.

pub(crate) mod spec;

use crate::stack::{self, Reader};
use anyhow::{Context, Result, bail};
use case_sandbox::{Seed, Store};
use kafka_runtime::dead_letter;
use observability::names;
use spec::DemoSpec;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::broker::{MockBroker, TestBroker};
use testkit::dead_letter::parked_records;
use testkit::offsets::{committed_offsets, high_watermarks};
use testkit::produce::produce;
use testkit::prometheus::{Metrics, filtered_name, prometheus_name, quantile};
use thirdparty_core::Case;
use xtask::Flavor;

const GROUP: &str = "case-management";
const PARTITIONS: i32 = 3;
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs the demo.
pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let flavors = xtask::flavors(root)?;
    if flavors.is_empty() {
        bail!("no flavor discovered: bins/reader-* need [package.metadata.case-reader]");
    }
    // Read every demo.toml first: a bad one fails before minutes of building.
    let plans = flavors
        .into_iter()
        .map(|flavor| {
            let spec = DemoSpec::load(&flavor.fixtures(root).join("demo.toml"))?;
            Ok((flavor, spec))
        })
        .collect::<Result<Vec<_>>>()?;
    println!("demo: building the reader binaries (first time: a few minutes)…");
    let bin_dir = stack::build_readers(root)?;
    println!("demo: built in {:.0?}", started.elapsed());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(demo(root, &bin_dir, &plans, started))
}

async fn demo(
    root: &Path,
    bin_dir: &Path,
    plans: &[(Flavor, DemoSpec)],
    started: Instant,
) -> Result<()> {
    let dir = root.join("target").join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let store = Store::new();
    for (flavor, _) in plans {
        let path = flavor.fixtures(root).join("seed.json");
        store.load(Seed::read_file(&path).with_context(|| format!("seeding {}", path.display()))?);
    }
    let before = store.cases();
    let sandbox = testkit::sandbox::serve_store(store.clone()).await?;
    println!(
        "demo: sandbox Case API on {} ({} cases)",
        sandbox.url(),
        before.len()
    );

    let broker = MockBroker::start().context("starting librdkafka's mock cluster")?;
    let bootstrap = broker.bootstrap_servers();
    for (flavor, _) in plans {
        let topic = flavor.default_topic();
        broker.create_topic(&topic, PARTITIONS)?;
        broker.create_topic(&dead_letter::default_topic(&topic), PARTITIONS)?;
    }
    println!("demo: in-process Kafka (librdkafka mock cluster) on {bootstrap}");

    let common = vec![
        ("kafka.brokers", bootstrap.clone()),
        ("case_api.endpoint", sandbox.url()),
        ("kafka.auto_offset_reset", "earliest".to_owned()),
        ("kafka.dead_letter", "true".to_owned()),
        ("kafka.session_timeout_ms", "6000".to_owned()),
        ("kafka.drain_timeout_ms", "2000".to_owned()),
        ("kafka.shutdown_grace_ms", "10000".to_owned()),
        ("tracing.log_level", "info".to_owned()),
    ];
    let mut readers = Vec::new();
    for (flavor, spec) in plans {
        let mut settings = common.clone();
        settings.push(("kafka.topic", flavor.default_topic()));
        for i in 1..=spec.replicas {
            let name = format!("{}-{i}", flavor.bin);
            readers.push(Reader::start(
                bin_dir,
                &flavor.name,
                &name,
                &settings,
                &dir,
            )?);
        }
        println!(
            "demo: started {} ×{} (one group, sharing {PARTITIONS} partitions)",
            flavor.bin, spec.replicas
        );
    }
    println!("demo: reader logs in {}", dir.display());

    wait_until_ready(&mut readers).await?;
    let mut topics = Vec::new();
    for (flavor, spec) in plans {
        let mut records = Vec::new();
        for source in &spec.records {
            records.extend(source.records(&flavor.fixtures(root))?);
        }
        let topic = flavor.default_topic();
        produce(&bootstrap, &topic, &records, &spec.compression).await?;
        println!(
            "demo: produced {} {} events ({}) to {topic}, event times set to now",
            records.len(),
            flavor.name,
            spec.compression
        );
        topics.push((topic, records.len()));
    }

    wait_until_consumed(&bootstrap, &mut readers, &topics).await?;
    // Committed means parked first: every message not applied has its copy by now.
    let mut parked: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (flavor, _) in plans {
        let topic = dead_letter::default_topic(&flavor.default_topic());
        let records = parked_records(&bootstrap, &topic, PARTITIONS, Duration::from_secs(30))
            .await
            .with_context(|| format!("reading {topic}"))?;
        let by_reason = parked.entry(flavor.name.clone()).or_default();
        for r in &records {
            *by_reason.entry(r.reason().unwrap_or_default()).or_insert(0) += 1;
        }
    }

    let mut per_flavor: BTreeMap<String, Metrics> = BTreeMap::new();
    let mut per_reader = Vec::new();
    for reader in &readers {
        let metrics = reader.metrics().with_context(|| {
            format!(
                "{} serves no /metrics (log: {})",
                reader.name,
                reader.log.display()
            )
        })?;
        per_reader.push((reader.name.clone(), handled(&metrics, &reader.flavor)));
        per_flavor
            .entry(reader.flavor.clone())
            .or_default()
            .merge(metrics);
    }

    for reader in &mut readers {
        let status = reader.terminate(Duration::from_secs(30))?;
        if !status.success() {
            bail!(
                "{} exited with {status} after SIGTERM (log: {})",
                reader.name,
                reader.log.display()
            );
        }
    }
    sandbox.shutdown().await.context("stopping the sandbox")?;

    println!("\n== summary");
    for (name, count) in &per_reader {
        println!("{name:<22} handled {count:>4} changelogs");
    }
    for (flavor, metrics) in &per_flavor {
        print_flavor(flavor, metrics);
        let by_reason = parked.get(flavor).cloned().unwrap_or_default();
        println!(
            "dead-lettered    {:>5}  (in {}: {by_reason:?})",
            by_reason.values().sum::<u64>(),
            dead_letter::default_topic(&flavor_topic(plans, flavor))
        );
        let decode_failures = metrics.sum(&prometheus_name(names::DECODING_FAILED), &[]);
        let parked_decode = by_reason.get("decode_failed").copied().unwrap_or(0);
        if decode_failures != parked_decode as f64 {
            bail!(
                "{flavor}: {decode_failures} decode failures but {parked_decode} parked copies: a message was acknowledged without its copy"
            );
        }
    }
    print_cases(&before, &store);
    println!(
        "\ndemo: done in {:.0?}; every reader exited 0 on SIGTERM",
        started.elapsed()
    );
    Ok(())
}

async fn wait_until_ready(readers: &mut [Reader]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for reader in readers.iter_mut() {
            if !reader.running() {
                bail!("{} exited early; see {}", reader.name, reader.log.display());
            }
        }
        let ready = readers.iter().filter(|r| r.ready()).count();
        if ready == readers.len() {
            println!("demo: all {ready} readers joined their groups and are ready");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "only {ready}/{} readers became ready within 60 s; see the logs in target/demo/",
                readers.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_until_consumed(
    bootstrap: &str,
    readers: &mut [Reader],
    topics: &[(String, usize)],
) -> Result<()> {
    let deadline = Instant::now() + DEADLINE;
    let mut last_line = String::new();
    loop {
        for reader in readers.iter_mut() {
            if !reader.running() {
                bail!("{} exited early; see {}", reader.name, reader.log.display());
            }
        }
        let mut done = true;
        let mut line = String::from("demo: committed");
        for (topic, produced) in topics {
            let committed: i64 = committed_offsets(bootstrap, GROUP, topic, PARTITIONS)
                .await?
                .values()
                .map(|o| o.unwrap_or(0))
                .sum();
            let high: i64 = high_watermarks(bootstrap, topic, PARTITIONS)
                .await?
                .values()
                .sum();
            done &= committed >= high && usize::try_from(high).is_ok_and(|h| h >= *produced);
            line.push_str(&format!("  {topic}: {committed}/{produced}"));
        }
        let ready = readers.iter().filter(|r| r.ready()).count();
        line.push_str(&format!("  (ready readers: {ready}/{})", readers.len()));
        if line != last_line {
            println!("{line}");
            last_line = line;
        }
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("not everything was consumed within {DEADLINE:?}; see the logs in target/demo/");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The topic of flavor `name` in this demo.
fn flavor_topic(plans: &[(Flavor, DemoSpec)], name: &str) -> String {
    plans
        .iter()
        .find(|(f, _)| f.name == name)
        .map(|(f, _)| f.default_topic())
        .unwrap_or_default()
}

fn handled(metrics: &Metrics, flavor: &str) -> f64 {
    metrics.sum(&prometheus_name(names::CHANGELOG_PROCESSED), &[])
        + metrics.sum(&filtered_name(flavor), &[])
        + metrics.sum(&prometheus_name(names::DECODING_FAILED), &[])
}

fn print_flavor(flavor: &str, m: &Metrics) {
    println!("\n-- {flavor}");
    println!(
        "processed        {:>5}",
        m.sum(&prometheus_name(names::CHANGELOG_PROCESSED), &[])
    );
    println!(
        "decode failures  {:>5}",
        m.sum(&prometheus_name(names::DECODING_FAILED), &[])
    );
    let filtered = m.by_label(&filtered_name(flavor), "reason");
    println!("filtered         {:>5}", filtered.values().sum::<f64>());
    for (reason, count) in filtered {
        println!("  {reason:<36} {count:>4}");
    }
    let buckets = m.buckets(&prometheus_name(names::END_TO_END_LATENCY));
    match (quantile(&buckets, 0.5), quantile(&buckets, 0.99)) {
        (Some(p50), Some(p99)) if p50.is_finite() && p99.is_finite() => {
            println!("latency (event → done)  p50 ≤ {p50} ms  p99 ≤ {p99} ms")
        }
        // The flavor's event time comes from the payload (GitHub: `issue.updated_at`), which
        // the fixtures keep as captured: a figure would measure the fixture's age.
        (Some(_), Some(_)) => println!(
            "latency: not shown (event times older than the largest bucket: the fixtures' own times)"
        ),
        _ => println!("latency: no samples"),
    }
}

fn print_cases(before: &[Case], store: &Store) {
    println!("\n== cases changed (before → after)");
    let after: BTreeMap<_, _> = store
        .cases()
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    for old in before {
        let Some(new) = after.get(&old.id) else {
            continue;
        };
        let cells = store.timeline(new.org_id, &new.id).len();
        if old == new && cells == 0 {
            continue;
        }
        let mut changes = Vec::new();
        if old.title != new.title {
            changes.push(format!(
                "title changed ({} → {} chars)",
                old.title.len(),
                new.title.len()
            ));
        }
        if old.description != new.description {
            changes.push("description changed".to_owned());
        }
        if old.priority != new.priority {
            changes.push(format!("priority {:?} → {:?}", old.priority, new.priority));
        }
        if old.status != new.status {
            changes.push(format!("status {} → {}", old.status, new.status));
        }
        if old.assignee != new.assignee {
            changes.push(format!(
                "assignee {} → {}",
                old.assignee.as_ref().map_or("none", |a| a.as_str()),
                new.assignee.as_ref().map_or("none", |a| a.as_str())
            ));
        }
        if old.due_date != new.due_date {
            changes.push(format!("due {:?} → {:?}", old.due_date, new.due_date));
        }
        if cells > 0 {
            changes.push(format!("{cells} timeline comment(s)"));
        }
        println!(
            "org {:<5} {:<38} v{} → v{}: {}",
            new.org_id,
            new.id,
            old.version,
            new.version,
            changes.join(", ")
        );
    }
}
