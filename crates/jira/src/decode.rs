//! [`JiraDecoder`]: an enveloped Jira webhook → [`Changelog`]s.

use crate::INTEGRATION;
use crate::markup::wiki_to_markdown;
use crate::wire::{CommentBody, Envelope, Issue, Item, JStr, Scalar, User, Webhook};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::HashMap;
use thirdparty_core::{
    Author, CaseLocator, Change, Changelog, ChangelogType, Comment, DecodeError,
    DecodeErrorKind as Kind, Decoded, Decoder, FieldChange, FieldValue, FilteredReason,
    Integration, OrgId, Payload, SkippedEvent, Text, ThirdPartyRef,
};

mod envelope;
mod errors;

pub use envelope::{envelope, record_key};
pub(crate) use errors::error;
use errors::serde_error;
pub use errors::{DECODE_ERROR_KINDS, NOT_JIRA};

/// Decodes the Jira Kafka contract (see the crate docs): one [`Changelog`] per changed field
/// of a `jira:issue_updated`, one `create_comment` per new comment, a
/// [`Decoded::Skipped`] for events that carry nothing to sync, and a [`DecodeError`] with a
/// JSON path and a `kind:` prefix for malformed input.
///
/// Descriptions and comment bodies are converted from wiki markup to Markdown here (see
/// [`crate::wiki_to_markdown`]), so filters compare and the processor writes Markdown.
#[derive(Debug, Default, Clone, Copy)]
pub struct JiraDecoder;

impl JiraDecoder {
    /// A decoder.
    pub fn new() -> Self {
        Self
    }

    /// Decodes an enveloped payload value (the Kafka record value).
    pub fn decode_value(&self, value: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
        // serde would read a JSON array positionally into the envelope struct.
        if value.trim_ascii_start().first() == Some(&b'[') {
            return Err(error(
                "$",
                Kind::WRONG_TYPE,
                "the record value is a JSON array; expected the envelope object {orgId, jiraAccountId, receivedAt, webhook}",
            ));
        }
        // Fast path without path tracking; a failure is decoded again with
        // `serde_path_to_error` only to name where it failed (same input, same error).
        let mut de = serde_json::Deserializer::from_slice(value);
        let envelope: Envelope<'_> = match serde::Deserialize::deserialize(&mut de) {
            Ok(envelope) => envelope,
            Err(_) => {
                let mut de = serde_json::Deserializer::from_slice(value);
                let failed: Result<Envelope<'_>, _> = serde_path_to_error::deserialize(&mut de);
                return Err(match failed {
                    Err(e) => serde_error(&e),
                    // Unreachable for a deterministic deserializer; say so rather than panic.
                    Ok(_) => error(
                        "$",
                        Kind::NOT_JSON,
                        "the envelope failed to decode once and decoded the second time; report this input",
                    ),
                });
            }
        };
        de.end().map_err(|e| {
            error(
                "$",
                Kind::NOT_JSON,
                format!(
                    "trailing data after the envelope object ({e}); send one JSON object per record"
                ),
            )
        })?;
        decode_envelope(envelope)
    }
}

impl Decoder for JiraDecoder {
    fn integration(&self) -> Integration {
        INTEGRATION
    }

    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
        self.decode_value(&payload.value)
    }
}

/// Parses Jira's date-times: `2019-01-07T16:55:51.184-0330`, `…+0000`, or RFC 3339.
pub(crate) fn parse_jira_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn non_empty<'s>(s: Option<&'s JStr<'_>>) -> Option<&'s str> {
    s.map(JStr::as_str).filter(|s| !s.trim().is_empty())
}

fn non_empty_scalar<'s>(s: Option<&'s Scalar<'_>>) -> Option<&'s str> {
    s.map(Scalar::as_str).filter(|s| !s.trim().is_empty())
}

/// The pieces every changelog of one webhook shares.
struct Context<'e> {
    org_id: OrgId,
    account: &'e str,
    received_at: DateTime<Utc>,
    timestamp: Option<DateTime<Utc>>,
}

impl Context<'_> {
    fn skipped(&self, reason: FilteredReason, changelog_type: Option<ChangelogType>) -> Decoded {
        Decoded::Skipped(SkippedEvent {
            org_id: Some(self.org_id),
            changelog_type,
            event_time: Some(self.timestamp.unwrap_or(self.received_at)),
            reason,
        })
    }
}

