//! Test doubles for the seams and sample values of the core types, shared by the integration
//! crates' tests (feature `test-util`; never enabled in a production build).

use crate::{
    Case, CaseApi, CaseApiError, CaseApiWrapper, CaseCall, CaseId, CaseUpdate, CaseVersion,
    Changelog, ChangelogOutcome, Decoded, NewTimelineCell, OrgId, Outcome, ProjectId, Text,
    ThirdPartyRef,
};
use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// What [`EditBeforeFirstUpdate`] runs once, right before the first update reaches the API.
pub type ConcurrentEdit = Box<dyn FnOnce(&CaseUpdate) + Send>;

/// A [`CaseApi`] that forwards every call to `inner`, and runs a concurrent writer's edit
/// once, right before the first `update_case` lands: the pipeline's update then carries a
/// stale version, as when someone edits the case between the pipeline's read and its write.
///
/// ```
/// use thirdparty_core::testing::EditBeforeFirstUpdate;
/// # use thirdparty_core::*;
/// # fn wrap<A: CaseApi>(store: A) {
/// let api = EditBeforeFirstUpdate::new(store, Box::new(|update: &CaseUpdate| {
///     // e.g. `sandbox.edit_case(update.org_id, &update.case_id, FieldUpdate::Status("CLOSED".into()))`
///     let _ = update;
/// }));
/// # let _ = api; }
/// ```
pub struct EditBeforeFirstUpdate<A> {
    inner: A,
    edit: Mutex<Option<ConcurrentEdit>>,
}

impl<A> EditBeforeFirstUpdate<A> {
    /// Forwards to `inner`; `edit` runs before the first update.
    pub fn new(inner: A, edit: ConcurrentEdit) -> Self {
        Self {
            inner,
            edit: Mutex::new(Some(edit)),
        }
    }
}

impl<A: CaseApi> CaseApiWrapper for EditBeforeFirstUpdate<A> {
    type Inner = A;

    fn inner(&self) -> &A {
        &self.inner
    }

    fn before(&self, call: CaseCall<'_>) {
        let CaseCall::UpdateCase(update) = call else {
            return;
        };
        // A poisoned lock only means another test thread panicked; the edit is still ours.
        let edit = self
            .edit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(edit) = edit {
            edit(update);
        }
    }
}

/// When every [`sample_case`] was created: 2025-01-01T00:00:00Z.
pub const SAMPLE_CREATED_AT: DateTime<Utc> =
    DateTime::from_timestamp_nanos(1_735_689_600_000_000_000);

/// A case `id` of `org` at `version` in project `proj-1`: title "title", priority P3, status
/// OPEN, no assignee, no due date, no links and no field stamps, created at
/// [`SAMPLE_CREATED_AT`]. Tests change the fields they care about with struct update syntax.
///
/// ```
/// use thirdparty_core::testing::sample_case;
/// let case = sample_case(1, "c1", 3);
/// assert_eq!((case.org_id.0, case.version.0, case.status.as_str()), (1, 3, "OPEN"));
/// ```
pub fn sample_case(org: u64, id: &str, version: u64) -> Case {
    Case {
        id: CaseId::from(id),
        org_id: OrgId(org),
        version: CaseVersion(version),
        project_id: ProjectId::from("proj-1"),
        title: Text::new("title"),
        description: Text::default(),
        priority: Some("P3".into()),
        status: "OPEN".into(),
        assignee: None,
        due_date: None,
        created_at: SAMPLE_CREATED_AT,
        third_party_links: vec![],
        field_stamps: Default::default(),
    }
}

/// Asserts that `err` is the API refusing `rpc` as invalid
/// ([`CaseApiError::InvalidArgument`]), and shows `err` when it is not.
///
/// ```
/// use thirdparty_core::{testing::assert_invalid_argument, CaseApiError};
/// let err = CaseApiError::InvalidArgument { rpc: "UpdateCase", message: "no such case".into() };
/// assert_invalid_argument(&err, "UpdateCase");
/// ```
#[track_caller]
pub fn assert_invalid_argument(err: &CaseApiError, rpc: &str) {
    assert!(
        matches!(err, CaseApiError::InvalidArgument { rpc: refused, .. } if *refused == rpc),
        "expected {rpc} refused as invalid, got {err:?}"
    );
}

/// A reference to item `item_id` of third-party account `account_id`, with no project, item
/// type or key (the fields a case lookup matches on, and nothing else).
///
/// ```
/// use thirdparty_core::testing::item_ref;
/// let reference = item_ref("site-1", "10007");
/// assert_eq!((reference.account_id.as_str(), reference.project_id), ("site-1", None));
/// ```
pub fn item_ref(account_id: &str, item_id: &str) -> ThirdPartyRef {
    ThirdPartyRef {
        account_id: account_id.into(),
        project_id: None,
        item_type_id: None,
        item_id: item_id.into(),
        item_key: None,
    }
}

