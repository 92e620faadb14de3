//! The one definition of "nothing lost, nothing doubled" after a scenario (and at every
//! kill): every produced record accounted for (applied — visible in the sandbox — or
//! filtered with its reason, or — a decode failure or a permanent error — its copy in the
//! dead-letter topic); no idempotency key with two
//! side effects (no duplicate timeline cell, each case's version advanced by exactly its
//! applied updates, the right final values); committed offsets equal the produced ends and
//! never passed an unaccounted record; no reader exit, panic or RSS above the bound where the
//! scenario allows none.

use super::plan::{Poison, RecordKind};
use super::produce::lock;
use super::run::ScenarioRun;
use super::scenarios::concurrent_writer::WRITER_PRIORITY;
use anyhow::Result;
use std::collections::{BTreeMap, HashMap, HashSet};
use thirdparty_core::OrgId;

/// Where each record landed: (partition, offset) per record index, once delivered.
type Landings = [Option<(i32, i64)>];

/// What the oracle found, in the categories its violations are reported in.
#[derive(Default)]
struct Findings {
    /// Records or updates with no outcome and no effect.
    lost: Vec<String>,
    /// Side effects that happened more than once (or match no produced record).
    duplicated: Vec<String>,
    /// Cases whose final values are not what their applied updates and the writer give.
    bad_cases: Vec<String>,
}

/// Per case: what the applied updates of the plan did.
struct CaseTally {
    applied: Vec<u64>,
    max_rev: Vec<u32>,
    priority_applied: Vec<bool>,
}

