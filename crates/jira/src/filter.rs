//! [`JiraFilterer`]: the prefilter (metadata cache, sync-cycle and custom-field routing) and
//! the filter (settings, ordering, mapping, no-change and state-conflict checks).

use crate::INTEGRATION;
use crate::values::{Target, resolve_user, target};
use async_trait::async_trait;
use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{
    CacheStats, Case, CaseApi, CaseField, Change, Changelog, ConflictPolicy, DirectionRule,
    FieldChange, FieldUpdate, FieldValue, FilterVerdict, FilteredReason, Filterer,
    IntegrationMetadata, MetadataCache, PreFiltered, ProjectSettings, SyncError,
    check_project_settings,
};
use tracing::debug;

/// The sync marker [`JiraConfig::default`] uses: the text the Case Management → Jira writer
/// puts in the comments it creates, so they are not synced back.
pub const DEFAULT_SYNC_MARKER: &str = "(synced from Case Management)";

/// Settings of the Jira filterer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraConfig {
    /// How long an organisation's integration metadata is cached (default 300 s).
    pub metadata_ttl: Duration,
    /// At most this many organisations' metadata are cached (default 10 000).
    pub metadata_capacity: usize,
    /// Jira identities (account ids, usernames) of our own integration user, in addition
    /// to those listed in each organisation's metadata. Compared case-insensitively.
    pub integration_users: Vec<String>,
    /// Comments whose body contains this text are our own writes echoing back. Empty
    /// disables the check.
    pub sync_marker: String,
}

impl Default for JiraConfig {
    /// The `[jira]` section's defaults ([`crate::JiraSection`]); metadata cached 300 s, for
    /// at most 10 000 organisations.
    fn default() -> Self {
        Self::from_section(
            &crate::JiraSection::default(),
            Duration::from_secs(300),
            10_000,
        )
    }
}

/// Two-stage filtering of Jira changelogs.
///
/// **Prefilter** (no remote call but one metadata load per organisation per TTL, concurrent
/// misses coalesced), in this order:
/// 1. `break_synchronization_cycle` — author in [`JiraConfig::integration_users`], or a
///    comment containing [`JiraConfig::sync_marker`];
/// 2. `no_matching_metadata` — no configured (account, project, issue type) covers the
///    event (an event without an issue object, hence without project and issue type, is
///    covered by any scope of its account);
/// 3. `break_synchronization_cycle` — author among the matching account's
///    `integration_users` in the metadata;
/// 4. `unsupported_*` routing — a field in the scope's `custom_fields` becomes that case
///    field's changelog (e.g. `customfield_10015` → `update_due_date`); otherwise a custom
///    field (`customfield_*`, or a Server custom field without id) is
///    `custom_field_not_configured` and anything else `unsupported_changelog_type`.
///
/// **Filter** (with the case and its settings), in this order: the shared project checks
/// ([`check_project_settings`] with [`DirectionRule::FieldOverrideFirst`]): `org_disabled` →
/// `integration_disabled` → `project_sync_disabled` → per-field direction
/// (`field_jira_bi_sync_disabled` when the field's own direction does not pull,
/// `sync_direction_push_only` when the project pushes only) → `comment_sync_disabled`
/// (comments) → `created_before_start_syncing_from` (the case was created before the
/// project's `start_syncing_from`); then `out_of_order_event` (fields, from
/// `case.field_stamps`) → `field_value_not_mapped` / `invalid_field_value` → `no_change` →
/// `state_conflict` (priority, status, assignee), which the project's `conflict_policy`
/// `third_party_wins` turns into [`FilterVerdict::ApplyOverridingConflict`].
pub struct JiraFilterer {
    api: Arc<dyn CaseApi>,
    metadata: MetadataCache,
    integration_users: Vec<String>,
    sync_markers: Vec<String>,
}

impl JiraFilterer {
    /// A filterer reading metadata and users through `api`.
    pub fn new(api: Arc<dyn CaseApi>, config: &JiraConfig) -> Self {
        let mut sync_markers = Vec::new();
        let marker = config.sync_marker.trim();
        if !marker.is_empty() {
            sync_markers.push(marker.to_owned());
            // Comment bodies are compared after the wiki → Markdown conversion.
            let converted = crate::wiki_to_markdown(marker);
            if !converted.is_empty() && converted != marker {
                sync_markers.push(converted);
            }
        }
        Self {
            api: api.clone(),
            metadata: MetadataCache::new(
                api,
                INTEGRATION,
                config.metadata_capacity,
                config.metadata_ttl,
            ),
            integration_users: config.integration_users.clone(),
            sync_markers,
        }
    }

    /// The metadata cache the prefilter reads (the shell warms it and reports its counts).
    pub fn metadata_cache(&self) -> &MetadataCache {
        &self.metadata
    }