/// An outcome in the form the integrations' fixture files expect: `type` (when decoded),
/// `outcome` (its label), `reason` of a filtered one, `kind` and `path` of a decode failure,
/// `overridden_conflict: true` of a conflict applied anyway, and `event_id` when known.
///
/// ```
/// use thirdparty_core::testing::outcome_fields;
/// use thirdparty_core::{ChangelogOutcome, FilteredReason, Outcome};
/// let o = ChangelogOutcome::undecoded(None, None, None, Outcome::Filtered(FilteredReason::StateConflict));
/// assert_eq!(serde_json::Value::Object(outcome_fields(&o)), serde_json::json!({"outcome": "filtered", "reason": "state_conflict"}));
/// ```
pub fn outcome_fields(o: &ChangelogOutcome) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let mut m = serde_json::Map::new();
    if let Some(t) = &o.changelog_type {
        m.insert("type".into(), json!(t.as_tag()));
    }
    m.insert("outcome".into(), json!(o.outcome.label()));
    match &o.outcome {
        Outcome::Filtered(reason) => {
            m.insert("reason".into(), json!(reason.as_str()));
        }
        Outcome::DecodeFailed(e) => {
            m.insert("kind".into(), json!(e.kind()));
            m.insert("path".into(), json!(e.path));
        }
        Outcome::Processed {
            overridden_conflict: true,
        }
        | Outcome::WouldApply {
            overridden_conflict: true,
        } => {
            m.insert("overridden_conflict".into(), json!(true));
        }
        _ => {}
    }
    if let Some(id) = &o.event_id {
        m.insert("event_id".into(), json!(id));
    }
    m
}

/// The changelogs of a decoder's output; fails the test naming the first skip.
#[track_caller]
#[allow(
    clippy::panic,
    reason = "a test helper: failing the calling test is its job"
)]
pub fn changelogs_only(decoded: Vec<Decoded>) -> Vec<Changelog> {
    decoded
        .into_iter()
        .map(|d| match d {
            Decoded::Changelog(c) => c,
            Decoded::Skipped(s) => panic!("expected changelogs, the decoder skipped: {s:?}"),
        })
        .collect()
}

/// The [`CaseApiError::VersionConflict`] an update of `case_id` written against version
/// `expected` gets while the case is at `actual`.
///
/// ```
/// use thirdparty_core::testing::version_conflict;
/// use thirdparty_core::CaseApiError;
/// assert!(matches!(version_conflict("c1", 4, 5), CaseApiError::VersionConflict { .. }));
/// ```
pub fn version_conflict(case_id: &str, expected: u64, actual: u64) -> CaseApiError {
    CaseApiError::VersionConflict {
        case_id: CaseId::from(case_id),
        expected: CaseVersion(expected),
        actual: Some(CaseVersion(actual)),
    }
}

/// A public Jira comment cell `key` of case `case_id` with `body`, written by `acc-1` ("Ada")
/// at [`SAMPLE_CREATED_AT`].
///
/// ```
/// use thirdparty_core::testing::sample_cell;
/// let cell = sample_cell(1, "c1", "jira:10042", "Looks fixed.");
/// assert_eq!((cell.idempotency_key.as_str(), cell.internal), ("jira:10042", false));
/// ```
pub fn sample_cell(org: u64, case_id: &str, key: &str, body: &str) -> NewTimelineCell {
    NewTimelineCell {
        org_id: OrgId(org),
        case_id: CaseId::from(case_id),
        idempotency_key: key.into(),
        author_id: Some("acc-1".into()),
        author_name: Some("Ada".into()),
        body: Text::new(body),
        internal: false,
        source: "jira".into(),
        created_at: SAMPLE_CREATED_AT,
    }
}

/// Runs every future as its own tokio task, all at once, and returns their outputs in order;
/// fails the test if a task panicked.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use thirdparty_core::testing::spawn_all;
/// let doubled = spawn_all((0..4).map(|i| async move { i * 2 })).await;
/// assert_eq!(doubled, [0, 2, 4, 6]);
/// # }
/// ```
#[allow(
    clippy::panic,
    reason = "a test helper: failing the calling test is its job"
)]
pub async fn spawn_all<T, F>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(output) => outputs.push(output),
            Err(e) => panic!("a concurrent task failed: {e}"),
        }
    }
    outputs
}

/// A proptest strategy for arbitrary JSON shaped like an integration's payloads: scalars of
/// every JSON type (null, bools, i64/u64, finite floats, strings, digit and hex strings),
/// the integration's own `words` as string values, and arrays and objects up to four levels
/// deep whose keys are often the integration's field names (`keys`), sometimes random.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// let strategy = thirdparty_core::testing::json_values(&["summary"], &["fields"]);
/// let mut runner = proptest::test_runner::TestRunner::default();
/// let _value: serde_json::Value = strategy.new_tree(&mut runner).unwrap().current();
/// ```
pub fn json_values(
    words: &'static [&'static str],
    keys: &'static [&'static str],
) -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[0-9a-fA-F]{30,34}".prop_map(Value::String),
        "[0-9]{1,22}".prop_map(Value::String),
        prop::sample::select(words).prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        let key = prop_oneof![
            ".{0,12}",
            prop::sample::select(keys).prop_map(str::to_owned),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