fn decode_envelope(env: Envelope<'_>) -> Result<Vec<Decoded>, DecodeError> {
    let account = env.jira_account_id.as_str().trim();
    if account.is_empty() {
        return Err(error(
            "jiraAccountId",
            Kind::INVALID_VALUE,
            "the Jira account (site) id is blank; the producer must name the connected site",
        ));
    }
    let received_at = DateTime::parse_from_rfc3339(env.received_at.as_str())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            error(
                "receivedAt",
                Kind::INVALID_VALUE,
                "receivedAt is not an RFC 3339 date-time (e.g. 2026-03-01T10:00:00Z)",
            )
        })?;
    let wh = env.webhook;
    let timestamp = match wh.timestamp {
        None => None,
        Some(ms) => Some(DateTime::<Utc>::from_timestamp_millis(ms.0).ok_or_else(|| {
            error(
                "webhook.timestamp",
                Kind::INVALID_VALUE,
                "timestamp is not a representable epoch-milliseconds time",
            )
        })?),
    };
    let ctx = Context {
        org_id: OrgId(env.org_id),
        account,
        received_at,
        timestamp,
    };
    let Some(event) = wh.webhook_event.as_ref() else {
        return Err(error(
            "webhook.webhookEvent",
            NOT_JIRA,
            "the webhook body has no webhookEvent, so it is not a Jira webhook; check what the producer wraps",
        ));
    };
    match event.as_str() {
        "jira:issue_updated" => issue_updated(&ctx, &wh),
        "comment_created" => {
            let Some(comment) = wh.comment.as_ref() else {
                return Err(error(
                    "webhook.comment",
                    Kind::MISSING_FIELD,
                    "a comment_created webhook must carry the comment",
                ));
            };
            Ok(vec![comment_changelog(&ctx, &wh, comment)?])
        }
        _ => Ok(vec![
            ctx.skipped(FilteredReason::UnsupportedEventType, None),
        ]),
    }
}

/// Events of `jira:issue_updated` whose `comment` is not a new comment.
const NOT_NEW_COMMENT: [&str; 2] = ["issue_comment_edited", "issue_comment_deleted"];

