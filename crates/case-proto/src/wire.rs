//! Conversions between the generated protobuf messages ([`crate::case_management::v1`])
//! and the `thirdparty-core` types, in both directions (the client sends requests and reads
//! responses; `case-sandbox` does the reverse). gRPC statuses are in [`crate::status`].
//!
//! Core → protobuf never fails (`From`). Protobuf → core is `TryFrom` with a [`WireError`]
//! for messages that break the contract of the `.proto` files (a missing required
//! timestamp, a malformed date, an unknown enum value where one is required). Unknown
//! entries of maps (a case field name this build does not know) are skipped, so a newer
//! server stays readable.

use crate::case_management::v1;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use thirdparty_core::{
    Case, CaseField, CaseId, CaseUpdate, CaseVersion, ConflictPolicy, FieldStamp, FieldUpdate,
    IntegrationMetadata, NewTimelineCell, OrgId, ProjectId, ProjectSettings, SyncDirection, Text,
    ThirdPartyLink, ThirdPartyRef, TimelineCell, UserId, UserQuery,
};

/// A protobuf message that breaks the contract of `proto/case_management/v1/*.proto`.
/// Retrying the same message cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "malformed Case Management message: {what}; client and server must be built from the same proto/case_management/v1 files"
)]
pub struct WireError {
    /// What is wrong, naming the message and field.
    pub what: String,
}

impl WireError {
    fn new(what: impl Into<String>) -> Self {
        Self { what: what.into() }
    }

    /// Whether the same message may be accepted later: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

const DATE_FORMAT: &str = "%Y-%m-%d";

/// A chrono time as a protobuf timestamp.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

/// A protobuf timestamp as a chrono time.
pub fn datetime(t: &prost_types::Timestamp, what: &str) -> Result<DateTime<Utc>, WireError> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .ok_or_else(|| WireError::new(format!("{what} is not a valid timestamp")))
}

fn required_datetime(
    t: Option<&prost_types::Timestamp>,
    what: &str,
) -> Result<DateTime<Utc>, WireError> {
    let t = t.ok_or_else(|| WireError::new(format!("{what} is missing")))?;
    datetime(t, what)
}

fn date(s: &str, what: &str) -> Result<NaiveDate, WireError> {
    NaiveDate::parse_from_str(s, DATE_FORMAT)
        .map_err(|_| WireError::new(format!("{what} {s:?} is not a YYYY-MM-DD date")))
}

impl From<thirdparty_core::CaseField> for v1::CaseField {
    fn from(f: CaseField) -> Self {
        match f {
            CaseField::Title => Self::Title,
            CaseField::Description => Self::Description,
            CaseField::Priority => Self::Priority,
            CaseField::Status => Self::Status,
            CaseField::Assignee => Self::Assignee,
            CaseField::DueDate => Self::DueDate,
            CaseField::Comment => Self::Comment,
        }
    }
}

/// The core case field of a protobuf enum value; `None` for `UNSPECIFIED` and values this
/// build does not know.
pub fn case_field(value: i32) -> Option<CaseField> {
    Some(match v1::CaseField::try_from(value).ok()? {
        v1::CaseField::Unspecified => return None,
        v1::CaseField::Title => CaseField::Title,
        v1::CaseField::Description => CaseField::Description,
        v1::CaseField::Priority => CaseField::Priority,
        v1::CaseField::Status => CaseField::Status,
        v1::CaseField::Assignee => CaseField::Assignee,
        v1::CaseField::DueDate => CaseField::DueDate,
        v1::CaseField::Comment => CaseField::Comment,
    })
}

impl From<SyncDirection> for v1::SyncDirection {
    fn from(d: SyncDirection) -> Self {
        match d {
            SyncDirection::Bidirectional => Self::Bidirectional,
            SyncDirection::OneWayPull => Self::OneWayPull,
            SyncDirection::OneWayPush => Self::OneWayPush,
            SyncDirection::Disabled => Self::Disabled,
        }
    }
}

/// The core direction of a protobuf enum value: `Ok(None)` for `UNSPECIFIED`, an error for
/// a value this build does not know.
fn sync_direction(value: i32, what: &str) -> Result<Option<SyncDirection>, WireError> {
    match v1::SyncDirection::try_from(value) {
        Ok(v1::SyncDirection::Unspecified) => Ok(None),
        Ok(v1::SyncDirection::Bidirectional) => Ok(Some(SyncDirection::Bidirectional)),
        Ok(v1::SyncDirection::OneWayPull) => Ok(Some(SyncDirection::OneWayPull)),
        Ok(v1::SyncDirection::OneWayPush) => Ok(Some(SyncDirection::OneWayPush)),
        Ok(v1::SyncDirection::Disabled) => Ok(Some(SyncDirection::Disabled)),
        Err(_) => Err(WireError::new(format!(
            "{what} has unknown SyncDirection value {value}"
        ))),
    }
}

