//! What a scenario reports: its figures (stdout and `target/chaos/summary.json`), notes and
//! the oracle's violations.

use super::plan::RecordKind;
use super::produce::lock;
use super::run::ScenarioRun;
use super::{ChaosArgs, LOG_FILTER};
use crate::workload::{BrokerKind, write_json};
use anyhow::Result;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What one scenario did and whether its oracle held.
pub(super) struct Report {
    n: u8,
    pub(super) name: String,
    pub(super) figures: serde_json::Map<String, Value>,
    pub(super) violations: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    /// The report of scenario `n` (`name`) that could not start.
    pub(super) fn aborted(n: u8, name: &str, why: String) -> Self {
        Self {
            n,
            name: name.to_owned(),
            figures: serde_json::Map::new(),
            violations: vec![format!("the scenario could not start: {why}")],
            notes: Vec::new(),
        }
    }

    /// Prints the figures, notes and the oracle's verdict.
    pub(super) fn print(&self) {
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

    /// The report as one entry of `summary.json`.
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

impl ScenarioRun<'_> {
    /// The figures of the finished scenario, with its violations and notes.
    pub(super) fn report(&mut self) -> Report {
        let mut f = serde_json::Map::new();
        self.run_figures(&mut f);
        self.log_figures(&mut f);
        put(
            &mut f,
            "update_case_rpc_calls",
            json!(
                self.env
                    .store
                    .calls(case_sandbox::Rpc::UpdateCase)
                    .saturating_sub(self.update_calls_before)
            ),
        );
        put(
            &mut f,
            "wall_seconds",
            json!((self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0),
        );
        Report {
            n: self.number,
            name: self.profile.name.to_owned(),
            figures: f,
            violations: std::mem::take(&mut self.violations),
            notes: std::mem::take(&mut self.notes),
        }
    }

    /// Production, the readers' lives, the oracle's counts and the timings.
    fn run_figures(&self, f: &mut serde_json::Map<String, Value>) {
        let (produced, failed) = match lock(&self.deliveries) {
            Ok(d) => (d.delivered(), d.failed.len()),
            Err(_) => (0, 0),
        };
        let restarts: u32 = self
            .slots
            .iter()
            .map(|s| s.crash_restarts + s.kill_restarts)
            .sum();
        let nonzero: usize = self.slots.iter().map(|s| s.nonzero_exits.len()).sum();
        put(f, "events_produced", json!(produced));
        put(f, "events_not_produced", json!(failed));
        put(
            f,
            "readers_started",
            json!(self.slots.iter().map(|s| s.runs).sum::<u32>()),
        );
        put(f, "restarts", json!(restarts));
        put(f, "kills_sigkill", json!(self.kills));
        put(f, "crash_loop_restarts", json!(self.crash_restarts()));
        put(f, "nonzero_exits", json!(nonzero));
        put(f, "sigterm_stops", json!(self.sigterms));
        put(f, "lost", json!(self.lost));
        put(f, "duplicated", json!(self.duplicated));
        put(
            f,
            "max_rss_mib",
            json!((self.peak_rss_kib as f64 / 1024.0 * 10.0).round() / 10.0),
        );
        put(
            f,
            "start_to_first_outcome_s_max",
            max_tenths(
                self.logs.start_to_first_outcome_s(),
                "no reader handled anything",
            ),
        );
        put(
            f,
            "time_to_new_effect_after_heal_s_max",
            max_tenths(self.recover_s.iter().copied(), "no fault healed"),
        );
        put(
            f,
            "fresh_event_applied_after_s",
            self.fresh_s
                .map_or(json!("not applied"), |v| json!((v * 100.0).round() / 100.0)),
        );
    }

    /// What the readers' decision logs counted, and the poison of the plan.
    fn log_figures(&self, f: &mut serde_json::Map<String, Value>) {
        put(
            f,
            "applied_log_lines",
            json!(
                self.logs
                    .applied
                    .values()
                    .map(|n| u64::from(*n))
                    .sum::<u64>()
            ),
        );
        put(
            f,
            "filtered_by_reason",
            json!(self.logs.filtered_by_reason()),
        );
        put(f, "decode_failures", json!(self.logs.decode_failed.len()));
        let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
        for k in &self.plan.kinds {
            if let RecordKind::Poison(p) = k {
                *by_kind.entry(p.name()).or_insert(0) += 1;
            }
        }
        put(f, "poison_records", json!(by_kind.values().sum::<u64>()));
        if !by_kind.is_empty() {
            put(f, "poison_by_kind", json!(by_kind));
        }
        let poison_parked = self
            .plan
            .kinds
            .iter()
            .zip(
                lock(&self.deliveries)
                    .map(|d| d.at.clone())
                    .unwrap_or_default(),
            )
            .filter(|(k, at)| {
                matches!(k, RecordKind::Poison(_))
                    && at.is_some_and(|a| self.parked.contains_key(&a))
            })
            .count();
        put(f, "poison_records_parked", json!(poison_parked));
        let mut parked_by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for c in self.parked.values() {
            *parked_by_reason.entry(c.reason.as_str()).or_insert(0) += 1;
        }
        put(f, "dead_lettered_by_reason", json!(parked_by_reason));
        put(
            f,
            "dead_lettered_truncated",
            json!(self.parked.values().filter(|c| c.truncated).count()),
        );
        put(
            f,
            "dead_letter_extra_copies",
            json!(
                self.parked
                    .values()
                    .map(|c| u64::from(c.copies.saturating_sub(1)))
                    .sum::<u64>()
            ),
        );
        put(f, "permanent_errors", json!(self.logs.permanent.len()));
        put(f, "retry_needed_lines", json!(self.logs.retry_needed));
        put(f, "state_conflicts", json!(self.logs.state_conflict));
        put(
            f,
            "case_version_mismatches",
            json!(self.logs.version_mismatch),
        );
        put(f, "error_log_lines", json!(self.logs.errors));
    }
}

fn put(f: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    f.insert(key.to_owned(), value);
}

/// The largest of `seconds`, rounded to tenths, or `missing` when there is none.
pub(super) fn max_tenths(seconds: impl IntoIterator<Item = f64>, missing: &str) -> Value {
    seconds
        .into_iter()
        .reduce(f64::max)
        .map_or(json!(missing), |v| json!((v * 10.0).round() / 10.0))
}

/// Writes `summary.json` of the whole run to `out_dir`; returns its path.
pub(super) fn write_summary(
    out_dir: &Path,
    args: &ChaosArgs,
    seed: u64,
    started: Instant,
    reports: &[Report],
) -> Result<std::path::PathBuf> {
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
    write_json(&path, &summary)?;
    Ok(path)
}