fn issue_updated(ctx: &Context<'_>, wh: &Webhook<'_>) -> Result<Vec<Decoded>, DecodeError> {
    let Some(issue) = wh.issue.as_ref() else {
        return Err(error(
            "webhook.issue",
            Kind::MISSING_FIELD,
            "a jira:issue_updated webhook must carry the issue",
        ));
    };
    let third_party = third_party_ref(ctx.account, Some(issue), None)?;
    let fields = issue.fields.as_ref();
    let event_time = ctx
        .timestamp
        .or_else(|| {
            fields
                .and_then(|f| f.updated.as_ref())
                .and_then(|u| parse_jira_datetime(u.as_str()))
        })
        .unwrap_or(ctx.received_at);
    let author = author_of(wh.user.as_ref());
    let changelog_id = wh
        .changelog
        .as_ref()
        .and_then(|c| non_empty_scalar(c.id.as_ref()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}@{}", third_party.item_id, event_time.timestamp_millis()));
    let items: &[Item<'_>] = wh
        .changelog
        .as_ref()
        .and_then(|c| c.items.as_deref())
        .unwrap_or(&[]);

    let mut out = Vec::with_capacity(items.len() + 1);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let (field_id, change) = item_change(item, index)?;
        let n = seen.entry(field_id.clone()).or_insert(0);
        *n += 1;
        let event_id = if *n == 1 {
            format!("jira:{changelog_id}:{field_id}")
        } else {
            format!("jira:{changelog_id}:{field_id}#{n}")
        };
        out.push(Decoded::Changelog(Changelog {
            org_id: ctx.org_id,
            integration: INTEGRATION,
            event_id,
            third_party: third_party.clone(),
            case_locator: CaseLocator::ThirdParty,
            event_time,
            sequence: None,
            author: author.clone(),
            change,
        }));
    }
    let event_type = wh.issue_event_type_name.as_ref().map(JStr::as_str);
    if let Some(comment) = wh.comment.as_ref()
        && !event_type.is_some_and(|t| NOT_NEW_COMMENT.contains(&t))
    {
        out.push(comment_changelog(ctx, wh, comment)?);
    }
    if out.is_empty() {
        out.push(ctx.skipped(FilteredReason::EmptyChangelog, None));
    }
    Ok(out)
}

/// The field key of a changelog item: `fieldId`, else (Jira Server) the lower-cased `field`
/// of a system field, or `custom:<lower-cased name>` of a custom field.
fn field_key(item: &Item<'_>, index: usize) -> Result<String, DecodeError> {
    if let Some(id) = non_empty(item.field_id.as_ref()) {
        return Ok(id.trim().to_owned());
    }
    let Some(name) = non_empty(item.field.as_ref()) else {
        return Err(error(
            &format!("webhook.changelog.items[{index}].fieldId"),
            Kind::MISSING_FIELD,
            "a changelog item names no field (neither fieldId nor field)",
        ));
    };
    let lower = name.trim().to_lowercase();
    if item
        .fieldtype
        .as_ref()
        .is_some_and(|t| t.as_str() == "custom")
    {
        return Ok(format!("custom:{lower}"));
    }
    Ok(match lower.as_str() {
        "due date" => "duedate".to_owned(),
        _ => lower,
    })
}

fn value(id: Option<&str>, text: Option<&str>) -> Option<FieldValue> {
    let id = id.filter(|s| !s.trim().is_empty());
    let text = text.filter(|s| !s.is_empty());
    (id.is_some() || text.is_some()).then(|| FieldValue {
        id: id.map(str::to_owned),
        text: text.map(Text::from),
    })
}

fn item_change(item: &Item<'_>, index: usize) -> Result<(String, Change), DecodeError> {
    let field_id = field_key(item, index)?;
    let from_id = item.from.as_ref().map(Scalar::as_str);
    let to_id = item.to.as_ref().map(Scalar::as_str);
    let from_text = item.from_string.as_ref().map(JStr::as_str);
    let to_text = item.to_string.as_ref().map(JStr::as_str);
    let plain = || FieldChange {
        from: value(from_id, from_text),
        to: value(to_id, to_text),
    };
    let change = match field_id.as_str() {
        "summary" => Change::Title(plain()),
        "description" => Change::Description(FieldChange {
            from: value(None, from_text.map(wiki_to_markdown).as_deref()),
            to: value(None, to_text.map(wiki_to_markdown).as_deref()),
        }),
        "priority" => Change::Priority(plain()),
        "status" => Change::Status(plain()),
        "assignee" => Change::Assignee(FieldChange {
            from: value(
                non_empty_scalar(item.tmp_from_account_id.as_ref()).or(from_id),
                from_text,
            ),
            to: value(
                non_empty_scalar(item.tmp_to_account_id.as_ref()).or(to_id),
                to_text,
            ),
        }),
        "duedate" => Change::DueDate(plain()),
        _ => Change::Unsupported {
            field_id: field_id.clone(),
            change: plain(),
        },
    };
    Ok((field_id, change))
}

fn author_of(user: Option<&User<'_>>) -> Author {
    let Some(user) = user else {
        return Author::default();
    };
    Author {
        id: non_empty(user.account_id.as_ref())
            .or_else(|| non_empty(user.name.as_ref()))
            .or_else(|| non_empty(user.key.as_ref()))
            .map(str::to_owned),
        display_name: non_empty(user.display_name.as_ref()).map(str::to_owned),
    }
}

/// The issue id from a comment's `self` URL (`…/rest/api/2/issue/10040/comment/10019`).
fn issue_id_from_comment_url(url: &str) -> Option<&str> {
    let segments: Vec<&str> = url.split('/').collect();
    segments.windows(3).find_map(|w| match w {
        ["issue", id, "comment"] if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) => {
            Some(*id)
        }
        _ => None,
    })
}

