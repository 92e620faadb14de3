//! The plan of one scenario: which record is produced when, what each must become, and the
//! exact bytes of every record (from the Jira fixture payloads).

use crate::workload::read_json;
use anyhow::{Context, Result};
use case_sandbox::Store;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::Path;
use testkit::clock::now_ms;
use testkit::fixtures::{
    JIRA_ACCOUNT, JIRA_CONFIGURED_PROJECT, JIRA_HUMAN_USER, JIRA_UNCONFIGURED_PROJECT,
    linked_jira_case,
};
use thirdparty_core::CaseId;

// A seeded RNG (splitmix64): reproducible moments and mixes without a dependency.

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// Events

/// The fixture payloads events are made from (compact JSON values).
#[derive(Clone)]
pub(super) struct Templates {
    title: Value,
    comment: Value,
    priority: Value,
}

impl Templates {
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| read_json(&dir.join(name));
        Ok(Self {
            title: read("update_title.json")?,
            comment: read("create_comment.json")?,
            priority: read("update_priority.json")?,
        })
    }
}

fn put(value: &mut Value, pointer: &str, new: Value) -> Result<()> {
    let place = value
        .pointer_mut(pointer)
        .with_context(|| format!("the fixture has no {pointer}"))?;
    *place = new;
    Ok(())
}

/// What a record is and what must become of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RecordKind {
    /// Moves case `case`'s title to revision `rev` (unique to this event).
    Title { case: u32, rev: u32 },
    /// Adds one timeline cell to case `case`, idempotency key `jira:<comment id>`.
    Comment { case: u32 },
    /// Moves case `case`'s priority from P3 to P1 (scenario 5).
    Priority { case: u32 },
    /// A configured-looking event of an unconfigured Jira project: filtered
    /// `no_matching_metadata`.
    Unconfigured,
    /// Bad input: acknowledged as a decode failure (or, for a decodable one, any outcome).
    Poison(Poison),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Poison {
    InvalidJson,
    WrongTypes,
    TenMegabytes,
    DeepNesting,
    InvalidUtf8,
    HugeNumbers,
}

impl Poison {
    const ALL: [Poison; 6] = [
        Self::InvalidJson,
        Self::WrongTypes,
        Self::TenMegabytes,
        Self::DeepNesting,
        Self::InvalidUtf8,
        Self::HugeNumbers,
    ];
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::WrongTypes => "wrong_types",
            Self::TenMegabytes => "10mb",
            Self::DeepNesting => "deep_nesting",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::HugeNumbers => "huge_numbers",
        }
    }
}

/// The plan of one scenario: every record's kind, in production order.
pub(super) struct Plan {
    /// Distinguishes this scenario's ids (changelog ids, comment ids, issue ids, case ids).
    scenario: u8,
    pub(super) kinds: Vec<RecordKind>,
    pub(super) cases: u32,
    base_ts: i64,
}

impl Plan {
    /// `events` records: mostly title updates and comments over `cases` cases, 5 % of an
    /// unconfigured project, plus `poison_share` poison and (with `priority_events`) one
    /// priority event per tenth case.
    pub(super) fn new(
        scenario: u8,
        events: u64,
        cases: u32,
        rng: &mut Rng,
        poison_share: f64,
        priority_events: bool,
    ) -> Self {
        let mut kinds = Vec::with_capacity(usize::try_from(events).unwrap_or(0));
        let mut revs = vec![0u32; cases as usize];
        let mut ten_mb_left = if poison_share > 0.0 {
            if events >= 20_000 { 3 } else { 1 }
        } else {
            0
        };
        let priority_at: HashSet<u64> = if priority_events {
            (0..cases)
                .filter(|c| c % 10 == 0)
                .map(|_| rng.below(events))
                .collect()
        } else {
            HashSet::new()
        };
        let mut priority_case = 0u32;
        for i in 0..events {
            if priority_at.contains(&i) && priority_case < cases {
                kinds.push(RecordKind::Priority {
                    case: priority_case,
                });
                priority_case += 10;
                continue;
            }
            let roll = rng.unit();
            let case = u32::try_from(rng.below(u64::from(cases))).unwrap_or(0);
            let kind = if roll < poison_share {
                let mut p = Poison::ALL
                    .get(rng.below(Poison::ALL.len() as u64) as usize)
                    .copied()
                    .unwrap_or(Poison::InvalidJson);
                if p == Poison::TenMegabytes {
                    if ten_mb_left == 0 {
                        p = Poison::InvalidJson;
                    } else {
                        ten_mb_left -= 1;
                    }
                }
                RecordKind::Poison(p)
            } else if roll < poison_share + 0.05 {
                RecordKind::Unconfigured
            } else if roll < poison_share + 0.35 {
                RecordKind::Comment { case }
            } else {
                let rev = match revs.get_mut(case as usize) {
                    Some(r) => {
                        *r += 1;
                        *r
                    }
                    None => 1,
                };
                RecordKind::Title { case, rev }
            };
            kinds.push(kind);
        }
        // At least one 10 MB record in a poison run.
        if ten_mb_left > 0
            && let Some(k) = kinds
                .iter_mut()
                .find(|k| matches!(k, RecordKind::Poison(Poison::InvalidJson)))
        {
            *k = RecordKind::Poison(Poison::TenMegabytes);
        }
        Self {
            scenario,
            kinds,
            cases,
            base_ts: now_ms() - 50_000_000,
        }
    }

