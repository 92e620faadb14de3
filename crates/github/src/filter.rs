//! [`GitHubFilterer`]: the prefilter (sync cycle, installation and repository from the
//! cached metadata, milestone routing) and the filter (settings, ordering, mapping,
//! no-change and state-conflict checks).

use crate::INTEGRATION;
use crate::decode::MILESTONE_FIELD;
use crate::target::{Target, resolve_login, target};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{
    CacheStats, Case, CaseApi, CaseField, Change, Changelog, ConflictPolicy, DirectionRule,
    FieldValue, FilterVerdict, FilteredReason, Filterer, IntegrationMetadata, MetadataCache,
    PreFiltered, ProjectSettings, SyncError, Text, check_project_settings,
};

/// Settings of the GitHub filterer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubConfig {
    /// How long an organisation's integration metadata is cached (default 300 s).
    pub metadata_ttl: Duration,
    /// At most this many organisations' metadata are cached (default 10 000).
    pub metadata_capacity: usize,
    /// Bot logins of our own GitHub App (`case-management[bot]`), besides those listed in
    /// each organisation's metadata. Compared case-insensitively, with Bot senders only.
    pub integration_users: Vec<String>,
    /// Comments and issue bodies containing this text are our own writes echoing back.
    /// Empty disables the check.
    pub sync_marker: String,
}

impl Default for GitHubConfig {
    /// The `[github]` section's defaults ([`crate::GitHubSection`]); metadata cached 300 s,
    /// for at most 10 000 organisations.
    fn default() -> Self {
        Self::from_section(
            &crate::GitHubSection::default(),
            Duration::from_secs(300),
            10_000,
        )
    }
}

/// Two-stage filtering of GitHub changelogs.
///
/// **Prefilter** (no remote call but one metadata load per organisation per TTL):
/// 1. `break_synchronization_cycle` — a Bot sender whose login is in
///    [`GitHubConfig::integration_users`], or a comment / issue body carrying
///    [`GitHubConfig::sync_marker`];
/// 2. `no_matching_metadata` — no metadata row of the organisation has this installation
///    (`account_id`) and repository (`project_id`, `None` = any repository);
/// 3. `break_synchronization_cycle` — a Bot sender among the row's `integration_users`;
/// 4. milestone routing — the `milestone` change becomes the case field the row's
///    `custom_fields["milestone"]` names (only `due_date` can take a date); otherwise
///    `custom_field_not_configured`.
///
/// **Filter** (with the case and its settings): the shared project checks
/// ([`check_project_settings`], [`DirectionRule::EffectiveDirection`]); a Bot sender in the
/// settings' `integration_users` → `break_synchronization_cycle`; `out_of_order_event` when
/// the case field's stamp is newer than `issue.updated_at`; `field_value_not_mapped` /
/// `invalid_field_value`; `no_change`; `state_conflict` when the edit's `changes.*.from`
/// (title, body) differs from the case's current value, unless the project's
/// `conflict_policy` is `third_party_wins`.
pub struct GitHubFilterer {
    api: Arc<dyn CaseApi>,
    metadata: MetadataCache,
    integration_users: Vec<String>,
    sync_marker: String,
}

/// Whether `author` is a Bot login (`…[bot]`: the decoder marks Bot senders so; a user
/// login cannot contain `[`) listed in `users`.
fn is_own_bot<'a>(users: impl IntoIterator<Item = &'a String>, author: Option<&str>) -> bool {
    let Some(author) = author.filter(|a| a.ends_with("[bot]")) else {
        return false;
    };
    users
        .into_iter()
        .any(|u| u.trim().eq_ignore_ascii_case(author))
}

impl GitHubFilterer {
    /// A filterer reading metadata and users through `api`.
    pub fn new(api: Arc<dyn CaseApi>, config: &GitHubConfig) -> Self {
        Self {
            api: api.clone(),
            metadata: MetadataCache::new(
                api,
                INTEGRATION,
                config.metadata_capacity,
                config.metadata_ttl,
            ),
            integration_users: config.integration_users.clone(),
            sync_marker: config.sync_marker.trim().to_owned(),
        }
    }

    /// Loads the metadata of every organisation with GitHub configured, so the first
    /// events are not slowed by cache misses; returns the number of organisations loaded. A
    /// failure is a [`SyncError::CaseApi`] (retry when [`SyncError::is_retryable`]; the
    /// cache fills lazily anyway).
    pub async fn warm(&self) -> Result<usize, SyncError> {
        Ok(self.metadata.warm().await?)
    }

    /// Hit, miss and load-error counts of the metadata cache.
    pub fn metadata_cache_stats(&self) -> CacheStats {
        self.metadata.stats()
    }

