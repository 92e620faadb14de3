//! Scenario 2: a Case API outage mid-stream. The reader retries, exits non-zero without
//! committing after its (shortened) retry budget, and is restarted like a supervisor would
//! (a restart loop with back-off).

use super::{Profile, Scenario};
use crate::chaos::run::ScenarioRun;
use anyhow::Result;

/// A Case API outage with the reader in a restart loop.
pub(in crate::chaos) struct CaseApiOutage;

impl Scenario for CaseApiOutage {
    const PROFILE: Profile = Profile {
        // A retry budget shorter than the outage: the reader gives up and exits non-zero.
        reader_settings: &[
            ("kafka.retry_max_attempts", "2"),
            ("kafka.retry_initial_backoff_ms", "200"),
            ("kafka.retry_max_backoff_ms", "1000"),
            ("case_api.retry_max_attempts", "3"),
            ("case_api.retry_max_elapsed_ms", "1500"),
            ("case_api.deadline_ms", "1000"),
        ],
        reader_exits_expected: true,
        ..Profile::named("2 Case API outage + restart loop")
    };

    async fn inject(&self, run: &mut ScenarioRun<'_>) -> Result<()> {
        run.wait_progress(run.effects_at(0.3)).await?;
        let outage = run.env.args.outage();
        println!("chaos: Case API outage of {outage:?} from now");
        run.env.store.faults().outage(outage);
        run.supervise_for(outage, |_| {}).await?;
        run.healed();
        if run.crash_restarts() == 0 {
            run.violations.push(format!(
                "the reader did not exit during the {outage:?} outage although its retry budget (2 attempts, 1.5 s per call) is shorter"
            ));
        }
        for slot in &run.slots {
            for exit in &slot.nonzero_exits {
                run.notes.push(format!("exit during the outage: {exit}"));
            }
        }
        Ok(())
    }
}
