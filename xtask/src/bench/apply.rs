//! Run (3), the apply path: title updates of the bench cases with a latency injected in
//! every sandbox call, once with `kafka.max_in_flight=1` and once with the default, and the
//! per-case order check of each (also used by the latency run).

use super::events::{CaseBook, Template, case_id, case_states, title};
use super::reader::ReaderRun;
use super::{Bench, FILTERED, PROCESSED};
use anyhow::Result;
use case_sandbox::Store;
use serde_json::{Value, json};
use std::time::Duration;
use thirdparty_core::OrgId;

/// The two apply runs (`None`: skipped by its `--…-events 0`).
pub(super) struct ApplyRuns {
    pub(super) sequential: Option<(ReaderRun, OrderCheck)>,
    pub(super) concurrent: Option<(ReaderRun, OrderCheck)>,
}

/// The bench cases before a run: versions and title revisions.
pub(super) struct CasesBefore {
    versions: Vec<Option<u64>>,
    revs: Vec<u64>,
}

/// The per-case order check of one apply run.
#[derive(Debug, Default)]
pub(super) struct OrderCheck {
    pub(super) cases: u64,
    /// Cases whose version did not advance by exactly their event count, or whose title is
    /// not their last revision.
    pub(super) mismatched: u64,
    pub(super) first_mismatch: Option<String>,
}

impl OrderCheck {
    pub(super) fn json(&self) -> Value {
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

impl Bench<'_> {
    /// Runs (3): both apply runs with `--apply-latency-ms` injected in the sandbox.
    pub(super) async fn apply_runs(&self, template: &Template) -> Result<ApplyRuns> {
        let args = self.args;
        self.store
            .faults()
            .set_latency(Duration::from_millis(args.apply_latency_ms));
        let sequential = if args.sequential_events > 0 {
            Some(
                self.apply_run("seq", args.sequential_events, template, Some("1"))
                    .await?,
            )
        } else {
            None
        };
        let concurrent = if args.apply_events > 0 {
            Some(
                self.apply_run("conc", args.apply_events, template, None)
                    .await?,
            )
        } else {
            None
        };
        self.store.faults().set_latency(Duration::ZERO);
        Ok(ApplyRuns {
            sequential,
            concurrent,
        })
    }

    /// The bench cases now, for [`Self::check_order`] after a run.
    pub(super) fn cases_before(&self) -> Result<CasesBefore> {
        let book = self.book()?;
        Ok(CasesBefore {
            versions: case_states(&self.store, &book),
            revs: book.revs.clone(),
        })
    }

    /// Checks every bench case an event of the run since `before` touched.
    pub(super) fn check_order(&self, before: &CasesBefore) -> Result<OrderCheck> {
        Ok(check_order(
            &self.store,
            &*self.book()?,
            &before.versions,
            &before.revs,
        ))
    }

    async fn apply_run(
        &self,
        name: &str,
        events: u64,
        template: &Template,
        max_in_flight: Option<&str>,
    ) -> Result<(ReaderRun, OrderCheck)> {
        let topic = self.topic(name)?;
        let before = self.cases_before()?;
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
        let check = self.check_order(&before)?;
        println!(
            "bench: (3) apply {name} (max_in_flight {}): {:.0} msgs/s, processed {}, filtered {:?}, order: {}/{} cases mismatched{}",
            max_in_flight.unwrap_or("default"),
            run.msgs_per_s,
            run.metrics.sum(&PROCESSED, &[]),
            run.metrics.by_label(&FILTERED, "reason"),
            check.mismatched,
            check.cases,
            check
                .first_mismatch
                .as_ref()
                .map_or(String::new(), |m| format!(" (first: {m})"))
        );
        Ok((run, check))
    }
}
