//! [`Changelog`]: one normalized change decoded from a third-party webhook.

use crate::{CaseId, Integration, OrgId, Text};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// Where a change happened in the third-party tool: enough to find the linked case and to
/// scope configuration (project, issue type) before any remote call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ThirdPartyRef {
    /// The connected account: a Jira site id (`jiraAccountId`), a ServiceNow instance name.
    pub account_id: String,
    /// The third-party project (Jira project id), when the tool has one.
    pub project_id: Option<String>,
    /// The third-party item type (Jira issue type id), when the tool has one.
    pub item_type_id: Option<String>,
    /// The item's stable id (Jira issue id, ServiceNow `sys_id`).
    pub item_id: String,
    /// The item's human key (Jira `PROJ-12`, ServiceNow `INC0010001`), when known.
    pub item_key: Option<String>,
}

/// How the pipeline finds the case a change applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseLocator {
    /// The event names the case id itself (ServiceNow `correlationId`).
    CaseId(CaseId),
    /// The case linked to this third-party item.
    ThirdParty,
}

/// Who made the change in the third-party tool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Author {
    /// Stable account id (Jira accountId, legacy username, ServiceNow user_name).
    pub id: Option<String>,
    /// Display name, as the third party sent it.
    pub display_name: Option<String>,
}

/// One side (`from` or `to`) of a field change, as the third party sent it: an id (priority
/// id, status id, account id) and/or its human text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FieldValue {
    /// Machine id of the value, when the tool has one.
    pub id: Option<String>,
    /// Human-readable form of the value.
    pub text: Option<Text>,
}

impl FieldValue {
    /// A value with only an id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            text: None,
        }
    }

    /// A value with only text.
    pub fn text(text: impl Into<Text>) -> Self {
        Self {
            id: None,
            text: Some(text.into()),
        }
    }

    /// The id if present, else the text.
    pub fn id_or_text(&self) -> Option<&str> {
        self.id
            .as_deref()
            .or_else(|| self.text.as_ref().map(Text::expose))
    }
}

/// A field's `from` → `to`, either side absent when the field was empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Value before the change.
    pub from: Option<FieldValue>,
    /// Value after the change.
    pub to: Option<FieldValue>,
}

/// A comment added in the third-party tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// The third party's comment id (idempotency keys are built from it).
    pub id: String,
    /// The body, converted to Markdown by the integration where it needs converting.
    pub body: Text,
    /// Internal note (Jira `jsdPublic: false`, ServiceNow work note) rather than public.
    pub internal: bool,
}

/// What changed. Each variant keeps `from`/`to` as the third party sent them; mapping to case
/// values happens in the filterer and processor, which know the project's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Title (Jira `summary`).
    Title(FieldChange),
    /// Description.
    Description(FieldChange),
    /// Priority: ids are the third party's priority ids.
    Priority(FieldChange),
    /// Status: ids are the third party's status ids / state codes.
    Status(FieldChange),
    /// Assignee: ids are account ids or usernames, text is the display name.
    Assignee(FieldChange),
    /// Due date: `YYYY-MM-DD` or an ISO 8601 date-time, as sent.
    DueDate(FieldChange),
    /// A new comment.
    Comment(Comment),
    /// A field this crate has no case field for (yet): custom fields start here and may be
    /// routed to a case field by the prefilter.
    Unsupported {
        /// The third party's field id (`customfield_10015`, `labels`).
        field_id: String,
        /// The values as sent.
        change: FieldChange,
    },
}

/// The stable tag of a change, used in metrics, logs and fixtures.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangelogType {
    /// `update_title`
    UpdateTitle,
    /// `update_description`
    UpdateDescription,
    /// `update_priority`
    UpdatePriority,
    /// `update_status`
    UpdateStatus,
    /// `update_assignee`
    UpdateAssignee,
    /// `update_due_date`
    UpdateDueDate,
    /// `create_comment`
    CreateComment,
    /// `unsupported_{field_id}`
    Unsupported(String),
}