    /// Loads the metadata of every organisation with Jira configured
    /// (`list_integration_orgs`), so the first events are not slowed by cache misses. Call
    /// it before reporting ready. Returns the number of organisations loaded.
    pub async fn warm(&self) -> Result<usize, SyncError> {
        // The shell logs the count (`metadata caches warmed`).
        Ok(self.metadata.warm().await?)
    }

    /// Hit, miss and load-error counts of the metadata cache.
    pub fn metadata_cache_stats(&self) -> CacheStats {
        self.metadata.stats()
    }

    fn is_own_user<'a>(users: impl IntoIterator<Item = &'a String>, changelog: &Changelog) -> bool {
        let Some(author) = changelog.author.id.as_deref() else {
            return false;
        };
        users.into_iter().any(|u| u.eq_ignore_ascii_case(author))
    }

    fn carries_sync_marker(&self, changelog: &Changelog) -> bool {
        match &changelog.change {
            Change::Comment(c) => self
                .sync_markers
                .iter()
                .any(|m| c.body.expose().contains(m)),
            _ => false,
        }
    }
}

/// The most specific metadata row covering the event, if any.
fn matching_scope<'m>(
    rows: &'m [IntegrationMetadata],
    changelog: &Changelog,
) -> Option<&'m IntegrationMetadata> {
    let tp = &changelog.third_party;
    // An event without project and issue type (a comment without its issue) cannot be
    // scoped further than its account.
    let unscoped = tp.project_id.is_none() && tp.item_type_id.is_none();
    let covers = |scope: Option<&str>, value: Option<&str>| match (scope, value) {
        (None, _) => true,
        (Some(s), Some(v)) => s == v,
        (Some(_), None) => unscoped,
    };
    rows.iter()
        .filter(|m| m.integration == INTEGRATION.as_str() && m.account_id == tp.account_id)
        .filter(|m| {
            covers(m.project_id.as_deref(), tp.project_id.as_deref())
                && covers(m.item_type_id.as_deref(), tp.item_type_id.as_deref())
        })
        // Most specific first; the first listed among equals.
        .enumerate()
        .min_by_key(|(i, m)| {
            (
                Reverse(
                    usize::from(m.project_id.is_some()) + usize::from(m.item_type_id.is_some()),
                ),
                *i,
            )
        })
        .map(|(_, m)| m)
}

fn is_custom_field(field_id: &str) -> bool {
    field_id.starts_with("customfield_") || field_id.starts_with("custom:")
}

/// Routes an `unsupported_*` changelog through the scope's custom-field map.
fn route(mut changelog: Changelog, scope: &IntegrationMetadata) -> PreFiltered {
    let Change::Unsupported { field_id, change } = &mut changelog.change else {
        return PreFiltered::Keep(changelog);
    };
    let fc: FieldChange = std::mem::take(change);
    let routed = match scope.custom_fields.get(field_id.as_str()) {
        Some(CaseField::Title) => Change::Title(fc),
        Some(CaseField::Description) => Change::Description(fc),
        Some(CaseField::Priority) => Change::Priority(fc),
        Some(CaseField::Status) => Change::Status(fc),
        Some(CaseField::Assignee) => Change::Assignee(fc),
        Some(CaseField::DueDate) => Change::DueDate(fc),
        // A field change cannot become a comment.
        Some(CaseField::Comment) => {
            return PreFiltered::Skip(FilteredReason::CustomFieldNotConfigured);
        }
        None if is_custom_field(field_id) => {
            return PreFiltered::Skip(FilteredReason::CustomFieldNotConfigured);
        }
        None => return PreFiltered::Skip(FilteredReason::UnsupportedChangelogType),
    };
    changelog.change = routed;
    PreFiltered::Keep(changelog)
}

/// What a change's `from` says the case holds now.
enum Expected<'s> {
    /// The field was empty.
    Empty,
    /// A value mapped to this case value.
    Value(&'s str),
    /// A value with no mapping: the case cannot hold it, so nothing can be compared.
    Unknown,
}

fn expected<'s>(
    settings: &'s ProjectSettings,
    field: CaseField,
    from: Option<&FieldValue>,
) -> Expected<'s> {
    match from {
        None => Expected::Empty,
        Some(v) => settings
            .map_field_value(field, v)
            .map_or(Expected::Unknown, Expected::Value),
    }
}

