//! The bench workload: the title-update events of every run, rendered from the fixture
//! payload without a JSON serializer per event, the PreFilter-rejected mix of the filter
//! path, and the bench cases the apply-path events move through their title revisions.

use crate::workload::read_json;
use anyhow::{Context, Result, bail};
use case_sandbox::Store;
use serde_json::Value;
use std::path::Path;
use testkit::clock::now_ms;
use testkit::fixtures::{
    JIRA_ACCOUNT, JIRA_CONFIGURED_PROJECT, JIRA_HUMAN_USER, JIRA_INTEGRATION_USER,
    JIRA_UNCONFIGURED_PROJECT, linked_jira_case,
};
use thirdparty_core::{CaseId, OrgId};

/// Unconfigured organisations used by the filter path (each costs one metadata load).
const UNCONFIGURED_ORGS: u64 = 50;

/// `fixtures/jira/payloads/update_title.json` compacted, with slots for the varied fields.
pub(super) struct Template {
    /// Literal text around the slots: `parts.len() == slots.len() + 1`.
    parts: Vec<String>,
    slots: Vec<Slot>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Org,
    Timestamp,
    User,
    IssueId,
    IssueKey,
    Project,
    ChangelogId,
    From,
    To,
    Summary,
}

const SLOTS: [Slot; 10] = [
    Slot::Org,
    Slot::Timestamp,
    Slot::User,
    Slot::IssueId,
    Slot::IssueKey,
    Slot::Project,
    Slot::ChangelogId,
    Slot::From,
    Slot::To,
    Slot::Summary,
];

/// The values of one event.
struct EventValues {
    org: u64,
    timestamp_ms: i64,
    user: String,
    issue_id: u64,
    project: &'static str,
    changelog_id: u64,
    from: String,
    to: String,
}

impl Template {
    /// Loads the payload at `path` and cuts it at the varied fields.
    pub(super) fn load(path: &Path) -> Result<Self> {
        let mut value: Value = read_json(path)?;
        let marker = |slot: Slot| Value::from(format!("@@SLOT{}@@", slot as usize));
        let mut put = |pointer: &str, slot: Slot| -> Result<()> {
            let place = value
                .pointer_mut(pointer)
                .with_context(|| format!("{} has no {pointer}", path.display()))?;
            *place = marker(slot);
            Ok(())
        };
        put("/orgId", Slot::Org)?;
        put("/webhook/timestamp", Slot::Timestamp)?;
        put("/webhook/user/accountId", Slot::User)?;
        put("/webhook/issue/id", Slot::IssueId)?;
        put("/webhook/issue/key", Slot::IssueKey)?;
        put("/webhook/issue/fields/project/id", Slot::Project)?;
        put("/webhook/changelog/id", Slot::ChangelogId)?;
        put("/webhook/changelog/items/0/fromString", Slot::From)?;
        put("/webhook/changelog/items/0/toString", Slot::To)?;
        put("/webhook/issue/fields/summary", Slot::Summary)?;
        let text = serde_json::to_string(&value)?;
        let mut parts = Vec::new();
        let mut slots = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("\"@@SLOT") {
            let (before, after) = rest.split_at(start);
            let Some(end) = after.find("@@\"").filter(|e| *e > 7) else {
                bail!("malformed slot marker in the template");
            };
            let index: usize = after
                .get(7..end)
                .and_then(|n| n.parse().ok())
                .context("malformed slot index in the template")?;
            let slot = *SLOTS.get(index).context("unknown slot index")?;
            parts.push(before.to_owned());
            slots.push(slot);
            rest = after.get(end + 3..).unwrap_or_default();
        }
        parts.push(rest.to_owned());
        if slots.len() != SLOTS.len() {
            bail!(
                "expected {} slots in the template, found {}",
                SLOTS.len(),
                slots.len()
            );
        }
        Ok(Self { parts, slots })
    }

    /// The record (key, value) of one event. Values are ASCII without quotes or escapes.
    fn render(&self, v: &EventValues) -> (String, Vec<u8>) {
        let mut out =
            String::with_capacity(self.parts.iter().map(String::len).sum::<usize>() + 256);
        for (i, part) in self.parts.iter().enumerate() {
            out.push_str(part);
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            match slot {
                Slot::Org => out.push_str(&v.org.to_string()),
                Slot::Timestamp => out.push_str(&v.timestamp_ms.to_string()),
                Slot::User => quoted(&mut out, &v.user),
                Slot::IssueId => quoted(&mut out, &v.issue_id.to_string()),
                Slot::IssueKey => quoted(&mut out, &format!("BEN-{}", v.issue_id)),
                Slot::Project => quoted(&mut out, v.project),
                Slot::ChangelogId => quoted(&mut out, &v.changelog_id.to_string()),
                Slot::From => quoted(&mut out, &v.from),
                Slot::To | Slot::Summary => quoted(&mut out, &v.to),
            }
        }
        (format!("{}:{}", v.org, v.issue_id), out.into_bytes())
    }
}

