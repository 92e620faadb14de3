//! `reader-jira`: the Jira deployment of the case third-party reader. Wiring only: the
//! service shell is `reader-app`, the integration is the `jira` crate.
//!
//! ```sh
//! reader-jira --config /etc/datadog/case-third-party-reader.ini      # run
//! reader-jira check-config --config reader.ini
//! reader-jira replay --dry-run --file body.json --org-id 1 --jira-account-id SITE
//! reader-jira config-keys --format ini > example.ini
//! ```

use async_trait::async_trait;
use jira::{JiraConfig, JiraFilterer};
use reader_app::config::{ConfigError, KeyDef, KeyKind};
use reader_app::flavor::{Flavor, FlavorCaches, FlavorParts, FlavorSetup};
use std::process::ExitCode;
use std::sync::Arc;
use thirdparty_core::{CacheStats, DecodeError, SyncError};

struct Jira;

/// `replay --org-id N --jira-account-id SITE`: wrap raw Jira webhook bodies.
#[derive(Debug, Clone, clap::Args)]
struct JiraRawArgs {
    /// The connected Jira site id of raw webhook bodies (with --org-id).
    #[arg(long)]
    jira_account_id: Option<String>,
}

const KEYS: &[KeyDef] = &[
    KeyDef {
        key: "jira.integration_users",
        default: Some(""),
        required: false,
        kind: KeyKind::Text,
        doc: "Comma-separated Jira account ids / usernames of our own integration user, besides those in each organisation's metadata.",
    },
    KeyDef {
        key: "jira.sync_marker",
        default: Some(jira::DEFAULT_SYNC_MARKER),
        required: false,
        kind: KeyKind::Text,
        doc: "Comments containing this text are our own writes echoing back.",
    },
];

struct Caches(Arc<JiraFilterer>);

#[async_trait]
impl FlavorCaches for Caches {
    async fn warm(&self) -> Result<usize, SyncError> {
        self.0.warm().await
    }

    fn stats(&self) -> Vec<(&'static str, CacheStats)> {
        vec![("jira_metadata", self.0.metadata_cache_stats())]
    }
}

impl Flavor for Jira {
    const NAME: &'static str = "jira";
    type RawArgs = JiraRawArgs;

    fn keys() -> &'static [KeyDef] {
        KEYS
    }

    fn build(setup: FlavorSetup<'_>) -> Result<FlavorParts, ConfigError> {
        let config = JiraConfig {
            metadata_ttl: setup.metadata_ttl,
            metadata_capacity: setup.metadata_capacity,
            integration_users: setup.config.list("jira.integration_users"),
            sync_marker: setup.config.text("jira.sync_marker"),
        };
        let (pipeline, filterer) = jira::pipeline(setup.api, &config);
        Ok(FlavorParts {
            pipeline,
            caches: Arc::new(Caches(filterer)),
        })
    }

    fn envelope_raw(
        args: &JiraRawArgs,
        org_id: u64,
        raw: &[u8],
    ) -> Option<Result<Vec<u8>, DecodeError>> {
        let site = args.jira_account_id.as_deref()?;
        Some(jira::envelope(org_id, site, chrono::Utc::now(), raw))
    }
}

fn main() -> ExitCode {
    reader_app::main::<Jira>()
}