impl From<ConflictPolicy> for v1::ConflictPolicy {
    fn from(p: ConflictPolicy) -> Self {
        match p {
            ConflictPolicy::Reject => Self::Reject,
            ConflictPolicy::ThirdPartyWins => Self::ThirdPartyWins,
        }
    }
}

impl From<&ThirdPartyLink> for v1::ThirdPartyLink {
    fn from(l: &ThirdPartyLink) -> Self {
        Self {
            integration: l.integration.clone(),
            account_id: l.account_id.clone(),
            item_id: l.item_id.clone(),
            item_key: l.item_key.clone(),
        }
    }
}

impl From<v1::ThirdPartyLink> for ThirdPartyLink {
    fn from(l: v1::ThirdPartyLink) -> Self {
        Self {
            integration: l.integration,
            account_id: l.account_id,
            item_id: l.item_id,
            item_key: l.item_key,
        }
    }
}

impl From<&FieldStamp> for v1::FieldStamp {
    fn from(s: &FieldStamp) -> Self {
        Self {
            event_time: Some(timestamp(s.event_time)),
            sequence: s.sequence,
        }
    }
}

impl TryFrom<v1::FieldStamp> for FieldStamp {
    type Error = WireError;
    fn try_from(s: v1::FieldStamp) -> Result<Self, WireError> {
        Ok(Self {
            event_time: required_datetime(s.event_time.as_ref(), "FieldStamp.event_time")?,
            sequence: s.sequence,
        })
    }
}

impl From<&Case> for v1::Case {
    fn from(c: &Case) -> Self {
        Self {
            id: c.id.0.clone(),
            org_id: c.org_id.0,
            version: c.version.0,
            project_id: c.project_id.0.clone(),
            title: c.title.expose().to_owned(),
            description: c.description.expose().to_owned(),
            priority: c.priority.clone(),
            status: c.status.clone(),
            assignee_user_id: c.assignee.as_ref().map(|u| u.0.clone()),
            due_date: c.due_date.map(|d| d.format(DATE_FORMAT).to_string()),
            created_at: Some(timestamp(c.created_at)),
            third_party_links: c.third_party_links.iter().map(Into::into).collect(),
            field_stamps: c
                .field_stamps
                .iter()
                .map(|(f, s)| (f.as_str().to_owned(), s.into()))
                .collect(),
        }
    }
}

impl TryFrom<v1::Case> for Case {
    type Error = WireError;
    fn try_from(c: v1::Case) -> Result<Self, WireError> {
        let mut field_stamps = BTreeMap::new();
        for (name, stamp) in c.field_stamps {
            if let Some(field) = CaseField::from_name(&name) {
                field_stamps.insert(field, stamp.try_into()?);
            }
        }
        Ok(Self {
            created_at: required_datetime(c.created_at.as_ref(), "Case.created_at")?,
            due_date: c
                .due_date
                .as_deref()
                .map(|d| date(d, "Case.due_date"))
                .transpose()?,
            id: CaseId(c.id),
            org_id: OrgId(c.org_id),
            version: CaseVersion(c.version),
            project_id: ProjectId(c.project_id),
            title: Text::new(c.title),
            description: Text::new(c.description),
            priority: c.priority,
            status: c.status,
            assignee: c.assignee_user_id.map(UserId),
            third_party_links: c.third_party_links.into_iter().map(Into::into).collect(),
            field_stamps,
        })
    }
}

impl From<&FieldUpdate> for v1::FieldUpdate {
    fn from(u: &FieldUpdate) -> Self {
        let value = match u {
            FieldUpdate::Title(t) | FieldUpdate::Description(t) => Some(t.expose().to_owned()),
            FieldUpdate::Priority(p) => p.clone(),
            FieldUpdate::Status(s) => Some(s.clone()),
            FieldUpdate::Assignee(a) => a.as_ref().map(|a| a.0.clone()),
            FieldUpdate::DueDate(d) => d.map(|d| d.format(DATE_FORMAT).to_string()),
        };
        Self {
            field: v1::CaseField::from(u.field()) as i32,
            value,
        }
    }
}

