//! One reader run over a topic: start the real `reader-jira` with the bench settings, watch
//! its handled-event counter, check its committed offsets, stop it, and what the sandbox
//! and `/proc` say about it.

use super::produce::Produced;
use super::{Bench, DECODING_FAILED, FILTERED, POLL, PROCESSED, STALL};
use crate::stack::Reader;
use anyhow::{Result, bail};
use case_sandbox::Rpc;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::offsets::committed_offsets;
use testkit::prometheus::Metrics;
use testkit::reader::peak_rss_kib;

/// The outcome of one reader run over a topic.
#[derive(Debug, Default)]
pub(super) struct ReaderRun {
    pub(super) events: u64,
    pub(super) msgs_per_s: f64,
    seconds: f64,
    /// Events already handled when the rate window opened (excluded from it).
    before_window: u64,
    cpu_seconds: Option<f64>,
    pub(super) peak_rss_kib: Option<u64>,
    pub(super) metrics: Metrics,
    committed_ok: bool,
    exit_ok: bool,
    settings_metadata_rpcs: u64,
    rpcs: BTreeMap<String, u64>,
}

impl ReaderRun {
    pub(super) fn json(&self) -> Value {
        json!({
            "events": self.events,
            "msgs_per_s": self.msgs_per_s,
            "window_seconds": self.seconds,
            "handled_before_window": self.before_window,
            "reader_cpu_seconds": self.cpu_seconds,
            "reader_cpu_us_per_event": self.cpu_seconds.map(|c| c * 1e6 / self.events.max(1) as f64),
            "reader_peak_rss_mib": self.peak_rss_kib.map(|k| k as f64 / 1024.0),
            "processed": self.metrics.sum(&PROCESSED, &[]),
            "filtered": self.metrics.by_label(&FILTERED, "reason"),
            "decoding_failed": self.metrics.sum(&DECODING_FAILED, &[]),
            "committed_offsets_match_produced": self.committed_ok,
            "exited_0_on_sigterm": self.exit_ok,
            "settings_metadata_rpcs": self.settings_metadata_rpcs,
            "sandbox_rpcs": self.rpcs,
        })
    }
}

/// When a run's rate window opened: (then, events already handled).
type Window = Option<(Instant, u64)>;

impl Bench<'_> {
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

    /// Starts a `reader-jira` named `name` on `topic` in a group of its own, with `extra` and
    /// the `--reader-set` settings on top; returns it with its group.
    pub(super) fn start_reader(
        &self,
        name: &str,
        topic: &str,
        extra: &[(&'static str, String)],
    ) -> Result<(Reader, String)> {
        self.start_flavor_reader("jira", name, topic, extra)
    }

    /// [`Self::start_reader`] for the reader of `flavor`.
    fn start_flavor_reader(
        &self,
        flavor: &str,
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
            flavor,
            &format!("bench-reader-{name}"),
            &settings,
            &self.log_dir,
        )?;
        Ok((reader, group))
    }

    /// Starts a `reader-jira` on `topic` (already holding `produced`), measures its rate over
    /// the handled-event counter, checks its committed offsets and stops it.
    pub(super) async fn reader_run(
        &self,
        name: &str,
        topic: &str,
        produced: &Produced,
        extra: &[(&'static str, String)],
    ) -> Result<ReaderRun> {
        self.counted_run("jira", name, topic, produced, extra, handled)
            .await
    }

    /// [`Self::reader_run`] of the reader of `flavor`, its rate over `count` (e.g. its
    /// messages-handled counter).
    pub(super) async fn flavor_reader_run(
        &self,
        flavor: &str,
        name: &str,
        topic: &str,
        produced: &Produced,
        count: impl Fn(&Metrics) -> u64,
    ) -> Result<ReaderRun> {
        self.counted_run(flavor, name, topic, produced, &[], count)
            .await
    }

    async fn counted_run(
        &self,
        flavor: &str,
        name: &str,
        topic: &str,
        produced: &Produced,
        extra: &[(&'static str, String)],
        count: impl Fn(&Metrics) -> u64,
    ) -> Result<ReaderRun> {
        let (mut reader, group) = self.start_flavor_reader(flavor, name, topic, extra)?;
        let rpcs_before = self.store.call_counts();
        let target = produced.count;
        let (end, metrics, window) = wait_counted(&mut reader, target, count).await?;
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
    pub(super) async fn wait_committed(
        &self,
        group: &str,
        topic: &str,
        produced: &Produced,
    ) -> Result<bool> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let committed =
                committed_offsets(&self.bootstrap, group, topic, self.args.partitions).await?;
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
}

/// Waits until `reader` handled `target` events, polling its `/metrics`; fails when it exits
/// or its counter stalls. Returns when it got there, its metrics then and the rate window.
pub(super) async fn wait_handled(
    reader: &mut Reader,
    target: u64,
) -> Result<(Instant, Metrics, Window)> {
    wait_counted(reader, target, handled).await
}

/// [`wait_handled`] over the counter `count` of the reader's metrics.
async fn wait_counted(
    reader: &mut Reader,
    target: u64,
    count: impl Fn(&Metrics) -> u64,
) -> Result<(Instant, Metrics, Window)> {
    let mut window: Window = None;
    let mut last = (Instant::now(), 0u64);
    loop {
        if !reader.running() {
            bail!("{} exited early; see {}", reader.name, reader.log.display());
        }
        if let Some(m) = reader.metrics() {
            let handled = count(&m);
            let now = Instant::now();
            if handled > 0 && window.is_none() {
                window = Some((now, handled));
            }
            if handled >= target {
                return Ok((now, m, window));
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
    }
}

/// Events the reader handled: processed, filtered or failed to decode.
pub(super) fn handled(m: &Metrics) -> u64 {
    let total = m.sum(&PROCESSED, &[]) + m.sum(&FILTERED, &[]) + m.sum(&DECODING_FAILED, &[]);
    // Counters are whole numbers well inside f64's exact range.
    total.max(0.0) as u64
}

/// The RPC counts of `after` minus `before`, the RPCs called at all.
pub(super) fn rpc_delta(
    before: &BTreeMap<Rpc, u64>,
    after: &BTreeMap<Rpc, u64>,
) -> BTreeMap<Rpc, u64> {
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

/// The settings and metadata RPCs among `rpcs`.
pub(super) fn settings_metadata(rpcs: &BTreeMap<Rpc, u64>) -> u64 {
    [
        Rpc::GetProjectSettings,
        Rpc::ListIntegrationMetadata,
        Rpc::ListIntegrationOrgs,
    ]
    .iter()
    .map(|r| rpcs.get(r).copied().unwrap_or(0))
    .sum()
}

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

/// Clock ticks per second of `/proc` CPU times.
pub(super) fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
