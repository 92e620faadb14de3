//! The `[jira]` section of the reader's configuration, declared once here: the binary names
//! it, the service shell documents, loads and checks it.

use crate::{DEFAULT_SYNC_MARKER, JiraConfig};
use std::time::Duration;
use thirdparty_core::config::KeyKind;

thirdparty_core::config_section! {
    /// The `[jira]` section.
    pub struct JiraSection in "jira" {
        /// Comma-separated Jira account ids / usernames of our own integration user, besides those in each organisation's metadata.
        pub integration_users: Vec<String> = "", KeyKind::Text;
        /// Comments containing this text are our own writes echoing back.
        pub sync_marker: String = { DEFAULT_SYNC_MARKER }, KeyKind::Text;
    }
}

impl JiraConfig {
    /// The filterer's settings from the `[jira]` section and the metadata cache's size and
    /// lifetime (the shell's `[cache]` section).
    pub fn from_section(
        section: &JiraSection,
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
    fn the_filterer_defaults_are_the_documented_ones() {
        let d = JiraConfig::default();
        assert_eq!(
            (d.metadata_ttl.as_secs(), d.metadata_capacity),
            (300, 10_000)
        );
        assert!(d.integration_users.is_empty() && d.sync_marker == DEFAULT_SYNC_MARKER);
    }

    #[test]
    fn users_are_a_comma_separated_list_and_an_empty_marker_stays_empty() {
        let s = JiraSection::from_lookup(&|k| match k {
            "jira.integration_users" => Some(" 5b10ac8d, bot@example.com ,"),
            "jira.sync_marker" => Some(""),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.integration_users, ["5b10ac8d", "bot@example.com"]);
        assert_eq!(s.sync_marker, "", "empty disables the echo check");
    }
}
