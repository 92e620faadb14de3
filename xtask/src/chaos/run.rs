//! One scenario in progress: its plan, topic, readers, producer task and everything the
//! oracle and the report read afterwards; the waits every scenario is made of.

use super::logbook::LogBook;
use super::plan::{Plan, RecordKind, Rng, insert_cases};
use super::produce::{Deliveries, lock, produce_records, producer};
use super::report::Report;
use super::scenarios::Profile;
use super::supervisor::Slot;
use super::{Env, LOG_FILTER, SHUTDOWN_GRACE_MS};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::dead_letter::{by_source, parked_records};
use testkit::offsets::committed_offsets;
use thirdparty_core::OrgId;

/// A scenario fails when nothing moves for this long.
const STALL: Duration = Duration::from_secs(150);
/// The fresh event after the fault must be applied within this.
const FRESH_DEADLINE: Duration = Duration::from_secs(60);
/// How often the waits supervise the readers and look at the progress.
pub(super) const TICK: Duration = Duration::from_millis(200);

/// What the concurrent writer did (empty in the scenarios without one).
#[derive(Default)]
pub(super) struct WriterBook {
    /// Edits per case.
    pub(super) edits: Vec<u64>,
    /// The last description the writer set, per case.
    pub(super) last_description: Vec<Option<String>>,
    /// Whether the writer set the case's priority.
    pub(super) priority_set: Vec<bool>,
    pub(super) total: u64,
}

/// The dead-letter copies of one record.
#[derive(Debug, Clone, Default)]
pub(super) struct ParkedCopies {
    /// How many (more than one: at-least-once, a kill between the dead-letter ack and the
    /// commit).
    pub(super) copies: u32,
    /// The `reason` header of the first copy.
    pub(super) reason: String,
    /// Whether the value was cut to the broker's record size limit.
    pub(super) truncated: bool,
}

/// A scenario in progress.
pub(super) struct ScenarioRun<'a> {
    pub(super) env: &'a Env<'a>,
    /// The scenario's number (`--scenario N`), also the namespace of its ids.
    pub(super) number: u8,
    pub(super) profile: Profile,
    pub(super) rng: Rng,
    pub(super) plan: Plan,
    pub(super) topic: String,
    /// Where the readers park what they cannot apply (`kafka.dead_letter = true`).
    pub(super) dead_letter_topic: String,
    /// The dead-letter copies of this scenario's records, by source (partition, offset).
    pub(super) parked: HashMap<(i32, i64), ParkedCopies>,
    pub(super) group: String,
    pub(super) slots: Vec<Slot>,
    pub(super) logs: LogBook,
    pub(super) deliveries: Arc<Mutex<Deliveries>>,
    pub(super) producer_task: Option<tokio::task::JoinHandle<Result<()>>>,
    pub(super) violations: Vec<String>,
    pub(super) started: Instant,
    pub(super) peak_rss_kib: u64,
    pub(super) kills: u32,
    pub(super) sigterms: u32,
    /// Fault heals not yet followed by a new effect: (when, progress then).
    pub(super) heals: Vec<(Instant, u64)>,
    pub(super) recover_s: Vec<f64>,
    pub(super) fresh_s: Option<f64>,
    pub(super) writer: WriterBook,
    pub(super) writer_shared: Arc<Mutex<WriterBook>>,
    pub(super) writer_stop: Arc<AtomicBool>,
    pub(super) writer_task: Option<tokio::task::JoinHandle<()>>,
    pub(super) update_calls_before: u64,
    pub(super) notes: Vec<String>,
    pub(super) readiness: Vec<(f64, bool)>,
    pub(super) initial_versions: Vec<u64>,
    pub(super) lost: u64,
    pub(super) duplicated: u64,
}