    fn carries_sync_marker(&self, changelog: &Changelog) -> bool {
        let body: Option<&Text> = match &changelog.change {
            Change::Comment(c) => Some(&c.body),
            Change::Description(fc) => fc.to.as_ref().and_then(|v| v.text.as_ref()),
            _ => None,
        };
        !self.sync_marker.is_empty()
            && body.is_some_and(|b| b.expose().contains(self.sync_marker.as_str()))
    }
}

/// The row of the installation and repository, the one naming the repository first.
fn matching_row<'m>(
    rows: &'m [IntegrationMetadata],
    changelog: &Changelog,
) -> Option<&'m IntegrationMetadata> {
    let tp = &changelog.third_party;
    let rows = rows
        .iter()
        .filter(|m| m.integration == INTEGRATION.as_str() && m.account_id == tp.account_id);
    let mut any_repo = None;
    for row in rows {
        match row.project_id.as_deref() {
            Some(repo) if Some(repo) == tp.project_id.as_deref() => return Some(row),
            Some(_) => {}
            None => any_repo = any_repo.or(Some(row)),
        }
    }
    any_repo
}

/// Routes the milestone change through the row's custom-field map.
fn route(mut changelog: Changelog, row: &IntegrationMetadata) -> PreFiltered {
    let Change::Unsupported { field_id, change } = &mut changelog.change else {
        return PreFiltered::Keep(changelog);
    };
    if field_id != MILESTONE_FIELD
        || row.custom_fields.get(MILESTONE_FIELD) != Some(&CaseField::DueDate)
    {
        return PreFiltered::Skip(FilteredReason::CustomFieldNotConfigured);
    }
    changelog.change = Change::DueDate(std::mem::take(change));
    PreFiltered::Keep(changelog)
}

/// What a `from` says the case should hold now, for a text field.
fn text_conflicts(from: Option<&FieldValue>, current: &Text) -> bool {
    from.and_then(|v| v.text.as_ref())
        .is_some_and(|from| from.expose().trim() != current.expose().trim())
}

#[async_trait]
impl Filterer for GitHubFilterer {
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError> {
        let author = changelog.author.id.as_deref();
        if is_own_bot(&self.integration_users, author) || self.carries_sync_marker(&changelog) {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        let rows = self.metadata.rows(changelog.org_id).await?;
        let Some(row) = matching_row(&rows, &changelog) else {
            return Ok(PreFiltered::Skip(FilteredReason::NoMatchingMetadata));
        };
        if is_own_bot(&row.integration_users, author) {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        Ok(route(changelog, row))
    }

    async fn filter(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<FilterVerdict, SyncError> {
        use FilteredReason as R;
        let skip = |r: FilteredReason| Ok(FilterVerdict::Skip(r));
        let field = match check_project_settings(
            changelog,
            case,
            settings,
            DirectionRule::EffectiveDirection,
        ) {
            Ok(field) => field,
            Err(reason) => return skip(reason),
        };
        if is_own_bot(&settings.integration_users, changelog.author.id.as_deref()) {
            return skip(R::BreakSynchronizationCycle);
        }
        // GitHub has no per-issue sequence: `issue.updated_at` orders the events.
        if field != CaseField::Comment
            && case
                .field_stamps
                .get(&field)
                .is_some_and(|s| s.is_newer_than(changelog.event_time, changelog.sequence))
        {
            return skip(R::OutOfOrderEvent);
        }
        let conflict = match target(changelog, case, settings) {
            Err(reason) => return skip(reason),
            Ok(Target::Comment) => false,
            Ok(Target::Update(update)) => {
                if update.is_applied_on(case) {
                    return skip(R::NoChange);
                }
                match &changelog.change {
                    Change::Title(fc) => text_conflicts(fc.from.as_ref(), &case.title),
                    Change::Description(fc) => text_conflicts(fc.from.as_ref(), &case.description),
                    _ => false,
                }
            }
            Ok(Target::Assignee(to)) => {
                let wanted = match to {
                    None => Some(None),
                    // Unknown logins are reported by the processor (assignee_resolution_failed).
                    Some(login) => resolve_login(&self.api, changelog.org_id, login)
                        .await?
                        .map(Some),
                };
                if wanted.as_ref() == Some(&case.assignee) {
                    return skip(R::NoChange);
                }
                false
            }
        };
        if !conflict {
            return Ok(FilterVerdict::Apply);
        }
        Ok(match settings.conflict_policy {
            ConflictPolicy::ThirdPartyWins => FilterVerdict::ApplyOverridingConflict,
            ConflictPolicy::Reject => FilterVerdict::Skip(R::StateConflict),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bot_logins_are_our_own() {
        let users = vec!["case-management[bot]".to_owned()];
        assert!(is_own_bot(&users, Some("Case-Management[bot]")));
        assert!(!is_own_bot(&users, Some("case-management")));
        assert!(!is_own_bot(&users, Some("other[bot]")));
        assert!(!is_own_bot(&users, None));
    }
}
