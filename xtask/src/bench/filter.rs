//! Runs (1) and (2): one topic of PreFilter-rejected events, read by the raw consumer (the
//! limit), then by the reader (the filter path).

use super::events::Template;
use super::produce::Produced;
use super::raw::{RawRun, raw_consume};
use super::reader::ReaderRun;
use super::{Bench, FILTERED, PROCESSED};
use anyhow::Result;
use std::collections::BTreeMap;

/// What runs (1) and (2) measured.
pub(super) struct FilterRuns {
    /// The filter-path topic's production.
    pub(super) produced: Produced,
    pub(super) raw: RawRun,
    pub(super) filter: ReaderRun,
    /// Filtered events per reason in the filter path.
    pub(super) reasons: BTreeMap<String, f64>,
    /// Every event was filtered for a PreFilter reason, none processed.
    pub(super) only_prefilter: bool,
}

impl Bench<'_> {
    /// Produces `--events` filter-path events, then runs (1) and (2) over them.
    pub(super) async fn filter_runs(&self, template: &Template) -> Result<FilterRuns> {
        let events = self.args.events;
        let (filter_topic, produced) = self
            .produce_filter_events("filter", events, template)
            .await?;
        println!(
            "bench: produced {} filter-path events ({:.0} B mean, lz4) in {:.1} s ({:.0}/s)",
            produced.count,
            produced.mean_bytes(),
            produced.seconds,
            produced.count as f64 / produced.seconds.max(1e-9)
        );
        let raw = raw_consume(&self.bootstrap, &filter_topic, self.args.partitions, events).await?;
        println!(
            "bench: (1) raw consumer: {:.0} msgs/s ({} msgs in {:.2} s)",
            raw.msgs_per_s, events, raw.seconds
        );
        let filter = self
            .reader_run("filter", &filter_topic, &produced, &[])
            .await?;
        println!(
            "bench: (2) filter path: {:.0} msgs/s (ratio to raw {:.2})",
            filter.msgs_per_s,
            filter.msgs_per_s / raw.msgs_per_s.max(1e-9)
        );
        let reasons = filter.metrics.by_label(&FILTERED, "reason");
        let only_prefilter = reasons
            .keys()
            .all(|r| r == "no_matching_metadata" || r == "break_synchronization_cycle")
            && filter.metrics.sum(&PROCESSED, &[]) == 0.0;
        Ok(FilterRuns {
            produced,
            raw,
            filter,
            reasons,
            only_prefilter,
        })
    }
}