impl ScenarioRun<'_> {
    /// At this instant, every record below each partition's committed offset must be
    /// accounted for (its outcome logged or its effect visible).
    pub(super) async fn check_committed_not_past_unfinished(&mut self) -> Result<()> {
        let committed = self.committed().await?;
        self.logs.refresh()?;
        self.refresh_parked().await?;
        let cells = self.cell_keys();
        let d = lock(&self.deliveries)?;
        let mut bad = Vec::new();
        for (i, at) in d.at.iter().enumerate() {
            let Some((p, o)) = at else { continue };
            let Some(Some(c)) = committed.get(p) else {
                continue;
            };
            if o < c {
                let kind = self.plan.kinds.get(i).copied();
                if let Some(kind) = kind
                    && !self.accounted(i as u64, kind, (*p, *o), &cells)
                {
                    bad.push(format!("{p}/{o} ({kind:?})"));
                }
            }
        }
        drop(d);
        if !bad.is_empty() {
            self.violations.push(format!(
                "committed offsets {committed:?} passed {} records with no outcome and no visible effect, e.g. {}",
                bad.len(),
                bad.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(())
    }

    /// The idempotency keys of this scenario's timeline cells, with how often each exists.
    pub(super) fn cell_keys(&self) -> HashMap<String, u32> {
        let prefix = self.case_prefix();
        let mut out = HashMap::new();
        for c in self.env.store.timeline_cells() {
            if c.cell.case_id.as_str().starts_with(&prefix) {
                *out.entry(c.cell.idempotency_key.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Whether record `i` of `kind`, delivered `at`, has an outcome or a visible effect. A
    /// record acknowledged without being applied (decode failure, permanent error) counts
    /// only when its copy is in the dead-letter topic: a log line alone is not a copy.
    fn accounted(
        &self,
        i: u64,
        kind: RecordKind,
        at: (i32, i64),
        cells: &HashMap<String, u32>,
    ) -> bool {
        let id = self.plan.event_id(i, kind);
        let decided = id.as_deref().is_some_and(|id| {
            self.logs.applied.contains_key(id) || self.logs.filtered.contains_key(id)
        });
        let parked = self.parked.contains_key(&at);
        match kind {
            RecordKind::Comment { .. } => {
                decided || parked || cells.contains_key(&self.plan.cell_key(i))
            }
            RecordKind::Unconfigured => id.as_deref().is_some_and(|id| {
                self.logs
                    .filtered
                    .get(id)
                    .is_some_and(|r| r.iter().any(|r| r == "no_matching_metadata"))
            }),
            RecordKind::Title { .. } | RecordKind::Priority { .. } | RecordKind::Poison(_) => {
                decided || parked
            }
        }
    }

    /// Runs every check of the end of a scenario; its findings become violations.
    pub(super) async fn oracle(&mut self) -> Result<()> {
        self.logs.refresh()?;
        self.refresh_parked().await?;
        let cells = self.cell_keys();
        let committed = self.committed().await?;
        let (at, failed, ends) = {
            let d = lock(&self.deliveries)?;
            (d.at.clone(), d.failed.clone(), d.ends())
        };
        self.check_production(&failed);
        self.check_parked(&at);
        let mut found = Findings::default();
        // 1. Every produced record accounted for.
        self.check_accounted(&at, &cells, &mut found);
        // 2. No idempotency key with two side effects.
        self.check_idempotency(&cells, &mut found);
        // Per case: version advanced by exactly the applied updates, the right final values.
        let tally = self.tally_applied(&at);
        self.check_cases(&tally, &mut found);
        // 3. Committed offsets == produced count per partition.
        self.check_offsets(&committed, &ends);
        self.check_exits_and_rss();
        self.report_findings(&found);
        self.lost = found.lost.len() as u64;
        self.duplicated = found.duplicated.len() as u64;
        Ok(())
    }

    /// The dead-letter topic holds copies of produced records only, each of a record the
    /// reader could not apply (never of an applied or filtered one); more than one copy of a
    /// record is at-least-once (a reader killed between the dead-letter ack and its commit).
    fn check_parked(&mut self, at: &Landings) {
        let index: HashMap<(i32, i64), usize> = at
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.map(|a| (a, i)))
            .collect();
        let mut strays = Vec::new();
        let mut decided = Vec::new();
        let mut untruncated = Vec::new();
        for pos in self.parked.keys() {
            let Some(&i) = index.get(pos) else {
                strays.push(format!("{}/{}", pos.0, pos.1));
                continue;
            };
            let kind = self.plan.kinds.get(i).copied();
            if kind == Some(RecordKind::Poison(Poison::TenMegabytes))
                && self.parked.get(pos).is_some_and(|c| !c.truncated)
            {
                untruncated.push(format!("#{i} at {}/{}", pos.0, pos.1));
            }
            let id = kind.and_then(|k| self.plan.event_id(i as u64, k));
            if id.is_some_and(|id| {
                self.logs.applied.contains_key(&id) || self.logs.filtered.contains_key(&id)
            }) {
                decided.push(format!("#{i} {kind:?}"));
            }
        }
        if !strays.is_empty() {
            self.violations.push(format!(
                "{} dead-letter copies name a source offset no produced record has, e.g. {}",
                strays.len(),
                strays
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !untruncated.is_empty() {
            self.violations.push(format!(
                "the 10 MB record was parked without the truncation header: {}",
                untruncated.join(", ")
            ));
        }
        if !decided.is_empty() {
            self.violations.push(format!(
                "{} records were parked although they were applied or filtered, e.g. {}",
                decided.len(),
                decided
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    /// Production: only a 10 MB record may fail to be produced (the broker may refuse it).
    fn check_production(&mut self, failed: &[(u64, String)]) {
        for (i, why) in failed.iter().take(5) {
            let kind = self.plan.kinds.get(*i as usize);
            self.notes
                .push(format!("record {i} ({kind:?}) was not produced: {why}"));
        }
        let ten_mb_failed = failed.iter().any(|(i, _)| {
            matches!(
                self.plan.kinds.get(*i as usize),
                Some(RecordKind::Poison(Poison::TenMegabytes))
            )
        });
        if !failed.is_empty() && (failed.len() > 1 || !ten_mb_failed) {
            self.violations.push(format!(
                "{} records could not be produced (see notes)",
                failed.len()
            ));
        }
    }

    fn check_accounted(&self, at: &Landings, cells: &HashMap<String, u32>, found: &mut Findings) {
        for (i, kind) in self.plan.kinds.iter().enumerate() {
            let Some(Some(pos)) = at.get(i) else { continue };
            if !self.accounted(i as u64, *kind, *pos, cells) {
                found
                    .lost
                    .push(format!("#{i} {kind:?} at {}/{}", pos.0, pos.1));
            }
        }
    }

    fn check_idempotency(&self, cells: &HashMap<String, u32>, found: &mut Findings) {
        for (id, n) in &self.logs.applied {
            if *n > 1 {
                found.duplicated.push(format!("{id} applied {n} times"));
            }
        }
        for (key, n) in cells {
            if *n > 1 {
                found
                    .duplicated
                    .push(format!("timeline cell key {key} created {n} times"));
            }
        }
        let produced_keys: HashSet<String> = self
            .plan
            .kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| matches!(k, RecordKind::Comment { .. }))
            .map(|(i, _)| self.plan.cell_key(i as u64))
            .collect();
        for key in cells.keys() {
            if !produced_keys.contains(key) {
                found
                    .duplicated
                    .push(format!("timeline cell {key} matches no produced comment"));
            }
        }
    }

    /// What the applied updates did per case.
    fn tally_applied(&self, at: &Landings) -> CaseTally {
        let cases = self.plan.cases as usize;
        let mut tally = CaseTally {
            applied: vec![0u64; cases],
            max_rev: vec![0u32; cases],
            priority_applied: vec![false; cases],
        };
        for (i, kind) in self.plan.kinds.iter().enumerate() {
            let delivered = matches!(at.get(i), Some(Some(_)));
            let (case, rev) = match kind {
                RecordKind::Title { case, rev } => (*case, Some(*rev)),
                RecordKind::Priority { case } => (*case, None),
                _ => continue,
            };
            let id = self.plan.event_id(i as u64, *kind).unwrap_or_default();
            // Without the concurrent writer every delivered update must apply once (its log
            // line may be lost to a kill -9 between the write and the line: count it as
            // applied when delivered). With the writer, the logs (complete: no kill) decide.
            let applied = if self.profile.applied_from_logs {
                self.logs.applied.contains_key(&id)
            } else {
                delivered
            };
            if applied {
                if let Some(a) = tally.applied.get_mut(case as usize) {
                    *a += 1;
                }
                if let (Some(rev), Some(m)) = (rev, tally.max_rev.get_mut(case as usize)) {
                    *m = (*m).max(rev);
                }
                if rev.is_none()
                    && let Some(p) = tally.priority_applied.get_mut(case as usize)
                {
                    *p = true;
                }
            }
        }
        tally
    }

    fn check_cases(&self, tally: &CaseTally, found: &mut Findings) {
        for j in 0..self.plan.cases {
            let ju = j as usize;
            let Some(case) = self.env.store.case(OrgId(1), &self.plan.case_id(j)) else {
                found.bad_cases.push(format!("case {j} is missing"));
                continue;
            };
            let initial = self.initial_versions.get(ju).copied().unwrap_or(0);
            let writer = self.writer.edits.get(ju).copied().unwrap_or(0);
            let expected = initial + tally.applied.get(ju).copied().unwrap_or(0) + writer;
            let delta = case.version.0 as i64 - expected as i64;
            if delta > 0 {
                found.duplicated.push(format!(
                    "case {j}: version {} but {expected} expected (updates doubled)",
                    case.version.0
                ));
            } else if delta < 0 {
                found.lost.push(format!(
                    "case {j}: version {} but {expected} expected (updates lost)",
                    case.version.0
                ));
            }
            let rev = tally.max_rev.get(ju).copied().unwrap_or(0);
            if case.title.expose() != self.plan.title(j, rev) {
                found
                    .bad_cases
                    .push(format!("case {j}: the title is not revision {rev}"));
            }
            if let Some(Some(d)) = self.writer.last_description.get(ju)
                && case.description.expose() != d
            {
                found.bad_cases.push(format!(
                    "case {j}: the concurrent writer's last description edit was overwritten"
                ));
            }
            if self.writer.priority_set.get(ju).copied().unwrap_or(false) {
                if case.priority.as_deref() != Some(WRITER_PRIORITY) {
                    found.bad_cases.push(format!(
                        "case {j}: priority {:?}, the concurrent writer set {WRITER_PRIORITY}: a reader update overwrote it",
                        case.priority
                    ));
                }
            } else if tally.priority_applied.get(ju).copied().unwrap_or(false)
                && case.priority.as_deref() != Some("P1")
            {
                found
                    .bad_cases
                    .push(format!("case {j}: the applied priority P1 is not visible"));
            }
        }
    }

    fn check_offsets(&mut self, committed: &BTreeMap<i32, Option<i64>>, ends: &BTreeMap<i32, i64>) {
        let mut offsets_ok = true;
        for (p, end) in ends {
            if committed.get(p).copied().flatten() != Some(*end) {
                offsets_ok = false;
            }
        }
        if !offsets_ok {
            self.violations.push(format!(
                "committed offsets {committed:?} != produced ends {ends:?}"
            ));
        }
    }

    /// Crashes where none are expected, panics, and the RSS bound where there is one.
    fn check_exits_and_rss(&mut self) {
        let crashes = self.crash_restarts();
        if !self.profile.reader_exits_expected && crashes > 0 {
            let exits: Vec<String> = self
                .slots
                .iter()
                .flat_map(|s| s.nonzero_exits.iter().cloned())
                .collect();
            self.violations.push(format!(
                "{crashes} unexpected reader exits: {}",
                exits.join("; ")
            ));
        }
        if !self.logs.panics.is_empty() {
            self.violations.push(format!(
                "a reader panicked: {}",
                self.logs.panics.first().cloned().unwrap_or_default()
            ));
        }
        if self.profile.rss_bounded && self.peak_rss_kib > self.env.args.rss_limit_mib * 1024 {
            self.violations.push(format!(
                "peak RSS {:.0} MiB above the {} MiB bound",
                self.peak_rss_kib as f64 / 1024.0,
                self.env.args.rss_limit_mib
            ));
        }
    }

    fn report_findings(&mut self, found: &Findings) {
        let e_g = |items: &[String]| items.iter().take(5).cloned().collect::<Vec<_>>().join("; ");
        if !found.lost.is_empty() {
            self.violations.push(format!(
                "{} records/updates lost (no outcome, no effect), e.g. {}",
                found.lost.len(),
                e_g(&found.lost)
            ));
        }
        if !found.duplicated.is_empty() {
            self.violations.push(format!(
                "{} duplicated side effects, e.g. {}",
                found.duplicated.len(),
                e_g(&found.duplicated)
            ));
        }
        if !found.bad_cases.is_empty() {
            self.violations.push(format!(
                "{} cases with wrong final values, e.g. {}",
                found.bad_cases.len(),
                e_g(&found.bad_cases)
            ));
        }
    }
}