fn third_party_ref(
    account: &str,
    issue: Option<&Issue<'_>>,
    comment: Option<&CommentBody<'_>>,
) -> Result<ThirdPartyRef, DecodeError> {
    let item_id = issue
        .and_then(|i| non_empty_scalar(i.id.as_ref()))
        .or_else(|| {
            comment
                .and_then(|c| c.self_url.as_ref())
                .and_then(|u| issue_id_from_comment_url(u.as_str()))
        })
        .ok_or_else(|| {
            error(
                "webhook.issue.id",
                Kind::MISSING_FIELD,
                "no issue id: neither issue.id nor an issue id in comment.self",
            )
        })?;
    let fields = issue.and_then(|i| i.fields.as_ref());
    Ok(ThirdPartyRef {
        account_id: account.to_owned(),
        project_id: fields
            .and_then(|f| f.project.as_ref())
            .and_then(|p| non_empty_scalar(p.id.as_ref()))
            .map(str::to_owned),
        item_type_id: fields
            .and_then(|f| f.issuetype.as_ref())
            .and_then(|t| non_empty_scalar(t.id.as_ref()))
            .map(str::to_owned),
        item_id: item_id.trim().to_owned(),
        item_key: issue
            .and_then(|i| non_empty(i.key.as_ref()))
            .map(str::to_owned),
    })
}

