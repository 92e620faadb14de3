//! `reader-github`: the GitHub Issues deployment of the case third-party reader. Wiring
//! only: the service shell is `reader-app`, the integration is the `github` crate.
//!
//! ```sh
//! reader-github --config /etc/datadog/case-third-party-reader.ini      # run
//! reader-github check-config --config reader.ini
//! reader-github replay --dry-run --file issues.closed.json --org-id 1 --installation-id 5501
//! reader-github config-keys --format ini > example.ini
//! ```
#![forbid(unsafe_code)]

use github::{GitHubConfig, GitHubFilterer};
use reader_app::config::ConfigError;
use reader_app::flavor::{Flavor, FlavorParts, FlavorSetup, MetadataCaches};
use std::process::ExitCode;
use std::sync::Arc;
use thirdparty_core::DecodeError;

struct GitHub;

/// `replay --org-id N --installation-id ID [--github-event EVENT]`: wrap raw webhook bodies.
#[derive(Debug, Clone, clap::Args)]
struct GitHubRawArgs {
    /// The GitHub App installation id of raw webhook bodies (with --org-id).
    #[arg(long)]
    installation_id: Option<u64>,
    /// The X-GitHub-Event of raw bodies (default: guessed, `issues` / `issue_comment` / `ping`).
    #[arg(long, requires = "installation_id")]
    github_event: Option<String>,
}

impl Flavor for GitHub {
    const NAME: &'static str = "github";
    type RawArgs = GitHubRawArgs;

    type Section = github::GitHubSection;

    fn build(setup: FlavorSetup<'_, Self::Section>) -> Result<FlavorParts, ConfigError> {
        let config =
            GitHubConfig::from_section(setup.section, setup.metadata_ttl, setup.metadata_capacity);
        let (pipeline, filterer) = github::pipeline(setup.api, &config);
        Ok(FlavorParts {
            pipeline,
            caches: Arc::new(MetadataCaches::new(
                "github_metadata",
                filterer,
                GitHubFilterer::metadata_cache,
            )),
        })
    }

    fn envelope_raw(
        args: &GitHubRawArgs,
        org_id: u64,
        raw: &[u8],
    ) -> Option<Result<Vec<u8>, DecodeError>> {
        let installation = args.installation_id?;
        Some(github::envelope(
            org_id,
            installation,
            args.github_event.as_deref(),
            raw,
        ))
    }
}

fn main() -> ExitCode {
    reader_app::main::<GitHub>()
}
