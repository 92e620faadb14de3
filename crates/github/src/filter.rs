//! [`GitHubFilterer`]: the prefilter (sync cycle, installation and repository from the
//! cached metadata, milestone routing) and the filter (settings, ordering, mapping,
//! no-change and state-conflict checks).

use crate::INTEGRATION;
use crate::decode::MILESTONE_FIELD;
use crate::target::{Target, login_query, target};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{
    CacheStats, Case, CaseApi, CaseField, Change, Changelog, ConflictPolicy, DirectionRule,
    FieldUpdate, FieldValue, FilterVerdict, FilteredReason, Filterer, IntegrationMetadata,
    MetadataCache, PreFiltered, ProjectSettings, SyncError, Text, check_project_settings,
};

/// The project's settings for GitHub.
type Settings = ProjectSettings;

/// Settings of the GitHub filterer: the `[github]` section and the metadata cache's size.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubConfig {
    /// Our own bot logins (`integration_users`, compared case-insensitively, with Bot
    /// senders only, besides those of each organisation's metadata) and the `sync_marker`
    /// (comments and issue bodies containing it are our own writes; empty disables it).
    pub section: crate::GitHubSection,
    /// How long an organisation's metadata stays cached, and for at most how many
    /// organisations (the shell's `[cache]` section; 300 s and 10 000 by default).
    pub metadata_cache: (Duration, usize),
}

impl Default for GitHubConfig {
    /// The `[github]` section's defaults ([`crate::GitHubSection`]); metadata cached 300 s,
    /// for at most 10 000 organisations.
    fn default() -> Self {
        Self {
            section: crate::GitHubSection::default(),
            metadata_cache: (Duration::from_secs(300), 10_000),
        }
    }
}

/// Two-stage filtering of GitHub changelogs.
///
/// **Prefilter** (no remote call but one metadata load per organisation per TTL):
/// 1. `break_synchronization_cycle` — a Bot sender whose login is in
///    `integration_users` of [`GitHubConfig::section`], or a comment / issue body
///    carrying its `sync_marker`;
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
    own_bots: Vec<String>,
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
        let (ttl, organisations) = config.metadata_cache;
        let metadata = MetadataCache::new(api.clone(), INTEGRATION, organisations, ttl);
        let section = &config.section;
        Self {
            api,
            metadata,
            own_bots: section.integration_users.clone(),
            sync_marker: section.sync_marker.trim().to_owned(),
        }
    }

    /// The metadata cache the prefilter reads (the shell warms it and reports its counts).
    pub fn metadata_cache(&self) -> &MetadataCache {
        &self.metadata
    }

    /// Loads the metadata of every organisation with GitHub configured, so the first
    /// events are not slowed by cache misses; returns the number of organisations loaded. A
    /// failure is a [`SyncError::CaseApi`] (retry when [`SyncError::is_retryable`]; the
    /// cache fills lazily anyway).
    pub async fn warm(&self) -> Result<usize, SyncError> {
        self.metadata.warm().await.map_err(SyncError::from)
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

impl GitHubFilterer {
    /// The filter's decision before the conflict policy: whether the change conflicts with
    /// the case (`Ok(true)`), or why it is skipped.
    async fn judge(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<Result<bool, FilteredReason>, SyncError> {
        use FilteredReason as R;
        let rule = DirectionRule::EffectiveDirection;
        let field = match check_project_settings(changelog, case, settings, rule) {
            Ok(field) => field,
            Err(reason) => return Ok(Err(reason)),
        };
        if is_own_bot(&settings.integration_users, changelog.author.id.as_deref()) {
            return Ok(Err(R::BreakSynchronizationCycle));
        }
        // GitHub has no per-issue sequence: `issue.updated_at` orders a field's changes.
        let applied_later = case.field_stamps.get(&field).map(|s| s.event_time);
        if field != CaseField::Comment && applied_later.is_some_and(|t| t > changelog.event_time) {
            return Ok(Err(R::OutOfOrderEvent));
        }
        let update = match target(changelog, case, settings) {
            Err(reason) => return Ok(Err(reason)),
            Ok(Target::Comment) => return Ok(Ok(false)),
            Ok(Target::Assignee(to)) => {
                let wanted = match to {
                    None => None,
                    // Unknown logins are reported by the processor (assignee_resolution_failed).
                    Some(login) => match self
                        .api
                        .resolve_user(changelog.org_id, &login_query(login))
                        .await?
                    {
                        Some(user) => Some(user),
                        None => return Ok(Ok(false)),
                    },
                };
                FieldUpdate::Assignee(wanted)
            }
            Ok(Target::Update(update)) => update,
        };
        if update.is_applied_on(case) {
            return Ok(Err(R::NoChange));
        }
        Ok(Ok(match &changelog.change {
            Change::Title(fc) => text_conflicts(fc.from.as_ref(), &case.title),
            Change::Description(fc) => text_conflicts(fc.from.as_ref(), &case.description),
            _ => false,
        }))
    }
}

type Verdict = Result<FilterVerdict, SyncError>;

#[async_trait]
impl Filterer for GitHubFilterer {
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError> {
        let author = changelog.author.id.as_deref();
        if is_own_bot(&self.own_bots, author) || self.carries_sync_marker(&changelog) {
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

    async fn filter(&self, changelog: &Changelog, case: &Case, settings: &Settings) -> Verdict {
        Ok(match self.judge(changelog, case, settings).await? {
            Err(reason) => FilterVerdict::Skip(reason),
            Ok(false) => FilterVerdict::Apply,
            Ok(true) if settings.conflict_policy == ConflictPolicy::ThirdPartyWins => {
                FilterVerdict::ApplyOverridingConflict
            }
            Ok(true) => FilterVerdict::Skip(FilteredReason::StateConflict),
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
