//! The Case Management side: [`Case`], its fields, and the writes the pipeline makes.

use crate::{
    Author, CaseId, CaseVersion, Changelog, Comment, Integration, OrgId, ProjectId, Text, UserId,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A case field a third-party change can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseField {
    /// Title.
    Title,
    /// Description (Markdown).
    Description,
    /// Priority (a case priority name such as `P1`).
    Priority,
    /// Status (a case status name such as `OPEN`).
    Status,
    /// Assignee (a user id).
    Assignee,
    /// Due date.
    DueDate,
    /// Timeline comments.
    Comment,
}

impl CaseField {
    /// The snake_case name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Description => "description",
            Self::Priority => "priority",
            Self::Status => "status",
            Self::Assignee => "assignee",
            Self::DueDate => "due_date",
            Self::Comment => "comment",
        }
    }

    /// Parses the snake_case name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "title" => Self::Title,
            "description" => Self::Description,
            "priority" => Self::Priority,
            "status" => Self::Status,
            "assignee" => Self::Assignee,
            "due_date" => Self::DueDate,
            "comment" => Self::Comment,
            _ => return None,
        })
    }
}

impl fmt::Display for CaseField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case's link to one third-party item.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ThirdPartyLink {
    /// Integration name (`jira`, `servicenow`).
    pub integration: String,
    /// Connected account (Jira site id, ServiceNow instance name).
    pub account_id: String,
    /// Item id (Jira issue id, ServiceNow sys_id).
    pub item_id: String,
    /// Item key (`PROJ-12`, `INC0010001`), when known.
    #[serde(default)]
    pub item_key: Option<String>,
}

/// When a case field was last written from a third-party event: lets the filter reject an
/// event older than what is already applied (`out_of_order_event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStamp {
    /// Third-party event time of the change that wrote the field.
    pub event_time: DateTime<Utc>,
    /// Third-party sequence number of that change, when the tool has one.
    #[serde(default)]
    pub sequence: Option<u64>,
}

impl FieldStamp {
    /// Whether an event at `event_time`/`sequence` is older than this stamp. Sequences win
    /// when both sides have one; otherwise times compare, and equal times are not older.
    pub fn is_newer_than(&self, event_time: DateTime<Utc>, sequence: Option<u64>) -> bool {
        match (self.sequence, sequence) {
            (Some(applied), Some(incoming)) => applied > incoming,
            _ => self.event_time > event_time,
        }
    }
}

/// A case as the Case Management API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Case id.
    pub id: CaseId,
    /// Organisation.
    pub org_id: OrgId,
    /// Optimistic-locking version.
    pub version: CaseVersion,
    /// Project the case belongs to.
    pub project_id: ProjectId,
    /// Title.
    pub title: Text,
    /// Description (Markdown).
    #[serde(default)]
    pub description: Text,
    /// Priority name (`P1`…), if set.
    #[serde(default)]
    pub priority: Option<String>,
    /// Status name (`OPEN`, `IN_PROGRESS`, `CLOSED`…).
    pub status: String,
    /// Assignee, if any.
    #[serde(default)]
    pub assignee: Option<UserId>,
    /// Due date, if any.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Third-party items linked to the case.
    #[serde(default)]
    pub third_party_links: Vec<ThirdPartyLink>,
    /// Last third-party write per field.
    #[serde(default)]
    pub field_stamps: BTreeMap<CaseField, FieldStamp>,
}

/// The status of a closed case.
pub const CLOSED_STATUS: &str = "CLOSED";

impl Case {
    /// Whether the case is closed (its status is [`CLOSED_STATUS`]).
    pub fn is_closed(&self) -> bool {
        self.status == CLOSED_STATUS
    }

    /// The link to an item of this integration, if the case has one.
    pub fn link_for(&self, integration: Integration) -> Option<&ThirdPartyLink> {
        self.third_party_links
            .iter()
            .find(|l| l.integration == integration.as_str())
    }
}

/// The new value of one case field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum FieldUpdate {
    /// New title.
    Title(Text),
    /// New description (Markdown).
    Description(Text),
    /// New priority name, or cleared.
    Priority(Option<String>),
    /// New status name.
    Status(String),
    /// New assignee, or unassigned.
    Assignee(Option<UserId>),
    /// New due date, or cleared.
    DueDate(Option<NaiveDate>),
}

