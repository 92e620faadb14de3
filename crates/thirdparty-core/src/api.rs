//! [`CaseApi`]: everything the pipeline asks of Case Management. `case-client` implements it
//! over gRPC, `case-sandbox` in memory.

use crate::{
    Case, CaseId, CaseUpdate, CaseVersion, IntegrationMetadata, NewTimelineCell, OrgId, ProjectId,
    ProjectSettings, ThirdPartyRef, TimelineCellCreated, UserId, UserQuery,
};
use async_trait::async_trait;
use std::sync::Arc;

/// A failed Case Management call. [`CaseApiError::is_retryable`] says whether trying the same
/// call again later can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseApiError {
    /// The API could not be reached or answered in time (UNAVAILABLE, DEADLINE_EXCEEDED,
    /// RESOURCE_EXHAUSTED after the client's own retries). Retryable.
    #[error(
        "Case API call {rpc} failed transiently ({message}); it will be retried — check the Case API endpoint and its health if this persists"
    )]
    Unavailable {
        /// The RPC that failed.
        rpc: &'static str,
        /// What the transport or server said.
        message: String,
    },
    /// The case moved on since it was read (ABORTED). The pipeline re-reads the case and
    /// filters the change again.
    #[error(
        "case {case_id} changed concurrently: update expected version {expected}, the case is now at {actual:?}"
    )]
    VersionConflict {
        /// Case updated.
        case_id: CaseId,
        /// Version the update expected.
        expected: CaseVersion,
        /// Version the server has, when it said.
        actual: Option<CaseVersion>,
    },
    /// The API refused the request as invalid (INVALID_ARGUMENT, FAILED_PRECONDITION): the
    /// same request will fail again.
    #[error("Case API refused {rpc} as invalid: {message}")]
    InvalidArgument {
        /// The RPC that failed.
        rpc: &'static str,
        /// What the server said.
        message: String,
    },
    /// The caller is not allowed (UNAUTHENTICATED, PERMISSION_DENIED). Retrying will not help
    /// until the credentials are fixed.
    #[error(
        "Case API denied {rpc}: {message}; check the reader's TLS client certificate / credentials"
    )]
    PermissionDenied {
        /// The RPC that failed.
        rpc: &'static str,
        /// What the server said.
        message: String,
    },
    /// Any other server error (INTERNAL, UNKNOWN…). Retryable: the previous service retries these.
    #[error("Case API call {rpc} failed: {message}")]
    Internal {
        /// The RPC that failed.
        rpc: &'static str,
        /// What the server said.
        message: String,
    },
}

impl CaseApiError {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Internal { .. })
    }
}

/// The Case Management API as the pipeline uses it. Absent things are `Ok(None)`, not errors.
#[async_trait]
pub trait CaseApi: Send + Sync {
    /// A case by id.
    async fn get_case(&self, org: OrgId, case_id: &CaseId) -> Result<Option<Case>, CaseApiError>;

    /// The case linked to a third-party item of `integration`.
    async fn find_case_by_third_party(
        &self,
        org: OrgId,
        integration: &str,
        reference: &ThirdPartyRef,
    ) -> Result<Option<Case>, CaseApiError>;

    /// A project's settings for `integration`.
    async fn get_project_settings(
        &self,
        org: OrgId,
        project: &ProjectId,
        integration: &str,
    ) -> Result<Option<ProjectSettings>, CaseApiError>;

    /// Every configured scope of `integration` in an organisation (for prefilter caches).
    async fn list_integration_metadata(
        &self,
        org: OrgId,
        integration: &str,
    ) -> Result<Vec<IntegrationMetadata>, CaseApiError>;

    /// Every organisation with `integration` configured (for cache warming at start).
    async fn list_integration_orgs(&self, integration: &str) -> Result<Vec<OrgId>, CaseApiError>;

    /// Writes one field if the case is still at `update.expected_version`; returns the case
    /// after the write. A stale version is [`CaseApiError::VersionConflict`].
    async fn update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError>;

    /// Creates a timeline cell; the same idempotency key twice yields the existing cell with
    /// `created: false`.
    async fn create_timeline_cell(
        &self,
        cell: &NewTimelineCell,
    ) -> Result<TimelineCellCreated, CaseApiError>;

    /// Resolves a third-party identity to a Case Management user.
    async fn resolve_user(
        &self,
        org: OrgId,
        query: &UserQuery,
    ) -> Result<Option<UserId>, CaseApiError>;
}

macro_rules! forward_case_api {
    ($($ptr:ty),+) => {$(
        #[async_trait]
        impl<T: CaseApi + ?Sized> CaseApi for $ptr {
            async fn get_case(&self, org: OrgId, case_id: &CaseId) -> Result<Option<Case>, CaseApiError> {
                (**self).get_case(org, case_id).await
            }
            async fn find_case_by_third_party(&self, org: OrgId, integration: &str, reference: &ThirdPartyRef) -> Result<Option<Case>, CaseApiError> {
                (**self).find_case_by_third_party(org, integration, reference).await
            }
            async fn get_project_settings(&self, org: OrgId, project: &ProjectId, integration: &str) -> Result<Option<ProjectSettings>, CaseApiError> {
                (**self).get_project_settings(org, project, integration).await
            }
            async fn list_integration_metadata(&self, org: OrgId, integration: &str) -> Result<Vec<IntegrationMetadata>, CaseApiError> {
                (**self).list_integration_metadata(org, integration).await
            }
            async fn list_integration_orgs(&self, integration: &str) -> Result<Vec<OrgId>, CaseApiError> {
                (**self).list_integration_orgs(integration).await
            }
            async fn update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError> {
                (**self).update_case(update).await
            }
            async fn create_timeline_cell(&self, cell: &NewTimelineCell) -> Result<TimelineCellCreated, CaseApiError> {
                (**self).create_timeline_cell(cell).await
            }
            async fn resolve_user(&self, org: OrgId, query: &UserQuery) -> Result<Option<UserId>, CaseApiError> {
                (**self).resolve_user(org, query).await
            }
        }
    )+};
}

forward_case_api!(Arc<T>, Box<T>, &T);
