//! The bench's figures: computed once from the runs, printed as the table and written to
//! `summary.json` with the machine, the options and every run's details.

use super::BenchArgs;
use super::apply::ApplyRuns;
use super::filter::FilterRuns;
use super::latency::LatencyRun;
use super::reader::ReaderRun;
use crate::workload::write_json;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// One measured figure, or why it was not measured.
#[derive(Debug, Clone)]
pub(super) enum Figure {
    Value(f64),
    NotMeasured(String),
}

impl Figure {
    /// The figure in `summary.json`.
    fn json(&self) -> Value {
        match self {
            Self::Value(v) if v.is_finite() => json!(v),
            Self::Value(_) => json!({ "not_measured": "no finite value (+Inf bucket)" }),
            Self::NotMeasured(why) => json!({ "not_measured": why }),
        }
    }

    /// The figure in the table, with `unit`.
    pub(super) fn show(&self, unit: &str) -> String {
        match self {
            Self::Value(v) if v.is_infinite() => format!("> last bucket {unit}"),
            Self::Value(v) if *v >= 100.0 => format!("{v:.0} {unit}"),
            Self::Value(v) => format!("{v:.2} {unit}"),
            Self::NotMeasured(why) => format!("not measured: {why}"),
        }
    }

    /// The value, when measured.
    pub(super) fn value(&self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(*v),
            Self::NotMeasured(_) => None,
        }
    }
}

/// `a / b`, when both are measured and `b` is positive.
fn ratio(a: &Figure, b: &Figure) -> Figure {
    match (a.value(), b.value()) {
        (Some(a), Some(b)) if b > 0.0 => Figure::Value(a / b),
        _ => Figure::NotMeasured("a term of the ratio was not measured".into()),
    }
}

/// Every run of one bench (`None`: skipped by its option).
pub(super) struct Runs {
    pub(super) flavors: Vec<super::flavor::FlavorRun>,
    pub(super) filter: FilterRuns,
    pub(super) apply: ApplyRuns,
    pub(super) latency: Option<LatencyRun>,
    pub(super) backlog: Option<ReaderRun>,
}

/// The figures of the table and of `summary.json`'s `figures`.
struct Figures {
    raw: Figure,
    filter: Figure,
    filter_ratio: Figure,
    seq: Figure,
    conc: Figure,
    apply_ratio: Figure,
    /// Whether every apply run kept the per-case order (`None`: no apply run).
    order_kept: Option<bool>,
    p50: Figure,
    p99: Figure,
    p999: Figure,
    le10: Figure,
    rpcs_per_1000: Figure,
    rss: Figure,
}

fn not(why: &str) -> Figure {
    Figure::NotMeasured(why.to_owned())
}

impl Figures {
    fn new(runs: &Runs) -> Self {
        let raw = Figure::Value(runs.filter.raw.msgs_per_s);
        let filter = Figure::Value(runs.filter.filter.msgs_per_s);
        let (sequential, concurrent) = (&runs.apply.sequential, &runs.apply.concurrent);
        let seq = sequential.as_ref().map_or_else(
            || not("--sequential-events 0"),
            |(run, _)| Figure::Value(run.msgs_per_s),
        );
        let conc = concurrent.as_ref().map_or_else(
            || not("--apply-events 0"),
            |(run, _)| Figure::Value(run.msgs_per_s),
        );
        let order_kept = (sequential.is_some() || concurrent.is_some()).then(|| {
            [sequential, concurrent]
                .iter()
                .filter_map(|r| r.as_ref())
                .all(|(_, check)| check.mismatched == 0)
        });
        let latency = |figure: fn(&LatencyRun) -> Figure| {
            runs.latency
                .as_ref()
                .map_or_else(|| not("--latency-secs 0"), figure)
        };
        let rss = match &runs.backlog {
            Some(run) => match run.peak_rss_kib {
                Some(k) => Figure::Value(k as f64 / 1024.0),
                None => not("/proc/<pid>/status had no VmHWM line"),
            },
            None => not("--backlog 0"),
        };
        Self {
            filter_ratio: ratio(&filter, &raw),
            apply_ratio: ratio(&conc, &seq),
            raw,
            filter,
            seq,
            conc,
            order_kept,
            p50: latency(|l| l.quantile(0.5)),
            p99: latency(|l| l.quantile(0.99)),
            p999: latency(|l| l.quantile(0.999)),
            le10: latency(|l| l.fraction_within(10.0)),
            rpcs_per_1000: latency(LatencyRun::rpcs_per_1000),
            rss,
        }
    }

    /// The table's rows: (measurement, figure, target).
    fn rows(&self) -> Vec<(&'static str, String, &'static str)> {
        vec![
            (
                "1 raw rdkafka consumer",
                self.raw.show("msgs/s"),
                "(the limit)",
            ),
            ("2 filter path (PreFilter)", self.filter.show("msgs/s"), ""),
            ("  ratio to raw", self.filter_ratio.show("×"), "≥ 0.70"),
            (
                "3 apply, max_in_flight=1",
                self.seq.show("msgs/s"),
                "(the previous service's model)",
            ),
            ("  apply, default in-flight", self.conc.show("msgs/s"), ""),
            ("  ratio default / 1", self.apply_ratio.show("×"), "≥ 20"),
            (
                "  per-case order kept",
                match self.order_kept {
                    None => "not measured: no apply run".to_owned(),
                    Some(true) => "yes".to_owned(),
                    Some(false) => "NO".to_owned(),
                },
                "yes",
            ),
            ("4 latency p50 (bucket ≤)", self.p50.show("ms"), ""),
            ("  latency p99 (bucket ≤)", self.p99.show("ms"), "≤ 10"),
            ("  latency p999 (bucket ≤)", self.p999.show("ms"), ""),
            (
                "  share of events ≤ 10 ms",
                match self.le10.value() {
                    Some(v) => format!("{:.2} %", v * 100.0),
                    None => self.le10.show(""),
                },
                "≥ 99 %",
            ),
            ("5 peak RSS, backlog", self.rss.show("MiB"), "≤ 64"),
            (
                "6 settings+metadata RPCs/1000",
                self.rpcs_per_1000.show("per 1,000 events"),
                "≤ 5",
            ),
        ]
    }

