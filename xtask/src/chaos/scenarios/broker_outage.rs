//! Scenario 4: the broker unreachable mid-stream. The TCP proxy in front of Tansu cuts and
//! refuses every client connection for a while; the first reader's readiness must go false
//! (or the reader restart) and come back within 60 s of the broker.

use super::{Profile, Scenario};
use crate::chaos::run::{ScenarioRun, TICK};
use crate::workload::BrokerKind;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The broker unreachable mid-stream.
pub(in crate::chaos) struct BrokerOutage;

impl Scenario for BrokerOutage {
    const PROFILE: Profile = Profile {
        reader_exits_expected: true,
        ..Profile::named("4 broker unreachable mid-stream")
    };

    async fn inject(&self, run: &mut ScenarioRun<'_>) -> Result<()> {
        if run.env.args.broker != BrokerKind::Tansu {
            bail!(
                "scenario 4 cuts the broker through the proxy in front of Tansu: run it with --broker tansu"
            );
        }
        run.wait_progress(run.effects_at(0.3)).await?;
        let down = run.env.args.broker_down();
        println!("chaos: broker unreachable for {down:?} from now");
        run.env.proxy.set_up(false);
        let t0 = Instant::now();
        run.supervise_for(down, |run| run.sample_readiness(t0))
            .await?;
        run.env.proxy.set_up(true);
        run.healed();
        let back = Instant::now() + Duration::from_secs(60);
        while Instant::now() < back {
            run.supervise()?;
            run.sample_readiness(t0);
            if run.readiness.last().is_some_and(|(_, r)| *r) {
                break;
            }
            tokio::time::sleep(TICK).await;
        }
        let went_false = run.readiness.iter().any(|(_, r)| !r);
        let back_true = run.readiness.last().is_some_and(|(_, r)| *r);
        if !(went_false || run.crash_restarts() > 0) {
            run.violations.push(format!(
                "readiness stayed true during the {down:?} broker outage and the reader did not restart"
            ));
        }
        if !back_true {
            run.violations
                .push("readiness did not come back within 60 s of the broker".into());
        }
        Ok(())
    }

    fn figures(&self, run: &ScenarioRun<'_>) -> Vec<(&'static str, Value)> {
        let went_false = run.readiness.iter().any(|(_, r)| !r);
        let first_false = run.readiness.iter().find(|(_, r)| !r).map(|(t, _)| *t);
        let back = run
            .readiness
            .iter()
            .skip_while(|(_, r)| *r)
            .find(|(_, r)| *r)
            .map(|(t, _)| *t);
        vec![(
            "readiness",
            json!({ "went_false": went_false, "false_after_s": first_false, "true_again_after_s": back }),
        )]
    }
}