    pub(super) fn issue_id(&self, case: u32) -> u64 {
        u64::from(self.scenario) * 10_000_000 + 2_000_000 + u64::from(case)
    }
    pub(super) fn case_id(&self, case: u32) -> CaseId {
        CaseId::from(format!("chaos-s{}-{case}", self.scenario))
    }
    pub(super) fn title(&self, case: u32, rev: u32) -> String {
        format!("Chaos s{} case {case} rev {rev}", self.scenario)
    }
    fn changelog_id(&self, i: u64) -> u64 {
        u64::from(self.scenario) * 1_000_000_000 + i
    }
    fn comment_id(&self, i: u64) -> u64 {
        u64::from(self.scenario) * 1_000_000_000 + 500_000_000 + i
    }

    /// The event id the reader logs for record `i` (None for undecodable poison).
    pub(super) fn event_id(&self, i: u64, kind: RecordKind) -> Option<String> {
        match kind {
            RecordKind::Title { .. } | RecordKind::Unconfigured => {
                Some(format!("jira:{}:summary", self.changelog_id(i)))
            }
            RecordKind::Priority { .. } => Some(format!("jira:{}:priority", self.changelog_id(i))),
            RecordKind::Comment { .. } => Some(format!("jira:comment:{}", self.comment_id(i))),
            RecordKind::Poison(Poison::HugeNumbers) => {
                Some(format!("jira:{}:summary", self.changelog_id(i)))
            }
            RecordKind::Poison(_) => None,
        }
    }

    /// The timeline cell idempotency key of comment record `i`.
    pub(super) fn cell_key(&self, i: u64) -> String {
        format!("jira:{}", self.comment_id(i))
    }

    /// Record `i` of `kind`: (key, value).
    pub(super) fn render(
        &self,
        t: &Templates,
        i: u64,
        kind: RecordKind,
    ) -> Result<(String, Vec<u8>)> {
        let value: Vec<u8> = match kind {
            RecordKind::Title { case, rev } => {
                serde_json::to_vec(&self.title_change(t, i, case, rev, JIRA_CONFIGURED_PROJECT)?)?
            }
            RecordKind::Unconfigured => serde_json::to_vec(&self.title_change(
                t,
                i,
                u32::try_from(i % 1000).unwrap_or(0) + 900_000,
                1,
                JIRA_UNCONFIGURED_PROJECT,
            )?)?,
            RecordKind::Comment { case } => {
                let cid = self.comment_id(i).to_string();
                let body = format!("Chaos comment {cid}: reproduced on staging.");
                serde_json::to_vec(&self.issue_event(
                    &t.comment,
                    i,
                    case,
                    JIRA_CONFIGURED_PROJECT,
                    &[
                        ("/webhook/comment/id", json!(cid)),
                        ("/webhook/comment/body", json!(body)),
                    ],
                )?)?
            }
            RecordKind::Priority { case } => serde_json::to_vec(&self.issue_event(
                &t.priority,
                i,
                case,
                JIRA_CONFIGURED_PROJECT,
                &self.human_fields(
                    i,
                    &[
                        ("/webhook/changelog/items/0/from", json!("3")),
                        ("/webhook/changelog/items/0/fromString", json!("Medium")),
                        ("/webhook/changelog/items/0/to", json!("1")),
                        ("/webhook/changelog/items/0/toString", json!("Highest")),
                    ],
                ),
            )?)?,
            RecordKind::Poison(p) => self.poison(t, i, p)?,
        };
        let case = match kind {
            RecordKind::Title { case, .. }
            | RecordKind::Comment { case }
            | RecordKind::Priority { case } => self.issue_id(case),
            _ => 900_000 + i % 1000,
        };
        Ok((format!("1:{case}"), value))
    }

    /// `template` about case `case`'s issue in `project`, stamped as record `i`, with
    /// `fields` (JSON pointer, value) set on top.
    fn issue_event(
        &self,
        template: &Value,
        i: u64,
        case: u32,
        project: &str,
        fields: &[(&str, Value)],
    ) -> Result<Value> {
        let ts = self.base_ts + i64::try_from(i).unwrap_or(0);
        let id = self.issue_id(case);
        let mut v = template.clone();
        put(&mut v, "/orgId", json!(1))?;
        put(&mut v, "/webhook/timestamp", json!(ts))?;
        put(&mut v, "/webhook/issue/id", json!(id.to_string()))?;
        put(&mut v, "/webhook/issue/key", json!(format!("CHS-{id}")))?;
        put(&mut v, "/webhook/issue/fields/project/id", json!(project))?;
        for (pointer, value) in fields {
            put(&mut v, pointer, value.clone())?;
        }
        Ok(v)
    }

