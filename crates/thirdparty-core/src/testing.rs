//! Test doubles for the seams and sample values of the core types, shared by the integration
//! crates' tests (feature `test-util`; never enabled in a production build).

use crate::{
    Case, CaseApi, CaseApiError, CaseApiWrapper, CaseCall, CaseId, CaseUpdate, CaseVersion, OrgId,
    ProjectId, Text, ThirdPartyRef,
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