impl TryFrom<v1::FieldUpdate> for FieldUpdate {
    type Error = WireError;
    fn try_from(u: v1::FieldUpdate) -> Result<Self, WireError> {
        let field = case_field(u.field);
        let required = |value: Option<String>| {
            value.ok_or_else(|| {
                WireError::new(format!(
                    "FieldUpdate.value is required for field {} (only priority, assignee and due_date can be cleared)",
                    field.map_or("?", |f| f.as_str())
                ))
            })
        };
        Ok(match field {
            Some(CaseField::Title) => Self::Title(Text::new(required(u.value)?)),
            Some(CaseField::Description) => Self::Description(Text::new(required(u.value)?)),
            Some(CaseField::Priority) => Self::Priority(u.value),
            Some(CaseField::Status) => Self::Status(required(u.value)?),
            Some(CaseField::Assignee) => Self::Assignee(u.value.map(UserId)),
            Some(CaseField::DueDate) => Self::DueDate(
                u.value
                    .as_deref()
                    .map(|d| date(d, "FieldUpdate.value"))
                    .transpose()?,
            ),
            Some(CaseField::Comment) | None => {
                return Err(WireError::new(format!(
                    "FieldUpdate.field {} cannot be updated (use title, description, priority, status, assignee or due_date)",
                    u.field
                )));
            }
        })
    }
}

impl From<&CaseUpdate> for v1::UpdateCaseRequest {
    fn from(u: &CaseUpdate) -> Self {
        Self {
            org_id: u.org_id.0,
            case_id: u.case_id.0.clone(),
            expected_version: u.expected_version.0,
            update: Some((&u.update).into()),
            stamp: Some((&u.stamp).into()),
            source: u.source.clone(),
        }
    }
}

impl TryFrom<v1::UpdateCaseRequest> for CaseUpdate {
    type Error = WireError;
    fn try_from(r: v1::UpdateCaseRequest) -> Result<Self, WireError> {
        Ok(Self {
            org_id: OrgId(r.org_id),
            case_id: CaseId(r.case_id),
            expected_version: CaseVersion(r.expected_version),
            update: r
                .update
                .ok_or_else(|| WireError::new("UpdateCaseRequest.update is missing"))?
                .try_into()?,
            stamp: r
                .stamp
                .ok_or_else(|| WireError::new("UpdateCaseRequest.stamp is missing"))?
                .try_into()?,
            source: r.source,
        })
    }
}

impl From<&NewTimelineCell> for v1::NewTimelineCell {
    fn from(c: &NewTimelineCell) -> Self {
        Self {
            org_id: c.org_id.0,
            case_id: c.case_id.0.clone(),
            idempotency_key: c.idempotency_key.clone(),
            author_id: c.author_id.clone(),
            author_name: c.author_name.clone(),
            body: c.body.expose().to_owned(),
            internal: c.internal,
            source: c.source.clone(),
            created_at: Some(timestamp(c.created_at)),
        }
    }
}

impl TryFrom<v1::NewTimelineCell> for NewTimelineCell {
    type Error = WireError;
    fn try_from(c: v1::NewTimelineCell) -> Result<Self, WireError> {
        Ok(Self {
            created_at: required_datetime(c.created_at.as_ref(), "NewTimelineCell.created_at")?,
            org_id: OrgId(c.org_id),
            case_id: CaseId(c.case_id),
            idempotency_key: c.idempotency_key,
            author_id: c.author_id,
            author_name: c.author_name,
            body: Text::new(c.body),
            internal: c.internal,
            source: c.source,
        })
    }
}

impl From<&TimelineCell> for v1::TimelineCell {
    fn from(c: &TimelineCell) -> Self {
        Self {
            id: c.id.clone(),
            cell: Some((&c.cell).into()),
        }
    }
}

impl TryFrom<v1::TimelineCell> for TimelineCell {
    type Error = WireError;
    fn try_from(c: v1::TimelineCell) -> Result<Self, WireError> {
        Ok(Self {
            id: c.id,
            cell: c
                .cell
                .ok_or_else(|| WireError::new("TimelineCell.cell is missing"))?
                .try_into()?,
        })
    }
}

fn custom_fields_to_pb(m: &BTreeMap<String, CaseField>) -> BTreeMap<String, i32> {
    m.iter()
        .map(|(k, f)| (k.clone(), v1::CaseField::from(*f) as i32))
        .collect()
}

fn custom_fields_from_pb(m: BTreeMap<String, i32>) -> BTreeMap<String, CaseField> {
    m.into_iter()
        .filter_map(|(k, f)| case_field(f).map(|f| (k, f)))
        .collect()
}

impl From<&ProjectSettings> for v1::ProjectSettings {
    fn from(s: &ProjectSettings) -> Self {
        Self {
            org_id: s.org_id.0,
            project_id: s.project_id.0.clone(),
            integration: s.integration.clone(),
            org_enabled: s.org_enabled,
            integration_enabled: s.integration_enabled,
            project_sync_enabled: s.project_sync_enabled,
            sync_direction: v1::SyncDirection::from(s.sync_direction) as i32,
            field_sync: s
                .field_sync
                .iter()
                .map(|(f, d)| (f.as_str().to_owned(), v1::SyncDirection::from(*d) as i32))
                .collect(),
            value_mappings: s
                .value_mappings
                .iter()
                .map(|(f, m)| {
                    (
                        f.as_str().to_owned(),
                        v1::ValueMapping { values: m.clone() },
                    )
                })
                .collect(),
            custom_fields: custom_fields_to_pb(&s.custom_fields),
            start_syncing_from: s.start_syncing_from.map(timestamp),
            integration_users: s.integration_users.clone(),
            comment_sync_enabled: s.comment_sync_enabled,
            conflict_policy: v1::ConflictPolicy::from(s.conflict_policy) as i32,
            freeze_closed_cases: s.freeze_closed_cases,
        }
    }
}

