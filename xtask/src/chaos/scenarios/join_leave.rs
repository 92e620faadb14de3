//! Scenario 3: three readers of one group joining and leaving (SIGTERM) during the stream;
//! every SIGTERM must end with exit 0 within the grace period.

use super::{Profile, Scenario};
use crate::chaos::run::ScenarioRun;
use anyhow::Result;

/// Three readers join and leave.
pub(in crate::chaos) struct JoinLeave;

impl Scenario for JoinLeave {
    const PROFILE: Profile = Profile::named("3 three readers join and leave");

    async fn inject(&self, run: &mut ScenarioRun<'_>) -> Result<()> {
        // The first reader runs from the start, the other two join later. Each joining
        // reader must be ready (in the group) before the next step: a reader that is sent
        // SIGTERM before it installed its handler dies of the signal, which is not what this
        // scenario is about (see the report).
        run.wait_ready(0).await?;
        run.wait_progress(run.effects_at(0.15)).await?;
        let b = run.add_reader("b")?;
        run.wait_ready(b).await?;
        run.wait_progress(run.effects_at(0.3)).await?;
        let c = run.add_reader("c")?;
        run.wait_ready(c).await?;
        run.wait_progress(run.effects_at(0.45)).await?;
        run.sigterm(b)?;
        run.wait_progress(run.effects_at(0.6)).await?;
        if let Some(s) = run.slots.get_mut(b) {
            s.supervise = true;
        }
        run.launch(b)?;
        run.wait_ready(b).await?;
        run.wait_progress(run.effects_at(0.75)).await?;
        run.sigterm(0)?;
        run.healed();
        Ok(())
    }
}