fn quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// Event `i` of `n` rejected in PreFilter, round-robin: an unconfigured Jira project of org 1
/// (`no_matching_metadata`), an echo of org 1's integration user on a configured project
/// (`break_synchronization_cycle`), an unconfigured organisation (`no_matching_metadata`
/// after one metadata load per organisation).
pub(super) fn filter_event(template: &Template, i: u64, n: u64) -> (String, Vec<u8>) {
    let base = now_ms() - i64::try_from(n).unwrap_or(i64::MAX / 2);
    let (org, project, user) = match i % 3 {
        0 => (1, JIRA_UNCONFIGURED_PROJECT, JIRA_HUMAN_USER),
        1 => (1, JIRA_CONFIGURED_PROJECT, JIRA_INTEGRATION_USER),
        _ => (
            1_000 + (i / 3) % UNCONFIGURED_ORGS,
            JIRA_CONFIGURED_PROJECT,
            JIRA_HUMAN_USER,
        ),
    };
    template.render(&EventValues {
        org,
        timestamp_ms: base + i64::try_from(i).unwrap_or(0),
        user: user.to_owned(),
        issue_id: 900_000 + i % 5_000,
        project,
        changelog_id: 50_000_000 + i,
        from: format!("Filter bench {} rev {}", i % 5_000, i / 5_000),
        to: format!("Filter bench {} rev {}", i % 5_000, i / 5_000 + 1),
    })
}

/// The Jira issue id of bench case `j`.
fn issue_id(j: u64) -> u64 {
    1_000_000 + j
}

/// The sandbox case id of bench case `j`.
pub(super) fn case_id(j: u64) -> CaseId {
    CaseId::from(format!("bench-{j}"))
}

/// The title of bench case `j` at revision `rev`.
pub(super) fn title(j: u64, rev: u64) -> String {
    format!("Bench case {j} rev {rev}")
}

/// What the apply-path events did to the bench cases so far: every event moves one case's
/// title to its next revision, with an event time later than every earlier one.
pub(super) struct CaseBook {
    /// Current title revision per case (= events sent for it).
    pub(super) revs: Vec<u64>,
    next_ts: i64,
    next_changelog: u64,
}

impl CaseBook {
    /// `cases` cases at revision 0; the first event is stamped `first_ts`.
    pub(super) fn new(cases: u64, first_ts: i64) -> Self {
        Self {
            revs: vec![0; usize::try_from(cases).unwrap_or(0)],
            next_ts: first_ts,
            next_changelog: 100_000_000,
        }
    }

    /// Event `i` of a run: case `i % cases` gets its next title revision. `now` (latency run)
    /// stamps it with the wall clock, else the next synthetic (past) event time.
    pub(super) fn event(&mut self, template: &Template, i: u64, now: bool) -> (String, Vec<u8>) {
        let cases = self.revs.len().max(1) as u64;
        let j = i % cases;
        let rev = match self.revs.get_mut(usize::try_from(j).unwrap_or(0)) {
            Some(r) => {
                *r += 1;
                *r
            }
            None => 1,
        };
        let ts = if now {
            now_ms().max(self.next_ts)
        } else {
            self.next_ts
        };
        self.next_ts = ts + 1;
        self.next_changelog += 1;
        template.render(&EventValues {
            org: 1,
            timestamp_ms: ts,
            user: JIRA_HUMAN_USER.to_owned(),
            issue_id: issue_id(j),
            project: JIRA_CONFIGURED_PROJECT,
            changelog_id: self.next_changelog,
            from: title(j, rev - 1),
            to: title(j, rev),
        })
    }
}

/// Inserts the bench cases (org 1, `proj-support`, each linked to its Jira issue) at version
/// 1 with title revision 0.
pub(super) fn insert_cases(store: &Store, cases: u64) -> Result<()> {
    for j in 0..cases {
        let id = issue_id(j);
        let case = linked_jira_case(case_id(j).as_str(), &title(j, 0), JIRA_ACCOUNT, id, "BEN")
            .context("building a bench case")?;
        store.insert_case(case);
    }
    Ok(())
}

/// Version and title revision of every bench case (`None`: the case is missing).
pub(super) fn case_states(store: &Store, book: &CaseBook) -> Vec<Option<u64>> {
    (0..book.revs.len() as u64)
        .map(|j| store.case(OrgId(1), &case_id(j)).map(|c| c.version.0))
        .collect()
}
