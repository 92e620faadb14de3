//! The three seams every integration implements: [`Decoder`], [`Filterer`], [`Processor`].

use crate::{
    Case, CaseApiError, Changelog, ChangelogType, DecodeError, FilteredReason, Integration, OrgId,
    Payload, ProjectSettings,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// An event the decoder skipped as a whole or in part, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEvent {
    /// Organisation, when the envelope named it.
    pub org_id: Option<OrgId>,
    /// The change's type, when it got that far.
    pub changelog_type: Option<ChangelogType>,
    /// Third-party event time, when known.
    pub event_time: Option<DateTime<Utc>>,
    /// Why it was skipped.
    pub reason: FilteredReason,
}

/// One result of decoding a payload.
// The changelog variant is the common case; boxing it would add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A change to run through the filters.
    Changelog(Changelog),
    /// Something the decoder already knows is skipped (unsupported event type, empty
    /// changelog, empty comment).
    Skipped(SkippedEvent),
}

/// Turns one payload into changelogs. Pure and synchronous: no I/O, never panics on any
/// input (decoders are fuzzed).
pub trait Decoder: Send + Sync {
    /// The integration this decoder reads.
    fn integration(&self) -> Integration;

    /// Decodes a payload into zero or more results, or says where the payload is malformed.
    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError>;
}

/// A failure in filtering or processing. [`SyncError::is_retryable`] says whether handling
/// the same payload again later can succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A Case Management call failed.
    #[error(transparent)]
    CaseApi(#[from] CaseApiError),
    /// The changelog cannot be handled (permanent).
    #[error("invalid changelog: {0}")]
    Invalid(String),
}

impl SyncError {
    /// Whether handling the same payload again can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::CaseApi(e) => e.is_retryable(),
            Self::Invalid(_) => false,
        }
    }

    /// Whether the failure is the reader's own setup, not the message
    /// ([`CaseApiError::is_configuration_fault`]).
    pub fn is_configuration_fault(&self) -> bool {
        match self {
            Self::CaseApi(e) => e.is_configuration_fault(),
            Self::Invalid(_) => false,
        }
    }

    /// A stable snake_case kind (the dead-letter `error-kind` header, a metric tag):
    /// `invalid_changelog`, or the [`CaseApiError::kind`] of a Case API failure.
    ///
    /// ```
    /// use thirdparty_core::SyncError;
    /// assert_eq!(SyncError::Invalid("x".into()).kind(), "invalid_changelog");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CaseApi(e) => e.kind(),
            Self::Invalid(_) => "invalid_changelog",
        }
    }

    /// Whether this is an optimistic-lock failure.
    pub fn is_version_conflict(&self) -> bool {
        matches!(self, Self::CaseApi(CaseApiError::VersionConflict { .. }))
    }
}

/// What the prefilter decided.
// The changelog variant is the common case; boxing it would add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreFiltered {
    /// Continue with this changelog (possibly rewritten, e.g. a custom field routed to the
    /// due date).
    Keep(Changelog),
    /// Skip it.
    Skip(FilteredReason),
}

/// What the filter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterVerdict {
    /// Apply the change.
    Apply,
    /// Apply the change although its `from` does not match the case (project policy
    /// `third_party_wins`); counted as an overridden conflict.
    ApplyOverridingConflict,
    /// Skip it.
    Skip(FilteredReason),
}

/// Two-stage filtering. `prefilter` is cheap and runs first on every changelog: it may use
/// cached configuration (refreshing a cache is its only remote call). `filter` runs with the
/// case and its project's settings.
#[async_trait]
pub trait Filterer: Send + Sync {
    /// Cheap checks before any case lookup: sync-cycle echoes, unconfigured scopes,
    /// custom-field routing.
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError>;

    /// Checks with the case and settings: sync switches, value mappings, state conflicts,
    /// sync window, ordering, duplicates.
    async fn filter(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<FilterVerdict, SyncError>;

    /// The reason to report when no case was found for a changelog.
    fn case_not_found_reason(&self, _changelog: &Changelog) -> FilteredReason {
        FilteredReason::NoCorrespondingCase
    }
}

/// What the processor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// The change was written.
    Applied,
    /// The change turned out not to apply (unknown assignee, comment already synced).
    Skipped(FilteredReason),
}

/// Applies one filtered changelog through the Case Management API, under optimistic locking
/// (`case.version`). A version conflict is returned as
/// [`SyncError::CaseApi`]`(`[`CaseApiError::VersionConflict`]`)`: the pipeline re-reads the
/// case and filters again.
#[async_trait]
pub trait Processor: Send + Sync {
    /// Applies `changelog` to `case`.
    async fn process(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<Processed, SyncError>;
}
