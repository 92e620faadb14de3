//! Project settings and integration metadata, as the Case Management settings API serves them.

use crate::{CaseField, FieldValue, OrgId, ProjectId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way a project (or one field) syncs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncDirection {
    /// Both ways (`ST_BIDIRECTIONAL`).
    #[default]
    #[serde(alias = "ST_BIDIRECTIONAL")]
    Bidirectional,
    /// Third party → Case Management only (`ST_ONE_WAY_PULL`).
    #[serde(alias = "ST_ONE_WAY_PULL")]
    OneWayPull,
    /// Case Management → third party only (`ST_ONE_WAY_PUSH`): nothing comes back.
    #[serde(alias = "ST_ONE_WAY_PUSH")]
    OneWayPush,
    /// Off.
    #[serde(alias = "ST_DISABLED")]
    Disabled,
}

impl SyncDirection {
    /// Whether changes made in the third party are applied to cases.
    pub fn pulls(&self) -> bool {
        matches!(self, Self::Bidirectional | Self::OneWayPull)
    }
}

/// What to do when a change's `from` does not match the case's current value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// Skip the change (`state_conflict`): the previous service's behaviour.
    #[default]
    Reject,
    /// Apply anyway; the override is counted.
    ThirdPartyWins,
}

/// One project's settings for one integration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettings {
    /// Organisation.
    pub org_id: OrgId,
    /// Project.
    pub project_id: ProjectId,
    /// Integration these settings are for.
    pub integration: String,
    /// The organisation is enabled in Case Management.
    #[serde(default = "yes")]
    pub org_enabled: bool,
    /// The integration is turned on for the project.
    #[serde(default = "yes")]
    pub integration_enabled: bool,
    /// Sync is turned on for the project.
    #[serde(default = "yes")]
    pub project_sync_enabled: bool,
    /// Project-wide direction.
    #[serde(default)]
    pub sync_direction: SyncDirection,
    /// Per-field direction; a field absent here follows `sync_direction`.
    #[serde(default)]
    pub field_sync: BTreeMap<CaseField, SyncDirection>,
    /// Third-party value id → case value name, per field (priority, status).
    #[serde(default)]
    pub value_mappings: BTreeMap<CaseField, BTreeMap<String, String>>,
    /// Third-party custom field id → the case field it feeds (e.g. `customfield_10015` →
    /// `due_date`).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, CaseField>,
    /// Items created before this time are not synced.
    #[serde(default)]
    pub start_syncing_from: Option<DateTime<Utc>>,
    /// Identities of the integration's own user in the third party (account ids,
    /// usernames): its changes are our own writes echoing back.
    #[serde(default)]
    pub integration_users: Vec<String>,
    /// Comments are synced.
    #[serde(default = "yes")]
    pub comment_sync_enabled: bool,
    /// What to do on a state conflict.
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    /// A closed case ([`crate::Case::is_closed`]) takes no third-party change but a status
    /// change (which may reopen it); the others are filtered `case_closed`. Off: closed
    /// cases take updates like any other.
    #[serde(default)]
    pub freeze_closed_cases: bool,
}

fn yes() -> bool {
    true
}

impl ProjectSettings {
    /// Settings with everything enabled and no mappings: a starting point for tests and
    /// embedders.
    pub fn enabled(org_id: OrgId, project_id: ProjectId, integration: &str) -> Self {
        Self {
            org_id,
            project_id,
            integration: integration.to_owned(),
            org_enabled: true,
            integration_enabled: true,
            project_sync_enabled: true,
            sync_direction: SyncDirection::Bidirectional,
            field_sync: BTreeMap::new(),
            value_mappings: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
            start_syncing_from: None,
            integration_users: Vec::new(),
            comment_sync_enabled: true,
            conflict_policy: ConflictPolicy::Reject,
            freeze_closed_cases: false,
        }
    }

    /// The direction that applies to `field`.
    pub fn direction_for(&self, field: CaseField) -> SyncDirection {
        self.field_sync
            .get(&field)
            .copied()
            .unwrap_or(self.sync_direction)
    }

    /// The case value mapped from a third-party value id for `field`.
    pub fn map_value(&self, field: CaseField, third_party_id: &str) -> Option<&str> {
        self.value_mappings
            .get(&field)
            .and_then(|m| m.get(third_party_id))
            .map(String::as_str)
    }

    /// The case value a third-party value maps to for `field`: by its id, else by its text
    /// (Jira names a priority by id, a Server instance sometimes by name only).
    pub fn map_field_value(&self, field: CaseField, value: &FieldValue) -> Option<&str> {
        value
            .id
            .as_deref()
            .and_then(|id| self.map_value(field, id))
            .or_else(|| {
                value
                    .text
                    .as_ref()
                    .and_then(|t| self.map_value(field, t.expose()))
            })
    }

    /// The third-party value ids that map to `case_value` for `field` (reverse mapping, used
    /// to compare a change's `from` with the case's current value).
    pub fn third_party_ids_for<'a>(
        &'a self,
        field: CaseField,
        case_value: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.value_mappings
            .get(&field)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |(_, v)| v.as_str() == case_value)
            .map(|(k, _)| k.as_str())
    }

    /// Whether `identity` is one of the integration's own users (case-insensitive).
    pub fn is_integration_user(&self, identity: &str) -> bool {
        self.integration_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(identity))
    }
}

/// One configured third-party scope of an organisation, as listed for the prefilter caches:
/// which (account, project, item type) a project syncs, without fetching its settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntegrationMetadata {
    /// Organisation.
    pub org_id: OrgId,
    /// Integration name.
    pub integration: String,
    /// Connected account (Jira site id, ServiceNow instance name).
    pub account_id: String,
    /// Third-party project id (Jira); `None` matches any.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Third-party item type id (Jira issue type); `None` matches any.
    #[serde(default)]
    pub item_type_id: Option<String>,
    /// Case Management project fed by this scope.
    pub case_project_id: ProjectId,
    /// Custom field id → case field, as in the project's settings.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, CaseField>,
    /// Identities of the integration's own user in this account.
    #[serde(default)]
    pub integration_users: Vec<String>,
}

impl IntegrationMetadata {
    /// Whether this scope covers an event from `account`/`project`/`item_type`.
    pub fn matches(&self, account: &str, project: Option<&str>, item_type: Option<&str>) -> bool {
        fn covers(scope: Option<&str>, value: Option<&str>) -> bool {
            match (scope, value) {
                (None, _) => true,
                (Some(s), Some(v)) => s == v,
                (Some(_), None) => false,
            }
        }
        self.account_id == account
            && covers(self.project_id.as_deref(), project)
            && covers(self.item_type_id.as_deref(), item_type)
    }
}