impl FieldUpdate {
    /// The field this update writes.
    pub fn field(&self) -> CaseField {
        match self {
            Self::Title(_) => CaseField::Title,
            Self::Description(_) => CaseField::Description,
            Self::Priority(_) => CaseField::Priority,
            Self::Status(_) => CaseField::Status,
            Self::Assignee(_) => CaseField::Assignee,
            Self::DueDate(_) => CaseField::DueDate,
        }
    }

    /// Whether the case already holds this value.
    pub fn is_applied_on(&self, case: &Case) -> bool {
        match self {
            Self::Title(t) => &case.title == t,
            Self::Description(d) => &case.description == d,
            Self::Priority(p) => &case.priority == p,
            Self::Status(s) => &case.status == s,
            Self::Assignee(a) => &case.assignee == a,
            Self::DueDate(d) => &case.due_date == d,
        }
    }
}

/// An update of one case field under optimistic locking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseUpdate {
    /// Organisation.
    pub org_id: OrgId,
    /// Case to update.
    pub case_id: CaseId,
    /// The version the update was computed from; the API refuses it when the case moved on.
    pub expected_version: CaseVersion,
    /// What to write.
    pub update: FieldUpdate,
    /// Stamp recorded for the field (event time and sequence of the third-party change).
    pub stamp: FieldStamp,
    /// Integration that made the change (recorded as the change's source).
    pub source: String,
}

impl CaseUpdate {
    /// The write a changelog makes to `case`: expected version = the case's version as read,
    /// stamp = the changelog's event time and sequence, source = its integration.
    pub fn from_changelog(case: &Case, changelog: &Changelog, update: FieldUpdate) -> Self {
        Self {
            org_id: case.org_id,
            case_id: case.id.clone(),
            expected_version: case.version,
            update,
            stamp: FieldStamp {
                event_time: changelog.event_time,
                sequence: changelog.sequence,
            },
            source: changelog.integration.as_str().to_owned(),
        }
    }
}

/// A timeline cell (comment) to create, idempotently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTimelineCell {
    /// Organisation.
    pub org_id: OrgId,
    /// Case the cell belongs to.
    pub case_id: CaseId,
    /// Creating twice with the same key yields one cell (e.g. `jira:<comment id>`).
    pub idempotency_key: String,
    /// Third-party author, kept on the cell.
    pub author_id: Option<String>,
    /// Third-party author display name.
    pub author_name: Option<String>,
    /// Markdown body.
    pub body: Text,
    /// Internal note rather than public comment.
    pub internal: bool,
    /// Integration that made the comment.
    pub source: String,
    /// When the comment was made in the third-party tool.
    pub created_at: DateTime<Utc>,
}

impl NewTimelineCell {
    /// The cell of a comment changelog on `case`, with the changelog's author and time.
    pub fn from_comment(
        case: &Case,
        changelog: &Changelog,
        comment: &Comment,
        idempotency_key: String,
    ) -> Self {
        let mut cell = Self {
            org_id: case.org_id,
            case_id: case.id.clone(),
            idempotency_key,
            author_id: None,
            author_name: None,
            body: comment.body.clone(),
            internal: comment.internal,
            source: changelog.integration.as_str().to_owned(),
            created_at: changelog.event_time,
        };
        cell.author(&changelog.author);
        cell
    }

    /// Sets the cell's author from a changelog author.
    pub fn author(&mut self, author: &Author) {
        self.author_id.clone_from(&author.id);
        self.author_name.clone_from(&author.display_name);
    }
}

/// A stored timeline cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineCell {
    /// Cell id.
    pub id: String,
    /// The cell as created.
    #[serde(flatten)]
    pub cell: NewTimelineCell,
}

/// The result of creating a timeline cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineCellCreated {
    /// The cell (new, or the existing one for this idempotency key).
    pub cell: TimelineCell,
    /// `false` when a cell with the same idempotency key already existed.
    pub created: bool,
}

/// How to find a Case Management user from third-party identity data. Any present field
/// may match; the API tries account id, then email, then display name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    /// Integration the identity comes from.
    pub integration: String,
    /// Third-party account id or username.
    pub account_id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Email.
    pub email: Option<String>,
}
