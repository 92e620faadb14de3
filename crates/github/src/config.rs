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
    /// The filterer's settings from the `[github]` section and the metadata cache's size and
    /// lifetime (the shell's `[cache]` section).
    pub fn from_section(
        section: &GitHubSection,
        metadata_ttl: Duration,
        metadata_capacity: usize,
    ) -> Self {
        Self {
            metadata_ttl,
            metadata_capacity,
            integration_users: section.integration_users.clone(),
            sync_marker: section.sync_marker.clone(),
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
        assert_eq!(c.integration_users, ["case-management[bot]"]);
        assert_eq!(c.sync_marker, DEFAULT_SYNC_MARKER);
        assert_eq!(c.metadata_ttl, Duration::from_secs(300));
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