    /// The [`Self::issue_event`] fields of a change by a human user, changelog id of record
    /// `i`, with the changed `items` set.
    fn human_fields<'a>(&self, i: u64, items: &[(&'a str, Value)]) -> Vec<(&'a str, Value)> {
        let mut fields = vec![
            ("/webhook/user/accountId", json!(JIRA_HUMAN_USER)),
            (
                "/webhook/changelog/id",
                json!(self.changelog_id(i).to_string()),
            ),
        ];
        fields.extend_from_slice(items);
        fields
    }

    /// The title change of record `i`: case `case`'s title from revision `rev - 1` to `rev`.
    fn title_change(
        &self,
        t: &Templates,
        i: u64,
        case: u32,
        rev: u32,
        project: &str,
    ) -> Result<Value> {
        let to = json!(self.title(case, rev));
        self.issue_event(
            &t.title,
            i,
            case,
            project,
            &self.human_fields(
                i,
                &[
                    (
                        "/webhook/changelog/items/0/fromString",
                        json!(self.title(case, rev.saturating_sub(1))),
                    ),
                    ("/webhook/changelog/items/0/toString", to.clone()),
                    ("/webhook/issue/fields/summary", to),
                ],
            ),
        )
    }

    fn poison(&self, t: &Templates, i: u64, p: Poison) -> Result<Vec<u8>> {
        Ok(match p {
            Poison::InvalidJson => {
                format!("{{\"orgId\":1,\"webhook\":{{\"timestamp\":{i},\"issue\":{{\"id\":")
                    .into_bytes()
            }
            Poison::WrongTypes => serde_json::to_vec(&json!({
                "orgId": {"id": "one"},
                "jiraAccountId": 42,
                "webhook": ["timestamp", i, {"issue": "SUP-1"}],
            }))?,
            Poison::TenMegabytes => {
                // Valid JSON start, 10 MB of text, never closed.
                let mut v = format!("{{\"orgId\":1,\"jiraAccountId\":\"{JIRA_ACCOUNT}\",\"webhook\":{{\"comment\":{{\"body\":\"").into_bytes();
                v.resize(10 * 1024 * 1024, b'x');
                v
            }
            Poison::DeepNesting => {
                let depth = 10_000;
                let mut v = Vec::with_capacity(depth * 8 + 64);
                v.extend_from_slice(b"{\"orgId\":1,\"webhook\":");
                for _ in 0..depth {
                    v.extend_from_slice(b"{\"a\":[");
                }
                v.extend_from_slice(b"1");
                for _ in 0..depth {
                    v.extend_from_slice(b"]}");
                }
                v.push(b'}');
                v
            }
            Poison::InvalidUtf8 => {
                let mut v = serde_json::to_vec(&t.comment)?;
                // Raw 0xff 0xfe bytes inside the first string value.
                if let Some(pos) = v.windows(7).position(|w| w == b"\"orgId\"") {
                    v.splice(pos + 1..pos + 1, [0xff, 0xfe, 0xc3, 0x28]);
                } else {
                    v.extend_from_slice(&[0xff, 0xfe]);
                }
                v
            }
            Poison::HugeNumbers => {
                // A title event whose org id and timestamp do not fit any integer type.
                let case = 0;
                let mut v = t.title.clone();
                put(
                    &mut v,
                    "/webhook/issue/id",
                    json!(self.issue_id(case).to_string()),
                )?;
                put(
                    &mut v,
                    "/webhook/changelog/id",
                    json!(self.changelog_id(i).to_string()),
                )?;
                let text = serde_json::to_string(&v)?;
                let text = text.replacen(
                    "\"orgId\":1",
                    "\"orgId\":184467440737095516161844674407370955161600000000",
                    1,
                );
                text.replacen("\"timestamp\":", "\"timestamp\":1e999999,\"x\":", 1)
                    .into_bytes()
            }
        })
    }
}

/// Inserts the plan's cases (org 1, `proj-support`, linked to their Jira issues) at version 1,
/// title revision 0, priority P3.
pub(super) fn insert_cases(store: &Store, plan: &Plan) -> Result<()> {
    for j in 0..plan.cases {
        let id = plan.issue_id(j);
        let case = linked_jira_case(
            plan.case_id(j).as_str(),
            &plan.title(j, 0),
            JIRA_ACCOUNT,
            id,
            "CHS",
        )
        .context("building a chaos case")?;
        store.insert_case(case);
    }
    Ok(())
}

impl Plan {
    /// The same plan's ids and rendering without its record list (for the producer task).
    pub(super) fn ids_only(&self) -> Self {
        Self {
            scenario: self.scenario,
            kinds: Vec::new(),
            cases: self.cases,
            base_ts: self.base_ts,
        }
    }
}