impl ChangelogType {
    /// The full tag, `unsupported_{field_id}` included.
    pub fn as_tag(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        match self {
            Self::Unsupported(field) => Cow::Owned(format!("unsupported_{field}")),
            other => Cow::Borrowed(other.bounded_tag()),
        }
    }

    /// A tag from a bounded set (every `unsupported_*` folds into `unsupported`): use this
    /// for metric tags, where cardinality must stay bounded whatever the third party sends.
    pub fn bounded_tag(&self) -> &'static str {
        match self {
            Self::UpdateTitle => "update_title",
            Self::UpdateDescription => "update_description",
            Self::UpdatePriority => "update_priority",
            Self::UpdateStatus => "update_status",
            Self::UpdateAssignee => "update_assignee",
            Self::UpdateDueDate => "update_due_date",
            Self::CreateComment => "create_comment",
            Self::Unsupported(_) => "unsupported",
        }
    }
}

impl fmt::Display for ChangelogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_tag())
    }
}

impl Serialize for ChangelogType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_tag())
    }
}

/// One normalized change: what changed, where, when and by whom. A webhook that changed
/// several fields decodes to several changelogs sharing `event_id`'s prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changelog {
    /// Case Management organisation.
    pub org_id: OrgId,
    /// The integration that produced it.
    pub integration: Integration,
    /// Stable id of this change, identical across redeliveries of the same webhook
    /// (e.g. `jira:<changelog id>:<field id>`); used for deduplication and logs.
    pub event_id: String,
    /// Where the change happened.
    pub third_party: ThirdPartyRef,
    /// How to find the case.
    pub case_locator: CaseLocator,
    /// When the change happened in the third-party tool.
    pub event_time: DateTime<Utc>,
    /// A per-item sequence number that increases with every update (ServiceNow
    /// `sys_mod_count`), when the tool has one: orders events better than timestamps.
    pub sequence: Option<u64>,
    /// Who made it.
    pub author: Author,
    /// What changed.
    pub change: Change,
}

impl Changelog {
    /// The stable tag of this change.
    ///
    /// ```
    /// use thirdparty_core::*;
    /// let c = Changelog {
    ///     org_id: OrgId(1),
    ///     integration: Integration::new("jira"),
    ///     event_id: "jira:1:summary".into(),
    ///     third_party: ThirdPartyRef {
    ///         account_id: "site".into(), project_id: None, item_type_id: None,
    ///         item_id: "10001".into(), item_key: Some("PROJ-1".into()),
    ///     },
    ///     case_locator: CaseLocator::ThirdParty,
    ///     event_time: chrono::Utc::now(),
    ///     sequence: None,
    ///     author: Author::default(),
    ///     change: Change::Unsupported { field_id: "labels".into(), change: FieldChange::default() },
    /// };
    /// assert_eq!(c.changelog_type().as_tag(), "unsupported_labels");
    /// assert_eq!(c.changelog_type().bounded_tag(), "unsupported");
    /// ```
    pub fn changelog_type(&self) -> ChangelogType {
        match &self.change {
            Change::Title(_) => ChangelogType::UpdateTitle,
            Change::Description(_) => ChangelogType::UpdateDescription,
            Change::Priority(_) => ChangelogType::UpdatePriority,
            Change::Status(_) => ChangelogType::UpdateStatus,
            Change::Assignee(_) => ChangelogType::UpdateAssignee,
            Change::DueDate(_) => ChangelogType::UpdateDueDate,
            Change::Comment(_) => ChangelogType::CreateComment,
            Change::Unsupported { field_id, .. } => ChangelogType::Unsupported(field_id.clone()),
        }
    }

    /// The case field this change targets, if it targets one.
    pub fn case_field(&self) -> Option<crate::CaseField> {
        use crate::CaseField;
        Some(match &self.change {
            Change::Title(_) => CaseField::Title,
            Change::Description(_) => CaseField::Description,
            Change::Priority(_) => CaseField::Priority,
            Change::Status(_) => CaseField::Status,
            Change::Assignee(_) => CaseField::Assignee,
            Change::DueDate(_) => CaseField::DueDate,
            Change::Comment(_) => CaseField::Comment,
            Change::Unsupported { .. } => return None,
        })
    }
}
