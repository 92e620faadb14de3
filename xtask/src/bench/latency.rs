//! Runs (4) and (6): a paced producer at `--rate` for `--latency-secs` with no injected
//! latency; after the warm-up, the reader's end-to-end latency histogram (4) and the
//! settings + metadata RPCs per 1,000 events the sandbox counted (6).

use super::apply::OrderCheck;
use super::events::{Template, filter_event};
use super::produce::Sender;
use super::reader::{handled, rpc_delta, settings_metadata, wait_handled};
use super::report::Figure;
use super::{Bench, FILTERED, LATENCY_METRIC, POLL, PROCESSED};
use crate::stack::Reader;
use anyhow::{Context, Result, bail};
use case_sandbox::Rpc;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use testkit::prometheus::{Metrics, quantile};
use testkit::reader::peak_rss_kib;

/// The reader's figures and the sandbox counters when the warm-up ended.
type Snapshot = (Metrics, BTreeMap<Rpc, u64>);

impl Bench<'_> {
    /// Runs (4) + (6) on a fresh topic.
    pub(super) async fn latency_run(&self, template: &Template) -> Result<LatencyRun> {
        let topic = self.topic("latency")?;
        let before = self.cases_before()?;
        let (mut reader, group) = self.start_reader("latency", &topic, &[])?;
        let mut sender = Sender::new(&self.bootstrap, "0", &topic)?;
        // A probe event (a sync-cycle echo, filtered) proves the reader consumes before the
        // clock starts.
        sender.send(filter_event(template, 1, 1)).await?;
        sender.settle(0).await?;
        wait_probe(&mut reader).await?;
        let total = self.args.rate * self.args.latency_secs;
        let started = Instant::now();
        let snapshot = self
            .produce_paced(&mut sender, &reader, template, total)
            .await?;
        let produce_seconds = started.elapsed().as_secs_f64();
        sender.settle(0).await?;
        let (_, metrics, _) = wait_handled(&mut reader, total + 1).await?;
        let rpcs_after = self.store.call_counts();
        let committed_ok = self.wait_committed(&group, &topic, &sender.out).await?;
        let peak_rss_kib = peak_rss_kib(reader.pid());
        let status = reader.terminate(Duration::from_secs(40))?;
        let check = self.check_order(&before)?;
        let (early, rpcs_before) = snapshot.unwrap_or_default();
        let rpcs = rpc_delta(&rpcs_before, &rpcs_after);
        let run = LatencyRun {
            events: total,
            produce_seconds,
            achieved_rate: total as f64 / produce_seconds.max(1e-9),
            window_events: handled(&metrics).saturating_sub(handled(&early)),
            buckets: buckets_since(&metrics, &early),
            settings_metadata_rpcs: settings_metadata(&rpcs),
            rpcs: rpcs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            processed: metrics.sum(&PROCESSED, &[]),
            filtered: metrics.by_label(&FILTERED, "reason"),
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

    /// Produces `total` apply events at `--rate` (1 % of a second's worth per tick, wall
    /// clock stamps); returns the snapshot taken when the warm-up ended.
    async fn produce_paced(
        &self,
        sender: &mut Sender<'_>,
        reader: &Reader,
        template: &Template,
        total: u64,
    ) -> Result<Option<Snapshot>> {
        let per_tick = (self.args.rate / 100).max(1);
        let tick = Duration::from_secs_f64(per_tick as f64 / self.args.rate as f64);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let warmup = Duration::from_secs(self.args.warmup_secs);
        let mut snapshot: Option<Snapshot> = None;
        let mut i = 0u64;
        while i < total {
            interval.tick().await;
            for _ in 0..per_tick.min(total - i) {
                let event = self.book()?.event(template, i, true);
                sender.send(event).await?;
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
        Ok(snapshot)
    }
}

/// Waits (at most 90 s) until `reader` handled the probe event.
async fn wait_probe(reader: &mut Reader) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if !reader.running() {
            bail!("{} exited early; see {}", reader.name, reader.log.display());
        }
        if reader.metrics().is_some_and(|m| handled(&m) >= 1) {
            return Ok(());
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
}

/// The latency histogram of `metrics` minus its counts in `early` (cumulative).
fn buckets_since(metrics: &Metrics, early: &Metrics) -> Vec<(f64, f64)> {
    let full = metrics.buckets(&LATENCY_METRIC);
    let early = early.buckets(&LATENCY_METRIC);
    full.iter()
        .map(|(le, c)| {
            let e = early.iter().find(|(l, _)| l == le).map_or(0.0, |(_, c)| *c);
            (*le, c - e)
        })
        .collect()
}

/// The outcome of the latency run.
pub(super) struct LatencyRun {
    events: u64,
    produce_seconds: f64,
    achieved_rate: f64,
    window_events: u64,
    /// Cumulative (upper bound ms, count) after the warm-up.
    pub(super) buckets: Vec<(f64, f64)>,
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
    /// The upper bound of the bucket holding quantile `q` after the warm-up.
    pub(super) fn quantile(&self, q: f64) -> Figure {
        match quantile(&self.buckets, q) {
            Some(v) => Figure::Value(v),
            None => Figure::NotMeasured("no latency samples after the warm-up".into()),
        }
    }

    /// The share of events after the warm-up within `ms` (a bucket bound).
    pub(super) fn fraction_within(&self, ms: f64) -> Figure {
        let total = self.buckets.last().map_or(0.0, |(_, c)| *c);
        match self.buckets.iter().find(|(le, _)| (*le - ms).abs() < 1e-9) {
            Some((_, c)) if total > 0.0 => Figure::Value(c / total),
            Some(_) => Figure::NotMeasured("no latency samples after the warm-up".into()),
            None => Figure::NotMeasured(format!("the histogram has no {ms} ms bucket")),
        }
    }

    /// Settings + metadata RPCs per 1,000 events handled after the warm-up.
    pub(super) fn rpcs_per_1000(&self) -> Figure {
        if self.window_events == 0 {
            return Figure::NotMeasured("no event handled after the warm-up".into());
        }
        Figure::Value(self.settings_metadata_rpcs as f64 * 1000.0 / self.window_events as f64)
    }

    pub(super) fn json(&self) -> Value {
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