fn comment_changelog(
    ctx: &Context<'_>,
    wh: &Webhook<'_>,
    comment: &CommentBody<'_>,
) -> Result<Decoded, DecodeError> {
    let Some(id) = non_empty_scalar(comment.id.as_ref()) else {
        return Err(error(
            "webhook.comment.id",
            Kind::MISSING_FIELD,
            "the comment has no id (needed for idempotent sync)",
        ));
    };
    let third_party = third_party_ref(ctx.account, wh.issue.as_ref(), Some(comment))?;
    let event_time = ctx
        .timestamp
        .or_else(|| {
            comment
                .created
                .as_ref()
                .and_then(|c| parse_jira_datetime(c.as_str()))
        })
        .or_else(|| {
            comment
                .updated
                .as_ref()
                .and_then(|c| parse_jira_datetime(c.as_str()))
        })
        .unwrap_or(ctx.received_at);
    let body = wiki_to_markdown(comment.body.as_ref().map(JStr::as_str).unwrap_or(""));
    if body.trim().is_empty() {
        return Ok(Decoded::Skipped(SkippedEvent {
            org_id: Some(ctx.org_id),
            changelog_type: Some(ChangelogType::CreateComment),
            event_time: Some(event_time),
            reason: FilteredReason::EmptyComment,
        }));
    }
    let author = comment
        .author
        .as_ref()
        .map(|a| author_of(Some(a)))
        .unwrap_or_else(|| author_of(wh.user.as_ref()));
    Ok(Decoded::Changelog(Changelog {
        org_id: ctx.org_id,
        integration: INTEGRATION,
        event_id: format!("jira:comment:{}", id.trim()),
        third_party,
        case_locator: CaseLocator::ThirdParty,
        event_time,
        sequence: None,
        author,
        change: Change::Comment(Comment {
            id: id.trim().to_owned(),
            body: Text::new(body),
            // Jira Service Management marks internal notes `jsdPublic: false`; a comment
            // restricted to a role or group (`visibility`) is not public either.
            internal: comment.jsd_public == Some(false) || comment.visibility.is_some(),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn enveloped(webhook: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "orgId": 7,
            "jiraAccountId": "site-1",
            "receivedAt": "2026-03-01T10:00:00Z",
            "webhook": webhook,
        }))
        .unwrap()
    }

    pub(super) fn decode(value: &[u8]) -> Result<Vec<Decoded>, DecodeError> {
        JiraDecoder::new().decode_value(value)
    }

    pub(super) fn changelogs(value: &[u8]) -> Vec<Changelog> {
        thirdparty_core::testing::changelogs_only(decode(value).unwrap())
    }

    pub(super) fn issue() -> serde_json::Value {
        json!({"id": "10040", "key": "SUP-41", "fields": {
            "project": {"id": "10000", "key": "SUP"},
            "issuetype": {"id": "10001", "name": "Bug"},
            "created": "2026-02-15T19:01:52.971-0800",
            "updated": "2026-02-16T13:15:16.037-0330"
        }})
    }

    #[test]
    fn jira_datetimes_parse() {
        let t = parse_jira_datetime("2019-01-07T16:55:51.184-0330").unwrap();
        assert_eq!(t.to_rfc3339(), "2019-01-07T20:25:51.184+00:00");
        assert!(parse_jira_datetime("2019-06-04T00:15:17.234+0000").is_some());
        assert!(parse_jira_datetime("2019-06-04T00:15:17Z").is_some());
        assert!(parse_jira_datetime("2019-06-04T00:15:17.234+05:30").is_some());
        assert!(parse_jira_datetime("5/Jun/26").is_none());
    }

    #[test]
    fn one_changelog_per_item_with_stable_ids() {
        let v = enveloped(json!({
            "timestamp": 1_772_359_200_000_i64,
            "webhookEvent": "jira:issue_updated",
            "user": {"accountId": "acc-1", "displayName": "Ann"},
            "issue": issue(),
            "changelog": {"id": "10235", "items": [
                {"field": "priority", "fieldtype": "jira", "fieldId": "priority", "from": "4", "fromString": "Low", "to": "2", "toString": "High"},
                {"field": "Field Name", "fieldtype": "custom", "fieldId": "customfield_10001", "fromString": "a", "toString": "b"},
                {"field": "Field Name", "fieldtype": "custom", "fieldId": "customfield_10002", "fromString": "a", "toString": "b"}
            ]}
        }));
        let cls = changelogs(&v);
        assert_eq!(cls.len(), 3);
        assert_eq!(cls[0].event_id, "jira:10235:priority");
        assert_eq!(cls[0].changelog_type(), ChangelogType::UpdatePriority);
        assert_eq!(
            cls[0].change,
            Change::Priority(FieldChange {
                from: Some(FieldValue {
                    id: Some("4".into()),
                    text: Some("Low".into())
                }),
                to: Some(FieldValue {
                    id: Some("2".into()),
                    text: Some("High".into())
                }),
            })
        );
        assert_eq!(
            cls[1].changelog_type().as_tag(),
            "unsupported_customfield_10001"
        );
        assert_eq!(cls[2].event_id, "jira:10235:customfield_10002");
        assert_eq!(cls[0].author.id.as_deref(), Some("acc-1"));
        assert_eq!(cls[0].event_time.timestamp_millis(), 1_772_359_200_000);
        assert_eq!(
            cls[0].third_party,
            ThirdPartyRef {
                account_id: "site-1".into(),
                project_id: Some("10000".into()),
                item_type_id: Some("10001".into()),
                item_id: "10040".into(),
                item_key: Some("SUP-41".into()),
            }
        );
    }

    #[test]
    fn event_time_falls_back_to_issue_updated_then_received_at() {
        let v = enveloped(json!({
            "webhookEvent": "jira:issue_updated",
            "issue": issue(),
            "changelog": {"id": 7, "items": [{"field": "summary", "fieldId": "summary", "toString": "New"}]}
        }));
        let c = &changelogs(&v)[0];
        assert_eq!(c.event_time.to_rfc3339(), "2026-02-16T16:45:16.037+00:00");
        assert_eq!(
            c.event_id, "jira:7:summary",
            "numeric changelog ids are accepted"
        );

        let mut bare = issue();
        bare["fields"] = json!(null);
        let v = enveloped(json!({
            "webhookEvent": "jira:issue_updated",
            "issue": bare,
            "changelog": {"items": [{"field": "summary", "fieldId": "summary", "toString": "New"}]}
        }));
        let c = &changelogs(&v)[0];
        assert_eq!(c.event_time.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(c.event_id, "jira:10040@1772359200000:summary");
        assert_eq!(c.third_party.project_id, None);
    }

    #[test]
    fn server_items_without_field_id_key_on_the_lowercased_name() {
        let v = enveloped(json!({
            "webhookEvent": "jira:issue_updated",
            "user": {"name": "admin", "key": "admin", "displayName": "Admin"},
            "issue": issue(),
            "changelog": {"id": "1", "items": [
                {"field": "assignee", "fieldtype": "jira", "from": null, "to": "admin", "toString": "Admin"},
                {"field": "Status", "fieldtype": "jira", "from": "1", "to": "3"},
                {"field": "Start date", "fieldtype": "custom", "to": "2026-06-05"}
            ]}
        }));
        let cls = changelogs(&v);
        assert_eq!(cls[0].changelog_type(), ChangelogType::UpdateAssignee);
        assert_eq!(cls[0].author.id.as_deref(), Some("admin"));
        assert_eq!(cls[1].changelog_type(), ChangelogType::UpdateStatus);
        assert_eq!(
            cls[2].changelog_type().as_tag(),
            "unsupported_custom:start date"
        );
    }

    #[test]
    fn assignee_prefers_tmp_account_ids() {
        let v = enveloped(json!({
            "webhookEvent": "jira:issue_updated",
            "issue": issue(),
            "changelog": {"id": "1", "items": [
                {"field": "assignee", "fieldId": "assignee", "from": null, "to": "sample.user", "toString": "Sample User", "tmpFromAccountId": null, "tmpToAccountId": "5ced"}
            ]}
        }));
        let c = &changelogs(&v)[0];
        assert_eq!(
            c.change,
            Change::Assignee(FieldChange {
                from: None,
                to: Some(FieldValue {
                    id: Some("5ced".into()),
                    text: Some("Sample User".into())
                }),
            })
        );
    }

    #[test]
    fn descriptions_and_comments_become_markdown() {
        let v = enveloped(json!({
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_commented",
            "issue": issue(),
            "changelog": {"id": "5", "items": [{"field": "description", "fieldId": "description", "fromString": "old", "toString": "h2. Hi\r\n*bold*"}]},
            "comment": {"id": "10503", "body": "[~accountid:abc] {{x}}", "author": {"accountId": "abc", "displayName": "Bo"}, "jsdPublic": false}
        }));
        let cls = changelogs(&v);
        assert_eq!(cls.len(), 2);
        match &cls[0].change {
            Change::Description(fc) => {
                assert_eq!(
                    fc.to.as_ref().unwrap().text.as_ref().unwrap().expose(),
                    "## Hi\n**bold**"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cls[1].event_id, "jira:comment:10503");
        match &cls[1].change {
            Change::Comment(c) => {
                assert_eq!(c.body.expose(), "@accountid:abc `x`");
                assert!(c.internal);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cls[1].author.display_name.as_deref(), Some("Bo"));
    }

    #[test]
    fn comment_without_issue_takes_the_issue_id_from_self() {
        let v = enveloped(json!({
            "timestamp": 1_559_607_317_234_i64,
            "webhookEvent": "comment_created",
            "comment": {"self": "http://jira:8080/rest/api/2/issue/10013/comment/10082", "id": "10082", "body": "unik", "author": {"name": "lev"}}
        }));
        let c = &changelogs(&v)[0];
        assert_eq!(c.third_party.item_id, "10013");
        assert_eq!(c.third_party.project_id, None);
        assert_eq!(c.author.id.as_deref(), Some("lev"));
        assert_eq!(c.changelog_type(), ChangelogType::CreateComment);
    }

    #[test]
    fn skipped_events() {
        let empty = enveloped(
            json!({"webhookEvent": "jira:issue_updated", "issue": issue(), "changelog": {"id": "1", "items": []}}),
        );
        let d = decode(&empty).unwrap();
        assert!(matches!(
            &d[..],
            [Decoded::Skipped(SkippedEvent {
                reason: FilteredReason::EmptyChangelog,
                ..
            })]
        ));

        let deleted = enveloped(json!({"webhookEvent": "comment_deleted", "comment": {"id": "1"}}));
        let d = decode(&deleted).unwrap();
        assert!(matches!(
            &d[..],
            [Decoded::Skipped(SkippedEvent {
                reason: FilteredReason::UnsupportedEventType,
                org_id: Some(OrgId(7)),
                ..
            })]
        ));

        let edited = enveloped(
            json!({"webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_comment_edited", "issue": issue(), "comment": {"id": "1", "body": "x"}}),
        );
        let d = decode(&edited).unwrap();
        assert!(matches!(
            &d[..],
            [Decoded::Skipped(SkippedEvent {
                reason: FilteredReason::EmptyChangelog,
                ..
            })]
        ));

        let blank = enveloped(
            json!({"webhookEvent": "comment_created", "issue": issue(), "comment": {"id": "1", "body": " \r\n "}}),
        );
        let d = decode(&blank).unwrap();
        assert!(matches!(
            &d[..],
            [Decoded::Skipped(SkippedEvent {
                reason: FilteredReason::EmptyComment,
                changelog_type: Some(ChangelogType::CreateComment),
                ..
            })]
        ));
    }
}
