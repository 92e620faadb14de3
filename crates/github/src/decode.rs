//! [`GitHubDecoder`]: the enveloped GitHub webhook → [`Changelog`]s.

use crate::INTEGRATION;
use chrono::{DateTime, Utc};
use serde_json::Value;
use thirdparty_core::{
    Author, CaseLocator, Change, Changelog, ChangelogType, Comment, DecodeError,
    DecodeErrorKind as Kind, Decoded, Decoder, FieldChange, FieldValue, FilteredReason,
    Integration, OrgId, Payload, SkippedEvent, Text, ThirdPartyRef,
};

mod read;

use read::Obj;
pub(crate) use read::{CONTRACT, fail};
pub use read::{DECODE_ERROR_KINDS, NOT_GITHUB};

/// The `Unsupported` field id a milestone change carries until the prefilter routes it
/// through the metadata's `custom_fields` (`{"milestone": "due_date"}`).
pub const MILESTONE_FIELD: &str = "milestone";

/// The `issues` actions this crate syncs; every other action is `unsupported_event_type`.
/// Each with the changelog type it gives (`milestone` is routed to a case field by the
/// prefilter).
pub const SYNCED_ISSUE_ACTIONS: &[(&str, &str)] = &[
    ("edited", "update_title, update_description"),
    ("closed", "update_status"),
    ("reopened", "update_status"),
    ("assigned", "update_assignee"),
    ("unassigned", "update_assignee"),
    ("labeled", "update_priority"),
    ("unlabeled", "update_priority"),
    ("milestoned", "unsupported_milestone"),
    ("demilestoned", "unsupported_milestone"),
];

/// Decodes the GitHub Kafka contract:
///
/// ```json
/// {"orgId": 1, "installationId": 5501, "receivedAt": "2026-03-02T10:00:01.250Z",
///  "deliveryId": "<X-GitHub-Delivery>", "event": "<X-GitHub-Event>",
///  "webhook": { /* the body exactly as GitHub sent it */ }}
/// ```
///
/// `issues` events (`edited`, `closed`, `reopened`, `assigned`, `unassigned`, `labeled`,
/// `unlabeled`, `milestoned`, `demilestoned`) become field changelogs and
/// `issue_comment.created` a comment; anything else is skipped as `unsupported_event_type`.
/// The rules per event are in the crate README.
///
/// ```
/// use github::GitHubDecoder;
/// use thirdparty_core::{Decoded, Decoder, Payload};
///
/// let value = br#"{"orgId": 1, "installationId": 5501, "receivedAt": "2026-03-02T10:00:01Z",
///   "deliveryId": "d-1", "event": "issues",
///   "webhook": {"action": "closed", "sender": {"login": "octocat", "type": "User"},
///     "repository": {"id": 42, "full_name": "acme/app"},
///     "issue": {"node_id": "I_1", "number": 7, "state": "closed", "state_reason": "not_planned",
///               "updated_at": "2026-03-02T10:00:00Z"}}}"#;
/// let decoded = GitHubDecoder::new().decode(&Payload::from_value(&value[..])).unwrap();
/// let Decoded::Changelog(changelog) = &decoded[0] else { unreachable!() };
/// assert_eq!(changelog.event_id, "github:d-1:status");
/// assert_eq!(changelog.third_party.item_key.as_deref(), Some("acme/app#7"));
///
/// let raw_body = br#"{"action": "closed", "sender": {"login": "octocat"}}"#;
/// let err = GitHubDecoder::new().decode(&Payload::from_value(&raw_body[..])).unwrap_err();
/// assert_eq!(err.kind(), "not_github");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GitHubDecoder {
    _stateless: (),
}

impl Decoder for GitHubDecoder {
    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
        decode_bytes(&payload.value)
    }

    fn integration(&self) -> Integration {
        INTEGRATION
    }
}

impl GitHubDecoder {
    /// A decoder (it has no state).
    pub const fn new() -> Self {
        Self { _stateless: () }
    }
}

/// Decodes a record value: JSON first, then the envelope.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => decode_value(&value),
        Err(e) => Err(fail("$", Kind::NOT_JSON, format!("{e}; {CONTRACT}"))),
    }
}

