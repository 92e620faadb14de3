//! The scenarios, one file each: what a scenario changes in the shared run (its [`Profile`])
//! and the fault it injects mid-stream ([`Scenario`]). [`ScenarioKind`] is what
//! `--scenario N` names; [`run`] is the one place that maps a kind to its type.

pub(super) mod broker_outage;
pub(super) mod case_api_outage;
pub(super) mod concurrent_writer;
pub(super) mod join_leave;
pub(super) mod kill_nine;
pub(super) mod poison_storm;

use super::Env;
use super::report::Report;
use super::run::ScenarioRun;
use anyhow::Result;
use serde_json::Value;

/// One chaos scenario, by its `--scenario` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ScenarioKind {
    /// 1: `kill -9` of the reader at random moments.
    KillNine,
    /// 2: a Case API outage mid-stream, the reader restarted in a loop.
    CaseApiOutage,
    /// 3: three readers of one group joining and leaving.
    JoinLeave,
    /// 4: the broker unreachable mid-stream.
    BrokerOutage,
    /// 5: a concurrent writer edits the same cases.
    ConcurrentWriter,
    /// 6: a poison storm mixed with good events.
    PoisonStorm,
}

impl ScenarioKind {
    /// Every scenario, in `--scenario all` order.
    pub(super) const ALL: [Self; 6] = [
        Self::KillNine,
        Self::CaseApiOutage,
        Self::JoinLeave,
        Self::BrokerOutage,
        Self::ConcurrentWriter,
        Self::PoisonStorm,
    ];

    /// The scenario `--scenario n` names (1–6).
    pub(super) fn from_number(n: u8) -> Option<Self> {
        Self::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Its `--scenario` number, also the namespace of its topic, group and ids.
    pub(super) fn number(self) -> u8 {
        self as u8 + 1
    }
}

/// What a scenario changes in the run every scenario shares; [`Profile::named`] changes
/// nothing but the name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Profile {
    /// Shown in the output and the summary (`"<n> <what>"`).
    pub(super) name: &'static str,
    /// `--cases` is divided by this (at least 10 cases stay).
    pub(super) case_divisor: u64,
    /// Share of poison records in the plan.
    pub(super) poison_share: f64,
    /// One priority event per tenth case in the plan.
    pub(super) priority_events: bool,
    /// Reader settings on top of the shared ones.
    pub(super) reader_settings: &'static [(&'static str, &'static str)],
    /// Readers may exit on their own (the fault makes them give up): not a violation.
    pub(super) reader_exits_expected: bool,
    /// Only the decision logs say which update applied (another writer bumps versions too);
    /// otherwise every delivered update counts as applied.
    pub(super) applied_from_logs: bool,
    /// The peak RSS must stay under `--rss-limit-mib`.
    pub(super) rss_bounded: bool,
}

impl Profile {
    /// The shared run unchanged, shown as `name`.
    pub(super) const fn named(name: &'static str) -> Self {
        Self {
            name,
            case_divisor: 1,
            poison_share: 0.0,
            priority_events: false,
            reader_settings: &[],
            reader_exits_expected: false,
            applied_from_logs: false,
            rss_bounded: false,
        }
    }
}

/// One scenario: its profile and the fault it injects while the stream runs.
pub(super) trait Scenario {
    /// What it changes in the shared run.
    const PROFILE: Profile;

    /// Before the first reader starts.
    fn before_readers(&self, _run: &mut ScenarioRun<'_>) {}

    /// The fault, once the first reader and the producer run; the shared run then waits
    /// until every record is committed.
    async fn inject(&self, run: &mut ScenarioRun<'_>) -> Result<()>;

    /// After every record is committed, before the fresh event.
    async fn after_drain(&self, _run: &mut ScenarioRun<'_>) {}

    /// Figures only this scenario reports.
    fn figures(&self, _run: &ScenarioRun<'_>) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

/// Runs scenario `kind` and its oracle.
pub(super) async fn run(kind: ScenarioKind, env: &Env<'_>, seed: u64) -> Report {
    match kind {
        ScenarioKind::KillNine => drive(kind, &kill_nine::KillNine, env, seed).await,
        ScenarioKind::CaseApiOutage => {
            drive(kind, &case_api_outage::CaseApiOutage, env, seed).await
        }
        ScenarioKind::JoinLeave => drive(kind, &join_leave::JoinLeave, env, seed).await,
        ScenarioKind::BrokerOutage => drive(kind, &broker_outage::BrokerOutage, env, seed).await,
        ScenarioKind::ConcurrentWriter => {
            drive(kind, &concurrent_writer::ConcurrentWriter, env, seed).await
        }
        ScenarioKind::PoisonStorm => drive(kind, &poison_storm::PoisonStorm, env, seed).await,
    }
}

async fn drive<S: Scenario>(kind: ScenarioKind, scenario: &S, env: &Env<'_>, seed: u64) -> Report {
    let mut run = match ScenarioRun::new(env, kind.number(), S::PROFILE, seed) {
        Ok(run) => run,
        Err(e) => return Report::aborted(kind.number(), S::PROFILE.name, format!("{e:#}")),
    };
    if let Err(e) = stream(scenario, &mut run).await {
        run.violations.push(format!("the scenario aborted: {e:#}"));
    }
    let mut report = run.finish().await;
    for (name, value) in scenario.figures(&run) {
        report.figures.insert(name.to_owned(), value);
    }
    report
}

/// The stream every scenario shares, with its fault in the middle.
async fn stream<S: Scenario>(scenario: &S, run: &mut ScenarioRun<'_>) -> Result<()> {
    scenario.before_readers(run);
    run.add_reader("a")?;
    run.start_producing()?;
    scenario.inject(run).await?;
    run.wait_done().await?;
    scenario.after_drain(run).await;
    run.fresh_event().await?;
    Ok(())
}
