//! [`ServiceNowFilterer`]: sync-cycle and instance checks (prefilter), then the project's
//! settings and the case (filter).

use crate::INTEGRATION;
use crate::process::mapped_status;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{
    CacheStats, Case, CaseApi, CaseField, CaseLocator, Change, Changelog, DirectionRule,
    FieldStamp, FilterVerdict, FilteredReason, Filterer, MetadataCache, PreFiltered,
    ProjectSettings, SyncError, check_project_settings,
};

/// Configuration of the ServiceNow filterer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNowConfig {
    /// How long an organisation's cached instances stay fresh: a newly configured instance
    /// is picked up at most this long after the organisation was last loaded. Default 300 s.
    pub instance_ttl: Duration,
    /// At most about this many organisations are cached. Default 10 000.
    pub instance_capacity: usize,
    /// The ServiceNow `user_name` Case Management writes with: changes by it (compared
    /// case-insensitively) are our own writes echoing back. Default `datadog`.
    pub integration_user: String,
    /// Text our push side appends to comments it mirrors into ServiceNow; a comment or work
    /// note containing it (ASCII case-insensitive) is an echo. Empty disables the check.
    /// Default `[Synced from Datadog Case Management]`.
    pub sync_marker: String,
}

impl Default for ServiceNowConfig {
    /// The `[servicenow]` section's defaults ([`crate::ServiceNowSection`]); instances cached
    /// 300 s, for at most 10 000 organisations.
    fn default() -> Self {
        let section = crate::ServiceNowSection::default();
        Self::from_section(&section, Duration::from_secs(300), 10_000)
    }
}

/// The ServiceNow [`Filterer`].
///
/// Prefilter (no remote call once the instance is cached), in order:
/// 1. `updatedBy` is the configured integration user → `break_synchronization_cycle`;
/// 2. a comment or work note carries the sync marker → `break_synchronization_cycle`;
/// 3. (orgId, instanceName) is not configured → `instance_not_configured`, decided from the
///    organisation's metadata rows ([`MetadataCache`]: one
///    [`CaseApi::list_integration_metadata`] call per organisation per `instance_ttl`,
///    concurrent misses sharing it);
/// 4. `updatedBy` is one of the instance metadata's integration users →
///    `break_synchronization_cycle`.
///
/// Filter (with the case and the project's settings), in order: the case is linked to
/// another ServiceNow incident → `no_corresponding_case`; the author is one of the settings'
/// integration users → `break_synchronization_cycle`; then the shared project checks
/// ([`check_project_settings`] with [`DirectionRule::EffectiveDirection`]): `org_disabled`;
/// `integration_disabled`; `project_sync_disabled`; the field's direction is push-only →
/// `sync_direction_push_only` (disabled → `project_sync_disabled`); a comment with comment
/// sync off → `comment_sync_disabled`; the case was created before `start_syncing_from` →
/// `created_before_start_syncing_from` (a ServiceNow diff carries no creation time; the
/// case's creation time is what is compared, as for every flavor). Then per change: state
/// code not mapped → `field_value_not_mapped`, the same `sysModCount` already applied →
/// `duplicate_event`, an older one → `out_of_order_event`, case already at the mapped status
/// → `no_change`; a blank comment → `empty_comment`.
///
/// A ServiceNow diff has no `from` value, so a `state_conflict` cannot be detected and the
/// project's `conflict_policy` never comes into play; `sysModCount` ordering (the case's
/// field stamps) is what keeps a stale event from overwriting a newer one.
pub struct ServiceNowFilterer {
    metadata: MetadataCache,
    integration_user: String,
    sync_marker: String,
}

impl ServiceNowFilterer {
    /// A filterer reading configuration through `api`.
    pub fn new(api: Arc<dyn CaseApi>, config: &ServiceNowConfig) -> Self {
        Self {
            metadata: MetadataCache::new(
                api,
                INTEGRATION,
                config.instance_capacity,
                config.instance_ttl,
            ),
            integration_user: config.integration_user.trim().to_owned(),
            sync_marker: config.sync_marker.trim().to_owned(),
        }
    }

    /// The metadata cache the prefilter reads (the shell warms it and reports its counts).
    pub fn metadata_cache(&self) -> &MetadataCache {
        &self.metadata
    }

    /// Fills the instance cache for every organisation with ServiceNow configured (call it
    /// at start so the first events need no remote call). Returns the number of
    /// organisations loaded. A failure is a [`SyncError::CaseApi`]; retrying may help when it
    /// [`SyncError::is_retryable`], and the cache fills lazily anyway.
    pub async fn warm(&self) -> Result<usize, SyncError> {
        // The shell logs the count (`metadata caches warmed`).
        Ok(self.metadata.warm().await?)
    }

    /// Hit, miss and load-error counts of the instance cache.
    pub fn instance_cache_stats(&self) -> CacheStats {
        self.metadata.stats()
    }

