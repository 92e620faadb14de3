//! The ServiceNow integration: turns `datadog_x_incident` diffs from Kafka into case status
//! changes and timeline comments, through the integration-agnostic [`Pipeline`].
//!
//! [`ServiceNowDecoder`] reads the envelope (one changelog per changed `state`, `comment`,
//! `workNote`), [`ServiceNowFilterer`] skips our own echoes and unconfigured instances
//! (cached, no remote call per event) and then checks the project's settings and the case,
//! and [`ServiceNowProcessor`] writes through [`CaseApi`] under optimistic locking.
//! [`pipeline`] wires the three; [`envelope`] turns a raw diff or Table-API record into a
//! record value for replays. The contract and every skip reason are in the crate README.
//!
//! ```
//! use std::sync::Arc;
//! use servicenow::{ServiceNowConfig, pipeline};
//! use thirdparty_core::{FilteredReason, Outcome, Payload};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build()
//! #     .unwrap_or_else(|_| std::process::abort()).block_on(async {
//! // Any `CaseApi`: the gRPC client in production, the in-memory sandbox here. It has no
//! // ServiceNow instance configured for organisation 1001.
//! let api = Arc::new(case_sandbox::Store::new());
//! let (pipeline, filterer) = pipeline(api, &ServiceNowConfig::default());
//! filterer.warm().await?;
//!
//! let value = servicenow::envelope(1001, "acme", br#"{"sysId": "0a52c3d4e5f60718293a4b5c6d7e8f90",
//!     "updatedTime": "2024-01-15T10:30:00Z", "updatedBy": "john.doe",
//!     "data": {"state": "7", "sysModCount": "12", "correlationId": "case-1"}}"#)?;
//! let report = pipeline.run(&Payload::from_value(value)).await;
//! assert_eq!(report.outcomes[0].event_id.as_deref(),
//!            Some("servicenow:0a52c3d4e5f60718293a4b5c6d7e8f90:12:state"));
//! assert_eq!(report.outcomes[0].outcome, Outcome::Filtered(FilteredReason::InstanceNotConfigured));
//!
//! // Our own writes echo back and are skipped before any lookup.
//! let echo = servicenow::envelope(1001, "acme", br#"{"sysId": "0a52c3d4e5f60718293a4b5c6d7e8f90",
//!     "updatedTime": "2024-01-15T10:31:00Z", "updatedBy": "DataDog", "data": {"state": "2"}}"#)?;
//! let report = pipeline.run(&Payload::from_value(echo)).await;
//! assert_eq!(report.outcomes[0].outcome, Outcome::Filtered(FilteredReason::BreakSynchronizationCycle));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap_or_else(|_| std::process::abort());
//! ```

pub mod config;
mod decode;
mod filter;
mod process;
mod replay;

pub use config::ServiceNowSection;
pub use decode::{DATA_FIELDS, DECODE_ERROR_KINDS, EVENT_TYPE, NOT_SERVICENOW, ServiceNowDecoder};
pub use filter::{ServiceNowConfig, ServiceNowFilterer};
pub use process::ServiceNowProcessor;
pub use replay::envelope;

use std::sync::Arc;
use thirdparty_core::{CaseApi, FilteredReason, Integration, Pipeline};

/// The integration's name: `servicenow` (metric segment, `ThirdPartyLink::integration`,
/// settings key).
pub const INTEGRATION: Integration = Integration::new("servicenow");

/// Every [`FilteredReason`] this integration can produce (decoder, filterer, processor and
/// the pipeline's own `project_not_found` / `case_version_mismatch`). The other reasons are
/// Jira's, or cannot arise from a ServiceNow diff (it has no `from`, so no `state_conflict`).
pub const FILTER_REASONS: &[FilteredReason] = &[
    FilteredReason::BreakSynchronizationCycle,
    FilteredReason::InstanceNotConfigured,
    FilteredReason::UnsupportedEventType,
    FilteredReason::EmptyChangelog,
    FilteredReason::EmptyComment,
    FilteredReason::MissingCorrelationId,
    FilteredReason::NoCorrespondingCase,
    FilteredReason::ProjectNotFound,
    FilteredReason::OrgDisabled,
    FilteredReason::IntegrationDisabled,
    FilteredReason::ProjectSyncDisabled,
    FilteredReason::SyncDirectionPushOnly,
    FilteredReason::CreatedBeforeStartSyncingFrom,
    FilteredReason::FieldValueNotMapped,
    FilteredReason::DuplicateEvent,
    FilteredReason::OutOfOrderEvent,
    FilteredReason::NoChange,
    FilteredReason::CommentSyncDisabled,
    FilteredReason::CaseVersionMismatch,
    FilteredReason::CaseClosed,
];

/// The ServiceNow pipeline over `api`, and its filterer (to [`ServiceNowFilterer::warm`] the
/// instance cache at start and read its stats).
pub fn pipeline(
    api: Arc<dyn CaseApi>,
    config: &ServiceNowConfig,
) -> (Pipeline, Arc<ServiceNowFilterer>) {
    let filterer = Arc::new(ServiceNowFilterer::new(api.clone(), config));
    let pipeline = Pipeline::new(
        Arc::new(ServiceNowDecoder::new()),
        filterer.clone(),
        Arc::new(ServiceNowProcessor::new(api.clone())),
        api,
    );
    (pipeline, filterer)
}