fn decode_value(value: &Value) -> Result<Vec<Decoded>, DecodeError> {
    let root = Obj::root(value)?;
    if !root.has("webhook") && (root.has("sender") || root.has("action") || root.has("hook")) {
        return Err(fail(
            "$",
            NOT_GITHUB,
            format!(
                "this is a GitHub webhook body without the envelope (the producer must wrap it; `github::envelope` does); {CONTRACT}"
            ),
        ));
    }
    let org = OrgId(root.req("orgId")?.id()?);
    let installation = root.req("installationId")?.id()?;
    let received_at = root.req("receivedAt")?.time()?;
    let delivery = root.req("deliveryId")?.text()?.to_owned();
    let event = root.req("event")?.text()?;
    let webhook = root.req("webhook")?.obj()?;
    let skip = |reason| Ok(vec![skipped(org, None, received_at, reason)]);
    let action = match webhook.get("action") {
        Some(a) => a.str()?,
        None => "",
    };
    let comment = match (event, action) {
        ("issues", a) if SYNCED_ISSUE_ACTIONS.iter().any(|(synced, _)| *synced == a) => false,
        ("issue_comment", "created") => true,
        // Comment edits and deletions, other issue actions and every other event: not synced.
        _ => return skip(FilteredReason::UnsupportedEventType),
    };
    let head = Head::read(org, installation, delivery, &webhook)?;
    if comment {
        return Ok(vec![head.comment(&webhook.req("comment")?.obj()?)?]);
    }
    let change = match action {
        "edited" => return head.edits(&webhook),
        "closed" | "reopened" => {
            let issue = webhook.req("issue")?.obj()?;
            let state = issue.req("state")?.text()?;
            let reason = match issue.get("state_reason") {
                Some(r) => Some(r.str()?.trim()).filter(|r| !r.is_empty()),
                None => None,
            };
            Change::Status(FieldChange {
                from: None,
                to: Some(FieldValue {
                    id: Some(reason.unwrap_or(state).to_owned()),
                    text: Some(Text::from(state)),
                }),
            })
        }
        "assigned" | "unassigned" => head.assignee(&webhook, action == "unassigned")?,
        "labeled" | "unlabeled" => {
            let label = webhook.req("label")?.obj()?.req("name")?.text()?;
            let value = Some(FieldValue::id(label));
            Change::Priority(if action == "labeled" {
                FieldChange {
                    from: None,
                    to: value,
                }
            } else {
                FieldChange {
                    from: value,
                    to: None,
                }
            })
        }
        // milestoned / demilestoned: the milestone's due date, or none.
        _ => {
            let due = if action == "milestoned" {
                match webhook.req("milestone")?.obj()?.get("due_on") {
                    Some(due) => Some(FieldValue::id(
                        due.time()?.date_naive().format("%Y-%m-%d").to_string(),
                    )),
                    None => None,
                }
            } else {
                None
            };
            Change::Unsupported {
                field_id: MILESTONE_FIELD.to_owned(),
                change: FieldChange {
                    from: None,
                    to: due,
                },
            }
        }
    };
    Ok(vec![Decoded::Changelog(head.changelog(change))])
}

/// A skipped event of `org` at `time`.
fn skipped(
    org: OrgId,
    kind: Option<ChangelogType>,
    time: DateTime<Utc>,
    reason: FilteredReason,
) -> Decoded {
    Decoded::Skipped(SkippedEvent {
        org_id: Some(org),
        changelog_type: kind,
        event_time: Some(time),
        reason,
    })
}

/// What every changelog of one webhook shares.
struct Head {
    org: OrgId,
    delivery: String,
    third_party: ThirdPartyRef,
    event_time: DateTime<Utc>,
    author: Author,
}

/// GitHub line ends as the case stores them.
fn normalise(body: &str) -> String {
    body.replace("\r\n", "\n")
}

impl Head {
    fn read(
        org: OrgId,
        installation: u64,
        delivery: String,
        webhook: &Obj<'_>,
    ) -> Result<Self, DecodeError> {
        let issue = webhook.req("issue")?.obj()?;
        let repository = webhook.req("repository")?.obj()?;
        let sender = webhook.req("sender")?.obj()?;
        let number = issue.req("number")?.id()?;
        let repo_name = match repository.get("full_name") {
            Some(n) => n.str()?.trim(),
            None => "",
        };
        let login = sender.req("login")?.text()?;
        let is_bot = match sender.get("type") {
            Some(t) => t.str()? == "Bot",
            None => false,
        };
        // GitHub App bots log in as `<app>[bot]`; user logins cannot contain `[`, so the
        // suffix marks a Bot sender for the filters (see the README).
        let id = if is_bot && !login.ends_with("[bot]") {
            format!("{login}[bot]")
        } else {
            login.to_owned()
        };
        Ok(Self {
            org,
            delivery,
            third_party: ThirdPartyRef {
                account_id: installation.to_string(),
                project_id: Some(repository.req("id")?.id()?.to_string()),
                item_type_id: None,
                item_id: issue.req("node_id")?.text()?.to_owned(),
                item_key: Some(format!("{repo_name}#{number}")),
            },
            event_time: issue.req("updated_at")?.time()?,
            author: Author {
                id: Some(id),
                display_name: None,
            },
        })
    }