impl<'a> ScenarioRun<'a> {
    /// Plans scenario `number` of `profile`, inserts its cases and creates its topic.
    pub(super) fn new(env: &'a Env<'a>, number: u8, profile: Profile, seed: u64) -> Result<Self> {
        let args = env.args;
        let mut rng = Rng(seed ^ (u64::from(number) << 56));
        // --cases is at least 10 (checked up front): a divisor of 1 keeps it as given.
        let cases = (args.cases / profile.case_divisor).max(10);
        let cases = u32::try_from(cases).context("--cases is too large")?;
        let plan = Plan::new(
            number,
            args.events(),
            cases,
            &mut rng,
            profile.poison_share,
            profile.priority_events,
        );
        insert_cases(&env.store, &plan)?;
        let initial_versions = (0..cases)
            .map(|j| {
                env.store
                    .case(OrgId(1), &plan.case_id(j))
                    .map_or(0, |c| c.version.0)
            })
            .collect();
        let topic = format!("chaos_s{number}_{}", env.run_id);
        env.broker
            .create_topic(&topic, args.partitions)
            .with_context(|| format!("creating topic {topic}"))?;
        let dead_letter_topic = kafka_runtime::dead_letter::default_topic(&topic);
        env.broker
            .create_topic(&dead_letter_topic, args.partitions)
            .with_context(|| format!("creating topic {dead_letter_topic}"))?;
        println!(
            "\n== scenario {}: {} records on {topic}",
            profile.name,
            plan.kinds.len()
        );
        let len = plan.kinds.len();
        let c = cases as usize;
        Ok(Self {
            env,
            number,
            profile,
            rng,
            topic,
            dead_letter_topic,
            parked: HashMap::new(),
            group: format!("chaos-s{number}-{}", env.run_id),
            slots: Vec::new(),
            logs: LogBook::default(),
            deliveries: Arc::new(Mutex::new(Deliveries {
                at: vec![None; len],
                ..Deliveries::default()
            })),
            producer_task: None,
            violations: Vec::new(),
            started: Instant::now(),
            peak_rss_kib: 0,
            kills: 0,
            sigterms: 0,
            heals: Vec::new(),
            recover_s: Vec::new(),
            fresh_s: None,
            writer: WriterBook::default(),
            writer_shared: Arc::new(Mutex::new(WriterBook {
                edits: vec![0; c],
                last_description: vec![None; c],
                priority_set: vec![false; c],
                total: 0,
            })),
            writer_stop: Arc::new(AtomicBool::new(false)),
            writer_task: None,
            update_calls_before: env.store.calls(case_sandbox::Rpc::UpdateCase),
            notes: Vec::new(),
            readiness: Vec::new(),
            initial_versions,
            lost: 0,
            duplicated: 0,
            plan,
        })
    }

