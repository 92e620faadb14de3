//! Scenario 1: `kill -9` of the reader at random moments (seeded), restarted each time; at
//! every kill the committed offsets must not have passed an unaccounted record.

use super::{Profile, Scenario};
use crate::chaos::run::ScenarioRun;
use anyhow::Result;
use std::time::Duration;

/// `kill -9` at random moments.
pub(in crate::chaos) struct KillNine;

impl Scenario for KillNine {
    const PROFILE: Profile = Profile::named("1 kill -9 at random moments");

    async fn inject(&self, run: &mut ScenarioRun<'_>) -> Result<()> {
        let total = run.total_effects();
        let kills = run.env.args.kills();
        let mut moments: Vec<f64> = (0..kills).map(|_| 0.03 + 0.9 * run.rng.unit()).collect();
        moments.sort_by(f64::total_cmp);
        println!(
            "chaos: kill moments (share of effects applied): {}",
            moments
                .iter()
                .map(|m| format!("{m:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for m in moments {
            // The restarted reader applies something before the next kill (when anything is
            // left), so every kill lands on a working reader.
            let now = run.progress();
            if now < total {
                run.wait_progress(now + 1).await?;
            }
            run.wait_progress(run.effects_at(m)).await?;
            let jitter = Duration::from_millis(run.rng.below(300));
            tokio::time::sleep(jitter).await;
            run.kill_and_restart(0).await?;
        }
        Ok(())
    }
}