impl TryFrom<v1::ProjectSettings> for ProjectSettings {
    type Error = WireError;
    fn try_from(s: v1::ProjectSettings) -> Result<Self, WireError> {
        let mut field_sync = BTreeMap::new();
        for (name, d) in s.field_sync {
            let direction = sync_direction(d, "ProjectSettings.field_sync")?;
            if let (Some(field), Some(direction)) = (CaseField::from_name(&name), direction) {
                field_sync.insert(field, direction);
            }
        }
        let conflict_policy = match v1::ConflictPolicy::try_from(s.conflict_policy) {
            Ok(v1::ConflictPolicy::Unspecified | v1::ConflictPolicy::Reject) => {
                ConflictPolicy::Reject
            }
            Ok(v1::ConflictPolicy::ThirdPartyWins) => ConflictPolicy::ThirdPartyWins,
            Err(_) => {
                return Err(WireError::new(format!(
                    "ProjectSettings.conflict_policy has unknown value {}",
                    s.conflict_policy
                )));
            }
        };
        Ok(Self {
            org_id: OrgId(s.org_id),
            project_id: ProjectId(s.project_id),
            integration: s.integration,
            org_enabled: s.org_enabled,
            integration_enabled: s.integration_enabled,
            project_sync_enabled: s.project_sync_enabled,
            sync_direction: sync_direction(s.sync_direction, "ProjectSettings.sync_direction")?
                .unwrap_or_default(),
            field_sync,
            value_mappings: s
                .value_mappings
                .into_iter()
                .filter_map(|(name, m)| CaseField::from_name(&name).map(|f| (f, m.values)))
                .collect(),
            custom_fields: custom_fields_from_pb(s.custom_fields),
            start_syncing_from: s
                .start_syncing_from
                .map(|t| datetime(&t, "ProjectSettings.start_syncing_from"))
                .transpose()?,
            integration_users: s.integration_users,
            comment_sync_enabled: s.comment_sync_enabled,
            conflict_policy,
            freeze_closed_cases: s.freeze_closed_cases,
        })
    }
}

impl From<&IntegrationMetadata> for v1::IntegrationMetadata {
    fn from(m: &IntegrationMetadata) -> Self {
        Self {
            org_id: m.org_id.0,
            integration: m.integration.clone(),
            account_id: m.account_id.clone(),
            project_id: m.project_id.clone(),
            item_type_id: m.item_type_id.clone(),
            case_project_id: m.case_project_id.0.clone(),
            custom_fields: custom_fields_to_pb(&m.custom_fields),
            integration_users: m.integration_users.clone(),
        }
    }
}

impl From<v1::IntegrationMetadata> for IntegrationMetadata {
    fn from(m: v1::IntegrationMetadata) -> Self {
        Self {
            org_id: OrgId(m.org_id),
            integration: m.integration,
            account_id: m.account_id,
            project_id: m.project_id,
            item_type_id: m.item_type_id,
            case_project_id: ProjectId(m.case_project_id),
            custom_fields: custom_fields_from_pb(m.custom_fields),
            integration_users: m.integration_users,
        }
    }
}

/// The `FindCaseByThirdParty` request for a third-party reference.
pub fn find_request(
    org: OrgId,
    integration: &str,
    reference: &ThirdPartyRef,
) -> v1::FindCaseByThirdPartyRequest {
    v1::FindCaseByThirdPartyRequest {
        org_id: org.0,
        integration: integration.to_owned(),
        account_id: reference.account_id.clone(),
        item_id: reference.item_id.clone(),
        project_id: reference.project_id.clone(),
        item_type_id: reference.item_type_id.clone(),
        item_key: reference.item_key.clone(),
    }
}

/// The `ResolveUser` request for a user query.
pub fn resolve_request(org: OrgId, query: &UserQuery) -> v1::ResolveUserRequest {
    v1::ResolveUserRequest {
        org_id: org.0,
        integration: query.integration.clone(),
        account_id: query.account_id.clone(),
        display_name: query.display_name.clone(),
        email: query.email.clone(),
    }
}

/// The organisation and user query of a `ResolveUser` request.
pub fn user_query(r: v1::ResolveUserRequest) -> (OrgId, UserQuery) {
    (
        OrgId(r.org_id),
        UserQuery {
            integration: r.integration,
            account_id: r.account_id,
            display_name: r.display_name,
            email: r.email,
        },
    )
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