    /// The settings of every reader of this scenario.
    pub(super) fn settings(&self) -> Vec<(&'static str, String)> {
        let mut s = vec![
            ("kafka.brokers", self.env.bootstrap.clone()),
            ("kafka.topic", self.topic.clone()),
            ("kafka.group_id", self.group.clone()),
            ("case_api.endpoint", self.env.sandbox_url.clone()),
            ("kafka.auto_offset_reset", "earliest".to_owned()),
            ("kafka.dead_letter", "true".to_owned()),
            ("kafka.session_timeout_ms", "6000".to_owned()),
            ("kafka.drain_timeout_ms", "3000".to_owned()),
            ("kafka.shutdown_grace_ms", SHUTDOWN_GRACE_MS.to_owned()),
            (
                "kafka.librdkafka.auto.commit.interval.ms",
                "1000".to_owned(),
            ),
            ("tracing.log_level", LOG_FILTER.to_owned()),
        ];
        s.extend(
            self.profile
                .reader_settings
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned())),
        );
        s
    }

    /// Starts the producer task: every planned record, as fast as the broker takes them.
    pub(super) fn start_producing(&mut self) -> Result<()> {
        let producer = producer(&self.env.bootstrap)?;
        let topic = self.topic.clone();
        let deliveries = self.deliveries.clone();
        let kinds = self.plan.kinds.clone();
        let plan = self.plan.ids_only();
        let templates = self.env.templates.clone();
        let rate = self.env.args.rate();
        let chunk_len = if rate == 0 { 2_000 } else { 50 };
        self.producer_task = Some(tokio::spawn(async move {
            let started = Instant::now();
            let mut chunk = Vec::new();
            for (i, kind) in kinds.iter().enumerate() {
                let (key, value) = plan.render(&templates, i as u64, *kind)?;
                chunk.push((i as u64, key, value));
                if chunk.len() >= chunk_len {
                    produce_records(&producer, &topic, std::mem::take(&mut chunk), &deliveries)
                        .await?;
                    if rate > 0 {
                        let due = Duration::from_secs_f64((i + 1) as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
            produce_records(&producer, &topic, chunk, &deliveries).await?;
            lock(&deliveries)?.done = true;
            Ok(())
        }));
        Ok(())
    }

    /// Effects visible in the sandbox for this scenario's cases: version bumps (minus the
    /// concurrent writer's) plus timeline cells.
    pub(super) fn progress(&self) -> u64 {
        let mut bumps = 0u64;
        for (j, initial) in self.initial_versions.iter().enumerate() {
            let j32 = u32::try_from(j).unwrap_or(0);
            if let Some(c) = self.env.store.case(OrgId(1), &self.plan.case_id(j32)) {
                bumps += c.version.0.saturating_sub(*initial);
            }
        }
        let prefix = self.case_prefix();
        let cells = self
            .env
            .store
            .timeline_cells()
            .iter()
            .filter(|c| c.cell.case_id.as_str().starts_with(&prefix))
            .count() as u64;
        let writer = self.writer_shared.lock().map_or(0, |w| w.total);
        (bumps + cells).saturating_sub(writer)
    }

    /// What every case id of this scenario starts with.
    pub(super) fn case_prefix(&self) -> String {
        format!("chaos-s{}-", self.number)
    }

    /// Effects the whole plan gives when every record is applied once.
    fn expected_effects(&self) -> u64 {
        self.plan
            .kinds
            .iter()
            .filter(|k| matches!(k, RecordKind::Title { .. } | RecordKind::Comment { .. }))
            .count() as u64
    }

    /// The effects of the whole plan (at least 1).
    pub(super) fn total_effects(&self) -> u64 {
        self.expected_effects().max(1)
    }

    /// The progress at `share` (0–1) of the plan's effects.
    pub(super) fn effects_at(&self, share: f64) -> u64 {
        ((self.total_effects() as f64) * share) as u64
    }

    /// The group's committed offset per partition.
    pub(super) async fn committed(&self) -> Result<BTreeMap<i32, Option<i64>>> {
        Ok(committed_offsets(
            &self.env.bootstrap,
            &self.group,
            &self.topic,
            self.env.args.partitions,
        )
        .await?)
    }

    /// Reads the dead-letter topic to its end into `parked`.
    pub(super) async fn refresh_parked(&mut self) -> Result<()> {
        let records = parked_records(
            &self.env.bootstrap,
            &self.dead_letter_topic,
            self.env.args.partitions,
            Duration::from_secs(60),
        )
        .await?;
        self.parked.clear();
        for ((topic, partition, offset), copies) in by_source(&records) {
            if topic != self.topic {
                continue;
            }
            let first = copies.first();
            self.parked.insert(
                (partition, offset),
                ParkedCopies {
                    copies: u32::try_from(copies.len()).unwrap_or(u32::MAX),
                    reason: first.and_then(|r| r.reason()).unwrap_or_default(),
                    truncated: first.is_some_and(|r| r.truncated()),
                },
            );
        }
        Ok(())
    }

    /// Waits until `progress()` reaches `target`, supervising; fails on a stall.
    pub(super) async fn wait_progress(&mut self, target: u64) -> Result<()> {
        let mut last = (Instant::now(), self.progress());
        loop {
            self.supervise()?;
            let p = self.progress();
            self.note_progress(p);
            if p >= target {
                return Ok(());
            }
            if p != last.1 {
                last = (Instant::now(), p);
            }
            if last.0.elapsed() > STALL {
                bail!("progress stuck at {p}/{target} effects for {STALL:?}");
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// Supervises the readers for `span`, calling `each_tick` after every supervision.
    pub(super) async fn supervise_for(
        &mut self,
        span: Duration,
        mut each_tick: impl FnMut(&mut Self),
    ) -> Result<()> {
        let ends = Instant::now() + span;
        while Instant::now() < ends {
            self.supervise()?;
            each_tick(self);
            tokio::time::sleep(TICK).await;
        }
        Ok(())
    }

    /// The fault healed now: the next new effect measures the recovery time.
    pub(super) fn healed(&mut self) {
        self.heals.push((Instant::now(), self.progress()));
    }

    /// Records the recovery time of every heal that progress `p` has passed since.
    fn note_progress(&mut self, p: u64) {
        let now = Instant::now();
        let mut pending = Vec::new();
        for (heal, at) in self.heals.drain(..) {
            if p > at {
                self.recover_s.push(now.duration_since(heal).as_secs_f64());
            } else {
                pending.push((heal, at));
            }
        }
        self.heals = pending;
    }

    /// Stops the concurrent writer (when one runs) and takes its book for the oracle.
    pub(super) async fn stop_writer(&mut self) {
        self.writer_stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let Some(task) = self.writer_task.take() else {
            return;
        };
        let _ = task.await;
        if let Ok(mut w) = self.writer_shared.lock() {
            self.writer = std::mem::take(&mut *w);
        }
    }

    /// Waits until production finished and the committed offsets equal the produced ends.
    pub(super) async fn wait_done(&mut self) -> Result<()> {
        let mut last = (Instant::now(), self.progress(), BTreeMap::new());
        loop {
            self.supervise()?;
            let (done, ends) = {
                let d = lock(&self.deliveries)?;
                (d.done, d.ends())
            };
            let p = self.progress();
            self.note_progress(p);
            let committed = self.committed().await.unwrap_or_default();
            if done
                && !ends.is_empty()
                && ends
                    .iter()
                    .all(|(part, end)| committed.get(part).copied().flatten() == Some(*end))
            {
                return Ok(());
            }
            if p != last.1 || committed != last.2 {
                last = (Instant::now(), p, committed);
            }
            if last.0.elapsed() > STALL {
                bail!(
                    "stalled for {STALL:?}: effects {p}, committed {:?}, produced ends {ends:?} (production finished: {done})",
                    last.2
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// After the fault: one more comment, which must be applied within the deadline.
    pub(super) async fn fresh_event(&mut self) -> Result<()> {
        let i = self.plan.kinds.len() as u64;
        let kind = RecordKind::Comment { case: 0 };
        self.plan.kinds.push(kind);
        lock(&self.deliveries)?.at.push(None);
        let (key, value) = self.plan.render(&self.env.templates, i, kind)?;
        let producer = producer(&self.env.bootstrap)?;
        let t0 = Instant::now();
        produce_records(
            &producer,
            &self.topic,
            vec![(i, key, value)],
            &self.deliveries,
        )
        .await?;
        let cell_key = self.plan.cell_key(i);
        loop {
            self.supervise()?;
            if self.cell_keys().contains_key(&cell_key) {
                self.fresh_s = Some(t0.elapsed().as_secs_f64());
                break;
            }
            if t0.elapsed() > FRESH_DEADLINE {
                self.violations.push(format!(
                    "the fresh event produced after the fault was not applied within {FRESH_DEADLINE:?}"
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its offset must be committed too.
        self.wait_done().await
    }

    /// Stops every reader (SIGTERM), then runs the oracle.
    pub(super) async fn finish(&mut self) -> Report {
        for i in 0..self.slots.len() {
            if let Err(e) = self.sigterm(i) {
                self.violations.push(format!("{e:#}"));
            }
        }
        if let Some(task) = self.producer_task.take() {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => self.violations.push(format!("the producer failed: {e:#}")),
                Ok(Err(e)) => self
                    .violations
                    .push(format!("the producer task failed: {e}")),
                Err(_) => self
                    .violations
                    .push("the producer had not finished at the end".into()),
            }
        }
        self.stop_writer().await;
        if let Err(e) = self.oracle().await {
            self.violations
                .push(format!("the oracle could not run: {e:#}"));
        }
        self.report()
    }
}
