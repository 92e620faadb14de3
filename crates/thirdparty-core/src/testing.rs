//! Test doubles for the seams, shared by the integration crates' tests (feature
//! `test-util`; never enabled in a production build).

use crate::{
    Case, CaseApi, CaseApiError, CaseId, CaseUpdate, IntegrationMetadata, NewTimelineCell, OrgId,
    ProjectId, ProjectSettings, ThirdPartyRef, TimelineCellCreated, UserId, UserQuery,
};
use async_trait::async_trait;
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

#[async_trait]
impl<A: CaseApi> CaseApi for EditBeforeFirstUpdate<A> {
    async fn get_case(&self, org: OrgId, id: &CaseId) -> Result<Option<Case>, CaseApiError> {
        self.inner.get_case(org, id).await
    }

    async fn find_case_by_third_party(
        &self,
        org: OrgId,
        integration: &str,
        reference: &ThirdPartyRef,
    ) -> Result<Option<Case>, CaseApiError> {
        self.inner
            .find_case_by_third_party(org, integration, reference)
            .await
    }

    async fn get_project_settings(
        &self,
        org: OrgId,
        project: &ProjectId,
        integration: &str,
    ) -> Result<Option<ProjectSettings>, CaseApiError> {
        self.inner
            .get_project_settings(org, project, integration)
            .await
    }

    async fn list_integration_metadata(
        &self,
        org: OrgId,
        integration: &str,
    ) -> Result<Vec<IntegrationMetadata>, CaseApiError> {
        self.inner.list_integration_metadata(org, integration).await
    }

    async fn list_integration_orgs(&self, integration: &str) -> Result<Vec<OrgId>, CaseApiError> {
        self.inner.list_integration_orgs(integration).await
    }

    async fn update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError> {
        // A poisoned lock only means another test thread panicked; the edit is still ours.
        let edit = self
            .edit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(edit) = edit {
            edit(update);
        }
        self.inner.update_case(update).await
    }

    async fn create_timeline_cell(
        &self,
        cell: &NewTimelineCell,
    ) -> Result<TimelineCellCreated, CaseApiError> {
        self.inner.create_timeline_cell(cell).await
    }

    async fn resolve_user(
        &self,
        org: OrgId,
        query: &UserQuery,
    ) -> Result<Option<UserId>, CaseApiError> {
        self.inner.resolve_user(org, query).await
    }
}
