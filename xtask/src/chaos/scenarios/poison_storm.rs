//! Scenario 6: a poison storm. Invalid JSON, wrong types, 10 MB messages, 10k-deep nesting,
//! invalid UTF-8 and huge numbers (5 % of the records) mixed with good events; each poison
//! record must be in the dead-letter topic, its copy naming its source offset (the 10 MB one
//! truncated to the broker's limit, with its original size), or — when decodable — have
//! another outcome; and the reader's peak RSS must stay under `--rss-limit-mib`.

use super::{Profile, Scenario};
use crate::chaos::run::ScenarioRun;
use anyhow::Result;

/// Poison mixed with good events.
pub(in crate::chaos) struct PoisonStorm;

impl Scenario for PoisonStorm {
    const PROFILE: Profile = Profile {
        poison_share: 0.05,
        rss_bounded: true,
        ..Profile::named("6 poison storm")
    };

    /// The poison is in the plan: nothing to inject.
    async fn inject(&self, _run: &mut ScenarioRun<'_>) -> Result<()> {
        Ok(())
    }
}
