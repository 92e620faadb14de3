//! The Jira integration: turns enveloped Jira webhooks into case updates.
//!
//! Its one job is the Jira side of the sync pipeline: [`JiraDecoder`] (webhook →
//! changelogs), [`JiraFilterer`] (cached-metadata prefilter, then the settings/case filter)
//! and [`JiraProcessor`] (writes through [`CaseApi`]). [`pipeline`] wires them into a
//! [`Pipeline`]. The Kafka contract, decode rules, filter order and the filter reasons this
//! integration produces are in the crate's README.
//!
//! ```
//! use jira::JiraDecoder;
//! use thirdparty_core::{Decoded, Decoder, Payload};
//!
//! let value = br#"{"orgId": 42, "jiraAccountId": "site-1", "receivedAt": "2026-03-01T10:00:00Z",
//!   "webhook": {"timestamp": 1772359200000, "webhookEvent": "jira:issue_updated",
//!     "issue": {"id": "10040", "key": "SUP-41",
//!               "fields": {"project": {"id": "10000"}, "issuetype": {"id": "10001"}}},
//!     "changelog": {"id": "10235", "items": [{"field": "priority", "fieldtype": "jira",
//!       "fieldId": "priority", "from": "4", "fromString": "Low", "to": "2", "toString": "High"}]}}}"#;
//! let decoded = JiraDecoder::new().decode(&Payload::from_value(&value[..])).unwrap();
//! let Decoded::Changelog(changelog) = &decoded[0] else { panic!("expected a changelog") };
//! assert_eq!(changelog.changelog_type().as_tag(), "update_priority");
//! assert_eq!(changelog.event_id, "jira:10235:priority");
//! assert_eq!(changelog.third_party.item_key.as_deref(), Some("SUP-41"));
//! ```

pub mod config;
mod decode;
mod filter;
mod markup;
mod process;
mod values;
mod wire;

pub use config::JiraSection;
pub use decode::{DECODE_ERROR_KINDS, JiraDecoder, NOT_JIRA, envelope, record_key};
pub use filter::{DEFAULT_SYNC_MARKER, JiraConfig, JiraFilterer};
pub use markup::wiki_to_markdown;
pub use process::JiraProcessor;

use std::sync::Arc;
use thirdparty_core::{CaseApi, FilteredReason, Integration, IntegrationTelemetry, Pipeline};

/// This integration's name (`jira`): metric tags, settings lookups, sources of writes. It
/// declares Jira's own telemetry ([`TELEMETRY`]).
pub const INTEGRATION: Integration = Integration::new("jira").with_telemetry(&TELEMETRY);

/// Jira's additions to the shared telemetry, the previous service's names: changelog log
/// lines carry the issue key as `jira_issue_key` (in their `"span"` object), and the
/// end-to-end latency is tagged `jira_account_id` (site id) and `jira_project_id`.
pub static TELEMETRY: IntegrationTelemetry = IntegrationTelemetry::new()
    .with_item_key_field(thirdparty_core::item_key_field!(jira_issue_key))
    .with_account_tag("jira_account_id")
    .with_project_tag("jira_project_id");

/// Every [`FilteredReason`] the Jira flavor can produce (25 of the 27; `instance_not_configured`
/// and `missing_correlation_id` never come from Jira events).
pub const FILTER_REASONS: &[FilteredReason] = &[
    // decoder
    FilteredReason::UnsupportedEventType,
    FilteredReason::EmptyChangelog,
    FilteredReason::EmptyComment,
    // prefilter
    FilteredReason::BreakSynchronizationCycle,
    FilteredReason::NoMatchingMetadata,
    FilteredReason::CustomFieldNotConfigured,
    FilteredReason::UnsupportedChangelogType,
    // pipeline (case and settings lookup)
    FilteredReason::NoCorrespondingCase,
    FilteredReason::ProjectNotFound,
    // filter
    FilteredReason::OrgDisabled,
    FilteredReason::IntegrationDisabled,
    FilteredReason::ProjectSyncDisabled,
    FilteredReason::FieldJiraBiSyncDisabled,
    FilteredReason::SyncDirectionPushOnly,
    FilteredReason::CommentSyncDisabled,
    FilteredReason::CreatedBeforeStartSyncingFrom,
    FilteredReason::OutOfOrderEvent,
    FilteredReason::FieldValueNotMapped,
    FilteredReason::InvalidFieldValue,
    FilteredReason::CaseClosed,
    FilteredReason::NoChange,
    FilteredReason::StateConflict,
    // processor and pipeline retry
    FilteredReason::AssigneeResolutionFailed,
    FilteredReason::DuplicateEvent,
    FilteredReason::CaseVersionMismatch,
];

/// Wires a Jira [`Pipeline`] over `api`; the filterer is returned too, to
/// [`JiraFilterer::warm`] its cache before reporting ready and to read its cache stats.
pub fn pipeline(api: Arc<dyn CaseApi>, config: &JiraConfig) -> (Pipeline, Arc<JiraFilterer>) {
    let filterer = Arc::new(JiraFilterer::new(api.clone(), config));
    let pipeline = Pipeline::new(
        Arc::new(JiraDecoder::new()),
        filterer.clone(),
        Arc::new(JiraProcessor::new(api.clone())),
        api,
    );
    (pipeline, filterer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_declares_the_previous_services_telemetry_names() {
        let telemetry = INTEGRATION.telemetry();
        assert_eq!(
            telemetry.item_key_field().map(|f| f.name()),
            Some("jira_issue_key")
        );
        assert_eq!(telemetry.account_tag(), Some("jira_account_id"));
        assert_eq!(telemetry.project_tag(), Some("jira_project_id"));
    }
}
