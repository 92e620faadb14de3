//! [`CaseApi`]: everything the pipeline asks of Case Management. `case-client` implements it
//! over gRPC, `case-sandbox` in memory.

use crate::{
    Case, CaseId, CaseUpdate, CaseVersion, IntegrationMetadata, NewTimelineCell, OrgId, ProjectId,
    ProjectSettings, ThirdPartyRef, TimelineCellCreated, UserId, UserQuery,
};
use async_trait::async_trait;
use std::sync::Arc;
use tracing::Instrument;

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
    /// The caller is not allowed (UNAUTHENTICATED, PERMISSION_DENIED, or the TLS handshake
    /// failed): a fault of the reader's own setup, not of the message
    /// ([`CaseApiError::is_configuration_fault`]). Retryable: the message must wait for the
    /// fix (a rotated token, the right CA), never be dropped.
    #[error(
        "Case API denied {rpc}: {message}; the message waits (it is not acknowledged) until the reader's credentials or TLS settings are fixed"
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
    /// Whether the same call may succeed later: the API was unreachable or failed, or it
    /// refused the reader's credentials (which an operator fixes without touching the
    /// message).
    ///
    /// ```
    /// use thirdparty_core::CaseApiError;
    /// let refused = CaseApiError::PermissionDenied { rpc: "GetCase", message: "token".into() };
    /// assert!(refused.is_retryable() && refused.is_configuration_fault());
    /// let invalid = CaseApiError::InvalidArgument { rpc: "UpdateCase", message: "bad".into() };
    /// assert!(!invalid.is_retryable(), "about this one message: it fails again");
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Internal { .. } | Self::PermissionDenied { .. }
        )
    }

    /// Whether the failure is the reader's own setup (credentials, TLS trust) rather than
    /// the message or the API's health: the operator has to fix something.
    pub fn is_configuration_fault(&self) -> bool {
        matches!(self, Self::PermissionDenied { .. })
    }

    /// A stable snake_case kind of the failure, derived from the variant: `unavailable`,
    /// `version_conflict`, `invalid_argument`, `permission_denied`, `internal`.
    ///
    /// ```
    /// use thirdparty_core::CaseApiError;
    /// let e = CaseApiError::InvalidArgument { rpc: "UpdateCase", message: "bad".into() };
    /// assert_eq!(e.kind(), "invalid_argument");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "unavailable",
            Self::VersionConflict { .. } => "version_conflict",
            Self::InvalidArgument { .. } => "invalid_argument",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::Internal { .. } => "internal",
        }
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

