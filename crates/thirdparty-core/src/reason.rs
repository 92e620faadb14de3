//! [`FilteredReason`]: why an event was skipped. Every skip has exactly one.

use serde::{Serialize, Serializer};
use std::fmt;

macro_rules! reasons {
    ($($(#[doc = $doc:literal])+ $variant:ident => $tag:literal,)+) => {
        /// Why a changelog (or a whole event) was skipped rather than applied. Each reason has
        /// a stable snake_case tag used in metrics (`…filtered{reason}`), logs and fixtures.
        ///
        /// There are exactly 27; the previous service names 14 of them and the rest come from
        /// what Jira and ServiceNow really send:
        ///
        /// | tag | meaning |
        /// |---|---|
        $(#[doc = concat!("| `", $tag, "` |", $($doc),+, " |")])+
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum FilteredReason {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl FilteredReason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [FilteredReason] = &[$(FilteredReason::$variant,)+];

            /// The stable snake_case tag.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $(FilteredReason::$variant => $tag,)+
                }
            }

            /// The reason with this tag, if any.
            pub fn from_tag(tag: &str) -> Option<Self> {
                match tag {
                    $($tag => Some(FilteredReason::$variant),)+
                    _ => None,
                }
            }

            /// One line saying what the reason means.
            pub const fn description(&self) -> &'static str {
                match self {
                    $(FilteredReason::$variant => concat!($($doc),+),)+
                }
            }
        }
    };
}

reasons! {
    /// The change was made by the integration's own user (or carries our sync marker): it is
    /// our own write echoing back, and applying it would loop.
    BreakSynchronizationCycle => "break_synchronization_cycle",
    /// The project syncs this field one way only (push to the third party), so changes coming
    /// from the third party are not applied.
    FieldJiraBiSyncDisabled => "field_jira_bi_sync_disabled",
    /// The third-party value (priority id, status id, state code) has no mapping to a case
    /// value in the project's settings.
    FieldValueNotMapped => "field_value_not_mapped",
    /// The case's current value differs from the change's `from`: someone else changed the
    /// case since, and applying would overwrite their edit.
    StateConflict => "state_conflict",
    /// No case is linked to the third-party item.
    NoCorrespondingCase => "no_corresponding_case",
    /// The case's project has no settings for this integration.
    ProjectNotFound => "project_not_found",
    /// The case linked to the item was created before the project's `start_syncing_from`
    /// time (the case's `created_at` is compared, never the event's time, for every flavor).
    CreatedBeforeStartSyncingFrom => "created_before_start_syncing_from",
    /// The integration is turned off for the organisation or project.
    IntegrationDisabled => "integration_disabled",
    /// Sync is turned off for the project.
    ProjectSyncDisabled => "project_sync_disabled",
    /// The change is to a field Case Management does not sync.
    UnsupportedChangelogType => "unsupported_changelog_type",
    /// The event's (account, project, item type) is not configured for any project of the
    /// organisation (decided from the cached metadata, without a remote call).
    NoMatchingMetadata => "no_matching_metadata",
    /// A custom field changed that the project's settings do not map to a case field.
    CustomFieldNotConfigured => "custom_field_not_configured",
    /// The assignee could not be resolved to a Case Management user.
    AssigneeResolutionFailed => "assignee_resolution_failed",
    /// The case kept changing under the update (optimistic lock lost twice in a row).
    CaseVersionMismatch => "case_version_mismatch",
    /// The webhook event type is not one this integration syncs (e.g. `issue_deleted`).
    UnsupportedEventType => "unsupported_event_type",
    /// The webhook carried no changed field at all.
    EmptyChangelog => "empty_changelog",
    /// The case already has the target value.
    NoChange => "no_change",
    /// The event is older than the last change already applied to that case field.
    OutOfOrderEvent => "out_of_order_event",
    /// The same change (same comment id, same event) was already applied.
    DuplicateEvent => "duplicate_event",
    /// The event's third-party instance is not configured for the organisation (decided
    /// from the cached metadata, without a remote call).
    InstanceNotConfigured => "instance_not_configured",
    /// The project syncs to the third party only; nothing comes back.
    SyncDirectionPushOnly => "sync_direction_push_only",
    /// Comment sync is turned off for the project.
    CommentSyncDisabled => "comment_sync_disabled",
    /// The comment is empty or white space only.
    EmptyComment => "empty_comment",
    /// The value cannot be applied (an unparseable date, an over-long title).
    InvalidFieldValue => "invalid_field_value",
    /// The case is closed, its project freezes closed cases (`freeze_closed_cases`) and the
    /// change is not a status change (which may reopen it).
    CaseClosed => "case_closed",
    /// The organisation is disabled in Case Management.
    OrgDisabled => "org_disabled",
    /// The event names no case (no `correlationId`) and no case is linked to the item.
    MissingCorrelationId => "missing_correlation_id",
}

impl fmt::Display for FilteredReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FilteredReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::FilteredReason;
    use std::collections::HashSet;

    #[test]
    fn exactly_27_distinct_snake_case_reasons() {
        assert_eq!(FilteredReason::ALL.len(), 27);
        let tags: HashSet<&str> = FilteredReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(tags.len(), 27, "tags must be distinct");
        for tag in &tags {
            assert!(
                !tag.is_empty()
                    && tag.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !tag.starts_with('_')
                    && !tag.ends_with('_')
                    && !tag.contains("__"),
                "{tag} is not snake_case"
            );
        }
    }

    #[test]
    fn tags_round_trip_and_have_descriptions() {
        for r in FilteredReason::ALL {
            assert_eq!(FilteredReason::from_tag(r.as_str()), Some(*r));
            assert!(r.description().len() > 10, "{r} lacks a description");
        }
        assert_eq!(FilteredReason::from_tag("nope"), None);
    }

    #[test]
    fn the_seeds_fourteen_are_present() {
        for tag in [
            "break_synchronization_cycle",
            "field_jira_bi_sync_disabled",
            "field_value_not_mapped",
            "state_conflict",
            "no_corresponding_case",
            "project_not_found",
            "created_before_start_syncing_from",
            "integration_disabled",
            "project_sync_disabled",
            "unsupported_changelog_type",
            "no_matching_metadata",
            "custom_field_not_configured",
            "assignee_resolution_failed",
            "case_version_mismatch",
        ] {
            assert!(FilteredReason::from_tag(tag).is_some(), "{tag} missing");
        }
    }
}