    fn changelog(&self, change: Change) -> Changelog {
        let field = match &change {
            Change::Title(_) => "title",
            Change::Description(_) => "body",
            Change::Status(_) => "status",
            Change::Assignee(_) => "assignee",
            Change::Priority(_) => "label",
            _ => MILESTONE_FIELD,
        };
        Changelog {
            org_id: self.org,
            integration: INTEGRATION,
            event_id: format!("github:{}:{field}", self.delivery),
            third_party: self.third_party.clone(),
            case_locator: CaseLocator::ThirdParty,
            event_time: self.event_time,
            sequence: None,
            author: self.author.clone(),
            change,
        }
    }

    /// `issues.edited`: one changelog per `changes.title` / `changes.body`, in that order.
    fn edits(&self, webhook: &Obj<'_>) -> Result<Vec<Decoded>, DecodeError> {
        let issue = webhook.req("issue")?.obj()?;
        let changes = match webhook.get("changes") {
            Some(c) => Some(c.obj()?),
            None => None,
        };
        let mut out = Vec::new();
        for (key, title) in [("title", true), ("body", false)] {
            let Some(edit) = changes.as_ref().and_then(|c| c.get(key)) else {
                continue;
            };
            let from = match edit.obj()?.get("from") {
                Some(f) => Some(normalise(f.str()?)),
                None => None,
            };
            let to = if title {
                normalise(issue.req(key)?.str()?)
            } else {
                match issue.get(key) {
                    Some(t) => normalise(t.str()?),
                    None => String::new(),
                }
            };
            let change = FieldChange {
                from: from.map(FieldValue::text),
                to: Some(FieldValue::text(to)),
            };
            out.push(Decoded::Changelog(self.changelog(if title {
                Change::Title(change)
            } else {
                Change::Description(change)
            })));
        }
        if out.is_empty() {
            out.push(skipped(
                self.org,
                None,
                self.event_time,
                FilteredReason::EmptyChangelog,
            ));
        }
        Ok(out)
    }

    /// `assigned` / `unassigned`: the case follows the issue's first assignee after the
    /// event (`issue.assignees[0]`, without the login just removed), or the added `assignee`
    /// when the list is empty; nobody left → unassigned.
    fn assignee(&self, webhook: &Obj<'_>, removed: bool) -> Result<Change, DecodeError> {
        let changed = match webhook.get("assignee") {
            Some(a) => Some(a.obj()?.req("login")?.text()?),
            None => None,
        };
        let issue = webhook.req("issue")?.obj()?;
        let mut first = None;
        if let Some(list) = issue.get("assignees") {
            for item in list.items()? {
                let login = item.obj()?.req("login")?.text()?;
                if !(removed && Some(login) == changed) {
                    first = Some(login);
                    break;
                }
            }
        }
        let to = match (first, removed) {
            (Some(login), _) => Some(login),
            (None, false) => changed,
            (None, true) => None,
        };
        Ok(Change::Assignee(FieldChange {
            from: None,
            to: to.map(FieldValue::id),
        }))
    }

    /// `issue_comment.created`: a public comment keyed by the comment id.
    fn comment(&self, comment: &Obj<'_>) -> Result<Decoded, DecodeError> {
        let id = comment.req("id")?.id()?;
        let body = match comment.get("body") {
            Some(b) => normalise(b.str()?),
            None => String::new(),
        };
        let created = match comment.get("created_at") {
            Some(t) => t.time()?,
            None => self.event_time,
        };
        if body.trim().is_empty() {
            return Ok(skipped(
                self.org,
                Some(ChangelogType::CreateComment),
                created,
                FilteredReason::EmptyComment,
            ));
        }
        let mut changelog = self.changelog(Change::Comment(Comment {
            id: id.to_string(),
            body: Text::new(body),
            internal: false,
        }));
        changelog.event_id = comment_key(id);
        changelog.event_time = created;
        Ok(Decoded::Changelog(changelog))
    }
}

/// The event id and timeline idempotency key of a comment: `github:comment:<comment id>`
/// (one cell whatever the redeliveries).
pub(crate) fn comment_key(id: impl std::fmt::Display) -> String {
    format!("github:comment:{id}")
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