/// One [`CaseApi`] call with its arguments, as a [`CaseApiWrapper`] sees it before passing
/// it on.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum CaseCall<'a> {
    /// [`CaseApi::get_case`].
    GetCase {
        /// Organisation asked.
        org: OrgId,
        /// Case asked for.
        case_id: &'a CaseId,
    },
    /// [`CaseApi::find_case_by_third_party`].
    FindCaseByThirdParty {
        /// Organisation asked.
        org: OrgId,
        /// Integration of the item.
        integration: &'a str,
        /// The third-party item.
        reference: &'a ThirdPartyRef,
    },
    /// [`CaseApi::get_project_settings`].
    GetProjectSettings {
        /// Organisation asked.
        org: OrgId,
        /// Project asked for.
        project: &'a ProjectId,
        /// Integration whose settings are asked for.
        integration: &'a str,
    },
    /// [`CaseApi::list_integration_metadata`].
    ListIntegrationMetadata {
        /// Organisation asked.
        org: OrgId,
        /// Integration listed.
        integration: &'a str,
    },
    /// [`CaseApi::list_integration_orgs`].
    ListIntegrationOrgs {
        /// Integration listed.
        integration: &'a str,
    },
    /// [`CaseApi::update_case`].
    UpdateCase(&'a CaseUpdate),
    /// [`CaseApi::create_timeline_cell`].
    CreateTimelineCell(&'a NewTimelineCell),
    /// [`CaseApi::resolve_user`].
    ResolveUser {
        /// Organisation asked.
        org: OrgId,
        /// The third-party identity.
        query: &'a UserQuery,
    },
}

/// A [`CaseApi`] that passes every call on to [`CaseApiWrapper::inner`]: implement this
/// instead of [`CaseApi`] for a test double or a tracing layer, and the forwarding of all
/// eight calls comes with it. [`CaseApiWrapper::before`] runs right before a call is passed
/// on, and the passed-on call runs inside [`CaseApiWrapper::span`]. `Arc`, `Box` and `&` of
/// a [`CaseApi`] are wrappers that add nothing.
///
/// ```
/// use thirdparty_core::{CaseApi, CaseApiWrapper, CaseCall};
///
/// /// Logs every update before it reaches the API.
/// struct LogUpdates<A>(A);
///
/// impl<A: CaseApi> CaseApiWrapper for LogUpdates<A> {
///     type Inner = A;
///     fn inner(&self) -> &A {
///         &self.0
///     }
///     fn before(&self, call: CaseCall<'_>) {
///         if let CaseCall::UpdateCase(update) = call {
///             tracing::info!(case_id = update.case_id.as_str(), "updating");
///         }
///     }
/// }
///
/// fn takes_api(_: impl CaseApi) {}
/// # fn wrap(api: impl CaseApi) {
/// takes_api(LogUpdates(api));
/// # }
/// ```
pub trait CaseApiWrapper: Send + Sync {
    /// The API the calls are passed on to.
    type Inner: CaseApi + ?Sized;

    /// The API the calls are passed on to.
    fn inner(&self) -> &Self::Inner;

    /// Runs right before `call` is passed on; does nothing by default.
    fn before(&self, call: CaseCall<'_>) {
        let _ = call;
    }

    /// The span the passed-on `call` runs in; none by default.
    fn span(&self, call: CaseCall<'_>) -> tracing::Span {
        let _ = call;
        tracing::Span::none()
    }
}

impl<T: CaseApi + ?Sized> CaseApiWrapper for Arc<T> {
    type Inner = T;
    fn inner(&self) -> &T {
        self
    }
}

impl<T: CaseApi + ?Sized> CaseApiWrapper for Box<T> {
    type Inner = T;
    fn inner(&self) -> &T {
        self
    }
}

impl<T: CaseApi + ?Sized> CaseApiWrapper for &T {
    type Inner = T;
    fn inner(&self) -> &T {
        self
    }
}

/// Writes the forwarding [`CaseApi`] of every [`CaseApiWrapper`], one table row a call:
/// `method(argument: type, ...) -> answer => the CaseCall it is`.
macro_rules! forward_through_wrapper {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $answer:ty => $call:expr;)+) => {
        #[async_trait]
        impl<W: CaseApiWrapper> CaseApi for W {
            $(async fn $method(&self, $($arg: $ty),*) -> Result<$answer, CaseApiError> {
                let call = $call;
                self.before(call);
                self.inner().$method($($arg),*).instrument(self.span(call)).await
            })+
        }
    };
}

forward_through_wrapper! {
    get_case(org: OrgId, case_id: &CaseId) -> Option<Case> => CaseCall::GetCase { org, case_id };
    find_case_by_third_party(org: OrgId, integration: &str, reference: &ThirdPartyRef) -> Option<Case> => CaseCall::FindCaseByThirdParty { org, integration, reference };
    get_project_settings(org: OrgId, project: &ProjectId, integration: &str) -> Option<ProjectSettings> => CaseCall::GetProjectSettings { org, project, integration };
    list_integration_metadata(org: OrgId, integration: &str) -> Vec<IntegrationMetadata> => CaseCall::ListIntegrationMetadata { org, integration };
    list_integration_orgs(integration: &str) -> Vec<OrgId> => CaseCall::ListIntegrationOrgs { integration };
    update_case(update: &CaseUpdate) -> Case => CaseCall::UpdateCase(update);
    create_timeline_cell(cell: &NewTimelineCell) -> TimelineCellCreated => CaseCall::CreateTimelineCell(cell);
    resolve_user(org: OrgId, query: &UserQuery) -> Option<UserId> => CaseCall::ResolveUser { org, query };
}