    fn json(&self) -> Value {
        json!({
            "raw_consumer_msgs_per_s": self.raw.json(),
            "filter_path_msgs_per_s": self.filter.json(),
            "filter_to_raw_ratio": self.filter_ratio.json(),
            "apply_sequential_msgs_per_s": self.seq.json(),
            "apply_default_msgs_per_s": self.conc.json(),
            "apply_default_to_sequential_ratio": self.apply_ratio.json(),
            "apply_per_case_order_kept": match self.order_kept { None => json!({"not_measured": "no apply run"}), Some(kept) => json!(kept) },
            "latency_p50_ms_bucket_upper_bound": self.p50.json(),
            "latency_p99_ms_bucket_upper_bound": self.p99.json(),
            "latency_p999_ms_bucket_upper_bound": self.p999.json(),
            "latency_share_within_10ms": self.le10.json(),
            "backlog_peak_rss_mib": self.rss.json(),
            "settings_metadata_rpcs_per_1000_events": self.rpcs_per_1000.json(),
        })
    }
}

/// Prints the table and writes `summary.json` to `out_dir`.
pub(super) fn report(
    root: &Path,
    out_dir: &Path,
    args: &BenchArgs,
    machine: &serde_json::Map<String, Value>,
    started: Instant,
    runs: &Runs,
) -> Result<()> {
    let figures = Figures::new(runs);
    print_table(args, machine, &figures, runs);
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
        "events": events_json(args, runs),
        "figures": figures.json(),
        "targets": {
            "filter_to_raw_ratio": ">= 0.70",
            "apply_default_to_sequential_ratio": ">= 20",
            "latency_p99_ms": "<= 10",
            "backlog_peak_rss_mib": "<= 64",
            "settings_metadata_rpcs_per_1000_events": "<= 5",
        },
        "runs": runs_json(runs),
        "notes": [
            "Every throughput window opens at the first poll (every 50 ms) that sees a handled event and closes at the first that sees all of them: reader start-up and group join are excluded.",
            "Latency quantiles are the upper bounds of the reader's Prometheus buckets (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000… ms): a p99 of 10 means p99 ≤ 10 ms, nothing finer.",
            "Broker, sandbox, producer, raw consumer and reader share this machine's CPUs.",
        ],
    });
    let path = out_dir.join("summary.json");
    write_json(&path, &summary)?;
    println!(
        "\nbench: wrote {} in {:.0?} total",
        path.display(),
        started.elapsed()
    );
    Ok(())
}

fn print_table(
    args: &BenchArgs,
    machine: &serde_json::Map<String, Value>,
    figures: &Figures,
    runs: &Runs,
) {
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
    for (name, figure, target) in &figures.rows() {
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
    for f in &runs.flavors {
        println!(
            "7 filter path, {:<17} {:<28} {}",
            f.flavor,
            format!("{:.0} msgs/s", f.run.msgs_per_s),
            if f.as_expected() {
                "(only its bench.toml reasons)".to_owned()
            } else {
                format!("WARNING: reasons {:?} or processed events", f.reasons())
            }
        );
    }
    if !runs.filter.only_prefilter {
        println!(
            "WARNING: the filter path saw reasons outside PreFilter: {:?}",
            runs.filter.reasons
        );
    }
    if let Some(l) = &runs.latency {
        println!(
            "latency buckets (ms, cumulative, after warm-up): {}",
            l.buckets
                .iter()
                .map(|(le, c)| format!("≤{le}:{c}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

fn events_json(args: &BenchArgs, runs: &Runs) -> Value {
    json!({
        "raw_and_filter": args.events,
        "apply_sequential": args.sequential_events,
        "apply_default": args.apply_events,
        "cases": args.cases,
        "latency_rate_per_s": args.rate,
        "latency_seconds": args.latency_secs,
        "latency_warmup_seconds": args.warmup_secs,
        "backlog": args.backlog,
        "mean_event_bytes": runs.filter.produced.mean_bytes(),
    })
}

fn runs_json(runs: &Runs) -> Value {
    let raw = &runs.filter.raw;
    let apply = |run: &Option<(ReaderRun, super::apply::OrderCheck)>| {
        run.as_ref()
            .map(|(r, c)| json!({"run": r.json(), "order": c.json()}))
    };
    json!({
        "produce_filter": runs.filter.produced.json(),
        "raw": { "msgs_per_s": raw.msgs_per_s, "seconds": raw.seconds, "bytes": raw.bytes },
        "filter": runs.filter.filter.json(),
        "filter_only_prefilter_reasons": runs.filter.only_prefilter,
        "apply_sequential": apply(&runs.apply.sequential),
        "apply_default": apply(&runs.apply.concurrent),
        "latency": runs.latency.as_ref().map(LatencyRun::json),
        "backlog": runs.backlog.as_ref().map(ReaderRun::json),
        "filter_by_flavor": runs
            .flavors
            .iter()
            .map(|f| (f.flavor.clone(), f.json()))
            .collect::<serde_json::Map<_, _>>(),
    })
}

/// What the figures were measured on: CPUs, memory, load, OS.
pub(super) fn machine() -> serde_json::Map<String, Value> {
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
