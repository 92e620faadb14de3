//! The GitHub Issues integration: turns enveloped GitHub webhooks (`issues`,
//! `issue_comment`) into case updates and timeline comments, through the
//! integration-agnostic [`Pipeline`].
//!
//! Its one job is the GitHub side of the sync pipeline: [`GitHubDecoder`] (webhook →
//! changelogs), [`GitHubFilterer`] (cached-metadata prefilter, then the settings/case
//! filter) and [`GitHubProcessor`] (writes through [`CaseApi`]). [`pipeline`] wires them;
//! [`envelope`] wraps a raw webhook body for replays. The Kafka contract, the decode table
//! and every skip reason are in the crate README.
//!
//! ```
//! use std::sync::Arc;
//! use github::{GitHubConfig, pipeline};
//! use thirdparty_core::{FilteredReason, Outcome, Payload};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build()
//! #     .unwrap_or_else(|_| std::process::abort()).block_on(async {
//! // Any `CaseApi`: the gRPC client in production, the in-memory sandbox here, where
//! // organisation 1 has no GitHub installation configured.
//! let api = Arc::new(case_sandbox::Store::new());
//! let (pipeline, filterer) = pipeline(api, &GitHubConfig::default());
//! filterer.warm().await?;
//!
//! let body = br#"{"action": "labeled", "label": {"name": "P1"},
//!     "sender": {"login": "octocat", "type": "User"}, "repository": {"id": 42, "full_name": "acme/app"},
//!     "issue": {"node_id": "I_1", "number": 7, "updated_at": "2026-03-02T10:00:00Z"}}"#;
//! let value = github::envelope(1, 5501, Some("issues"), body)?;
//! let report = pipeline.run(&Payload::from_value(value)).await;
//! assert_eq!(report.outcomes[0].outcome, Outcome::Filtered(FilteredReason::NoMatchingMetadata));
//!
//! // Our own GitHub App's writes echo back and are skipped before any lookup.
//! let echo = br#"{"action": "labeled", "label": {"name": "P1"},
//!     "sender": {"login": "case-management[bot]", "type": "Bot"}, "repository": {"id": 42},
//!     "issue": {"node_id": "I_1", "number": 7, "updated_at": "2026-03-02T10:00:01Z"}}"#;
//! let report = pipeline.run(&Payload::from_value(github::envelope(1, 5501, None, echo)?)).await;
//! assert_eq!(report.outcomes[0].outcome, Outcome::Filtered(FilteredReason::BreakSynchronizationCycle));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap_or_else(|_| std::process::abort());
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod decode;
mod filter;
mod process;
mod replay;
mod target;

pub use config::GitHubSection;
pub use decode::{
    DECODE_ERROR_KINDS, GitHubDecoder, MILESTONE_FIELD, NOT_GITHUB, SYNCED_ISSUE_ACTIONS,
};
pub use filter::{GitHubConfig, GitHubFilterer};
pub use process::GitHubProcessor;
pub use replay::{envelope, record_key};

use std::sync::Arc;
use thirdparty_core::{CaseApi, FilteredReason, Integration, Pipeline};

/// This integration's name (`github`): metric tags, settings lookups, sources of writes.
pub const INTEGRATION: Integration = Integration::new("github");

/// The bot login [`GitHubConfig::default`] treats as our own GitHub App.
pub const DEFAULT_INTEGRATION_USER: &str = "case-management[bot]";

/// The sync marker [`GitHubConfig::default`] uses: the text the Case Management → GitHub
/// writer puts in the comments and bodies it writes, so they are not synced back.
pub const DEFAULT_SYNC_MARKER: &str = "<!-- synced from Case Management -->";

/// The [`FilteredReason`]s a GitHub event can never get: Jira's per-field direction
/// reason, ServiceNow's instance and correlation-id reasons. Every other reason can come out
/// of this flavor ([`filter_reasons`]).
pub const NOT_PRODUCED: [FilteredReason; 3] = [
    FilteredReason::FieldJiraBiSyncDisabled,
    FilteredReason::InstanceNotConfigured,
    FilteredReason::MissingCorrelationId,
];

/// Every [`FilteredReason`] the GitHub flavor can produce (24 of the 27), in declaration
/// order: the decoder's, the prefilter's, the pipeline's, the filter's and the processor's
/// (the crate README lists them by stage).
pub fn filter_reasons() -> impl Iterator<Item = FilteredReason> {
    FilteredReason::ALL
        .iter()
        .copied()
        .filter(|r| !NOT_PRODUCED.contains(r))
}

/// Wires a GitHub [`Pipeline`] over `api`; the filterer is returned too, to
/// [`GitHubFilterer::warm`] its cache before reporting ready and to read its cache stats.
pub fn pipeline(api: Arc<dyn CaseApi>, config: &GitHubConfig) -> (Pipeline, Arc<GitHubFilterer>) {
    let filterer = Arc::new(GitHubFilterer::new(api.clone(), config));
    let processor = Arc::new(GitHubProcessor::new(api.clone()));
    let decoder = Arc::new(GitHubDecoder::new());
    (
        Pipeline::new(decoder, filterer.clone(), processor, api),
        filterer,
    )
}
