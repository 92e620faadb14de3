//! The `[github]` section of the reader's configuration, declared once here: the binary
//! names it, the service shell documents, loads and checks it.

use crate::{DEFAULT_INTEGRATION_USER, DEFAULT_SYNC_MARKER, GitHubConfig};
use std::time::Duration;
use thirdparty_core::config::KeyKind;

thirdparty_core::config_section! {
    /// The `[github]` section.
    pub struct GitHubSection in "github" {
        /// Comma-separated bot logins of our own GitHub App (`<app>[bot]`), besides those in each organisation's metadata.
        pub integration_users: Vec<String> = { DEFAULT_INTEGRATION_USER }, KeyKind::Text;
        /// Comments and issue bodies containing this text are our own writes echoing back.
        pub sync_marker: String = { DEFAULT_SYNC_MARKER }, KeyKind::Text;
    }
}

impl GitHubConfig {
    /// The filterer's settings from the `[github]` section and the metadata cache's
    /// lifetime and capacity (the shell's `[cache]` section).
    pub fn from_section(section: &GitHubSection, ttl: Duration, organisations: usize) -> Self {
        let section = section.clone();
        Self {
            section,
            metadata_cache: (ttl, organisations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thirdparty_core::config::ConfigSection;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = GitHubConfig::default();
        assert_eq!(c.section.integration_users, [DEFAULT_INTEGRATION_USER]);
        assert_eq!(c.section.sync_marker, DEFAULT_SYNC_MARKER);
        assert_eq!(c.metadata_cache, (Duration::from_secs(300), 10_000));
        assert_eq!(
            GitHubConfig::from_section(&GitHubSection::default(), Duration::from_secs(300), 10_000),
            c
        );
    }

    #[test]
    fn configured_users_replace_the_default() {
        let s = GitHubSection::from_lookup(&|k| {
            (k == "github.integration_users").then_some("a[bot], b[bot]")
        })
        .unwrap();
        assert_eq!(s.integration_users, ["a[bot]", "b[bot]"]);
    }
}
