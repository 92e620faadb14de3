//! Scenario 5: a concurrent writer edits the same cases through `Store::edit_case` (about
//! 1,000 edits/s of descriptions, and once per tenth case its priority) while the reader
//! applies Jira changes over a tenth of the cases; neither side's edit may be lost.

use super::{Profile, Scenario};
use crate::chaos::plan::Rng;
use crate::chaos::run::ScenarioRun;
use anyhow::Result;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;
use thirdparty_core::{CaseId, FieldUpdate, OrgId, Text};

/// What the concurrent writer sets a case's priority to (no Jira event does).
pub(in crate::chaos) const WRITER_PRIORITY: &str = "P5";

/// A concurrent writer (version conflicts).
pub(in crate::chaos) struct ConcurrentWriter;

impl Scenario for ConcurrentWriter {
    const PROFILE: Profile = Profile {
        case_divisor: 10,
        priority_events: true,
        applied_from_logs: true,
        ..Profile::named("5 concurrent writer (version conflicts)")
    };

    fn before_readers(&self, run: &mut ScenarioRun<'_>) {
        run.env.store.faults().set_latency(Duration::from_millis(2));
        start_writer(run);
    }

    /// The writer is the fault: it runs until every record is committed.
    async fn inject(&self, _run: &mut ScenarioRun<'_>) -> Result<()> {
        Ok(())
    }

    async fn after_drain(&self, run: &mut ScenarioRun<'_>) {
        run.stop_writer().await;
        run.env.store.faults().set_latency(Duration::ZERO);
    }

    fn figures(&self, run: &ScenarioRun<'_>) -> Vec<(&'static str, Value)> {
        vec![
            ("concurrent_writer_edits", json!(run.writer.total)),
            (
                "writer_priority_edits",
                json!(run.writer.priority_set.iter().filter(|p| **p).count()),
            ),
        ]
    }
}

/// Starts the writer task: about 1,000 edits/s of random cases' descriptions, and once per
/// tenth case, at a random moment, its priority.
fn start_writer(run: &mut ScenarioRun<'_>) {
    let store = run.env.store.clone();
    let book = run.writer_shared.clone();
    let stop = run.writer_stop.clone();
    let mut rng = Rng(run.rng.next());
    let cases = run.plan.cases;
    let prefix = run.case_prefix();
    run.writer_task = Some(tokio::spawn(async move {
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
                let id = CaseId::from(format!("{prefix}{j}"));
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