#[async_trait]
impl Filterer for JiraFilterer {
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError> {
        if Self::is_own_user(&self.integration_users, &changelog)
            || self.carries_sync_marker(&changelog)
        {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        let rows = self.metadata.rows(changelog.org_id).await?;
        let Some(scope) = matching_scope(&rows, &changelog) else {
            return Ok(PreFiltered::Skip(FilteredReason::NoMatchingMetadata));
        };
        let account_users = rows
            .iter()
            .filter(|m| {
                m.integration == INTEGRATION.as_str()
                    && m.account_id == changelog.third_party.account_id
            })
            .flat_map(|m| m.integration_users.iter());
        if Self::is_own_user(account_users, &changelog) {
            return Ok(PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle));
        }
        Ok(route(changelog, scope))
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
            DirectionRule::FieldOverrideFirst,
        ) {
            Ok(field) => field,
            Err(reason) => return skip(reason),
        };
        if field != CaseField::Comment
            && case
                .field_stamps
                .get(&field)
                .is_some_and(|s| s.is_newer_than(changelog.event_time, changelog.sequence))
        {
            return skip(R::OutOfOrderEvent);
        }
        let target = match target(changelog, settings) {
            Ok(t) => t,
            Err(reason) => return skip(reason),
        };
        let conflict = match (&target, &changelog.change) {
            (Target::Comment, _) => false,
            (Target::Update(update), change) => {
                if update.is_applied_on(case) {
                    return skip(R::NoChange);
                }
                match (update, change) {
                    (FieldUpdate::Priority(_), Change::Priority(fc)) => {
                        match expected(settings, CaseField::Priority, fc.from.as_ref()) {
                            Expected::Empty => case.priority.is_some(),
                            Expected::Value(v) => case.priority.as_deref() != Some(v),
                            Expected::Unknown => false,
                        }
                    }
                    (FieldUpdate::Status(_), Change::Status(fc)) => {
                        match expected(settings, CaseField::Status, fc.from.as_ref()) {
                            Expected::Value(v) => case.status != v,
                            Expected::Empty | Expected::Unknown => false,
                        }
                    }
                    _ => false,
                }
            }
            (Target::Assignee(to), change) => {
                let wanted = match to {
                    None => Some(None),
                    // Unknown users are reported by the processor (assignee_resolution_failed).
                    Some(v) => resolve_user(&self.api, changelog.org_id, v)
                        .await?
                        .map(Some),
                };
                if wanted.as_ref() == Some(&case.assignee) {
                    return skip(R::NoChange);
                }
                let from = match change {
                    Change::Assignee(fc) => fc.from.as_ref(),
                    _ => None,
                };
                match from {
                    None => case.assignee.is_some(),
                    Some(v) => match resolve_user(&self.api, changelog.org_id, v).await? {
                        Some(user) => case.assignee.as_ref() != Some(&user),
                        // A `from` user unknown to Case Management cannot be compared.
                        None => false,
                    },
                }
            }
        };
        if !conflict {
            return Ok(FilterVerdict::Apply);
        }
        Ok(match settings.conflict_policy {
            ConflictPolicy::ThirdPartyWins => {
                debug!(event_id = %changelog.event_id, case_id = %case.id, "state conflict overridden (third_party_wins)");
                FilterVerdict::ApplyOverridingConflict
            }
            ConflictPolicy::Reject => FilterVerdict::Skip(R::StateConflict),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thirdparty_core::{Author, CaseLocator, OrgId, ProjectId, ThirdPartyRef};

    fn row(
        project: Option<&str>,
        item_type: Option<&str>,
        case_project: &str,
    ) -> IntegrationMetadata {
        IntegrationMetadata {
            org_id: OrgId(1),
            integration: "jira".into(),
            account_id: "site".into(),
            project_id: project.map(str::to_owned),
            item_type_id: item_type.map(str::to_owned),
            case_project_id: ProjectId(case_project.into()),
            custom_fields: Default::default(),
            integration_users: vec![],
        }
    }

    fn event(project: Option<&str>, item_type: Option<&str>) -> Changelog {
        Changelog {
            org_id: OrgId(1),
            integration: INTEGRATION,
            event_id: "jira:1:summary".into(),
            third_party: ThirdPartyRef {
                account_id: "site".into(),
                project_id: project.map(str::to_owned),
                item_type_id: item_type.map(str::to_owned),
                item_id: "1".into(),
                item_key: None,
            },
            case_locator: CaseLocator::ThirdParty,
            event_time: chrono::DateTime::UNIX_EPOCH,
            sequence: None,
            author: Author::default(),
            change: Change::Title(FieldChange::default()),
        }
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let rows = [
            row(None, None, "any"),
            row(Some("10"), None, "project"),
            row(Some("10"), Some("7"), "project-and-type"),
            row(Some("10"), Some("7"), "duplicate"),
        ];
        let pick = |p, t| matching_scope(&rows, &event(p, t)).map(|m| m.case_project_id.0.as_str());
        assert_eq!(pick(Some("10"), Some("7")), Some("project-and-type"));
        assert_eq!(pick(Some("10"), Some("8")), Some("project"));
        assert_eq!(pick(Some("11"), Some("7")), Some("any"));
        assert_eq!(
            pick(None, None),
            Some("project-and-type"),
            "unscoped events match any row"
        );
        let scoped = [row(Some("10"), None, "project")];
        assert!(
            matching_scope(&scoped, &event(None, Some("7"))).is_none(),
            "a known type without project is not unscoped"
        );
        let mut other_account = event(Some("10"), None);
        other_account.third_party.account_id = "elsewhere".into();
        assert!(matching_scope(&rows, &other_account).is_none());
    }
}
