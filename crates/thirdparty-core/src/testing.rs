//! Test doubles for the seams, shared by the integration crates' tests (feature
//! `test-util`; never enabled in a production build).

use crate::{CaseApi, CaseApiWrapper, CaseCall, CaseUpdate};
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