    fn is_integration_user(&self, author: Option<&str>) -> bool {
        author.is_some_and(|a| a.trim().eq_ignore_ascii_case(&self.integration_user))
    }

    fn carries_sync_marker(&self, changelog: &Changelog) -> bool {
        match &changelog.change {
            Change::Comment(c) if !self.sync_marker.is_empty() => {
                contains_ignore_ascii_case(c.body.expose(), &self.sync_marker)
            }
            _ => false,
        }
    }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return true;
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `case` belongs to the incident of `changelog`: true when the case has no
/// ServiceNow link at all (the correlation id is all we have), or one of its links names
/// this (instance, sys_id). ServiceNow copies `correlation_id` when an incident is copied,
/// so a correlation id alone can point at another incident's case.
fn case_is_linked_to(case: &Case, changelog: &Changelog) -> bool {
    let mut links = case
        .third_party_links
        .iter()
        .filter(|l| l.integration == INTEGRATION.as_str())
        .peekable();
    links.peek().is_none()
        || links.any(|l| {
            l.account_id == changelog.third_party.account_id
                && l.item_id
                    .eq_ignore_ascii_case(&changelog.third_party.item_id)
        })
}

fn stamp_verdict(stamp: Option<&FieldStamp>, changelog: &Changelog) -> Option<FilteredReason> {
    let stamp = stamp?;
    let same = match (stamp.sequence, changelog.sequence) {
        (Some(applied), Some(incoming)) => applied == incoming,
        _ => stamp.event_time == changelog.event_time && stamp.sequence == changelog.sequence,
    };
    if same {
        Some(FilteredReason::DuplicateEvent)
    } else if stamp.is_newer_than(changelog.event_time, changelog.sequence) {
        Some(FilteredReason::OutOfOrderEvent)
    } else {
        None
    }
}

#[async_trait]
impl Filterer for ServiceNowFilterer {
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError> {
        let author = changelog.author.id.as_deref();
        if self.is_integration_user(author) || self.carries_sync_marker(&changelog) {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        let rows = self.metadata.rows(changelog.org_id).await?;
        let mut instance = rows
            .iter()
            .filter(|m| m.account_id == changelog.third_party.account_id)
            .peekable();
        if instance.peek().is_none() {
            return Ok(PreFiltered::Skip(FilteredReason::InstanceNotConfigured));
        }
        if let Some(author) = author
            && instance
                .flat_map(|m| &m.integration_users)
                .any(|u| u.eq_ignore_ascii_case(author.trim()))
        {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        Ok(PreFiltered::Keep(changelog))
    }

    async fn filter(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<FilterVerdict, SyncError> {
        use FilterVerdict::Skip;
        if !case_is_linked_to(case, changelog) {
            return Ok(Skip(FilteredReason::NoCorrespondingCase));
        }
        if changelog
            .author
            .id
            .as_deref()
            .is_some_and(|a| settings.is_integration_user(a.trim()))
        {
            return Ok(Skip(FilteredReason::BreakSynchronizationCycle));
        }
        if let Err(reason) =
            check_project_settings(changelog, case, settings, DirectionRule::EffectiveDirection)
        {
            return Ok(Skip(reason));
        }
        match &changelog.change {
            Change::Status(change) => {
                let Some(status) = mapped_status(settings, change) else {
                    return Ok(Skip(FilteredReason::FieldValueNotMapped));
                };
                if let Some(reason) =
                    stamp_verdict(case.field_stamps.get(&CaseField::Status), changelog)
                {
                    return Ok(Skip(reason));
                }
                if case.status == status {
                    return Ok(Skip(FilteredReason::NoChange));
                }
                Ok(FilterVerdict::Apply)
            }
            Change::Comment(comment) => {
                if comment.body.is_blank() {
                    return Ok(Skip(FilteredReason::EmptyComment));
                }
                Ok(FilterVerdict::Apply)
            }
            _ => Ok(Skip(FilteredReason::UnsupportedChangelogType)),
        }
    }

    fn case_not_found_reason(&self, changelog: &Changelog) -> FilteredReason {
        match changelog.case_locator {
            CaseLocator::CaseId(_) => FilteredReason::NoCorrespondingCase,
            CaseLocator::ThirdParty => FilteredReason::MissingCorrelationId,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_search_is_ascii_case_insensitive() {
        assert!(contains_ignore_ascii_case(
            "hi\n[SYNCED from datadog]",
            "[synced from Datadog]"
        ));
        assert!(!contains_ignore_ascii_case("hi", "[synced]"));
        assert!(!contains_ignore_ascii_case("héllo wörld", "WÖRLD"));
        assert!(contains_ignore_ascii_case("héllo wörld", "wörld"));
    }

    #[test]
    fn defaults_match_the_seed() {
        let c = ServiceNowConfig::default();
        assert_eq!(c.instance_ttl, Duration::from_secs(300));
        assert_eq!(c.integration_user, "datadog");
        assert!(!c.sync_marker.is_empty());
    }
}
