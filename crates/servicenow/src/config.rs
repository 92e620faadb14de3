//! The `[servicenow]` section of the reader's configuration, declared once here: the binary
//! names it, the service shell documents, loads and checks it.

use crate::ServiceNowConfig;
use std::time::Duration;
use thirdparty_core::config::KeyKind;

thirdparty_core::config_section! {
    /// The `[servicenow]` section.
    pub struct ServiceNowSection in "servicenow" {
        /// ServiceNow user_name Case Management writes with; its changes are our own writes echoing back.
        pub integration_user: String = "datadog", KeyKind::Text;
        /// Comments and work notes containing this text are our own writes echoing back.
        pub sync_marker: String = "[Synced from Datadog Case Management]", KeyKind::Text;
    }
}

impl ServiceNowConfig {
    /// The filterer's settings from the `[servicenow]` section and the instance cache's size
    /// and lifetime (the shell's `[cache]` section).
    pub fn from_section(
        section: &ServiceNowSection,
        instance_ttl: Duration,
        instance_capacity: usize,
    ) -> Self {
        Self {
            instance_ttl,
            instance_capacity,
            integration_user: section.integration_user.clone(),
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
        assert_eq!(
            ServiceNowConfig::default(),
            ServiceNowConfig {
                instance_ttl: Duration::from_secs(300),
                instance_capacity: 10_000,
                integration_user: "datadog".into(),
                sync_marker: "[Synced from Datadog Case Management]".into(),
            }
        );
    }

    #[test]
    fn a_configured_user_replaces_the_default() {
        let s = ServiceNowSection::from_lookup(&|k| {
            (k == "servicenow.integration_user").then_some(" case-sync ")
        })
        .unwrap();
        assert_eq!(s.integration_user, "case-sync");
    }
}
