//! `reader-jira`: the Jira deployment of the case third-party reader. Wiring only: the
//! service shell is `reader-app`, the integration is the `jira` crate.
//!
//! ```sh
//! reader-jira --config /etc/datadog/case-third-party-reader.ini      # run
//! reader-jira check-config --config reader.ini
//! reader-jira replay --dry-run --file body.json --org-id 1 --jira-account-id SITE
//! reader-jira config-keys --format ini > example.ini
//! ```

use jira::{JiraConfig, JiraFilterer};
use reader_app::config::ConfigError;
use reader_app::flavor::{Flavor, FlavorParts, FlavorSetup, MetadataCaches};
use std::process::ExitCode;
use std::sync::Arc;
use thirdparty_core::DecodeError;

struct Jira;

/// `replay --org-id N --jira-account-id SITE`: wrap raw Jira webhook bodies.
#[derive(Debug, Clone, clap::Args)]
struct JiraRawArgs {
    /// The connected Jira site id of raw webhook bodies (with --org-id).
    #[arg(long)]
    jira_account_id: Option<String>,
}

impl Flavor for Jira {
    const NAME: &'static str = "jira";
    type RawArgs = JiraRawArgs;

    type Section = jira::JiraSection;

    fn build(setup: FlavorSetup<'_, Self::Section>) -> Result<FlavorParts, ConfigError> {
        let config =
            JiraConfig::from_section(setup.section, setup.metadata_ttl, setup.metadata_capacity);
        let (pipeline, filterer) = jira::pipeline(setup.api, &config);
        Ok(FlavorParts {
            pipeline,
            caches: Arc::new(MetadataCaches::new(
                "jira_metadata",
                filterer,
                JiraFilterer::metadata_cache,
            )),
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
