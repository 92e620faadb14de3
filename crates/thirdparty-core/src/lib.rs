//! The integration-agnostic model and pipeline of the case third-party reader.
//!
//! An integration (Jira, ServiceNow, …) implements three seams — [`Decoder`] (payload →
//! [`Changelog`]s), [`Filterer`] (cheap [`Filterer::prefilter`], then [`Filterer::filter`] with
//! the case and its [`ProjectSettings`]) and [`Processor`] (apply through [`CaseApi`] under
//! optimistic locking) — and [`Pipeline`] runs them for one [`Payload`], returning one
//! [`Outcome`] per changelog. Every skip carries exactly one [`FilteredReason`].
//!
//! Nothing here knows Kafka or gRPC: `kafka-runtime` feeds payloads, `case-client` implements
//! [`CaseApi`] over gRPC, `case-sandbox` in memory. A platform team can drive the pipeline
//! from its own consumer:
//!
//! ```
//! use std::sync::Arc;
//! use thirdparty_core::*;
//!
//! /// A decoder for a tool that only ever sends events we skip.
//! struct Quiet;
//! impl Decoder for Quiet {
//!     fn integration(&self) -> Integration { Integration::new("quiet") }
//!     fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
//!         serde_json::from_slice::<serde_json::Value>(&payload.value)
//!             .map_err(|e| DecodeError::new(self.integration(), DecodeErrorKind::NOT_JSON, "$", e.to_string()))?;
//!         Ok(vec![Decoded::Skipped(SkippedEvent {
//!             org_id: None, changelog_type: None, event_time: None,
//!             reason: FilteredReason::UnsupportedEventType,
//!         })])
//!     }
//! }
//! # struct Nothing;
//! # #[async_trait::async_trait]
//! # impl Filterer for Nothing {
//! #     async fn prefilter(&self, c: Changelog) -> Result<PreFiltered, SyncError> { Ok(PreFiltered::Keep(c)) }
//! #     async fn filter(&self, _: &Changelog, _: &Case, _: &ProjectSettings) -> Result<FilterVerdict, SyncError> { Ok(FilterVerdict::Apply) }
//! # }
//! # #[async_trait::async_trait]
//! # impl Processor for Nothing {
//! #     async fn process(&self, _: &Changelog, _: &Case, _: &ProjectSettings) -> Result<Processed, SyncError> { Ok(Processed::Applied) }
//! # }
//! # #[async_trait::async_trait]
//! # impl CaseApi for Nothing {
//! #     async fn get_case(&self, _: OrgId, _: &CaseId) -> Result<Option<Case>, CaseApiError> { Ok(None) }
//! #     async fn find_case_by_third_party(&self, _: OrgId, _: &str, _: &ThirdPartyRef) -> Result<Option<Case>, CaseApiError> { Ok(None) }
//! #     async fn get_project_settings(&self, _: OrgId, _: &ProjectId, _: &str) -> Result<Option<ProjectSettings>, CaseApiError> { Ok(None) }
//! #     async fn list_integration_metadata(&self, _: OrgId, _: &str) -> Result<Vec<IntegrationMetadata>, CaseApiError> { Ok(vec![]) }
//! #     async fn list_integration_orgs(&self, _: &str) -> Result<Vec<OrgId>, CaseApiError> { Ok(vec![]) }
//! #     async fn update_case(&self, u: &CaseUpdate) -> Result<Case, CaseApiError> { Err(CaseApiError::InvalidArgument { rpc: "UpdateCase", message: "none".into() }) }
//! #     async fn create_timeline_cell(&self, _: &NewTimelineCell) -> Result<TimelineCellCreated, CaseApiError> { Err(CaseApiError::InvalidArgument { rpc: "CreateTimelineCell", message: "none".into() }) }
//! #     async fn resolve_user(&self, _: OrgId, _: &UserQuery) -> Result<Option<UserId>, CaseApiError> { Ok(None) }
//! # }
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|_| std::process::abort());
//! # rt.block_on(async {
//! // `Nothing` stands for a real filterer, processor and Case API client here.
//! let pipeline = Pipeline::new(Arc::new(Quiet), Arc::new(Nothing), Arc::new(Nothing), Arc::new(Nothing));
//!
//! // Your consumer loop: hand each record over, acknowledge unless a retry is needed.
//! for record in [&b"{}"[..], &b"not json"[..]] {
//!     let report = pipeline.run(&Payload::from_value(record.to_vec())).await;
//!     assert!(report.retry_error().is_none(), "acknowledge the record");
//!     println!("{:?}", report.outcomes[0].outcome.label());
//! }
//! let report = pipeline.run(&Payload::from_value("not json")).await;
//! assert!(matches!(report.outcomes[0].outcome, Outcome::DecodeFailed(_)));
//! # });
//! ```
//!
//! The 27 filter reasons are listed on [`FilteredReason`].

mod api;
mod backoff;
mod cache;
mod case;
mod changelog;
pub mod config;
mod decode_error;
mod event;
mod gate;
mod ids;
mod integration_telemetry;
mod metadata;
mod payload;
mod pipeline;
mod reason;
mod settings;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod text;
mod traits;

pub use api::{CaseApi, CaseApiError, CaseApiWrapper, CaseCall};
pub use backoff::Backoff;
pub use cache::{CacheStats, ExpiringCache};
pub use case::{
    CLOSED_STATUS, Case, CaseField, CaseUpdate, FieldStamp, FieldUpdate, NewTimelineCell,
    ThirdPartyLink, TimelineCell, TimelineCellCreated, UserQuery,
};
pub use changelog::{
    Author, CaseLocator, Change, Changelog, ChangelogType, Comment, FieldChange, FieldValue,
    ThirdPartyRef,
};
pub use decode_error::{DecodeError, DecodeErrorKind};
pub use event::TelemetryEvent;
pub use gate::{DirectionRule, check_project_settings};
pub use ids::{CaseId, CaseVersion, Integration, OrgId, ProjectId, UserId};
pub use integration_telemetry::{IntegrationTelemetry, ItemKeyField, LOG_FIELDS_TARGET};
pub use metadata::MetadataCache;
pub use payload::Payload;
pub use pipeline::{
    ChangelogOutcome, DeadLetterReason, Disposition, NoTelemetry, Outcome, PayloadHandler,
    PayloadReport, Pipeline, Telemetry,
};
pub use reason::FilteredReason;
pub use settings::{ConflictPolicy, IntegrationMetadata, ProjectSettings, SyncDirection};
pub use text::Text;
/// `tracing`, for [`item_key_field!`]'s expansion in integration crates.
#[doc(hidden)]
pub use tracing as __tracing;
pub use traits::{
    Decoded, Decoder, FilterVerdict, Filterer, PreFiltered, Processed, Processor, SkippedEvent,
    SyncError,
};
